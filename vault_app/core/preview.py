"""First rows of a dataset from a binary file object, in memory only (no Qt, no disk).

Used by the GUI's preview over a decrypting reader, so it reads only what it shows:
text formats stream through a ``TextIOWrapper`` and stop after ``limit`` rows (and never
past ``MAX_TEXT`` characters), Parquet reads the first row batch only. Errors of the
reader itself (tampering, truncation) propagate; a format we cannot read gives a plain
notice instead of rows. Parquet needs the optional ``pyarrow`` package.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.core.value_class import field, value_class

DEFAULT_LIMIT = 100
MAX_TEXT = 16 * 1024 * 1024   # characters read at most for a text-based preview
MAX_LINE = 1024 * 1024        # one physical line longer than this is cut
MAX_COLUMNS = 200
MAX_CELL = 500                # characters shown per cell
SNIFF_LINES = 20
BUFFER = 64 * 1024

CSV_EXT = {"csv"}
TSV_EXT = {"tsv", "tab"}
PARQUET_EXT = {"parquet", "pq"}
JSON_EXT = {"json"}
JSONL_EXT = {"jsonl", "ndjson"}
TEXT_EXT = {"txt", "text", "log", "md", "rst", "yaml", "yml", "toml", "ini", "cfg", "conf",
            "xml", "html", "htm", "sql", "py", "r", "sh", "js", "ts", "c", "h", "cpp", "java",
            "go", "rs", "tex", "svg"}


#: Any readable binary file object (an AgeReader, a BufferedReader, a BytesIO...).
Readable = BinaryIO | io.RawIOBase | io.BufferedIOBase


@value_class
class Preview:
    """What to show: column names, rows of strings, and a sentence about what this is."""

    columns: list[str]
    rows: list[list[str]]
    note: str
    kind: str = "none"          # csv, tsv, parquet, json, jsonl, text, none
    complete: bool = False      # True when every row of the file is shown
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.kind != "none"


class _Borrowed(io.RawIOBase):
    """A raw view of someone else's file object: closing or collecting it leaves theirs open."""

    def __init__(self, src: Readable) -> None:
        super().__init__()
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            return int(readinto(buffer))
        data = self._src.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _split_name(name: str) -> tuple[str, bool]:
    """Format extension of ``name`` (``.age`` and ``.gz`` removed) and whether it is gzipped."""
    lower = name.lower()
    if lower.endswith(LOCKED_SUFFIX):
        lower = lower[: -len(LOCKED_SUFFIX)]
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    ext = lower.rsplit(".", 1)[1] if "." in lower.lstrip(".") else ""
    return ext, gz


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _rows_note(shown: int, complete: bool, total: int | None = None) -> str:
    if complete:
        return f"All {_plural(shown, 'row')}."
    if total is not None:
        return f"First {_plural(shown, 'row')} of {total:,}."
    return f"First {_plural(shown, 'row')}."


def _open_text(raw: io.BufferedReader) -> io.TextIOWrapper:
    head = raw.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


class _Lines:
    """Physical lines of a text stream, never more than ``MAX_TEXT`` characters in all."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.read = 0
        self.capped = False

    def __iter__(self) -> Iterator[str]:
        while self.read < MAX_TEXT:
            line = self._text.readline(MAX_LINE)
            if not line:
                return
            self.read += len(line)
            yield line
        self.capped = True


def _table(columns: list[str], body: Iterable[list[Any]], limit: int) -> tuple[
        list[str], list[list[str]], bool]:
    """Fit ``limit`` rows under ``columns``; pad short rows, name extra columns; peek one more."""
    rows: list[list[str]] = []
    complete = True
    for row in body:
        if len(rows) == limit:
            complete = False
            break
        cells = [_cell(v) for v in row]
        while len(cells) > len(columns):
            columns.append(f"column {len(columns) + 1}")
        rows.append(cells + [""] * (len(columns) - len(cells)))
    for row in rows:
        row.extend([""] * (len(columns) - len(row)))
    return columns, rows, complete


def _cut_columns(columns: list[str], rows: list[list[str]]) -> tuple[
        list[str], list[list[str]], str]:
    if len(columns) <= MAX_COLUMNS:
        return columns, rows, ""
    note = f" Showing the first {MAX_COLUMNS} of {len(columns):,} columns."
    return columns[:MAX_COLUMNS], [r[:MAX_COLUMNS] for r in rows], note


def _delimited(text: io.TextIOWrapper, kind: str, limit: int) -> Preview:
    lines = _Lines(text)
    source = iter(lines)
    head = list(itertools.islice(source, SNIFF_LINES))
    if kind == "tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff("".join(head), delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(itertools.chain(head, source), delimiter=delimiter)
    try:
        columns = [_cell(c) for c in next(reader, [])]
        columns = [c or f"column {i + 1}" for i, c in enumerate(columns)]
        columns, rows, complete = _table(columns, reader, limit)
    except csv.Error as exc:
        return Preview([], [], f"This file could not be read as {kind.upper()} ({exc}).")
    complete = complete and not lines.capped
    columns, rows, cut = _cut_columns(columns, rows)
    sep = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(delimiter, delimiter)
    note = _rows_note(len(rows), complete) + cut
    return Preview(columns, rows, note, kind, complete, {"delimiter": sep})


def _text_lines(text: io.TextIOWrapper, limit: int) -> Preview:
    lines = _Lines(text)
    rows = [[_cell(line.rstrip("\r\n"))] for line in itertools.islice(lines, limit)]
    complete = next(iter(lines), None) is None and not lines.capped
    return Preview(["line"], rows, _rows_note(len(rows), complete).replace("row", "line"),
                   "text", complete)


def _records_table(records: list[Any], complete: bool, kind: str) -> Preview:
    columns: list[str] = []
    if records and all(isinstance(r, dict) for r in records):
        seen: dict[str, None] = {}
        for record in records:
            seen.update(dict.fromkeys(str(k) for k in record))
        columns = list(seen)
        body = [[record.get(c) for c in columns] for record in records]
    else:
        columns = ["value"]
        body = [[r] for r in records]
    columns, rows, _ = _table(columns, body, len(records))
    columns, rows, cut = _cut_columns(columns, rows)
    return Preview(columns, rows, _rows_note(len(rows), complete) + cut, kind, complete)


def _json_lines(text: io.TextIOWrapper, limit: int) -> Preview:
    lines = _Lines(text)
    records: list[Any] = []
    complete = True
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(records) == limit:
            complete = False
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            return Preview([], [], f"Line {number} is not valid JSON; no preview.")
    return _records_table(records, complete and not lines.capped, "jsonl")


def _json_array(read: Callable[[int], str], buf: str, limit: int) -> Preview:
    """Decode the array's elements one at a time, reading more text only when needed.

    ``buf`` holds the text just after the opening ``[``.
    """
    decoder = json.JSONDecoder()
    pos = 0
    records: list[Any] = []
    eof = False
    total = len(buf)

    def refill() -> bool:
        nonlocal buf, pos, total, eof
        more = read(BUFFER)
        eof = not more
        total += len(more)
        buf, pos = buf[pos:] + more, 0
        return bool(more)

    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buf):
            if eof or not refill():
                return Preview([], [], "This JSON file ends early; no preview.")
            continue
        if buf[pos] == "]":
            return _records_table(records, True, "json")
        if len(records) == limit:
            return _records_table(records, False, "json")
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError:
            if total >= MAX_TEXT:
                return Preview([], [], "A JSON element is too large to preview.")
            if eof or not refill():
                return Preview([], [], "This JSON file is not valid; no preview.")
            continue
        if end == len(buf) and not eof and refill():
            continue  # a number may go on in the next block: decode it again
        records.append(value)
        pos = end


def _json(text: io.TextIOWrapper, kind: str, limit: int) -> Preview:
    if kind == "jsonl":
        return _json_lines(text, limit)
    first = text.read(1)
    while first and first.isspace():
        first = text.read(1)
    if first == "[":
        return _json_array(text.read, text.read(BUFFER), limit)
    if first == "{":
        rest = text.read(MAX_TEXT)
        if len(rest) >= MAX_TEXT:
            return Preview([], [], "This JSON object is too large to preview.")
        try:
            value = json.loads("{" + rest)
        except json.JSONDecodeError:
            # several objects, one per line: JSON lines under a .json name
            body = io.StringIO("{" + rest)
            return _json_lines(body, limit)  # type: ignore[arg-type]
        rows = [[str(k), _cell(v)] for k, v in itertools.islice(value.items(), limit)]
        complete = len(rows) == len(value)
        return Preview(["key", "value"], rows, _rows_note(len(rows), complete), "json",
                       complete)
    return Preview([], [], "This file does not start like JSON; no preview.")


def _parquet(src: Readable, limit: int) -> Preview:
    try:
        import pyarrow.lib
        import pyarrow.parquet as pq
    except ImportError:
        return Preview([], [], "Parquet preview needs the optional pyarrow package "
                               "(pip install pyarrow). Unlock the file to open it elsewhere.")
    try:
        # no pre-buffering: its background reads of a Python file object can abort the
        # interpreter at exit (apache/arrow#33975); one row batch gains nothing from it
        parquet = pq.ParquetFile(src, pre_buffer=False)
        columns = [str(n) for n in parquet.schema_arrow.names]
        total = parquet.metadata.num_rows
        batch = next(parquet.iter_batches(batch_size=max(1, limit)), None)
    except pyarrow.lib.ArrowException as exc:
        return Preview([], [], f"This file could not be read as Parquet ({type(exc).__name__}).")
    records = batch.to_pylist() if batch is not None else []
    body = [[r.get(c) for c in columns] for r in records[:limit]]
    columns, rows, _ = _table(columns, body, limit)
    columns, rows, cut = _cut_columns(columns, rows)
    complete = len(rows) >= total
    return Preview(columns, rows, _rows_note(len(rows), complete, None if complete else total)
                   + cut, "parquet", complete, {"total_rows": total})


def _looks_like_text(raw: io.BufferedReader) -> bool:
    head = raw.peek(8192)[:8192]
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the sample
    return True


def preview_rows(fileobj: Readable, name: str, limit: int = DEFAULT_LIMIT) -> Preview:
    """The first ``limit`` rows of ``fileobj`` (a binary file object named ``name``).

    Reads only what is shown. ``fileobj`` is left open. Raises the reader's own errors
    (for a locked file: tampering, truncation); returns a notice for what it cannot show.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ext, gz = _split_name(name)
    if ext in PARQUET_EXT and not gz:
        return _parquet(fileobj, limit)
    stream: Any = _Borrowed(fileobj)
    if gz:
        stream = gzip.GzipFile(fileobj=io.BufferedReader(stream, BUFFER), mode="rb")
    raw: io.BufferedReader = io.BufferedReader(stream, BUFFER)
    text: io.TextIOWrapper | None = None
    try:
        if ext in CSV_EXT | TSV_EXT | JSON_EXT | JSONL_EXT | TEXT_EXT or _looks_like_text(raw):
            text = _open_text(raw)
            if ext in CSV_EXT | TSV_EXT:
                return _delimited(text, "tsv" if ext in TSV_EXT else "csv", limit)
            if ext in JSON_EXT | JSONL_EXT:
                return _json(text, "jsonl" if ext in JSONL_EXT else "json", limit)
            return _text_lines(text, limit)
    except (OSError, EOFError) as exc:  # e.g. a bad gzip stream; our own errors propagate
        return Preview([], [], f"This file could not be read ({type(exc).__name__}).")
    finally:
        if text is not None:
            text.detach()
    what = f".{ext} files" if ext else "files of this type"
    return Preview([], [], f"Preview is not available for {what}. "
                           "Unlock the file to open it in its own application.")


__all__ = ["DEFAULT_LIMIT", "Preview", "preview_rows"]
