"""The disclosure log's Merkle tree: RFC 9162 §2.1 hashing, proofs and their verification.

Pure functions over hashes; no I/O. Leaves are hashed ``SHA-256(0x00 ‖ entry)`` and interior
nodes ``SHA-256(0x01 ‖ left ‖ right)`` (RFC 9162 §2.1.1), so a leaf can never pass for a node.
The tree over n leaves is MTH(D[n]): split at k, the largest power of two below n, hash the
left k leaves and the remaining n - k, and join the two (§2.1.1).

Ranges. A proof element is the MTH of a run of leaves ``[start, end)``. Two kinds occur:

* a *perfect aligned subtree*: ``[j·2^h, (j+1)·2^h)``. Its hash never changes once its last
  leaf is appended, so a store of these (about 2n hashes, see `append_subtrees`) answers
  everything. Every leaf ``[i, i+1)`` is one (h = 0).
* a *right-edge node* ``[s, n)`` of a tree of size n whose width is not a power of two (or is
  not aligned). Its hash changes as the tree grows, so it is not stored but composed from the
  perfect aligned subtrees given by the binary decomposition of n - s (`range_subtrees`),
  folded from the right (`range_hash`).

Every range that a root, an inclusion proof or a consistency proof of a tree of size n asks for
is a node of that tree, and is one of the two kinds above, so it costs at most ⌊log2 n⌋ + 1
stored hashes. `range_hash` also accepts any other range (its MTH as a tree of its own), but a
range that does not start on such a boundary may then need many pieces, down to single leaves.

Proof generation follows PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1); verification follows the
algorithms of §2.1.3.2 and §2.1.4.2 step by step, and raises `ProofError` on any failure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ProofError",
    "append_subtrees",
    "completed_subtrees",
    "consistency_proof",
    "consistency_proof_ranges",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "is_perfect",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "range_subtrees",
    "root",
    "root_subtrees",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1)."""

Range = tuple[int, int]


class ProofError(ValueError):
    """A Merkle proof, or the sizes and hashes it is checked against, does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d): the hash of one log entry (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): an interior node over two subtree hashes (§2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(width: int) -> int:
    """k, the largest power of two strictly below `width` (≥ 2), where MTH splits (§2.1.1)."""
    return 1 << ((width - 1).bit_length() - 1)


def _mth(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    width = end - start
    if width == 0:
        return EMPTY_ROOT
    if width == 1:
        return leaf_hashes[start]
    middle = start + _split(width)
    return node_hash(_mth(leaf_hashes, start, middle), _mth(leaf_hashes, middle, end))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already hashed leaves (see `leaf_hash`); `EMPTY_ROOT` for no leaves."""
    return _mth(leaf_hashes, 0, len(leaf_hashes))


# --- Proof shapes: which leaf ranges a proof is made of ---------------------------------------


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")


def inclusion_proof_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTHs form PATH(index, D[size]) (RFC 9162 §2.1.3.1), in proof order.

    PATH descends from the root towards the leaf and appends the sibling of each step after
    the deeper part of the path, so the leaf's own sibling comes first and the root's child
    last. Each range is a node of the tree of `size` leaves (see the module docstring).
    """
    _check_index(index, size)
    siblings: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            siblings.append((middle, end))
            end = middle
        else:
            siblings.append((start, middle))
            start = middle
    siblings.reverse()
    return siblings


def consistency_proof_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose MTHs form PROOF(old, D[new]) (RFC 9162 §2.1.4.1), in proof order.

    SUBPROOF(m, D[n], b) descends the tree of size `new` towards the boundary `old`, appending
    the sibling of each step after the deeper part; where the boundary falls exactly on a
    subtree, that subtree is itself the first element unless it is the whole old tree
    (b still true), which the verifier already holds as the old root. ``old == new`` gives an
    empty proof; ``old == 0`` is refused: the empty tree is consistent with anything.
    """
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    elements: list[Range] = []
    start, end = 0, new
    whole_old_tree = True  # SUBPROOF's b: are we still on the old tree's own root?
    while end != old:
        middle = start + _split(end - start)
        if old <= middle:
            elements.append((middle, end))
            end = middle
        else:
            elements.append((start, middle))
            start = middle
            whole_old_tree = False
    if not whole_old_tree:
        elements.append((start, end))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    elements.reverse()
    return elements


# --- Proofs from the full list of leaf hashes --------------------------------------------------


def _check_leaves(leaf_hashes: Sequence[bytes], size: int) -> None:
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} exceeds the {len(leaf_hashes)} leaves given")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1) from the first `size` of `leaf_hashes`."""
    _check_leaves(leaf_hashes, size)
    return [_mth(leaf_hashes, s, e) for s, e in inclusion_proof_ranges(index, size)]


def consistency_proof(leaf_hashes: Sequence[bytes], old: int, new: int) -> list[bytes]:
    """PROOF(old, D[new]) (RFC 9162 §2.1.4.1) from the first `new` of `leaf_hashes`."""
    _check_leaves(leaf_hashes, new)
    return [_mth(leaf_hashes, s, e) for s, e in consistency_proof_ranges(old, new)]


# --- A store of perfect aligned subtrees -------------------------------------------------------


def is_perfect(start: int, end: int) -> bool:
    """Whether ``[start, end)`` is a perfect aligned subtree ``[j·2^h, (j+1)·2^h)``."""
    width = end - start
    return start >= 0 and width > 0 and width & (width - 1) == 0 and start % width == 0


def range_subtrees(start: int, end: int) -> list[Range]:
    """The perfect aligned subtrees, left to right, that `range_hash` reads for ``[start, end)``.

    MTH's split is followed until each part is perfect and aligned. For a node ``[s, n)`` of a
    tree of size n (every range proofs ask for) these are the binary decomposition of n - s:
    widths are the set bits of n - s, largest first. Fetch them in one query, then call
    `range_hash` with the result.
    """
    if not 0 <= start <= end:
        raise ValueError(f"[{start}, {end}) is not a range of leaves")
    if start == end:
        return []
    if is_perfect(start, end):
        return [(start, end)]
    middle = start + _split(end - start)
    return range_subtrees(start, middle) + range_subtrees(middle, end)


def root_subtrees(size: int) -> list[Range]:
    """The maximal perfect subtrees of the tree of `size` leaves, whose hashes compose its root.

    One per set bit of `size`, largest (leftmost) first: 13 = 8 + 4 + 1 gives
    ``[(0, 8), (8, 12), (12, 13)]``. The root is node_hash(H₀, node_hash(H₁, … Hₖ)) — see
    `range_hash`. They are also the only old hashes `append_subtrees` reads.
    """
    return range_subtrees(0, size)


def range_hash(start: int, end: int, stored: Mapping[Range, bytes]) -> bytes:
    """MTH(D[start:end]) composed from `stored` hashes of perfect aligned subtrees.

    `stored` maps ``(start, end)`` to the subtree's hash and must hold every range listed by
    `range_subtrees(start, end)`; a missing one raises `KeyError`. ``range_hash(0, n, stored)``
    is the root of the tree of size n; an empty range gives `EMPTY_ROOT`.
    """
    if not 0 <= start <= end:
        raise ValueError(f"[{start}, {end}) is not a range of leaves")
    if start == end:
        return EMPTY_ROOT
    if is_perfect(start, end):
        return stored[(start, end)]
    middle = start + _split(end - start)
    return node_hash(range_hash(start, middle, stored), range_hash(middle, end, stored))


def completed_subtrees(size: int) -> list[Range]:
    """The perfect aligned subtrees that appending leaf ``size - 1`` completes, smallest first.

    They are ``[size - 2^h, size)`` for every 2^h dividing `size`: the leaf itself, then each
    ancestor whose last leaf it is. A subtree of width ≥ 2 hashes as
    ``node_hash(stored[(s, m)], stored[(m, e)])`` with m = (s + e) / 2; in this order its
    right half has just been computed and its left half was completed earlier.
    """
    if size <= 0:
        raise ValueError(f"a tree of size {size} has no last leaf")
    low_bit = size & -size
    return [(size - width, size) for width in (1 << h for h in range(low_bit.bit_length()))]


def append_subtrees(
    size: int, leaf_hashes: Sequence[bytes], stored: Mapping[Range, bytes]
) -> dict[Range, bytes]:
    """Hashes of every perfect aligned subtree completed by appending `leaf_hashes` to a tree of
    `size` leaves, for a sequencer to store beside the leaves.

    Of the old tree it reads only `root_subtrees(size)` from `stored` (O(log n) rows); every
    other input is one of the new leaves or a subtree computed here.
    """
    new: dict[Range, bytes] = {}

    def subtree(key: Range) -> bytes:
        return new[key] if key in new else stored[key]

    for offset, leaf in enumerate(leaf_hashes):
        for start, end in completed_subtrees(size + offset + 1):
            if end - start == 1:
                new[(start, end)] = leaf
            else:
                middle = (start + end) // 2
                new[(start, end)] = node_hash(subtree((start, middle)), subtree((middle, end)))
    return new


# --- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------------


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not a {HASH_SIZE}-byte SHA-256 hash")


def _check_proof(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element)


def _shift_to_set_bit(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift fn and sn equally until LSB(fn) is set or fn is 0 (§2.1.3.2 step 4.b.ii)."""
    while fn != 0 and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves with `root`.

    RFC 9162 §2.1.3.2, step by step. Raises `ProofError` for an index outside the tree, a leaf
    hash, root or proof element that is not 32 bytes, a proof too long or too short for the
    position, or a recomputed root that differs.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof(proof)
    if not 0 <= index < size:  # step 1
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash  # steps 2 and 3
    for p in proof:  # step 4
        if sn == 0:
            raise ProofError(f"the inclusion proof is longer than a tree of size {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_set_bit(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 5
        raise ProofError(f"the inclusion proof is shorter than a tree of size {size} needs")
    if not hmac.compare_digest(r, root):
        raise ProofError(f"the inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of `new_size` with `new_root` extends the one of `old_size`.

    RFC 9162 §2.1.4.2, which assumes 0 < old_size < new_size; around it: a larger old size is
    refused, so is old size 0 (the empty tree is consistent with anything, so it proves
    nothing), and equal sizes need an empty proof and identical roots (compared as given,
    without a length check, as the reference vectors expect). Raises `ProofError` for those,
    for roots or proof elements that are not 32 bytes, for a proof too long or too short, and
    for a recomputed root that differs from either given root.
    """
    if old_size > new_size:
        raise ProofError(f"the old size {old_size} is larger than the new size {new_size}")
    if old_size <= 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise ProofError("the sizes are equal, so the consistency proof must be empty")
        if not hmac.compare_digest(old_root, new_root):
            raise ProofError(f"two different roots for the same tree size {old_size}")
        return
    if not proof:  # step 1
        raise ProofError("the consistency proof is empty")
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof(proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("the consistency proof is longer than these sizes need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _shift_to_set_bit(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofError("the consistency proof is shorter than these sizes need")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError(f"the consistency proof does not lead to the old root (size {old_size})")
    if not hmac.compare_digest(sr, new_root):
        raise ProofError(f"the consistency proof does not lead to the new root (size {new_size})")
