"""Sealing values at rest with AES-256-GCM (NIST SP 800-38D), bound to where they are stored.

Resident registration numbers must be stored encrypted (개인정보 보호법 제24조의2 ③;
DESIGN.md: "RRNs are stored AES-256-GCM encrypted, AAD binds table, column, row id, key id").

Layout of the stored `blob`: ``nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)``. The nonce is
96 random bits per message — the IV construction of SP 800-38D §8.2.2, safe for far more than
the hub's number of RRNs under one key (the §8.3 limit is 2^32 invocations per key).

The additional authenticated data is the exact byte string::

    b"hub.v1|" + table + b"|" + column + b"|" + row_id + b"|" + kid

each part UTF-8 encoded; `row_id` given as a UUID is written in its canonical hyphenated lower-
case form, an int in decimal. No part may contain `|`, so the layout is unambiguous. Binding the
location means a ciphertext copied to another row, column or table (e.g. to read one person's
RRN as another's) fails authentication; binding the kid stops a kid being swapped in the row.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.vault.errors import DecryptionError, KeySetError
from hub.vault.key import KeyPurpose
from hub.vault.keyset import KeySet

__all__ = ["RowId", "Sealed", "associated_data", "decrypt", "encrypt", "reencrypt"]

NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
_AAD_PREFIX: Final = b"hub.v1"
_SEPARATOR: Final = "|"

RowId = str | int | uuid.UUID


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted value: the kid of the key that sealed it and nonce ‖ ciphertext ‖ tag.

    Store both (e.g. columns `rrn_kid` and `rrn_sealed`); the kid tells `decrypt` which key
    to use after rotations.
    """

    kid: str
    blob: bytes

    def __repr__(self) -> str:
        return f"Sealed(kid={self.kid!r}, blob=<{len(self.blob)} bytes>)"


def _part(name: str, value: str) -> bytes:
    if _SEPARATOR in value:
        raise ValueError(f"{name} must not contain {_SEPARATOR!r} (it separates the AAD parts)")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value.encode("utf-8")


def associated_data(*, table: str, column: str, row_id: RowId, kid: str) -> bytes:
    """The AAD for a value in `table.column` of row `row_id`, sealed under `kid` (see module)."""
    row = str(row_id) if isinstance(row_id, uuid.UUID | int) else row_id
    return b"|".join(
        (
            _AAD_PREFIX,
            _part("table", table),
            _part("column", column),
            _part("row_id", row),
            _part("kid", kid),
        )
    )


@functools.lru_cache(maxsize=32)
def _aead(secret: bytes) -> AESGCM:
    """One AES-GCM context per key: building it (key schedule, OpenSSL context) costs more
    than sealing an RRN, and bulk ingestion seals hundreds of thousands."""
    return AESGCM(secret)


def encrypt(keyset: KeySet, plaintext: bytes, *, table: str, column: str, row_id: RowId) -> Sealed:
    """Seal `plaintext` for `table.column` of row `row_id` under the primary rrn-encryption key."""
    key = keyset.primary(KeyPurpose.RRN_ENCRYPTION)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = associated_data(table=table, column=column, row_id=row_id, kid=key.kid)
    return Sealed(key.kid, nonce + _aead(key.secret_bytes()).encrypt(nonce, plaintext, aad))


def _open(
    keyset: KeySet,
    sealed: Sealed,
    *,
    table: str,
    column: str,
    row_id: RowId,
    allow_retired: bool,
) -> bytes:
    try:
        key = keyset.resolve(KeyPurpose.RRN_ENCRYPTION, sealed.kid, allow_retired=allow_retired)
    except KeyError:
        raise DecryptionError(
            f"sealed under key {sealed.kid!r}, which is not in the key set"
        ) from None
    except KeySetError as exc:
        raise DecryptionError(str(exc)) from None
    aad = associated_data(table=table, column=column, row_id=row_id, kid=sealed.kid)
    if len(sealed.blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("the sealed value could not be authenticated")
    nonce, body = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
    try:
        return _aead(key.secret_bytes()).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError("the sealed value could not be authenticated") from None


def decrypt(keyset: KeySet, sealed: Sealed, *, table: str, column: str, row_id: RowId) -> bytes:
    """Open a value sealed by `encrypt` for the same table, column and row.

    Raises `DecryptionError` when the key is unknown, retired or of another purpose, or when
    authentication fails (wrong location, wrong key, altered bytes) — without saying which
    part of the AAD was wrong.
    """
    return _open(keyset, sealed, table=table, column=column, row_id=row_id, allow_retired=False)


def reencrypt(keyset: KeySet, sealed: Sealed, *, table: str, column: str, row_id: RowId) -> Sealed:
    """The same plaintext sealed under the current primary key (for `hub keys reencrypt`).

    Opens values under retired keys too (that is what they are kept for). A value already
    under the primary key is returned unchanged, so callers can skip writing it
    (`result is sealed`).
    """
    if sealed.kid == keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid:
        return sealed
    plaintext = _open(keyset, sealed, table=table, column=column, row_id=row_id, allow_retired=True)
    return encrypt(keyset, plaintext, table=table, column=column, row_id=row_id)
