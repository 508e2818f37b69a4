"""A store of perfect aligned subtree hashes answers roots and proofs in O(log n) reads, and
gives exactly the proofs computed from the full list of leaves."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

FAST = settings(max_examples=60, deadline=None)
Range = tuple[int, int]


def full_store(hashes: list[bytes]) -> dict[Range, bytes]:
    """Every perfect aligned subtree of the leaves, hashed directly from them."""
    store = {}
    width = 1
    while width <= len(hashes):
        for start in range(0, len(hashes) - width + 1, width):
            store[(start, start + width)] = merkle.root(hashes[start : start + width])
        width *= 2
    return store


class CountingStore(dict[Range, bytes]):
    """Records which keys are read, to check what a sequencer would have to fetch."""

    def __init__(self, data: dict[Range, bytes]) -> None:
        super().__init__(data)
        self.reads: set[Range] = set()

    def __getitem__(self, key: Range) -> bytes:
        self.reads.add(key)
        return super().__getitem__(key)


def max_pieces(size: int) -> int:
    return size.bit_length()  # ⌊log2 n⌋ + 1


@st.composite
def hashes_and_cuts(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    """Leaf hashes and the tree sizes at which a sequencer appended its batches."""
    count = draw(st.integers(1, 300))
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(count)]
    cuts = sorted(set(draw(st.lists(st.integers(1, count), max_size=8))) | {count})
    return hashes, cuts


@FAST
@given(hashes_and_cuts())
def test_appending_in_batches_builds_the_full_store_from_the_frontier(
    case: tuple[list[bytes], list[int]],
) -> None:
    hashes, cuts = case
    store = CountingStore({})
    size = 0
    for cut in cuts:
        store.reads.clear()
        new = merkle.append_subtrees(size, hashes[size:cut], store)
        assert store.reads <= set(merkle.root_subtrees(size))
        assert all(merkle.is_perfect(*r) for r in new)
        dict.update(store, new)
        assert merkle.range_hash(0, cut, store) == merkle.root(hashes[:cut])
        size = cut
    assert dict(store) == full_store(hashes)


@FAST
@given(st.integers(1, 300), st.data())
def test_proofs_from_the_store_equal_direct_proofs(size: int, data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = CountingStore(full_store(hashes))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    for ranges, direct in [
        (merkle.inclusion_proof_ranges(index, size), merkle.inclusion_proof(hashes, index, size)),
        (merkle.consistency_proof_ranges(old, size), merkle.consistency_proof(hashes, old, size)),
        ([(0, size)], [merkle.root(hashes)]),
    ]:
        for start, end in ranges:
            assert end <= size
            pieces = merkle.range_subtrees(start, end)
            # Every proof range is a node of the tree: perfect, or on its right edge.
            assert merkle.is_perfect(start, end) or end == size
            assert len(pieces) <= max_pieces(size)
            store.reads.clear()
            merkle.range_hash(start, end, store)
            assert store.reads == set(pieces)
        assert [merkle.range_hash(s, e, store) for s, e in ranges] == direct


@FAST
@given(st.integers(0, 200), st.data())
def test_any_range_hash_is_the_mth_of_that_range(size: int, data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    start = data.draw(st.integers(0, size))
    end = data.draw(st.integers(start, size))
    store = full_store(hashes)
    assert merkle.range_hash(start, end, store) == merkle.root(hashes[start:end])
    assert all(merkle.is_perfect(*r) for r in merkle.range_subtrees(start, end))


@given(st.integers(0, 10_000))
def test_root_subtrees_are_the_binary_decomposition(size: int) -> None:
    pieces = merkle.root_subtrees(size)
    widths = [end - start for start, end in pieces]
    assert widths == sorted(
        (1 << b for b in range(size.bit_length()) if size >> b & 1), reverse=True
    )
    assert [start for start, _ in pieces] == [sum(widths[:i]) for i in range(len(widths))]
    assert all(merkle.is_perfect(*r) for r in pieces)


@given(st.integers(1, 10_000))
def test_completed_subtrees_end_at_the_new_leaf(size: int) -> None:
    completed = merkle.completed_subtrees(size)
    assert completed[0] == (size - 1, size)
    assert all(end == size and merkle.is_perfect(start, end) for start, end in completed)
    assert len(completed) == int(math.log2(size & -size)) + 1


def test_examples_from_the_module_docstrings() -> None:
    assert merkle.root_subtrees(13) == [(0, 8), (8, 12), (12, 13)]
    assert merkle.completed_subtrees(12) == [(11, 12), (10, 12), (8, 12)]
    assert merkle.inclusion_proof_ranges(5, 13) == [(4, 5), (6, 8), (0, 4), (8, 13)]
    assert merkle.consistency_proof_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    assert merkle.consistency_proof_ranges(4, 7) == [(4, 7)]
    assert merkle.is_perfect(8, 12)
    assert not merkle.is_perfect(6, 10)
    assert not merkle.is_perfect(8, 13)


def test_a_missing_stored_subtree_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        merkle.range_hash(0, 3, {(0, 2): merkle.EMPTY_ROOT})
    with pytest.raises(ValueError, match="not a range"):
        merkle.range_subtrees(3, 2)
