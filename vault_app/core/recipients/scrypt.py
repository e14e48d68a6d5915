"""The native scrypt passphrase recipient type. It must be alone in its header."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vault_app.core.encoding import b64decode, b64encode
from vault_app.core.errors import BadPassphraseError, MalformedError
from vault_app.core.header import Stanza
from vault_app.core.recipients import _wrap

STANZA_TYPE = "scrypt"
_SALT_LABEL = b"age-encryption.org/v1/scrypt"
_WORK_FACTOR = re.compile(r"[1-9][0-9]*")
DEFAULT_WORK_FACTOR = 18
#: The most a passphrase-encrypted file may ask for when it is opened: 2**20 (1 GiB of
#: memory and a second or two of CPU). age allows 2**22 (4 GiB), which a planted file could
#: use to exhaust memory; files made here (and by age by default) use 2**18.
MAX_WORK_FACTOR = 20


def _derive(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    kdf = Scrypt(salt=_SALT_LABEL + salt, length=32, n=1 << log_n, r=8, p=1)
    return kdf.derive(passphrase)


class ScryptRecipient:
    def __init__(self, passphrase: bytes, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not passphrase:
            raise ValueError("the passphrase must not be empty")
        if not 1 <= work_factor <= MAX_WORK_FACTOR:
            raise ValueError("scrypt work factor out of range")
        self._passphrase = passphrase
        self.work_factor = work_factor

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self.work_factor})"

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        wrap_key = _derive(self._passphrase, salt, self.work_factor)
        body = _wrap.seal(wrap_key, file_key)
        return [Stanza(STANZA_TYPE, (b64encode(salt), str(self.work_factor)), body)]


class ScryptIdentity:
    def __init__(self, passphrase: bytes, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._passphrase = passphrase
        self.max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return "ScryptIdentity(…)"

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanzas) != 1:
                raise MalformedError("a passphrase-encrypted file must have only one stanza")
            if len(stanza.args) != 2:
                raise MalformedError("a scrypt stanza must have exactly two arguments")
            salt = b64decode(stanza.args[0])
            if len(salt) != 16:
                raise MalformedError("a scrypt stanza salt must be 16 bytes")
            if not _WORK_FACTOR.fullmatch(stanza.args[1]) or len(stanza.args[1]) > 2:
                raise MalformedError("malformed scrypt work factor")
            log_n = int(stanza.args[1])
            if log_n > self.max_work_factor:
                raise MalformedError(
                    f"scrypt work factor 2^{log_n} is above the limit 2^{self.max_work_factor}",
                    hint="the file asks for an unreasonable amount of work; it may be hostile",
                )
            if len(stanza.body) != _wrap.WRAPPED_SIZE:
                raise MalformedError("a scrypt stanza body has the wrong length")
            file_key = _wrap.open_(_derive(self._passphrase, salt, log_n), stanza.body)
            if file_key is None:
                raise BadPassphraseError("incorrect passphrase")
            return file_key
        return None


class PromptingScryptIdentity:
    """A passphrase identity that asks for the passphrase only if a scrypt stanza is there.

    Lets a client pass it alongside key identities without prompting needlessly.
    """

    def __init__(self, ask: Callable[[], bytes], max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._ask = ask
        self.max_work_factor = max_work_factor

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        if not any(s.type == STANZA_TYPE for s in stanzas):
            return None
        return ScryptIdentity(self._ask(), self.max_work_factor).unwrap(stanzas)
