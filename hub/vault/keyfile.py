"""The key-set file (format version 1): validation, decoding and atomic writing.

Keys live outside the database (DESIGN.md), in a JSON file named by `HUB_KEYS_FILE`:

    {"version": 1, "keys": [
      {"kid": "rrn-enc-20261122-3f9a", "purpose": "rrn-encryption",
       "created_at": "2026-11-22T10:00:00Z", "status": "primary",
       "material": {"k": "<base64url, 32 bytes>"}},
      ... "purpose": "blind-index" | "pseudonym"  -> "material": {"k": ...}
      ... "purpose": "token-signing"              -> "material": {"private_pem": "<PKCS#8 PEM>"}
      ... "purpose": "log-signing"                -> "material": {"seed": "<base64url, 32 bytes>"}
    ]}

base64url is RFC 4648 §5, written without padding (padding is tolerated on input). The file is
validated with pydantic (`extra="forbid"`, inputs hidden from error messages) so a typo fails
loudly; errors name the field and the problem and never print key material. Cross-key rules
(unique kids, one primary per purpose) are checked by `KeySet` itself.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Final, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hub.vault.errors import KeySetError
from hub.vault.key import (
    RSA_KEY_BITS,
    SYMMETRIC_KEY_BYTES,
    SYMMETRIC_PURPOSES,
    Key,
    KeyMaterial,
    KeyPurpose,
    KeyStatus,
)

__all__ = ["decode_keys", "encode_keys", "write_private_file"]

FILE_MODE: Final = 0o600
"""Owner read/write only: the file holds every secret of the hub."""

_MAX_REPORTED_ERRORS: Final = 5
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")

_MATERIAL_MEMBER: Final[dict[KeyPurpose, str]] = {
    KeyPurpose.RRN_ENCRYPTION: "k",
    KeyPurpose.BLIND_INDEX: "k",
    KeyPurpose.PSEUDONYM: "k",
    KeyPurpose.TOKEN_SIGNING: "private_pem",
    KeyPurpose.LOG_SIGNING: "seed",
}


class _FileModel(BaseModel):
    # hide_input_in_errors: a validation error must never quote key material back.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class KeyRecord(_FileModel):
    """One key as written in the file."""

    kid: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    """Printable and free of `|`, because the kid is part of the AES-GCM AAD (hub.vault.cipher)."""
    purpose: KeyPurpose
    created_at: AwareDatetime
    status: KeyStatus
    material: dict[str, str]


class KeySetFile(_FileModel):
    """The whole file, format version 1."""

    version: Literal[1]
    keys: list[KeyRecord] = Field(min_length=1)


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, *, where: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise KeySetError(f"{where} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise KeySetError(f"{where} is not base64url text") from None


def _decode_material(record: KeyRecord, index: int) -> KeyMaterial:
    member = _MATERIAL_MEMBER[record.purpose]
    where = f"keys.{index}.material"
    if set(record.material) != {member}:
        raise KeySetError(
            f"{where} of a key for {record.purpose.value} must have exactly the member {member!r}"
        )
    text = record.material[member]
    if record.purpose in SYMMETRIC_PURPOSES or record.purpose is KeyPurpose.LOG_SIGNING:
        raw = _b64url_decode(text, where=f"{where}.{member}")
        if len(raw) != SYMMETRIC_KEY_BYTES:
            raise KeySetError(f"{where}.{member} must decode to {SYMMETRIC_KEY_BYTES} bytes")
        if record.purpose is KeyPurpose.LOG_SIGNING:
            return Ed25519PrivateKey.from_private_bytes(raw)
        return raw
    try:
        private = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeySetError(f"{where}.{member} is not an unencrypted PEM private key") from None
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < RSA_KEY_BITS:
        raise KeySetError(f"{where}.{member} must be an RSA key of at least {RSA_KEY_BITS} bits")
    return private


def _encode_material(key: Key) -> dict[str, str]:
    member = _MATERIAL_MEMBER[key.purpose]
    if key.purpose in SYMMETRIC_PURPOSES:
        return {member: _b64url_encode(key.secret_bytes())}
    if key.purpose is KeyPurpose.LOG_SIGNING:
        return {member: _b64url_encode(key.ed25519_private_key().private_bytes_raw())}
    pem = key.rsa_private_key().private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return {member: pem.decode("ascii")}


def decode_keys(data: bytes | str, *, source: str) -> tuple[Key, ...]:
    """Validate a key-set document and decode every key; `KeySetError` names what is wrong."""
    try:
        document = KeySetFile.model_validate_json(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(document)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        more = len(problems) - _MAX_REPORTED_ERRORS
        listed = "; ".join(problems[:_MAX_REPORTED_ERRORS]) + (
            f"; and {more} more" if more > 0 else ""
        )
        raise KeySetError(f"key-set file {source} is invalid: {listed}") from None
    keys = []
    for index, record in enumerate(document.keys):
        try:
            material = _decode_material(record, index)
        except KeySetError as exc:
            raise KeySetError(f"key-set file {source} is invalid: {exc}") from None
        keys.append(Key(record.kid, record.purpose, record.status, record.created_at, material))
    return tuple(keys)


def encode_keys(keys: tuple[Key, ...]) -> bytes:
    """The key-set document for `keys`, as UTF-8 JSON (stable layout, trailing newline)."""
    document = KeySetFile(
        version=1,
        keys=[
            KeyRecord(
                kid=key.kid,
                purpose=key.purpose,
                created_at=key.created_at,
                status=key.status,
                material=_encode_material(key),
            )
            for key in keys
        ],
    )
    return document.model_dump_json(indent=2).encode("utf-8") + b"\n"


def write_private_file(path: Path, content: bytes) -> None:
    """Replace `path` atomically with `content`, readable by the owner only.

    Written to a temporary file in the same directory (so `os.replace` is a same-file-system
    rename, atomic on POSIX), fsynced, then renamed: a crash leaves either the old or the new key
    set, never a truncated one — losing the file would make every stored RRN unreadable.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    with contextlib.suppress(OSError):  # directory fsync is not possible everywhere
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
