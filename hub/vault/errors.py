"""Errors raised by the key vault.

Messages name the problem and, where useful, a key id (kids are public: they travel in token
headers and beside every ciphertext). They never contain key material, plaintext or any part of
a resident registration number (개인정보 보호법 제24조의2; DESIGN.md: no personal data in logs or
error messages).
"""

from __future__ import annotations

__all__ = ["DecryptionError", "KeySetError", "UnknownKey", "VaultError"]


class VaultError(Exception):
    """Base class for everything the vault raises."""


class KeySetError(VaultError):
    """The key set is unusable or an operation on it is refused (broken file, missing primary,
    wrong purpose, a rotation that would silently invalidate data)."""


class UnknownKey(VaultError, KeyError):
    """No key with this kid in the key set.

    A `KeyError` so `keyset.get(kid)` behaves like a mapping lookup; `str()` is the plain
    message rather than KeyError's quoted repr.
    """

    def __init__(self, kid: str) -> None:
        self.kid = kid
        super().__init__(f"no key with kid {kid!r} in the key set")

    def __str__(self) -> str:
        return str(self.args[0])


class DecryptionError(VaultError):
    """A sealed value could not be opened.

    Deliberately vague for authentication failures: whether the key, the AAD (table, column,
    row id) or the bytes were wrong is not revealed (NIST SP 800-38D §5.2.2: on a tag mismatch
    return only FAIL).
    """
