"""The hub's key set: every key, by purpose and kid, loaded from a file outside the database.

Keys carry ids (kids) so they can rotate without downtime (DESIGN.md): new writes and signatures
use the purpose's single *primary* key, while *active* keys still open old ciphertexts and verify
tokens issued before a rotation, and *retired* keys survive only until `hub keys reencrypt` has
moved the last data off them. A `KeySet` is immutable; `rotate` and `retire` return a new one for
the caller to `save`.

RRNs must be stored encrypted (개인정보 보호법 제24조의2); keeping the keys out of the database
means a database dump alone reveals no RRN.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Final, NamedTuple

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.vault.errors import KeySetError, UnknownKey
from hub.vault.key import Key, KeyPurpose, KeyStatus, new_key
from hub.vault.keyfile import decode_keys, encode_keys, write_private_file

# Key, KeyPurpose and KeyStatus are re-exported: callers naturally import them with KeySet.
__all__ = ["Key", "KeyPurpose", "KeySet", "KeyStatus", "LogSigningKey", "TokenSigningKey"]

_GUARDED_PURPOSES: Final[dict[KeyPurpose, str]] = {
    KeyPurpose.PSEUDONYM: (
        "rotating the pseudonym key changes every subject_ref already given to organisations "
        "and every pseudonym in the disclosure log, so recipients and auditors can no longer "
        "match earlier answers to the same person"
    ),
    KeyPurpose.BLIND_INDEX: (
        "rotating the blind-index key means every person's RRN index must be recomputed "
        "before lookups by the new key find anyone"
    ),
}
_STATUS_ORDER: Final = {KeyStatus.PRIMARY: 0, KeyStatus.ACTIVE: 1, KeyStatus.RETIRED: 2}

JWKS = dict[str, list[dict[str, str]]]


class TokenSigningKey(NamedTuple):
    """The key that signs access tokens (RS256) and the kid to put in the JWS header."""

    kid: str
    private_key: rsa.RSAPrivateKey


class LogSigningKey(NamedTuple):
    """The key that signs disclosure-log checkpoints (Ed25519) and its kid."""

    kid: str
    private_key: Ed25519PrivateKey


def _b64url_uint(value: int) -> str:
    """RFC 7518 §2 Base64urlUInt: big-endian, minimal length, no padding."""
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class KeySet:
    """All keys of the hub, validated: unique kids and exactly one primary key per purpose."""

    __slots__ = ("_by_kid", "_keys")

    def __init__(self, keys: Iterable[Key]) -> None:
        self._keys: tuple[Key, ...] = tuple(keys)
        self._by_kid: dict[str, Key] = {}
        for key in self._keys:
            if key.kid in self._by_kid:
                raise KeySetError(f"kid {key.kid!r} appears more than once")
            self._by_kid[key.kid] = key
        for purpose in KeyPurpose:
            primaries = [
                k for k in self._keys if k.purpose is purpose and k.status is KeyStatus.PRIMARY
            ]
            if len(primaries) != 1:
                problem = "has no primary key" if not primaries else "has more than one primary key"
                raise KeySetError(f"purpose {purpose.value!r} {problem}")

    # -- creating, loading, saving -------------------------------------------------------

    @classmethod
    def generate(cls, now: datetime) -> KeySet:
        """A fresh key set: one random primary key per purpose."""
        keys: list[Key] = []
        for purpose in KeyPurpose:
            keys.append(new_key(purpose, now, taken=frozenset(k.kid for k in keys)))
        return cls(keys)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeySet:
        """Read and validate a key-set file; `KeySetError` says what is wrong (never the keys)."""
        file = Path(path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise KeySetError(f"key-set file {file} does not exist") from None
        except OSError as exc:
            raise KeySetError(f"key-set file {file} cannot be read: {exc.strerror}") from None
        keys = decode_keys(data, source=str(file))
        try:
            return cls(keys)
        except KeySetError as exc:
            raise KeySetError(f"key-set file {file} is invalid: {exc}") from None

    @classmethod
    def load_or_generate(cls, path: str | os.PathLike[str], now: datetime) -> KeySet:
        """Load the key set at `path`, creating and saving a new one if there is no file
        (`hub demo`: a key set is created if none exists)."""
        if Path(path).exists():
            return cls.load(path)
        keyset = cls.generate(now)
        keyset.save(path)
        return keyset

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key set atomically with mode 0600, creating the parent directory."""
        write_private_file(Path(path), encode_keys(self._keys))

    # -- lookups ---------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[Key, ...]:
        """Every key, in file order."""
        return self._keys

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> Key:
        """The key with this kid; `UnknownKey` (a KeyError) if there is none."""
        try:
            return self._by_kid[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    def primary(self, purpose: KeyPurpose) -> Key:
        """The key used for new writes and signatures of this purpose."""
        return next(k for k in self._keys if k.purpose is purpose and k.status is KeyStatus.PRIMARY)

    def keys_for(self, purpose: KeyPurpose, *, include_retired: bool = False) -> tuple[Key, ...]:
        """Keys of a purpose: primary first, then active, then (if asked) retired; newest first
        within a status."""
        chosen = [
            k
            for k in self._keys
            if k.purpose is purpose and (include_retired or k.status is not KeyStatus.RETIRED)
        ]
        chosen.sort(key=lambda k: k.created_at, reverse=True)
        chosen.sort(key=lambda k: _STATUS_ORDER[k.status])
        return tuple(chosen)

    def resolve(
        self, purpose: KeyPurpose, kid: str | None = None, *, allow_retired: bool = False
    ) -> Key:
        """The primary key of `purpose`, or the key `kid` after checking that it serves
        `purpose` and (unless `allow_retired`) is not retired."""
        if kid is None:
            return self.primary(purpose)
        key = self.get(kid)
        if key.purpose is not purpose:
            raise KeySetError(f"key {kid!r} is a {key.purpose.value} key, not {purpose.value}")
        if key.status is KeyStatus.RETIRED and not allow_retired:
            raise KeySetError(
                f"key {kid!r} is retired; data under it must be re-encrypted (hub keys reencrypt)"
            )
        return key

    # -- life cycle -----------------------------------------------------------------------

    def rotate(self, purpose: KeyPurpose, now: datetime, *, force: bool = False) -> KeySet:
        """A new key set with a fresh primary key for `purpose`; the old primary becomes active.

        Refused for `pseudonym` and `blind-index` unless `force=True`: those keys are not
        encryption keys that can be swapped behind stable data — their outputs *are* the data
        (subject_refs handed to organisations and written to the audit log; the RRN index), so a
        rotation must be a planned migration, not a routine command.
        """
        if purpose in _GUARDED_PURPOSES and not force:
            raise KeySetError(
                f"refusing to rotate the {purpose.value} key: {_GUARDED_PURPOSES[purpose]}; "
                "pass force=True (hub keys rotate --force) if that is intended"
            )
        fresh = new_key(purpose, now, taken=frozenset(self._by_kid))
        demoted = (
            k.with_status(KeyStatus.ACTIVE)
            if k.purpose is purpose and k.status is KeyStatus.PRIMARY
            else k
            for k in self._keys
        )
        return KeySet([*demoted, fresh])

    def retire(self, kid: str) -> KeySet:
        """A new key set in which `kid` is retired (unpublished, unused for lookups).

        The primary key cannot be retired: rotate first, so a purpose always has a key to
        write with.
        """
        key = self.get(kid)
        if key.status is KeyStatus.PRIMARY:
            raise KeySetError(
                f"key {kid!r} is the primary {key.purpose.value} key; rotate before retiring it"
            )
        return KeySet(k.with_status(KeyStatus.RETIRED) if k.kid == kid else k for k in self._keys)

    # -- signing keys for auth and audit ----------------------------------------------------

    def public_jwks(self) -> JWKS:
        """The JWK Set (RFC 7517 §5) of non-retired token-signing keys, public members only.

        Served at `/.well-known/jwks.json`; active keys stay published so tokens signed before
        a rotation still verify until they expire.
        """
        entries: list[dict[str, str]] = []
        for key in self.keys_for(KeyPurpose.TOKEN_SIGNING):
            numbers = key.rsa_private_key().public_key().public_numbers()
            entries.append(
                {
                    "kty": "RSA",
                    "kid": key.kid,
                    "use": "sig",
                    "alg": "RS256",
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            )
        return {"keys": entries}

    def token_signing_private_key(self, kid: str | None = None) -> TokenSigningKey:
        """The RSA key (and kid) to sign access tokens with: the primary unless `kid` is given."""
        key = self.resolve(KeyPurpose.TOKEN_SIGNING, kid)
        return TokenSigningKey(key.kid, key.rsa_private_key())

    def log_signing_key(self) -> LogSigningKey:
        """The primary Ed25519 key (and kid) for signing disclosure-log checkpoints."""
        key = self.primary(KeyPurpose.LOG_SIGNING)
        return LogSigningKey(key.kid, key.ed25519_private_key())

    def log_public_keys(self, *, include_retired: bool = True) -> dict[str, Ed25519PublicKey]:
        """Public keys of log-signing keys by kid, for verifying checkpoints.

        Retired keys are included by default: a checkpoint is never re-signed, so verifying the
        whole log (`hub audit verify`) needs every key that ever signed one.
        """
        return {
            key.kid: key.ed25519_private_key().public_key()
            for key in self.keys_for(KeyPurpose.LOG_SIGNING, include_retired=include_retired)
        }

    def __repr__(self) -> str:
        listed = ", ".join(f"{k.kid}:{k.status.value}" for k in self._keys)
        return f"KeySet({listed})"

    __str__ = __repr__
