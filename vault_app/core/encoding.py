"""Canonical unpadded base64 and Bech32 (BIP173 without the length limit), as age needs.

age rejects non-canonical base64 and padding: accepting them would make headers
malleable, so the decoder re-encodes and compares.
"""

from __future__ import annotations

import base64
import binascii

from vault_app.core.errors import KeyFormatError, MalformedError

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64encode(data: bytes) -> str:
    """Standard base64 without ``=`` padding."""
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str | bytes) -> bytes:
    """Decode strict, canonical, unpadded base64; anything else is MalformedError."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    if raw.translate(None, _B64_ALPHABET):  # something outside the alphabet is left
        raise MalformedError("invalid character in base64 text")
    if len(raw) % 4 == 1:
        raise MalformedError("base64 text has an impossible length")
    padded = raw + b"=" * (-len(raw) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("invalid base64 text") from exc
    if base64.b64encode(data).rstrip(b"=") != raw:
        raise MalformedError("non-canonical base64 text")
    return data


_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise KeyFormatError("invalid Bech32 data")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise KeyFormatError("invalid Bech32 padding")
    return out


def bech32_encode(hrp: str, data: bytes, *, upper: bool = False) -> str:
    """Encode ``data`` under human-readable part ``hrp`` (lowercase checksum)."""
    hrp = hrp.lower()
    values = _convertbits(data, 8, 5, True)
    polymod = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(_CHARSET[d] for d in values + checksum)
    return text.upper() if upper else text


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Return ``(hrp, data)``; the hrp is lowercased. Mixed case is rejected."""
    if text.lower() != text and text.upper() != text:
        raise KeyFormatError("Bech32 string mixes upper and lower case")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise KeyFormatError("invalid character in Bech32 string")
    lowered = text.lower()
    pos = lowered.rfind("1")
    if pos < 1 or pos + 7 > len(lowered):
        raise KeyFormatError("malformed Bech32 string")
    hrp = lowered[:pos]
    try:
        values = [_CHARSET.index(c) for c in lowered[pos + 1 :]]
    except ValueError as exc:
        raise KeyFormatError("invalid character in Bech32 data") from exc
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise KeyFormatError("Bech32 checksum mismatch (a typo in the key?)")
    return hrp, bytes(_convertbits(values[:-6], 5, 8, False))
