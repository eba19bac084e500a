"""The RFC 9162 core against the Certificate Transparency reference data (SHA-256), SM3 known
answers, the transparency-dev/merkle mutation corpus, and every proof over sizes 1..200."""

from __future__ import annotations

import hashlib
import random

import pytest

from gongzhi.audit.merkle import (
    MemoryTree,
    MerkleHasher,
    complete_subtrees,
    verify_consistency,
    verify_inclusion,
)

# --- reference data: RFC 6962 / CT merkle_tree_test and transparency-dev/merkle testonly ----

CT_LEAVES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CT_ROOTS = [  # tree sizes 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index 0-based, tree size, path)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SHA256 = MerkleHasher("sha256")
SM3 = MerkleHasher("sm3")
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _hex(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


@pytest.fixture(scope="module")
def ct_tree() -> MemoryTree:
    return MemoryTree.from_data(SHA256, CT_LEAVES)


def test_ct_roots(ct_tree: MemoryTree) -> None:
    assert ct_tree.root(0).hex() == CT_EMPTY_ROOT
    assert [ct_tree.root(n).hex() for n in range(1, 9)] == CT_ROOTS


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_ct_inclusion_proofs(ct_tree: MemoryTree, index: int, size: int, path: list[str]) -> None:
    assert _hex(ct_tree.inclusion_proof(index, size)) == path
    leaf = SHA256.hash_leaf(CT_LEAVES[index])
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert verify_inclusion(SHA256, index, size, leaf, [bytes.fromhex(p) for p in path], root)


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY)
def test_ct_consistency_proofs(
    ct_tree: MemoryTree, first: int, second: int, path: list[str]
) -> None:
    assert _hex(ct_tree.consistency_proof(first, second)) == path
    assert verify_consistency(
        SHA256,
        first,
        second,
        bytes.fromhex(CT_ROOTS[first - 1]),
        bytes.fromhex(CT_ROOTS[second - 1]),
        [bytes.fromhex(p) for p in path],
    )


# --- SM3: known answers ----------------------------------------------------------------------


def _naive_mth(digest: str, entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 written as its definition reads, independently of the module."""

    def h(data: bytes) -> bytes:
        return hashlib.new(digest, data).digest()

    n = len(entries)
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return h(b"\x01" + _naive_mth(digest, entries[:k]) + _naive_mth(digest, entries[k:]))


# SM3 of "abc", GB/T 32905-2016 Appendix A example 1.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
# Roots of the CT leaves with SM3 in place of SHA-256 (sizes 0..8), computed once with
# _naive_mth and pinned, so a change in the module or in the SM3 binding shows up.
SM3_ROOTS = [
    "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
    "2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf",
    "0b990fe0c7ad70f1bf1a1262f2c7908ea48146b14253a6db99f2917ab1f5cc4d",
    "209ec96a210d662a964772680e8544d18cab7b88ffec3e00962220349b56ea56",
    "28e4e307ef6d2d0c62d84b11ef96e835efe490f35b93c8f024ecfe38c8dd4377",
    "bb10c996aeebbcdc69be3715fc847344de77442d37a5ab8213da9f41785b103b",
    "8723c1ab1f82ddfba4a3733ac0c80d936d9f4c208c7dbc8cc81ca9fff8584f66",
    "bd36c22a1ac6ff4308e0c3cc1a85bf0ffa30538ec60a55c70413ab15d45db4d2",
    "bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38",
]


def test_sm3_digest_known_answer() -> None:
    assert SM3.digest(b"abc").hex() == SM3_ABC


def test_sm3_roots_match_the_naive_definition_and_the_pinned_values() -> None:
    tree = MemoryTree.from_data(SM3, CT_LEAVES)
    naive = [_naive_mth("sm3", CT_LEAVES[:n]).hex() for n in range(9)]
    assert [tree.root(n).hex() for n in range(9)] == naive
    assert naive == SM3_ROOTS


def test_sha256_roots_match_the_naive_definition() -> None:
    entries = [bytes([i % 256, i // 256]) for i in range(70)]
    tree = MemoryTree.from_data(SHA256, entries)
    for n in range(71):
        assert tree.root(n) == _naive_mth("sha256", entries[:n])


# --- the mutation corpus (transparency-dev/merkle proof/verify_test.go) -----------------------


def _inclusion_mutations(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    probes = [
        ("index - 1", index - 1, size, leaf, path, root),
        ("index + 1", index + 1, size, leaf, path, root),
        ("index ^ 2", index ^ 2, size, leaf, path, root),
        ("size * 2", index, size * 2, leaf, path, root),
        ("size / 2", index, size // 2, leaf, path, root),
        ("wrong leaf", index, size, b"WrongLeaf", path, root),
        ("wrong leaf hash", index, size, SHA256.hash_leaf(b"WrongLeaf"), path, root),
        ("empty root", index, size, leaf, path, bytes.fromhex(CT_EMPTY_ROOT)),
        ("random root", index, size, leaf, path, SOME_HASH),
        ("trailing garbage", index, size, leaf, [*path, b""], root),
        ("trailing root", index, size, leaf, [*path, root], root),
        ("preceding garbage", index, size, leaf, [b"", *path], root),
        ("preceding root", index, size, leaf, [root, *path], root),
    ]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((f"flipped bit in path[{i}]", index, size, leaf, flipped, root))
    if path:
        probes.append(("removed element", index, size, leaf, path[:-1], root))
    if len(path) > 1:
        probes.append(
            ("inserted element", index, size, leaf, [path[0], SOME_HASH, *path[1:]], root)
        )
    return probes


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION[1:])
def test_inclusion_mutations_are_rejected(index: int, size: int, path: list[str]) -> None:
    leaf = SHA256.hash_leaf(CT_LEAVES[index])
    proof = [bytes.fromhex(p) for p in path]
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert verify_inclusion(SHA256, index, size, leaf, proof, root)
    accepted = [
        desc
        for desc, i, n, lf, pr, rt in _inclusion_mutations(index, size, leaf, proof, root)
        if verify_inclusion(SHA256, i, n, lf, pr, rt)
    ]
    assert accepted == []


def test_inclusion_edge_cases() -> None:
    leaf = SHA256.hash_leaf(b"data")
    # A one-entry tree: the root is the leaf hash and the proof is empty.
    assert verify_inclusion(SHA256, 0, 1, leaf, [], leaf)
    assert not verify_inclusion(SHA256, 0, 1, leaf, [], b"")
    assert not verify_inclusion(SHA256, 0, 1, b"", [], leaf)
    for index, size in ((0, 0), (1, 0), (2, 1), (-1, 4)):
        assert not verify_inclusion(
            SHA256, index, size, SOME_HASH, [], bytes.fromhex(CT_EMPTY_ROOT)
        )


def _consistency_mutations(
    first: int, second: int, root1: bytes, root2: bytes, path: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    probes = [
        ("first - 1", first - 1, second, root1, root2, path),
        ("first + 1", first + 1, second, root1, root2, path),
        ("first ^ 2", first ^ 2, second, root1, root2, path),
        ("second * 2", first, second * 2, root1, root2, path),
        ("second / 2", first, second // 2, root1, root2, path),
        ("wrong root1", first, second, SOME_HASH, root2, path),
        ("wrong root2", first, second, root1, SOME_HASH, path),
        ("swapped roots", first, second, root2, root1, path),
        ("empty proof", first, second, root1, root2, []),
        ("trailing garbage", first, second, root1, root2, [*path, b""]),
        ("trailing root1", first, second, root1, root2, [*path, root1]),
        ("trailing root2", first, second, root1, root2, [*path, root2]),
        ("preceding garbage", first, second, root1, root2, [b"", *path]),
        ("preceding root1", first, second, root1, root2, [root1, *path]),
        ("preceding root2", first, second, root1, root2, [root2, *path]),
        ("preceding path[0]", first, second, root1, root2, [path[0], *path]),
        ("truncated", first, second, root1, root2, path[:-1]),
        ("garbage element", first, second, root1, root2, [b"garbage", *path[1:]]),
    ]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((f"flipped bit in path[{i}]", first, second, root1, root2, flipped))
    if len(path) > 1:
        probes.append(
            ("inserted element", first, second, root1, root2, [path[0], SOME_HASH, *path[1:]])
        )
    return probes


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY[1:])
def test_consistency_mutations_are_rejected(first: int, second: int, path: list[str]) -> None:
    root1, root2 = bytes.fromhex(CT_ROOTS[first - 1]), bytes.fromhex(CT_ROOTS[second - 1])
    proof = [bytes.fromhex(p) for p in path]
    assert verify_consistency(SHA256, first, second, root1, root2, proof)
    accepted = [
        desc
        for desc, f, s, r1, r2, pr in _consistency_mutations(first, second, root1, root2, proof)
        if verify_consistency(SHA256, f, s, r1, r2, pr)
    ]
    assert accepted == []


def test_consistency_edge_cases() -> None:
    a, b = SHA256.hash_leaf(b"a"), SHA256.hash_leaf(b"b")
    empty = bytes.fromhex(CT_EMPTY_ROOT)
    assert verify_consistency(SHA256, 0, 0, empty, empty, [])
    assert verify_consistency(SHA256, 0, 1, empty, b, [])  # everything extends the empty tree
    assert verify_consistency(SHA256, 1, 1, a, a, [])
    assert not verify_consistency(SHA256, 1, 1, a, b, [])  # same size, different roots
    assert not verify_consistency(SHA256, 1, 0, a, b, [])  # time travel
    assert not verify_consistency(SHA256, 2, 1, a, b, [])
    assert not verify_consistency(SHA256, 1, 2, a, b, [])  # a proof is needed
    assert not verify_consistency(SHA256, 0, 0, empty, empty, [empty])
    assert not verify_consistency(SHA256, 0, 1, empty, empty, [empty])
    assert not verify_consistency(SHA256, 1, 1, empty, empty, [empty])


# --- every proof over sizes 1..200 (both hashes) --------------------------------------------


@pytest.mark.parametrize("hasher", [SHA256, SM3], ids=["sha256", "sm3"])
def test_every_proof_over_sizes_1_to_200_verifies(hasher: MerkleHasher) -> None:
    rng = random.Random(9162)
    entries = [rng.randbytes(rng.randrange(0, 40)) for _ in range(200)]
    tree = MemoryTree.from_data(hasher, entries)
    roots = [tree.root(n) for n in range(201)]
    for n in range(1, 201):
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert verify_inclusion(hasher, i, n, tree.levels[0][i], proof, roots[n]), (i, n)
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            assert verify_consistency(hasher, m, n, roots[m], roots[n], proof), (m, n)
    # And a random sample of wrong claims never verifies.
    for _ in range(2000):
        n = rng.randrange(2, 201)
        i, j = rng.randrange(n), rng.randrange(n)
        if i != j:
            proof = tree.inclusion_proof(i, n)
            assert not verify_inclusion(hasher, j, n, tree.levels[0][i], proof, roots[n])
        m = rng.randrange(1, n)
        proof = tree.consistency_proof(m, n)
        assert not verify_consistency(
            hasher, m, n, roots[m - 1] if m > 1 else SOME_HASH[: hasher.size], roots[n], proof
        )


def test_complete_subtrees_cover_ranges_exactly() -> None:
    for start, end in ((0, 1), (0, 7), (4, 7), (8, 13), (0, 200)):
        covered: list[int] = []
        for level, index in complete_subtrees(start, end):
            covered.extend(range(index << level, (index + 1) << level))
        assert covered == list(range(start, end))


def test_unknown_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Merkle hash"):
        MerkleHasher("md5")
