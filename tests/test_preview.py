"""Preview: first rows of CSV/TSV/Parquet/JSON/text from a file object, reading only that much."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest

from vault_app.core import age
from vault_app.core.errors import PayloadError
from vault_app.core.keys import generate_identity
from vault_app.core.preview import MAX_CELL, preview_rows
from vault_app.core.reader import AgeReader
from vault_app.core.stream import CHUNK


def _csv_bytes(rows: int, sep: str = ",") -> bytes:
    lines = [sep.join(["id", "name", "score"])]
    lines += [sep.join([str(i), f"name{i}", f"{i * 0.5}"]) for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _locked(tmp_path: Path, plain: bytes) -> tuple[Path, object]:
    identity = generate_identity()
    path = tmp_path / "data.age"
    with path.open("wb") as out:
        age.encrypt(io.BytesIO(plain), out, [identity.recipient()])
    return path, identity


def test_csv_first_rows_from_a_locked_file_read_only_the_start(tmp_path: Path) -> None:
    plain = _csv_bytes(400_000)  # about 8 MiB: 130 chunks
    path, identity = _locked(tmp_path, plain)
    with AgeReader(path, identities=[identity]) as reader:  # type: ignore[list-item]
        preview = preview_rows(reader, "patients.csv.age", limit=100)
        decrypted = reader.chunks_decrypted
        assert not reader.closed  # the caller's file object is left open
    assert preview.kind == "csv"
    assert preview.columns == ["id", "name", "score"]
    assert len(preview.rows) == 100
    assert preview.rows[0] == ["0", "name0", "0.0"]
    assert preview.rows[99] == ["99", "name99", "49.5"]
    assert not preview.complete
    assert preview.note == "First 100 rows."
    assert len(plain) > 100 * CHUNK
    assert decrypted <= 32  # two read batches at most, whatever the file size


def test_small_csv_is_complete_and_sniffs_semicolons() -> None:
    data = b'a;b;c\n1;"two; with sep";3\n4;"multi\nline";6\n'
    preview = preview_rows(io.BytesIO(data), "x.csv")
    assert preview.columns == ["a", "b", "c"]
    assert preview.rows == [["1", "two; with sep", "3"], ["4", "multi\nline", "6"]]
    assert preview.complete
    assert preview.note == "All 2 rows."
    assert preview.extra["delimiter"] == "semicolon"


def test_tsv_ragged_rows_and_bom() -> None:
    data = "\ufeffx\ty\n1\t2\t3\n4\n".encode()
    preview = preview_rows(io.BytesIO(data), "t.tsv")
    assert preview.kind == "tsv"
    assert preview.columns == ["x", "y", "column 3"]
    assert preview.rows == [["1", "2", "3"], ["4", "", ""]]


def test_utf16_csv() -> None:
    data = "name,city\nZoë,Zürich\n".encode("utf-16")
    preview = preview_rows(io.BytesIO(data), "excel-export.csv")
    assert preview.rows == [["Zoë", "Zürich"]]


def test_gzipped_csv() -> None:
    preview = preview_rows(io.BytesIO(gzip.compress(_csv_bytes(500))), "d.csv.gz.age", limit=10)
    assert preview.columns == ["id", "name", "score"]
    assert [r[0] for r in preview.rows] == [str(i) for i in range(10)]


def test_long_cells_are_cut() -> None:
    data = b"a\n" + b"x" * 5000 + b"\n"
    preview = preview_rows(io.BytesIO(data), "wide.csv")
    assert len(preview.rows[0][0]) == MAX_CELL
    assert preview.rows[0][0].endswith("…")


def test_parquet_first_batch_only(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": list(range(5000)), "label": [f"r{i}" for i in range(5000)]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=1000)
    path, identity = _locked(tmp_path, buf.getvalue())
    with AgeReader(path, identities=[identity]) as reader:  # type: ignore[list-item]
        preview = preview_rows(reader, "results.parquet.age", limit=100)
    assert preview.kind == "parquet"
    assert preview.columns == ["id", "label"]
    assert preview.rows[:2] == [["0", "r0"], ["1", "r1"]]
    assert len(preview.rows) == 100
    assert preview.note == "First 100 rows of 5,000."
    assert preview.extra["total_rows"] == 5000


def test_parquet_without_pyarrow_gives_a_plain_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    # pyarrow is optional: with it absent (as on a minimal install) there is a notice.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    monkeypatch.setitem(sys.modules, "pyarrow.lib", None)
    preview = preview_rows(io.BytesIO(b"PAR1...."), "x.parquet")
    assert not preview.available
    assert "pyarrow" in preview.note


def test_not_really_parquet() -> None:
    pytest.importorskip("pyarrow")
    preview = preview_rows(io.BytesIO(b"this is not parquet at all"), "x.parquet")
    assert not preview.available
    assert "could not be read as Parquet" in preview.note


def test_json_array_of_objects_is_decoded_incrementally() -> None:
    records = [{"id": i, "tags": ["a", "b"], "extra": None} for i in range(10_000)]
    records[1]["new"] = "late column"
    data = json.dumps(records).encode()
    src = io.BytesIO(data)
    preview = preview_rows(src, "records.json", limit=5)
    assert preview.kind == "json"
    assert preview.columns == ["id", "tags", "extra", "new"]
    assert preview.rows[0] == ["0", '["a","b"]', "", ""]
    assert preview.rows[1][3] == "late column"
    assert len(preview.rows) == 5 and not preview.complete
    assert src.tell() < len(data)  # did not read the whole array


def test_json_lines_object_and_scalars() -> None:
    lines = b'{"a": 1}\n\n{"a": 2, "b": "x"}\n'
    preview = preview_rows(io.BytesIO(lines), "events.jsonl")
    assert preview.columns == ["a", "b"]
    assert preview.rows == [["1", ""], ["2", "x"]]
    obj = preview_rows(io.BytesIO(b'{"k": 1, "v": [1, 2]}'), "config.json")
    assert obj.columns == ["key", "value"]
    assert obj.rows == [["k", "1"], ["v", "[1,2]"]]
    scalars = preview_rows(io.BytesIO(b" [1, 2.5e3, \"x\", true]"), "s.json")
    assert scalars.rows == [["1"], ["2500.0"], ["x"], ["True"]]
    assert scalars.complete


def test_invalid_json_gives_a_notice() -> None:
    assert not preview_rows(io.BytesIO(b"[1, 2,"), "bad.json").available
    assert not preview_rows(io.BytesIO(b'{"a": 1}\nnot json\n'), "bad.jsonl").available
    assert not preview_rows(io.BytesIO(b"hello"), "bad.json").available


def test_text_first_lines() -> None:
    data = "".join(f"line {i}\n" for i in range(1000)).encode()
    preview = preview_rows(io.BytesIO(data), "server.log", limit=3)
    assert preview.kind == "text"
    assert preview.rows == [["line 0"], ["line 1"], ["line 2"]]
    assert preview.note == "First 3 lines."
    short = preview_rows(io.BytesIO(b"only\n"), "README")  # no extension: looks like text
    assert short.rows == [["only"]] and short.complete


def test_binary_formats_get_a_plain_notice() -> None:
    preview = preview_rows(io.BytesIO(b"PK\x03\x04\x00\x00binary"), "sheet.xlsx.age")
    assert not preview.available
    assert preview.note.startswith("Preview is not available for .xlsx files.")


def test_tampering_is_reported_not_hidden(tmp_path: Path) -> None:
    path, identity = _locked(tmp_path, _csv_bytes(100))
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 1
    path.write_bytes(bytes(raw))
    with (AgeReader(path, identities=[identity]) as reader,  # type: ignore[list-item]
          pytest.raises(PayloadError)):
        preview_rows(reader, "data.csv.age")
