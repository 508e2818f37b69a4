"""The offline verifier of the disclosure log: recompute the tree from the entries themselves and
check every signed checkpoint against it.

Why: the log is only tamper-evident if someone outside the hub can check it without trusting
the hub's own tables. An auditor holding the entries (an export, or read access to the
database), the checkpoints and the log's public keys recomputes every leaf hash
(``SHA-256(0x00 ‖ entry)``, RFC 9162 §2.1.1) and the Merkle root at every checkpoint size, and
compares it with the signed root (C2SP tlog-checkpoint in a C2SP signed note). Any change to an
entry, any deletion, insertion, reordering or truncation of entries that a checkpoint covers
changes a signed root, so it is detected.

It also names *where*: the first bad leaf index. Where the hash the sequencer stored for each
leaf (``audit_nodes`` level 0, or ``leaf_hash`` in an export) is at hand, the first index whose
recomputed hash differs from it, or whose index is out of sequence; if those stored hashes were
rewritten consistently too, the start of the range of the first checkpoint whose root fails
(the size of the last checkpoint that still matched): a root alone cannot say more. Entries
after the latest checkpoint are checked against their stored hashes only, since nothing signs
them yet; the report counts them.

Pure: the input is plain data (leaves in index order, checkpoint notes, keys), so the same code
verifies the database and an export. Memory is O(log n): the right edge of the tree (a stack of
perfect subtrees, RFC 9162 §2.1.1's MTH split), plus the few subtrees a consistency proof between
the last and the next checkpoint needs (§2.1.4.1); time is O(n) hashes.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import checkpoint, merkle
from audit.checkpoint import Checkpoint, CheckpointError

__all__ = [
    "Leaf",
    "Pruned",
    "Report",
    "SignedCheckpoint",
    "Verifier",
    "external_checkpoint",
    "verify",
]

Range = tuple[int, int]


class Leaf(NamedTuple):
    """One sequenced entry as read back, in index order."""

    leaf_index: int
    entry: bytes | None
    """The entry's canonical bytes (RFC 8785), the leaf's data; None if the entry is missing."""
    stored_hash: bytes | None
    """The leaf hash the sequencer stored, or None where it is not at hand."""


class SignedCheckpoint(NamedTuple):
    """A signed note (C2SP signed-note) and the tree size it is stored or published under."""

    note: str
    size: int


class Pruned(NamedTuple):
    """Where a pruned log starts: the leaves before `size` were removed (a checkpoint signs
    that size), and `subtrees` holds the hashes of the perfect subtrees that compose them
    (audit.merkle.root_subtrees(size)), as stored."""

    size: int
    subtrees: Mapping[Range, bytes]


@dataclass(frozen=True)
class Report:
    """The verdict. Reasons name indices and sizes only, never an entry's content."""

    ok: bool
    entries: int
    """Entries read and found good (on failure, those before the point of failure)."""
    checkpoints: int
    """Checkpoints whose signature, root and consistency with the previous one were checked."""
    latest_size: int
    """The largest tree size a valid checkpoint signs (0 without checkpoints)."""
    unsigned: int
    """Entries after the latest checkpoint, checked against their stored leaf hashes only."""
    first_bad_index: int | None = None
    reason: str | None = None
    bad_checkpoint: int | None = None
    """The size of a checkpoint that is itself invalid (bad signature, wrong log, wrong size)."""
    pruned: int = 0
    """Leaves before this index were pruned; verification started from the checkpoint there."""


def external_checkpoint(note: str) -> SignedCheckpoint:
    """A checkpoint kept outside the hub (e.g. fetched from ``GET /v1/audit/checkpoint``), with
    the size read from its text; its signature is checked by the verifier like any other."""
    split = note.rfind("\n\n")
    body = note[: split + 1] if split >= 0 else note
    return SignedCheckpoint(note, checkpoint.parse_body(body).size)


class _Invalid(Exception):
    def __init__(self, size: int, reason: str) -> None:
        super().__init__(reason)
        self.size = size
        self.reason = reason


def _open(
    signed: SignedCheckpoint, origin: str, keys: Mapping[str, Ed25519PublicKey]
) -> Checkpoint:
    """The checkpoint, if any of the log's keys signed it under the origin as key name."""
    for public_key in keys.values():
        try:
            opened = checkpoint.verify(signed.note, origin, public_key, origin=origin)
        except CheckpointError:
            continue
        if opened.size != signed.size:
            raise _Invalid(
                signed.size, f"the checkpoint kept at size {signed.size} signs size {opened.size}"
            )
        return opened
    raise _Invalid(
        signed.size,
        f"the checkpoint at size {signed.size} carries no valid signature by the keys of {origin}",
    )


class Verifier:
    """Checks leaves pushed one at a time with `add`, so a caller may stream them from a
    database cursor or a file; `finish` gives the report. Stops at the first failure."""

    def __init__(
        self,
        checkpoints: Iterable[SignedCheckpoint],
        origin: str,
        keys: Mapping[str, Ed25519PublicKey],
        *,
        pruned: Pruned | None = None,
    ) -> None:
        self._size = 0
        self._start = 0
        self._checked = 0
        self._failure: tuple[int | None, str, int | None] | None = None
        self._frontier: list[Range] = []  # the right edge: root_subtrees(size), left to right
        self._hashes: dict[Range, bytes] = {}  # the frontier's hashes and the needed ones
        self._needed: frozenset[Range] = frozenset()
        self._previous: Checkpoint | None = None  # the last checkpoint that matched
        try:
            opened = [_open(signed, origin, keys) for signed in checkpoints]
        except _Invalid as invalid:
            self._failure = (None, invalid.reason, invalid.size)
            opened = []
        self._latest = max((c.size for c in opened), default=0)
        self._pending = sorted(opened, key=lambda c: c.size, reverse=True)  # smallest last
        if pruned is not None and self._failure is None:
            self._resume(pruned)
        self._reach_checkpoints(start=True)

    def _resume(self, pruned: Pruned) -> None:
        """Start after a pruned prefix: its subtrees must compose the root that a checkpoint
        at its size signs. Checkpoints inside the prefix were checked before it was pruned
        (against the archived entries) and are passed over."""
        size = pruned.size
        self._size = self._start = size
        base = next((c for c in self._pending if c.size == size), None)
        frontier = merkle.root_subtrees(size)
        if base is None:
            self._fail(size, f"the log is pruned before index {size}, but no checkpoint signs it")
            return
        if set(pruned.subtrees) != set(frontier) or not hmac.compare_digest(
            merkle.range_hash(0, size, pruned.subtrees), base.root
        ):
            self._fail(
                size,
                f"the stored hashes of the pruned entries before index {size} do not compose "
                "the root the checkpoint there signs",
            )
            return
        self._frontier = frontier
        self._hashes = dict(pruned.subtrees)
        self._pending = [c for c in self._pending if c.size > size]
        self._previous = base
        self._checked += 1

    @property
    def failed(self) -> bool:
        return self._failure is not None

    def add(self, index: int, entry: bytes | None, stored_hash: bytes | None) -> bool:
        """Check the next leaf; False once the log has failed (the caller may stop reading)."""
        if self._failure is not None:
            return False
        expected = self._size
        if index != expected:
            if index > expected:
                reason = f"entry {expected} is missing: the entry read after it has index {index}"
            else:
                reason = f"index {index} occurs again, or out of order, where {expected} was due"
            return self._fail(min(index, expected), reason)
        if entry is None:
            return self._fail(index, f"leaf {index} has no entry")
        digest = merkle.leaf_hash(entry)
        if stored_hash is not None and not hmac.compare_digest(digest, stored_hash):
            return self._fail(
                index,
                f"entry {index} does not hash to the leaf hash stored when it was sequenced "
                "(altered, replaced or moved)",
            )
        self._append(digest)
        return self._reach_checkpoints()

    def finish(self) -> Report:
        """The report, once every leaf has been added."""
        if self._failure is None and self._pending:
            size = self._pending[-1].size
            self._fail(
                self._size,
                f"the log ends after {self._size} entries, but a checkpoint signs size {size}: "
                f"entries from index {self._size} on are missing (truncated)",
            )
        bad_index, reason, bad_checkpoint = self._failure or (None, None, None)
        return Report(
            ok=self._failure is None,
            entries=self._size - self._start,
            checkpoints=self._checked,
            latest_size=self._latest,
            unsigned=max(0, self._size - self._latest),
            first_bad_index=bad_index,
            reason=reason,
            bad_checkpoint=bad_checkpoint,
            pruned=self._start,
        )

    # -- the tree --------------------------------------------------------------------------

    def _append(self, digest: bytes) -> None:
        """Append a leaf: hash the perfect subtrees it completes (RFC 9162 §2.1.1) and merge
        them into the right edge, keeping any that the next consistency proof needs."""
        completed = merkle.append_subtrees(self._size, [digest], self._hashes)
        top = next(reversed(completed))  # the largest, which absorbs the others
        while self._frontier and self._frontier[-1][0] >= top[0]:
            merged = self._frontier.pop()
            if merged not in self._needed:
                del self._hashes[merged]
        self._frontier.append(top)
        self._hashes[top] = completed[top]
        for subtree, value in completed.items():
            if subtree in self._needed:
                self._hashes[subtree] = value
        self._size += 1

    def _plan(self) -> None:
        """Keep only what the next consistency proof reads: its ranges are nodes of the next
        tree, composed of perfect subtrees (merkle.range_subtrees); those left of the last
        checkpoint are on the right edge now, the others are completed on the way."""
        old = self._previous.size if self._previous else 0
        new = self._pending[-1].size if self._pending else 0
        needed: set[Range] = set()
        if 0 < old < new:
            for start, end in merkle.consistency_proof_ranges(old, new):
                needed.update(merkle.range_subtrees(start, end))
        self._needed = frozenset(needed)
        keep = self._needed | set(self._frontier)
        self._hashes = {r: h for r, h in self._hashes.items() if r in keep}

    def _reach_checkpoints(self, *, start: bool = False) -> bool:
        reached = start
        while self._failure is None and self._pending and self._pending[-1].size == self._size:
            self._check(self._pending.pop())
            reached = True
        if reached and self._failure is None:
            self._plan()
        return self._failure is None

    def _check(self, signed: Checkpoint) -> None:
        """The signed root must equal the recomputed one, and the tree must extend the previous
        checkpoint's (RFC 9162 §2.1.4: a consistency proof from the recomputed subtrees)."""
        good = self._previous.size if self._previous else 0
        recomputed = merkle.range_hash(0, signed.size, self._hashes)
        if not hmac.compare_digest(recomputed, signed.root):
            self._fail(
                good,
                f"the checkpoint at size {signed.size} does not match the entries: an entry "
                f"from index {good} to {signed.size - 1} was altered, removed, inserted or moved",
            )
            return
        if self._previous is not None and self._previous.size > 0:
            old = self._previous.size
            proof = [
                merkle.range_hash(start, end, self._hashes)
                for start, end in (
                    merkle.consistency_proof_ranges(old, signed.size) if old < signed.size else []
                )
            ]
            try:
                merkle.verify_consistency(old, signed.size, proof, self._previous.root, signed.root)
            except merkle.ProofError:
                self._fail(
                    good, f"the checkpoint at size {signed.size} does not extend the one at {old}"
                )
                return
        self._previous = signed
        self._checked += 1

    def _fail(self, index: int, reason: str) -> bool:
        self._failure = (index, reason, None)
        return False


def verify(
    leaves: Iterable[tuple[int, bytes | None, bytes | None]],
    checkpoints: Iterable[SignedCheckpoint],
    origin: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    pruned: Pruned | None = None,
) -> Report:
    """Verify a whole log: `leaves` are (index, canonical entry bytes, stored leaf hash or
    None) in index order, from `pruned.size` on if the log was pruned; `checkpoints` are
    signed notes with the sizes they are kept under; a note is valid if any of `keys` signed it
    under `origin` as key name (C2SP signed-note)."""
    verifier = Verifier(checkpoints, origin, keys, pruned=pruned)
    for index, entry, stored_hash in leaves:
        if not verifier.add(index, entry, stored_hash):
            break
    return verifier.finish()
