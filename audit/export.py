"""The disclosure log's export: JSON Lines (UTF-8) that an auditor can verify without the hub.

Line 1 is the header::

    {"format": "hub-disclosure-log/1", "origin": …, "verifier_keys": […], "exported_at": …}

then one line per entry in index order, ``{"index", "entry", "leaf_hash"}``, where ``entry`` is
exactly the JSON object whose RFC 8785 canonical form is the leaf's data, so anyone recomputes
the leaf hash as ``SHA-256(0x00 ‖ rfc8785(entry))`` (RFC 9162 §2.1.1), and ``leaf_hash`` is the
base64 hash the sequencer stored; then one line per checkpoint, ``{"checkpoint", "size"}``: the
C2SP signed note and the size it was stored under.

The verifier keys are C2SP verifier keys (``<origin>+<key ID>+<base64 key>``), to identify the
keys; an auditor checks the checkpoints with keys obtained from the hub independently, never
with the ones a file brings along. The stored leaf hashes are the hub's claim, not proof: they
only let the verifier name the exact entry that changed (audit.verify); the signed roots decide.

Streams both ways: entries are written as the database cursor yields them and read back one
line at a time (the checkpoints, at the end of the file, are read in a first pass).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from audit import checkpoint, prune, store
from audit.verify import Leaf, Pruned, Report, SignedCheckpoint, Verifier

FORMAT: Final = "hub-disclosure-log/1"


class ExportError(ValueError):
    """The export file is malformed. Messages name the line, never its content."""


@dataclass(frozen=True)
class Header:
    origin: str
    verifier_keys: tuple[str, ...]
    exported_at: str
    pruned: Pruned | None = None
    """Set when the log was pruned (audit.prune): entries start at its size."""


def _line(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


async def write(
    session: AsyncSession,
    stream: TextIO,
    *,
    origin: str,
    keys: Mapping[str, Ed25519PublicKey],
    now: dt.datetime,
    on_leaf: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Write the whole log to `stream`; returns how many entries and checkpoints it wrote.

    The checkpoints are read first and written last: the log only grows, so every checkpoint
    in the file covers entries that the file holds, even while a sequencer runs.
    """
    notes = await store.checkpoints(session)
    header: dict[str, Any] = {
        "format": FORMAT,
        "origin": origin,
        "verifier_keys": [checkpoint.verifier_key(origin, key) for key in keys.values()],
        "exported_at": now.isoformat(),
    }
    pruned = await prune.pruned_prefix(session)
    if pruned is not None:
        header["pruned"] = {
            "size": pruned.size,
            "subtrees": [
                {"start": start, "end": end, "hash": base64.b64encode(digest).decode("ascii")}
                for (start, end), digest in sorted(pruned.subtrees.items())
            ],
        }
    stream.write(_line(header))
    written = 0
    async with aclosing(store.leaves(session)) as leaves:
        async for leaf in leaves:
            digest = None if leaf.leaf_hash is None else base64.b64encode(leaf.leaf_hash)
            stream.write(
                _line(
                    {
                        "index": leaf.index,
                        "entry": leaf.entry,
                        "leaf_hash": None if digest is None else digest.decode("ascii"),
                    }
                )
            )
            written += 1
            if on_leaf is not None:
                on_leaf()
    for note in notes:
        stream.write(_line({"checkpoint": note.note, "size": note.size}))
    return written, len(notes)


# -- reading -------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line after the header."""
    number = 1
    try:
        with path.open(encoding="utf-8", newline="\n") as lines:
            for number, text in enumerate(lines, start=1):
                if number > 1:
                    yield number, text
    except UnicodeDecodeError:
        raise ExportError(f"line {number + 1} is not UTF-8") from None


def _parse(number: int, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ExportError(f"line {number} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ExportError(f"line {number} is not a JSON object")
    return value


def _integer(number: int, record: Mapping[str, Any], name: str) -> int:
    value = record.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ExportError(f"line {number}: {name!r} must be a non-negative integer")
    return value


def read_header(path: Path) -> Header:
    """The header line, checked for the format this module writes."""
    try:
        with path.open(encoding="utf-8", newline="\n") as lines:
            first = lines.readline()
    except UnicodeDecodeError:
        raise ExportError("line 1 is not UTF-8") from None
    if not first:
        raise ExportError("the file is empty")
    header = _parse(1, first)
    if header.get("format") != FORMAT:
        raise ExportError(f"line 1 is not a {FORMAT} header")
    origin, keys, exported_at = (
        header.get("origin"),
        header.get("verifier_keys"),
        header.get("exported_at"),
    )
    if not isinstance(origin, str) or not isinstance(exported_at, str):
        raise ExportError("line 1: the header needs an origin and exported_at")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ExportError("line 1: verifier_keys must be a list of strings")
    return Header(origin, tuple(keys), exported_at, _pruned(header.get("pruned")))


def _pruned(value: Any) -> Pruned | None:
    """The header's `pruned` object: {"size", "subtrees": [{"start", "end", "hash"}]}."""
    if value is None:
        return None
    problem = ExportError("line 1: 'pruned' must give a size and the subtrees' hashes")
    if not isinstance(value, dict) or not isinstance(value.get("subtrees"), list):
        raise problem
    size = value.get("size")
    subtrees: dict[tuple[int, int], bytes] = {}
    for item in value["subtrees"]:
        if not isinstance(item, dict):
            raise problem
        start, end, digest = item.get("start"), item.get("end"), item.get("hash")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(digest, str)):
            raise problem
        try:
            subtrees[(start, end)] = base64.b64decode(digest, validate=True)
        except binascii.Error:
            raise problem from None
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise problem
    return Pruned(size, subtrees)


def read_checkpoints(path: Path) -> tuple[list[SignedCheckpoint], int]:
    """Every checkpoint line of the file, and how many other (entry) lines it has: a first
    pass over the file, which parses only the lines that may be checkpoints."""
    found: list[SignedCheckpoint] = []
    others = 0
    for number, text in _records(path):
        record = _parse(number, text) if '"checkpoint"' in text else {}
        if "checkpoint" not in record:
            others += 1
            continue
        note = record["checkpoint"]
        if not isinstance(note, str):
            raise ExportError(f"line {number}: 'checkpoint' must be the note's text")
        found.append(SignedCheckpoint(note, _integer(number, record, "size")))
    return found, others


def read_leaves(path: Path) -> Iterator[Leaf]:
    """Every entry line as the verifier's input: the canonical bytes (RFC 8785) of the entry
    object and the stored leaf hash, in file order (the verifier checks the order)."""
    for number, text in _records(path):
        record = _parse(number, text)
        if "checkpoint" in record:
            continue
        index = _integer(number, record, "index")
        entry, digest = record.get("entry"), record.get("leaf_hash")
        if entry is not None and not isinstance(entry, dict):
            raise ExportError(f"line {number}: 'entry' must be a JSON object")
        if digest is not None and not isinstance(digest, str):
            raise ExportError(f"line {number}: 'leaf_hash' must be base64 text")
        try:
            canonical = None if entry is None else rfc8785.dumps(entry)
            stored = None if digest is None else base64.b64decode(digest, validate=True)
        except (rfc8785.CanonicalizationError, binascii.Error):
            raise ExportError(f"line {number}: the entry or its leaf hash cannot be read") from None
        yield Leaf(index, canonical, stored)


def verify_export(
    path: Path,
    origin: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    extra_checkpoints: list[SignedCheckpoint] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_leaf: Callable[[], None] | None = None,
) -> Report:
    """Verify an export file (audit.verify) with trusted `keys`, and any checkpoints kept
    outside the hub. Raises `ExportError` for a file that is not an export; `on_total` gets
    the number of entry lines once the first pass has counted them."""
    header = read_header(path)
    notes, entries = read_checkpoints(path)
    if on_total is not None:
        on_total(entries)
    verifier = Verifier(notes + list(extra_checkpoints or []), origin, keys, pruned=header.pruned)
    if verifier.failed:
        return verifier.finish()
    for leaf in read_leaves(path):
        if not verifier.add(*leaf):
            break
        if on_leaf is not None:
            on_leaf()
    return verifier.finish()
