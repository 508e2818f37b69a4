"""RFC 9162 Merkle tree: known answers, an independent root (pymerkle), proofs that verify and
match a literal transcription of the RFC, and proofs composed from stored perfect subtrees."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from audit import merkle
from audit.merkle import ProofError

FAST = settings(max_examples=60, deadline=None)

# --- A literal transcription of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 over list slices, as an
# --- oracle for the module's index arithmetic.


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:])).digest()


def rfc_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [rfc_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


# --- Strategies


def leaves(min_size: int = 1, max_size: int = 300) -> st.SearchStrategy[list[bytes]]:
    return st.lists(st.binary(max_size=24), min_size=min_size, max_size=max_size)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    hashes = [merkle.leaf_hash(x) for x in draw(leaves())]
    size = draw(st.integers(1, len(hashes)))
    return hashes, draw(st.integers(0, size - 1)), size


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    hashes = [merkle.leaf_hash(x) for x in draw(leaves())]
    new = draw(st.integers(1, len(hashes)))
    return hashes, draw(st.integers(1, new)), new


def pymerkle_tree(entries: Sequence[bytes]) -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")  # security on: 0x00 / 0x01 prefixes, as RFC 9162
    for entry in entries:
        tree.append_entry(entry)
    return tree


def flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


# --- Hashing


def test_hashes_have_the_rfc_prefixes() -> None:
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert merkle.root([b"x" * 32]) == b"x" * 32


def test_pymerkle_hashes_leaves_with_the_0x00_prefix() -> None:
    tree = pymerkle_tree([b"entry"])
    assert tree.get_leaf(1) == merkle.leaf_hash(b"entry")


@FAST
@given(leaves())
def test_root_equals_pymerkle(entries: list[bytes]) -> None:
    hashes = [merkle.leaf_hash(x) for x in entries]
    assert merkle.root(hashes) == pymerkle_tree(entries).get_root()


@FAST
@given(leaves(min_size=0, max_size=70))
def test_root_equals_the_rfc_definition(entries: list[bytes]) -> None:
    hashes = [merkle.leaf_hash(x) for x in entries]
    assert merkle.root(hashes) == rfc_mth(hashes)


# --- Inclusion


@FAST
@given(tree_and_index())
def test_inclusion_proofs_follow_path_and_verify(case: tuple[list[bytes], int, int]) -> None:
    hashes, index, size = case
    proof = merkle.inclusion_proof(hashes, index, size)
    assert proof == rfc_path(index, hashes[:size])
    tree_root = merkle.root(hashes[:size])
    merkle.verify_inclusion(hashes[index], index, size, proof, tree_root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(flip(hashes[index]), index, size, proof, tree_root)
    if proof:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(hashes[index], index, size, proof[:-1], tree_root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(
                hashes[index], index, size, [flip(proof[0]), *proof[1:]], tree_root
            )
    with pytest.raises(ProofError):
        merkle.verify_inclusion(hashes[index], index, size, [*proof, tree_root], tree_root)


@settings(max_examples=25, deadline=None)
@given(st.data(), leaves(max_size=120))
def test_inclusion_proofs_equal_pymerkle(data: st.DataObject, entries: list[bytes]) -> None:
    tree = pymerkle_tree(entries)
    size = data.draw(st.integers(1, len(entries)))
    index = data.draw(st.integers(0, size - 1))
    theirs = tree.prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
    hashes = [merkle.leaf_hash(x) for x in entries]
    assert theirs.path == [hashes[index], *merkle.inclusion_proof(hashes, index, size)]
    merkle.verify_inclusion(hashes[index], index, size, theirs.path[1:], tree.get_root(size))


# --- Consistency


@FAST
@given(tree_and_sizes())
def test_consistency_proofs_follow_subproof_and_verify(case: tuple[list[bytes], int, int]) -> None:
    hashes, old, new = case
    proof = merkle.consistency_proof(hashes, old, new)
    assert proof == (rfc_subproof(old, hashes[:new], True) if old < new else [])
    old_root, new_root = merkle.root(hashes[:old]), merkle.root(hashes[:new])
    merkle.verify_consistency(old, new, proof, old_root, new_root)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, proof, flip(old_root), new_root)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, proof, old_root, flip(new_root))
    if proof:
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, proof[:-1], old_root, new_root)
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, [*proof, new_root], old_root, new_root)


@settings(max_examples=25, deadline=None)
@given(st.data(), leaves(max_size=120))
def test_consistency_proofs_verify_against_pymerkle_roots(
    data: st.DataObject, entries: list[bytes]
) -> None:
    # pymerkle lays out its consistency paths differently (subroots plus a mask), so the proof
    # elements cannot be compared; its historic roots are the independent check instead.
    tree = pymerkle_tree(entries)
    new = data.draw(st.integers(1, len(entries)))
    old = data.draw(st.integers(1, new))
    hashes = [merkle.leaf_hash(x) for x in entries]
    proof = merkle.consistency_proof(hashes, old, new)
    merkle.verify_consistency(old, new, proof, tree.get_root(old), tree.get_root(new))


# --- Edge rules of the verifiers

H = merkle.leaf_hash(b"a")
R = merkle.root([H, merkle.leaf_hash(b"b")])


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "tree_root", "message"),
    [
        (H, 2, 2, [H], R, "outside a tree of size 2"),
        (H, -1, 2, [H], R, "outside"),
        (H, 0, 0, [], merkle.EMPTY_ROOT, "outside a tree of size 0"),
        (b"", 0, 1, [], H, "leaf hash is 0 bytes"),
        (H, 0, 1, [], b"", "root is 0 bytes"),
        (H, 0, 2, [b"short"], R, "proof element 0 is 5 bytes"),
        (H, 0, 2, [], R, "shorter"),
        (H, 0, 1, [H], H, "longer"),
        (H, 0, 2, [H], R, "does not lead to the root"),
    ],
)
def test_inclusion_edge_rules(
    leaf: bytes, index: int, size: int, proof: list[bytes], tree_root: bytes, message: str
) -> None:
    with pytest.raises(ProofError, match=message):
        merkle.verify_inclusion(leaf, index, size, proof, tree_root)


@pytest.mark.parametrize(
    ("old", "new", "proof", "old_root", "new_root", "message"),
    [
        (3, 2, [], R, R, "larger than the new size"),
        (0, 0, [], R, R, "empty tree proves nothing"),
        (0, 2, [R], merkle.EMPTY_ROOT, R, "empty tree proves nothing"),
        (2, 2, [R], R, R, "must be empty"),
        (2, 2, [], R, H, "two different roots"),
        (1, 2, [], H, R, "proof is empty"),
        (1, 2, [b"x"], H, R, "proof element 0 is 1 bytes"),
        (1, 2, [H], b"", R, "old root is 0 bytes"),
        (1, 2, [H, H], H, R, "longer"),
        (1, 2, [H], H, R, "new root"),
        (1, 3, [H], H, R, "shorter"),
    ],
)
def test_consistency_edge_rules(
    old: int, new: int, proof: list[bytes], old_root: bytes, new_root: bytes, message: str
) -> None:
    with pytest.raises(ProofError, match=message):
        merkle.verify_consistency(old, new, proof, old_root, new_root)


def test_equal_sizes_with_an_empty_proof_and_equal_roots_are_consistent() -> None:
    merkle.verify_consistency(2, 2, [], R, R)


def test_proofs_are_refused_for_impossible_arguments() -> None:
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_proof_ranges(5, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_proof_ranges(0, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_proof_ranges(6, 5)
    with pytest.raises(ValueError, match="exceeds"):
        merkle.inclusion_proof([H], 0, 2)
    assert merkle.consistency_proof([H, H], 2, 2) == []
