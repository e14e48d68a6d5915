"""JSON from the shared folder, parsed as hostile input.

Everything under ``.vault/`` and every access-list stanza can be written by someone other
than the reader (a group member, a removed member, anyone with write access to the
folder). Python's ``json`` module trusts its input: deep nesting raises RecursionError, a
5,000-digit integer raises ValueError, ``\\ud800`` gives a string that later fails to
encode, and a 15 MiB document costs hundreds of MiB of objects. Here every document is
bounded (size, depth, integer length), strictly valid (no duplicate keys, no NaN, no lone
surrogates) and any failure is the caller's own error class, never a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vault_app.core.errors import MalformedError, VaultError

#: Metadata files and stanzas are small; these bounds are far above real use.
MAX_BYTES = 1 << 20
MAX_DEPTH = 24
MAX_INT_DIGITS = 20  # 64-bit values; sequence numbers and versions never need more

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class _Reject(Exception):
    """Internal: a value the hooks refuse (turned into the caller's error)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Reject("a number is too long")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 40:
        raise _Reject("a number is too long")
    return float(text)


def _constant(name: str) -> Any:
    raise _Reject(f"{name} is not allowed")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Reject(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _depth(text: str) -> int:
    """Deepest nesting of arrays and objects, ignoring brackets inside strings."""
    deepest = depth = 0
    for char in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check_strings(value: Any) -> None:
    """Every string encodes as UTF-8 (no lone surrogates); iterative, depth is bounded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise _Reject("a string holds an invalid character") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(data: bytes | str, *, what: str, error: type[VaultError] = MalformedError,
          max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` strictly within the bounds; raise ``error`` naming ``what`` otherwise."""
    if len(data) > max_bytes:
        raise error(f"{what} is too large ({len(data)} bytes; at most {max_bytes})")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise error(f"{what} is not valid text (UTF-8)") from None
    if _depth(text) > max_depth:
        raise error(f"{what} is nested too deeply")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant,
                           object_pairs_hook=_object)
        _check_strings(value)
    except _Reject as exc:
        raise error(f"{what} is malformed: {exc}") from None
    except (ValueError, RecursionError):
        raise error(f"{what} is not valid JSON") from None
    return value
