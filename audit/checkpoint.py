"""Signed checkpoints of the disclosure log: C2SP tlog-checkpoint bodies in C2SP signed notes.

A checkpoint (https://c2sp.org/tlog-checkpoint, "Note text") is three or more non-empty lines,
each ending in a newline: the log's origin, the tree size in decimal without leading zeroes,
the base64 (RFC 4648 §4) RFC 9162 root hash, then optional opaque extension lines.

It travels as a signed note (https://c2sp.org/signed-note, "Format"): the text, a blank line,
then one or more lines ``— <key name> <base64(key ID ‖ signature)>`` (em dash U+2014, space).
The signature covers the text including its final newline but not the blank line. The key ID
is ``SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)[:4]`` ("Ed25519
signatures"; 0x01 is the Ed25519 signature type). Verifiers ignore signatures from other keys,
reject the note if one from the expected key fails, and require at least one that verifies
("Signatures"). Auditors receive the key as a verifier key ``<name>+<hex key ID>+<base64(0x01
‖ public key)>``, the text form of the Go sumdb/note reference implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "format_body",
    "key_id",
    "open_note",
    "parse_body",
    "parse_verifier_key",
    "sign",
    "verifier_key",
    "verify",
]

ED25519: Final = b"\x01"
"""The signed-note signature type byte for Ed25519."""
ROOT_SIZE: Final = 32
MAX_SIZE: Final = 2**64 - 1
"""Tree sizes are uint64 in every tlog implementation; larger ones are refused."""
MAX_SIGNATURES: Final = 100
"""The spec asks verifiers to cap signatures per note and to accept at least 16."""
_SIGNATURE_PREFIX: Final = "\u2014 "
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, or carries no valid signature from the key."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log `origin` had `size` entries with Merkle `root`."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def _check_text(what: str, text: str) -> None:
    """Signed notes are UTF-8 without ASCII control characters other than newline."""
    if any(ch < " " and ch != "\n" for ch in text):
        raise CheckpointError(f"{what} contains a control character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(f"{what} is not valid UTF-8 text") from None


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"{what} must not be empty")
    if "\n" in line:
        raise CheckpointError(f"{what} must be a single line")
    _check_text(what, line)


def _check_key_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces or plus (signed-note "Format")."""
    _check_line("the key name", name)
    if "+" in name or any(ch.isspace() for ch in name):
        raise CheckpointError("the key name must not contain spaces or '+'")


def _b64decode(what: str, text: str) -> bytes:
    """Strict RFC 4648 §4 base64: the padded, canonical encoding only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def format_body(cp: Checkpoint) -> str:
    """The checkpoint's note text: origin, size, base64 root and extensions, one per line."""
    _check_line("the origin", cp.origin)
    if not 0 <= cp.size <= MAX_SIZE:
        raise CheckpointError(f"tree size {cp.size} is out of range")
    if len(cp.root) != ROOT_SIZE:
        raise CheckpointError(f"the root is {len(cp.root)} bytes, not {ROOT_SIZE}")
    for extension in cp.extensions:
        _check_line("an extension line", extension)
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode("ascii"), *cp.extensions]
    return "".join(line + "\n" for line in lines)


def parse_body(text: str) -> Checkpoint:
    """Read a checkpoint's note text strictly (tlog-checkpoint "Note text")."""
    if not text.endswith("\n"):
        raise CheckpointError("the checkpoint text must end with a newline")
    _check_text("the checkpoint text", text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint needs an origin, a tree size and a root hash line")
    if any(not line for line in lines):
        raise CheckpointError("a checkpoint's lines must not be empty")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError("the tree size must be decimal digits without leading zeroes")
    size = int(size_text)
    if size > MAX_SIZE:
        raise CheckpointError("the tree size does not fit in 64 bits")
    root = _b64decode("the root hash", root_text)
    if len(root) != ROOT_SIZE:
        raise CheckpointError(f"the root hash is {len(root)} bytes, not {ROOT_SIZE}")
    return Checkpoint(origin, size, root, tuple(extensions))


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], the 4-byte big-endian key ID."""
    _check_key_name(name)
    material = name.encode("utf-8") + b"\n" + ED25519 + public_key.public_bytes_raw()
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The text an auditor configures: ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``."""
    encoded = base64.b64encode(ED25519 + public_key.public_bytes_raw()).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """The key name and Ed25519 public key of a verifier key, after checking its key ID."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("a verifier key is <name>+<key ID>+<key>")
    name, id_text, key_text = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", id_text):
        raise CheckpointError("the verifier key's ID must be 8 lowercase hex digits")
    material = _b64decode("the verifier key", key_text)
    if len(material) != 1 + 32 or material[:1] != ED25519:
        raise CheckpointError("the verifier key is not an Ed25519 key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    except ValueError:
        raise CheckpointError("the verifier key is not a valid Ed25519 key") from None
    if key_id(name, public_key).hex() != id_text:
        raise CheckpointError("the verifier key's ID does not match its name and key")
    return name, public_key


def sign(body: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: `body` (normally `format_body`), a blank line, one Ed25519 signature."""
    if not body.endswith("\n"):
        raise CheckpointError("the note text must end with a newline")
    _check_text("the note text", body)
    signature = private_key.sign(body.encode("utf-8"))
    blob = key_id(key_name, private_key.public_key()) + signature
    return f"{body}\n{_SIGNATURE_PREFIX}{key_name} {base64.b64encode(blob).decode('ascii')}\n"


def _signature_lines(block: str) -> list[tuple[str, bytes]]:
    """(key name, key ID ‖ signature) for each line of the block after the blank line."""
    if not block:
        raise CheckpointError("the note has no signature lines")
    if not block.endswith("\n"):
        raise CheckpointError("the signed note must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"the note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise CheckpointError("a signature line must start with an em dash and a space")
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            raise CheckpointError("a signature line needs a key name and a signature")
        _check_key_name(name)
        blob = _b64decode("a signature", encoded)
        if len(blob) < 5:
            raise CheckpointError("a signature is shorter than a key ID and one byte")
        signatures.append((name, blob))
    return signatures


def open_note(note: str | bytes, key_name: str, public_key: Ed25519PublicKey) -> str:
    """The note text, once a signature by (`key_name`, `public_key`) verifies over it.

    Signatures by other keys — another name or another key ID — are ignored; one by this key
    that fails rejects the whole note (signed-note "Signatures").
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("the signed note is not valid UTF-8") from None
    _check_text("the signed note", note)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("the note has no blank line before its signatures")
    body, block = note[: split + 1], note[split + 2 :]
    expected_id = key_id(key_name, public_key)
    verified = False
    for name, blob in _signature_lines(block):
        if name != key_name or blob[:4] != expected_id:
            continue
        try:
            public_key.verify(blob[4:], body.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(f"the signature by {key_name} does not verify") from None
        verified = True
    if not verified:
        raise CheckpointError(f"the note carries no signature by {key_name}")
    return body


def verify(
    note: str | bytes,
    key_name: str,
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint in `note`, once signed by the key; with `origin`, it must be that log's."""
    checkpoint = parse_body(open_note(note, key_name, public_key))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
