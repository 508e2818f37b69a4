"""One key of the hub's key set: its id, purpose, status and material.

Every key serves exactly one purpose, so that a key compromised or rotated for one job (say
token signing) never affects another (say the RRN blind index) — the key-separation principle
of NIST SP 800-57 Part 1 §5.2 ("a single key should be used for only one purpose").

Key material is never part of `repr()`/`str()` and never enters an error message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.vault.errors import KeySetError

__all__ = [
    "SYMMETRIC_PURPOSES",
    "Key",
    "KeyMaterial",
    "KeyPurpose",
    "KeyStatus",
    "new_key",
]


class KeyPurpose(StrEnum):
    """What a key may be used for (one purpose per key)."""

    RRN_ENCRYPTION = "rrn-encryption"
    """AES-256-GCM key sealing RRNs at rest (PIPA 제24조의2 requires RRN encryption)."""
    BLIND_INDEX = "blind-index"
    """HMAC-SHA256 key of the RRN blind index (equality lookup without decrypting)."""
    PSEUDONYM = "pseudonym"
    """HMAC-SHA256 key of per-organisation `subject_ref`s and the audit log's pseudonyms."""
    TOKEN_SIGNING = "token-signing"  # noqa: S105 - a purpose name, not a secret
    """RSA-2048 key signing access tokens with RS256 (RFC 9068 §2.1 makes RS256 mandatory)."""
    LOG_SIGNING = "log-signing"
    """Ed25519 key signing disclosure-log checkpoints (C2SP signed-note)."""


class KeyStatus(StrEnum):
    """Where a key is in its life cycle (NIST SP 800-57 Part 1 §5.3 cryptoperiods)."""

    PRIMARY = "primary"
    """Exactly one per purpose: used for every new ciphertext, index entry or signature."""
    ACTIVE = "active"
    """Still used to read and verify (old ciphertexts, tokens still in flight), never to write."""
    RETIRED = "retired"
    """Kept only so leftover data can be re-encrypted; not published, not used in lookups."""


SYMMETRIC_PURPOSES: Final = frozenset(
    {KeyPurpose.RRN_ENCRYPTION, KeyPurpose.BLIND_INDEX, KeyPurpose.PSEUDONYM}
)
"""Purposes whose material is 32 random bytes (AES-256 / HMAC-SHA256 keys)."""

SYMMETRIC_KEY_BYTES: Final = 32
RSA_KEY_BITS: Final = 2048
RSA_PUBLIC_EXPONENT: Final = 65537

_KID_PREFIX: Final[dict[KeyPurpose, str]] = {
    KeyPurpose.RRN_ENCRYPTION: "rrn-enc",
    KeyPurpose.BLIND_INDEX: "blind-idx",
    KeyPurpose.PSEUDONYM: "pseudo",
    KeyPurpose.TOKEN_SIGNING: "token-sig",
    KeyPurpose.LOG_SIGNING: "log-sig",
}

KeyMaterial = bytes | rsa.RSAPrivateKey | Ed25519PrivateKey
"""Symmetric purposes: 32 raw bytes; token signing: an RSA key; log signing: an Ed25519 key."""


@dataclass(frozen=True, slots=True, repr=False)
class Key:
    """A key with its public metadata and (private) material.

    Build keys with `new_key` or by loading a key-set file; the material is checked to fit the
    purpose on construction.
    """

    kid: str
    purpose: KeyPurpose
    status: KeyStatus
    created_at: datetime
    _material: KeyMaterial = field(compare=False)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise KeySetError(f"key {self.kid!r}: created_at must carry a time zone")
        if not _material_fits(self.purpose, self._material):
            raise KeySetError(f"key {self.kid!r}: material does not fit purpose {self.purpose}")

    def secret_bytes(self) -> bytes:
        """The 32-byte symmetric key (rrn-encryption, blind-index, pseudonym)."""
        if isinstance(self._material, bytes):
            return self._material
        raise KeySetError(f"key {self.kid!r} ({self.purpose}) is not a symmetric key")

    def rsa_private_key(self) -> rsa.RSAPrivateKey:
        """The RSA private key (token-signing)."""
        if isinstance(self._material, rsa.RSAPrivateKey):
            return self._material
        raise KeySetError(f"key {self.kid!r} ({self.purpose}) is not an RSA key")

    def ed25519_private_key(self) -> Ed25519PrivateKey:
        """The Ed25519 private key (log-signing)."""
        if isinstance(self._material, Ed25519PrivateKey):
            return self._material
        raise KeySetError(f"key {self.kid!r} ({self.purpose}) is not an Ed25519 key")

    def with_status(self, status: KeyStatus) -> Key:
        """The same key in another life-cycle status."""
        return replace(self, status=status)

    def __repr__(self) -> str:
        return (
            f"Key(kid={self.kid!r}, purpose={self.purpose.value!r}, "
            f"status={self.status.value!r}, created_at={self.created_at.isoformat()!r})"
        )

    __str__ = __repr__


def _material_fits(purpose: KeyPurpose, material: KeyMaterial) -> bool:
    if purpose in SYMMETRIC_PURPOSES:
        return isinstance(material, bytes) and len(material) == SYMMETRIC_KEY_BYTES
    if purpose is KeyPurpose.TOKEN_SIGNING:
        return isinstance(material, rsa.RSAPrivateKey) and material.key_size >= RSA_KEY_BITS
    return isinstance(material, Ed25519PrivateKey)


def _new_kid(purpose: KeyPurpose, now: datetime, taken: frozenset[str]) -> str:
    """`<purpose-short>-<YYYYMMDD>-<4 hex>`: readable in logs, unique within the key set."""
    while True:
        kid = f"{_KID_PREFIX[purpose]}-{now.astimezone(UTC):%Y%m%d}-{secrets.token_hex(2)}"
        if kid not in taken:
            return kid


def _new_material(purpose: KeyPurpose) -> KeyMaterial:
    if purpose in SYMMETRIC_PURPOSES:
        return secrets.token_bytes(SYMMETRIC_KEY_BYTES)
    if purpose is KeyPurpose.TOKEN_SIGNING:
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    return Ed25519PrivateKey.generate()


def new_key(
    purpose: KeyPurpose,
    now: datetime,
    *,
    status: KeyStatus = KeyStatus.PRIMARY,
    taken: frozenset[str] = frozenset(),
) -> Key:
    """A fresh random key for `purpose`, with a kid not in `taken`."""
    if now.tzinfo is None:
        raise KeySetError("a key's creation time must carry a time zone")
    return Key(
        kid=_new_kid(purpose, now, taken),
        purpose=purpose,
        status=status,
        created_at=now.astimezone(UTC).replace(microsecond=0),
        _material=_new_material(purpose),
    )
