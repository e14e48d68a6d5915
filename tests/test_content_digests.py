"""The signed content of a locked file: segment digests in new files, the one whole-payload
digest of files made before them (which still open, unlock, share and verify)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from vault_support import team

from vault_app.core import age, segments
from vault_app.core.acl import Record, encode_stanza, split_header, stanzas_digest
from vault_app.core.errors import SignatureError
from vault_app.core.header import Stanza, read_header
from vault_app.core.keys import parse_recipient
from vault_app.core.stream import CHUNK, ENC_CHUNK
from vault_app.core.value_class import replace
from vault_app.core.vault import Vault

SEG = segments.SEGMENT_CHUNKS * 64 * 1024  # plaintext bytes in a segment


def _lock(vault: Vault, tmp_path: Path, data: bytes, name: str = "d.bin") -> Path:
    src = tmp_path / name
    src.write_bytes(data)
    return vault.lock(src).path


def _parts(path: Path) -> tuple[list[Stanza], Stanza | None, list[Record], bytes]:
    raw = path.read_bytes()
    with path.open("rb") as handle:
        header = read_header(handle)
    recipients, listed, history = split_header(header.stanzas)
    assert history is not None
    return recipients, listed, history, raw[len(header.encode()):]


def _rewrite(vault: Vault, path: Path, stanzas: list[Stanza], payload: bytes) -> None:
    """A header of ``stanzas`` over ``payload``, MACed with the file's key (what anyone
    who can read the file can do)."""
    with path.open("rb") as handle:
        file_key = age.unwrap_file_key(read_header(handle), [vault.keys().identity])
    path.write_bytes(age.seal_header(file_key, stanzas).encode() + payload)


def _made_before_segments(vault: Vault, path: Path, data: bytes) -> None:
    """A file as the earlier format wrote it (never seen by this account as anything
    else): a first-format record signing the SHA-256 of the whole payload, no segment
    digests."""
    me = vault.keys()
    file_key = age.new_file_key()
    stanzas = age.wrap_stanzas(file_key, [parse_recipient(me.recipient),
                                          parse_recipient(vault.recovery_recipient)])
    payload = io.BytesIO()
    age.seal_payload(file_key, io.BytesIO(data), payload)
    record = Record(file_id=os.urandom(16).hex(), author=me.name, acl={me.name: "owner"},
                    readers={me.name: me.recipient}, recovery=vault.recovery_recipient,
                    stanzas_sha256=stanzas_digest(stanzas),
                    payload_sha256=hashlib.sha256(payload.getvalue()).hexdigest(),
                    signer=me.name, signed="2026-01-01T00:00:00Z", change="lock",
                    format=1).sign(me)
    header = age.seal_header(file_key, [*stanzas, encode_stanza([record])])
    path.write_bytes(header.encode() + payload.getvalue())


def test_a_new_file_signs_the_root_of_its_segment_digests(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")["alice"]
    data = os.urandom(3 * SEG + 5)
    locked = _lock(v, tmp_path, data)
    _recipients, listed, history, payload = _parts(locked)
    assert listed is not None and history[-1].format == 2
    found = segments.decode_stanza(listed)
    # 97 chunks: a segment per chunk (the smallest size that lists at most 1024)
    assert found.chunks == 1 == segments.chunks_for(len(data))
    assert len(found.digests) == 97 and history[-1].payload_sha256 == ""
    assert history[-1].segments_sha256 == segments.root(found.digests, 1)
    assert found.digests[0] == hashlib.sha256(payload[: 16 + ENC_CHUNK]).digest()
    assert v.unlock(locked, tmp_path / "out").read_bytes() == data
    assert [r.status for r in v.verify()] == ["valid"]


def test_a_changed_list_or_segment_is_refused(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")["alice"]
    data = os.urandom(2 * SEG + 100)
    locked = _lock(v, tmp_path, data)
    recipients, listed, history, payload = _parts(locked)
    assert listed is not None
    found = segments.decode_stanza(listed)
    acl_stanza = encode_stanza(history)

    # another list (with its own root) than the signed one
    forged = segments.encode_stanza([hashlib.sha256(b"x").digest(), *found.digests[1:]],
                                    found.chunks)
    _rewrite(v, locked, [*recipients, forged, acl_stanza], payload)
    assert "not the signed ones" in v.info(locked).signature_detail
    # no list at all
    _rewrite(v, locked, [*recipients, acl_stanza], payload)
    assert "missing" in v.info(locked).signature_detail
    # the file cut short by a whole segment: the list no longer fits its length
    _rewrite(v, locked, [*recipients, listed, acl_stanza], payload[: 16 + segments.SEGMENT])
    assert "length" in v.info(locked).signature_detail
    # one byte of chunk 32 (segment 32: a segment per chunk) changed: caught when read
    changed = bytearray(payload)
    changed[16 + segments.SEGMENT + 1000] ^= 1
    _rewrite(v, locked, [*recipients, listed, acl_stanza], bytes(changed))
    assert v.info(locked).signature == "valid"  # the header alone is fine
    with pytest.raises(SignatureError, match="segment 32,"):
        v.unlock(locked, tmp_path / "out")
    assert not (tmp_path / "out" / "d.bin").exists()
    with v.open_reader(locked) as reader:
        assert reader.read(100) == data[:100]  # segment 0 is intact
        reader.seek(SEG + 10)
        with pytest.raises(SignatureError, match="segment 32,"):
            reader.read(100)
    assert [(r.status, r.detail) for r in v.verify()] == [
        ("invalid", "the content is not the signed content")]


def test_a_file_made_before_segments_still_opens_unlocks_shares_and_verifies(
        tmp_path: Path) -> None:
    team_ = team(tmp_path / "v", "alice", "bob")
    alice, bob = team_["alice"], team_["bob"]
    data = os.urandom(SEG + 333)
    locked = alice.path / "old.bin.age"
    _made_before_segments(alice, locked, data)
    info = alice.info(locked)
    assert info.signature == "valid", info.signature_detail
    assert alice.unlock(locked, tmp_path / "a").read_bytes() == data
    assert age.decrypt_file(locked, tmp_path / "age.out", [alice.keys().identity]).size == len(data)
    with alice.open_reader(locked) as reader:
        reader.seek(SEG)
        assert reader.read(10) == data[SEG : SEG + 10]
    assert [r.status for r in alice.verify()] == ["valid"]
    # sharing keeps the payload, so the new record keeps its one digest
    alice.share(locked, "bob")
    _recipients, listed, history, payload = _parts(locked)
    assert listed is None and history[-1].format == 2
    assert history[-1].payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert history[-1].segments_sha256 == ""
    assert bob.unlock(locked, tmp_path / "b").read_bytes() == data
    # revoking re-encrypts: the content is then signed by its segment digests
    alice.revoke(locked, "bob")
    _recipients, listed, history, _payload = _parts(locked)
    assert listed is not None and history[-1].segments_sha256
    assert history[-1].payload_sha256 == ""
    assert alice.unlock(locked, tmp_path / "c").read_bytes() == data
    assert [r.status for r in alice.verify()] == ["valid"]


def test_an_older_file_rewritten_by_a_reader_is_still_caught(tmp_path: Path) -> None:
    alice = team(tmp_path / "v", "alice")["alice"]
    locked = alice.path / "old.csv.age"
    _made_before_segments(alice, locked, b"true,data\n" * 1000)
    recipients, _listed, history, _payload = _parts(locked)
    with locked.open("rb") as handle:
        file_key = age.unwrap_file_key(read_header(handle), [alice.keys().identity])
    forged = io.BytesIO()  # other content sealed under the same key: it authenticates
    age.seal_payload(file_key, io.BytesIO(b"poisoned,data\n" * 1000), forged)
    _rewrite(alice, locked, [*recipients, encode_stanza(history)], forged.getvalue())
    with pytest.raises(SignatureError):
        alice.unlock(locked, tmp_path / "out")
    with pytest.raises(SignatureError):
        alice.open_reader(locked)  # the one digest: the whole payload hashed on opening


def test_records_name_their_content_once(tmp_path: Path) -> None:
    alice = team(tmp_path / "v", "alice")["alice"]
    locked = _lock(alice, tmp_path, b"x")
    recipients, listed, history, payload = _parts(locked)
    assert listed is not None
    both = replace(history[-1], payload_sha256="0" * 64).sign(alice.keys())
    _rewrite(alice, locked, [*recipients, listed, encode_stanza([both])], payload)
    assert alice.info(locked).signature == "unreadable"


def test_a_file_with_segments_of_32_chunks_still_opens_and_a_changed_size_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of the first segment format lists segments of 32 chunks, whatever its
    size; they still unlock, read and verify. Saying another size (the digests kept)
    breaks the signed root."""
    v = team(tmp_path / "v", "alice")["alice"]
    data = os.urandom(2 * SEG + 100)
    with monkeypatch.context() as patch:
        patch.setattr(segments, "chunks_for", lambda size: segments.SEGMENT_CHUNKS)
        locked = _lock(v, tmp_path, data)
    recipients, listed, history, payload = _parts(locked)
    assert listed is not None
    assert listed.encode().startswith(b"-> dataset-vault.org/segments 1 32\n")
    assert v.unlock(locked, tmp_path / "out").read_bytes() == data
    with v.open_reader(locked) as reader:
        reader.seek(SEG - 5)
        assert reader.read(SEG) == data[SEG - 5 : 2 * SEG - 5]
    assert [r.status for r in v.verify()] == ["valid"]
    resized = Stanza(listed.type, (listed.args[0], "16"), listed.body)
    _rewrite(v, locked, [*recipients, resized, encode_stanza(history)], payload)
    assert "not the signed ones" in v.info(locked).signature_detail


def test_a_stream_of_unknown_length_lists_segments_of_the_size_its_length_calls_for(
        tmp_path: Path) -> None:
    """`vault lock -` and `vault://` writes seal before they know the length; the header
    still lists the small segments a file of that length gets, signed, and reads back."""
    v = team(tmp_path / "v", "alice")["alice"]
    data = os.urandom(3 * SEG + 5)
    locked = v.lock_stream(io.BytesIO(data), tmp_path / "v" / "s.bin.age").path
    _recipients, listed, history, payload = _parts(locked)
    assert listed is not None
    found = segments.decode_stanza(listed)
    assert found.chunks == 1 and len(found.digests) == 97
    assert history[-1].segments_sha256 == segments.root(found.digests, 1)
    assert found.digests[5] == hashlib.sha256(
        payload[16 + 5 * ENC_CHUNK : 16 + 6 * ENC_CHUNK]).digest()
    assert v.unlock(locked, tmp_path / "out").read_bytes() == data
    with v.open_reader(locked) as reader:
        reader.seek(SEG + 3)
        assert reader.read(CHUNK) == data[SEG + 3 : SEG + 3 + CHUNK]
    assert [r.status for r in v.verify()] == ["valid"]
