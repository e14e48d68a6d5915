"""Hostile JSON from the shared folder: bounded, strict, and only the project's own errors."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_app.core import safe_json
from vault_app.core.errors import MalformedError, VaultFormatError


@pytest.mark.parametrize(("data", "why"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a":' * 50 + b"1" + b"}" * 50, "nested too deeply"),
    (b'{"seq": ' + b"9" * 5000 + b"}", "number is too long"),
    (b'{"name": "\\ud800"}', "invalid character"),
    (b'["\\udfff x"]', "invalid character"),
    (b'{"a": 1, "a": 2}', "appears twice"),
    (b'{"a": NaN}', "not allowed"),
    (b'[Infinity]', "not allowed"),
    (b"\xff\xfe{}", "not valid text"),
    (b'{"a": ', "not valid JSON"),
    (b" " * (safe_json.MAX_BYTES + 1), "too large"),
])
def test_hostile_documents_are_refused_with_a_clear_error(data: bytes, why: str) -> None:
    with pytest.raises(MalformedError, match=why):
        safe_json.loads(data, what="the member registry")


def test_the_callers_error_class_and_wording_are_used() -> None:
    with pytest.raises(VaultFormatError, match=r"^\.vault/config\.json is not valid JSON$"):
        safe_json.loads(b"{", what=".vault/config.json", error=VaultFormatError)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"note": "[" * 500 + '\\"{' * 100, "n": [[1]]})
    assert safe_json.loads(text, what="x")["n"] == [[1]]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)


@given(_json)
@settings(max_examples=300)
def test_ordinary_documents_round_trip(value: object) -> None:
    assert safe_json.loads(json.dumps(value), what="x") == value


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_arbitrary_bytes_give_a_value_or_malformed_error(data: bytes) -> None:
    with contextlib.suppress(MalformedError):
        safe_json.loads(data, what="x")


@given(st.text(alphabet='[]{}",:0123456789-.eE\\ utrfalsn', max_size=300))
@settings(max_examples=500)
def test_json_shaped_text_gives_a_value_or_malformed_error(text: str) -> None:
    with contextlib.suppress(MalformedError):
        safe_json.loads(text, what="x")
