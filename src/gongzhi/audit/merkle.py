"""RFC 9162 Merkle tree: hashing, roots, inclusion and consistency proofs, and their checks.

The tree over leaves D[0:n] (RFC 9162 §2.1.1):

* the empty tree hashes to H(""),
* a leaf to H(0x00 ‖ d),
* a node to H(0x01 ‖ left ‖ right), the left subtree holding the largest power of two
  smaller than n leaves.

Without the 0x00/0x01 prefixes a leaf could pose as a node and a log of 4 records could be
forged with the root of a log of 8.

Proof *generation* reads complete subtrees through a :class:`NodeSource` (the in-memory
:class:`MemoryTree` for tests and small logs, the database tables for the audit log), so a
proof over a million entries costs O(log n) node reads and no re-hashing of the log.
Proof *verification* follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; the few cases the
RFC leaves out (sizes 0 and equal sizes) are handled as transparency-dev/merkle does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

HASH_ALGORITHMS = ("sm3", "sha256")

# (level, index): the complete subtree over leaves [index·2^level, (index+1)·2^level).
NodeId = tuple[int, int]


class MerkleHasher:
    """The three hash shapes of RFC 9162 with one digest (SM3 or SHA-256)."""

    def __init__(self, algorithm: str = "sm3") -> None:
        if algorithm not in HASH_ALGORITHMS:
            raise ValueError(f"unknown Merkle hash {algorithm!r}; use one of {HASH_ALGORITHMS}")
        self.algorithm = algorithm
        # Copying a primed hash object is several times faster than hashlib.new(name).
        self._proto = hashlib.new(algorithm)
        self.size = self._proto.digest_size

    def digest(self, data: bytes) -> bytes:
        h = self._proto.copy()
        h.update(data)
        return h.digest()

    def empty_root(self) -> bytes:
        return self.digest(b"")

    def hash_leaf(self, data: bytes) -> bytes:
        h = self._proto.copy()
        h.update(b"\x00")
        h.update(data)
        return h.digest()

    def hash_children(self, left: bytes, right: bytes) -> bytes:
        h = self._proto.copy()
        h.update(b"\x01")
        h.update(left)
        h.update(right)
        return h.digest()


def largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2): where RFC 9162 splits a tree of n leaves."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


def complete_subtrees(start: int, end: int) -> list[NodeId]:
    """The complete subtrees, left to right, that exactly cover leaves [start, end).

    Every subtree the RFC recursion visits starts at a multiple of its own size rounded up to
    a power of two, so the cover is the binary decomposition of its length from ``start``.
    """
    out: list[NodeId] = []
    pos = start
    while pos < end:
        # The largest aligned power-of-two block starting at pos that fits.
        size = pos & -pos if pos else 1 << ((end - pos).bit_length() - 1)
        while pos + size > end:
            size >>= 1
        out.append((size.bit_length() - 1, pos // size))
        pos += size
    return out


class NodeSource(Protocol):
    """Where complete-subtree hashes come from (memory, or the audit tables)."""

    def nodes(self, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]: ...


def _range_hash(hasher: MerkleHasher, start: int, end: int, known: dict[NodeId, bytes]) -> bytes:
    """MTH(D[start:end]) from the complete subtrees covering it (right to left)."""
    ids = complete_subtrees(start, end)
    acc = known[ids[-1]]
    for node in reversed(ids[:-1]):
        acc = hasher.hash_children(known[node], acc)
    return acc


def _fetch_ranges(source: NodeSource, ranges: Sequence[tuple[int, int]]) -> dict[NodeId, bytes]:
    wanted: set[NodeId] = set()
    for start, end in ranges:
        wanted.update(complete_subtrees(start, end))
    return source.nodes(sorted(wanted))


def root(source: NodeSource, hasher: MerkleHasher, size: int) -> bytes:
    """MTH(D[0:size])."""
    if size == 0:
        return hasher.empty_root()
    return _range_hash(hasher, 0, size, _fetch_ranges(source, [(0, size)]))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), in order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    out: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if m < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m = start + k, m - k
    # The recursion emits the deepest sibling first.
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in order."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    out: list[tuple[int, int]] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = largest_power_of_two_below(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        out.append((start, end))
    out.reverse()
    return out


def inclusion_proof(source: NodeSource, hasher: MerkleHasher, index: int, size: int) -> list[bytes]:
    ranges = inclusion_ranges(index, size)
    known = _fetch_ranges(source, ranges)
    return [_range_hash(hasher, s, e, known) for s, e in ranges]


def consistency_proof(
    source: NodeSource, hasher: MerkleHasher, old_size: int, new_size: int
) -> list[bytes]:
    if old_size == 0 or old_size == new_size:
        if old_size > new_size:
            raise ValueError("the old size is larger than the new one")
        return []
    ranges = consistency_ranges(old_size, new_size)
    known = _fetch_ranges(source, ranges)
    return [_range_hash(hasher, s, e, known) for s, e in ranges]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------------


def verify_inclusion(
    hasher: MerkleHasher,
    leaf_index: int,
    tree_size: int,
    leaf_hash: bytes,
    inclusion_path: Sequence[bytes],
    root_hash: bytes,
) -> bool:
    """True when ``inclusion_path`` proves ``leaf_hash`` is entry ``leaf_index`` of the tree of
    ``tree_size`` entries whose root is ``root_hash``."""
    if not _well_formed(hasher, [leaf_hash, root_hash, *inclusion_path]):
        return False
    # 1. leaf_index >= tree_size fails.
    if leaf_index < 0 or leaf_index >= tree_size:
        return False
    # 2.
    fn, sn = leaf_index, tree_size - 1
    # 3.
    r = leaf_hash
    # 4.
    for p in inclusion_path:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            r = hasher.hash_children(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hasher.hash_children(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(
    hasher: MerkleHasher,
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> bool:
    """True when ``consistency_path`` proves the tree of ``second`` entries (root
    ``second_hash``) extends the tree of ``first`` entries (root ``first_hash``)."""
    if not _well_formed(hasher, [first_hash, second_hash, *consistency_path]):
        return False
    if first < 0 or second < first:
        return False
    if first == second:
        # Outside the RFC's algorithm: the same tree, so the same root and nothing to prove.
        return not consistency_path and first_hash == second_hash
    if first == 0:
        # Every tree extends the empty tree; a non-empty proof is malformed.
        return not consistency_path
    # 1.
    if not consistency_path:
        return False
    path = list(consistency_path)
    # 2.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = hasher.hash_children(c, fr)
            sr = hasher.hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hasher.hash_children(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


def _well_formed(hasher: MerkleHasher, hashes: Iterable[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == hasher.size for h in hashes)


# --- an in-memory tree -------------------------------------------------------------------


class MemoryTree:
    """All complete subtrees of a list of leaf hashes, level by level (tests, verify)."""

    def __init__(self, hasher: MerkleHasher, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.hasher = hasher
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaf_hashes:
            self.append_hash(leaf)

    @classmethod
    def from_data(cls, hasher: MerkleHasher, entries: Iterable[bytes]) -> MemoryTree:
        return cls(hasher, (hasher.hash_leaf(d) for d in entries))

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_hash(self, leaf_hash: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf; return the complete subtrees (above the leaves) it completed."""
        made: list[tuple[NodeId, bytes]] = []
        self.levels[0].append(leaf_hash)
        level, node = 0, leaf_hash
        index = len(self.levels[0]) - 1
        while index & 1:
            node = self.hasher.hash_children(self.levels[level][index - 1], node)
            level += 1
            index >>= 1
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(node)
            made.append(((level, index), node))
        return made

    def nodes(self, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        return {(lv, ix): self.levels[lv][ix] for lv, ix in wanted}

    def root(self, size: int | None = None) -> bytes:
        return root(self, self.hasher, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self, self.hasher, index, self.size if size is None else size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new = self.size if new_size is None else new_size
        return consistency_proof(self, self.hasher, old_size, new)


def right_edge(size: int) -> list[NodeId]:
    """The complete subtrees a tree of ``size`` leaves ends with (its compact range): what an
    appender must remember to add leaves without re-reading the tree."""
    return complete_subtrees(0, size)


def extend_right_edge(
    hasher: MerkleHasher,
    size: int,
    edge: list[bytes],
    leaf_hashes: Iterable[bytes],
    emit: Callable[[int, int, bytes], None],
) -> int:
    """Append leaves to a tree known only by its right edge; call ``emit(level, index, hash)``
    for every complete subtree made (leaves at level 0 included). Returns the new size.

    ``edge`` holds the hashes of :func:`right_edge` (size), left to right, and is updated in
    place to the new size's right edge.
    """
    for leaf in leaf_hashes:
        emit(0, size, leaf)
        node, level, index = leaf, 0, size
        while index & 1:
            node = hasher.hash_children(edge.pop(), node)
            level += 1
            index >>= 1
            emit(level, index, node)
        edge.append(node)
        size += 1
    return size
