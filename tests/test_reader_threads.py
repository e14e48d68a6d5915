"""Positioned reads from several threads, a read spread over helper threads, and the
scratch buffers kept between readers (``reader.py``)."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
from test_segments import SEG, data, listed, locked_file, resealed_chunk

from vault_app.core import reader as reader_module
from vault_app.core import segments
from vault_app.core.errors import SignatureError
from vault_app.core.reader import AgeReader


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spread reads as on a machine of two cores or more, whatever this one has."""
    monkeypatch.setattr(reader_module, "_CORES", 2)


def test_threads_reading_at_offsets_get_the_right_bytes(tmp_path: Path, two_cores: None) -> None:
    plain = data(5 * SEG + 12345)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    rng = random.Random(7)
    asks = [(rng.randrange(len(plain)), rng.choice([1, 100, 70000, SEG + 3, 3 * SEG]))
            for _ in range(60)]
    wrong: list[int] = []
    with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as reader:
        def read_some(part: int) -> None:
            for pos, length in asks[part::4]:
                out = bytearray(length)
                n = reader.read_at(pos, out)
                if bytes(out[:n]) != plain[pos : pos + length]:
                    wrong.append(pos)

        threads = [threading.Thread(target=read_some, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert reader.tell() == 0  # positioned reads leave the file position alone
    assert not wrong


def test_a_read_across_segments_is_hashed_on_two_threads_at_once(
        tmp_path: Path, two_cores: None, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = data(3 * SEG)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    both = threading.Barrier(2, timeout=10)  # broken unless two hash at the same time
    hashed = segments.digest

    def digest_side_by_side(sealed: memoryview, nonce: bytes = b"") -> bytes:
        both.wait()
        return hashed(sealed, nonce)

    with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as reader:
        monkeypatch.setattr(segments, "digest", digest_side_by_side)
        out = bytearray(SEG)
        assert reader.read_at(SEG - 100, out) == len(out)  # the end of segment 0, most of 1
    assert bytes(out) == plain[SEG - 100 : 2 * SEG - 100]


def test_a_forged_segment_fails_the_spread_read_and_releases_nothing_of_it(
        tmp_path: Path, two_cores: None) -> None:
    plain = data(3 * SEG)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    raw = path.read_bytes()
    payload_at = len(raw) - (len(plain) + 16 + 16 * (len(plain) // (64 * 1024)))
    path.write_bytes(raw[:payload_at]
                     + resealed_chunk(raw[payload_at:], segments.SEGMENT_CHUNKS + 3, file_key))
    with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as reader:
        out = bytearray(3 * SEG)
        with pytest.raises(SignatureError, match="segment 1"):
            reader.read_at(0, out)
        assert bytes(out[SEG : 2 * SEG]) == bytes(SEG)  # nothing of segment 1 released


def test_a_kept_scratch_buffer_never_vouches_for_another_readers_segment(
        tmp_path: Path) -> None:
    """Scratch buffers outlive their reader (kept for the next open): a segment checked
    for one file must not pass for the same segment of another."""
    plain = data(2 * SEG)
    good, bad = tmp_path / "good.age", tmp_path / "bad.age"
    key_good, found_good = locked_file(good, plain)
    key_bad, found_bad = locked_file(bad, plain)
    raw = bad.read_bytes()
    payload_at = len(raw) - (len(plain) + 16 + 16 * (len(plain) // (64 * 1024)))
    bad.write_bytes(raw[:payload_at] + resealed_chunk(raw[payload_at:], 1, key_bad))
    with AgeReader(good, file_key=key_good, segment_digests=listed(found_good)) as reader:
        assert reader.read_at(10, bytearray(100)) == 100  # segment 0 checked, kept
    with AgeReader(bad, file_key=key_bad, segment_digests=listed(found_bad)) as reader, \
            pytest.raises(SignatureError, match="segment 0"):
        reader.read_at(10, bytearray(100))



def test_a_header_handed_in_is_read_once_and_still_authenticated(tmp_path: Path) -> None:
    from vault_app.core import age
    from vault_app.core.errors import HeaderMACError

    plain = data(3 * SEG // 2)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    with open(path, "rb") as f:
        header = age.read_head(f)
        length = f.tell()
    with open(path, "rb", buffering=0) as raw, AgeReader(
            raw, file_key=file_key, head=(header, length),
            segment_digests=listed(found)) as reader:
        assert reader.read() == plain
    with open(path, "rb", buffering=0) as raw, pytest.raises(HeaderMACError):
        AgeReader(raw, file_key=age.new_file_key(), head=(header, length))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_reads_without_its_parents_helpers(tmp_path: Path,
                                                           two_cores: None) -> None:
    """multiprocessing's default on Linux forks: the child has none of the parent's
    helper threads, and a spread read there must not wait for them."""
    plain = data(3 * SEG)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as reader:
        assert reader.read_at(SEG - 100, bytearray(SEG)) == SEG  # helpers now started
    pid = os.fork()
    if pid == 0:  # the child: one more spread read, then report
        code = 1
        try:
            with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as again:
                out = bytearray(2 * SEG)
                code = 0 if again.read_at(100, out) == 2 * SEG and \
                    bytes(out) == plain[100 : 100 + 2 * SEG] else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the child's read waited for helper threads it does not have")
    assert os.waitstatus_to_exitcode(done[1]) == 0
