"""RFC 6962 / RFC 9162 Merkle trees: published vectors, probes, tampering, reference model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import merkle
from evidence.errors import ConsistencyProofError, InclusionProofError, ProofError
from evidence.merkle import (
    EMPTY_ROOT,
    RightEdge,
    consistency_proof,
    consistency_proof_from_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    node_hash,
    root_from_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
DATA: dict[str, Any] = json.loads((VECTORS / "rfc6962.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(x)) for x in DATA["leaves_hex"]]
H = bytes.fromhex


# -- a plain reference, written from RFC 6962 section 2.1 ---------------------------


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf *hashes*, recursively, as RFC 6962 2.1 states it."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return d[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 6962 2.1.1."""
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 6962 2.1.2."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def make_leaves(n: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big") + salt.to_bytes(2, "big")) for i in range(n)]


class Store:
    """A node table like the archive's: (level, index) -> hash, counting look-ups."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.calls = 0
        edge = RightEdge()
        for leaf in leaves:
            for level, index, value in edge.append(leaf):
                assert (level, index) not in self.nodes
                self.nodes[(level, index)] = value
        self.edge = edge

    def get(self, level: int, index: int) -> bytes:
        self.calls += 1
        return self.nodes[(level, index)]


# -- published vectors --------------------------------------------------------------


def test_hasher_vectors() -> None:
    assert len(DATA["hasher_vectors"]) == 6
    for v in DATA["hasher_vectors"]:
        if v["op"] == "empty_root":
            got = EMPTY_ROOT
        elif v["op"] == "leaf":
            got = leaf_hash(H(v["data_hex"]))
        else:
            got = node_hash(H(v["left_hex"]), H(v["right_hex"]))
        assert got.hex() == v["expected"], v


def test_roots_of_the_eight_leaf_tree() -> None:
    assert len(DATA["roots"]) == 9
    for size, expected in DATA["roots"].items():
        assert root_hash(LEAVES[: int(size)]).hex() == expected
        assert ref_mth(LEAVES[: int(size)]).hex() == expected


def test_all_complete_subtree_hashes() -> None:
    store = Store(LEAVES)
    levels = DATA["node_hashes_by_level"]["levels"]
    assert sum(len(level) for level in levels) == 15
    for level, row in enumerate(levels):
        for index, expected in enumerate(row):
            assert store.nodes[(level, index)].hex() == expected
    assert len(store.nodes) == 15


def test_inclusion_vectors() -> None:
    assert len(DATA["inclusion"]) == 7
    for v in DATA["inclusion"]:
        size, index = v["tree_size"], v["leaf_index"]
        path = [H(x) for x in v["path"]]
        assert inclusion_proof(LEAVES[:size], index) == path
        assert inclusion_proof_from_nodes(index, size, Store(LEAVES[:size]).get) == path
        verify_inclusion(
            leaf_hash=LEAVES[index],
            index=index,
            tree_size=size,
            proof=path,
            root=H(DATA["roots"][str(size)]),
        )


def test_consistency_vectors() -> None:
    assert len(DATA["consistency"]) == 5
    for v in DATA["consistency"]:
        old, new = v["size1"], v["size2"]
        proof = [H(x) for x in v["proof"]]
        assert consistency_proof(LEAVES[:new], old) == proof
        assert consistency_proof_from_nodes(old, new, Store(LEAVES[:new]).get) == proof
        verify_consistency(
            old_size=old,
            new_size=new,
            old_root=H(DATA["roots"][str(old)]),
            new_root=H(DATA["roots"][str(new)]),
            proof=proof,
        )


def test_real_ct_log_inclusion() -> None:
    v = DATA["inclusion_real_ct_log"]
    leaf = leaf_hash(H(v["raw_leaf_hex"]))
    assert leaf.hex() == v["leaf_hash"]
    args = {
        "leaf_hash": leaf,
        "index": v["leaf_index"],
        "tree_size": v["tree_size"],
        "proof": [H(x) for x in v["path"]],
        "root": H(v["root"]),
    }
    assert len(args["proof"]) == 22
    verify_inclusion(**args)
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_inclusion(**{**args, "index": v["leaf_index"] + 1})
    with pytest.raises(InclusionProofError):
        verify_inclusion(**{**args, "tree_size": v["tree_size"] * 2})


@pytest.mark.parametrize("tree", DATA["larger_trees"]["trees"], ids=lambda t: str(t["tree_size"]))
def test_larger_tree_roots(tree: dict[str, Any]) -> None:
    n = tree["tree_size"]
    leaves = [leaf_hash(bytes([i & 0xFF, (i >> 8) & 0xFF])) for i in range(n)]
    assert root_hash(leaves).hex() == tree["root"]
    store = Store(leaves)
    assert store.edge.root().hex() == tree["root"]
    assert root_from_nodes(n, store.get).hex() == tree["root"]
    assert store.calls <= n.bit_length()


def _probe_id(p: dict[str, Any]) -> str:
    return str(p["file"]).removeprefix("testdata/")


# One probe expects a verifier to accept equal 12-byte "roots" for sizes 1 == 1; ours
# refuses any root that is not a 32-byte SHA-256 hash, on purpose.
NOT_A_HASH_PROBE = "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"


@pytest.mark.parametrize("probe", DATA["probes"]["inclusion"], ids=_probe_id)
def test_inclusion_probes(probe: dict[str, Any]) -> None:
    def run() -> None:
        verify_inclusion(
            leaf_hash=H(probe["leaf_hash"]),
            index=probe["leaf_index"],
            tree_size=probe["tree_size"],
            proof=[H(x) for x in probe["path"]],
            root=H(probe["root"]),
        )

    if probe["want_error"]:
        with pytest.raises(InclusionProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("probe", DATA["probes"]["consistency"], ids=_probe_id)
def test_consistency_probes(probe: dict[str, Any]) -> None:
    def run(root1: bytes, root2: bytes) -> None:
        verify_consistency(
            old_size=probe["size1"],
            new_size=probe["size2"],
            old_root=root1,
            new_root=root2,
            proof=[H(x) for x in probe["proof"]],
        )

    root1, root2 = H(probe["root1"]), H(probe["root2"])
    if probe["file"] == NOT_A_HASH_PROBE:
        assert not probe["want_error"]
        assert len(root1) == 12
        with pytest.raises(ConsistencyProofError, match="old root must be a 32-byte hash"):
            run(root1, root2)
        same = hashlib.sha256(root1).digest()
        run(same, same)  # the probe's intent, with real hashes
    elif probe["want_error"]:
        with pytest.raises(ConsistencyProofError):
            run(root1, root2)
    else:
        run(root1, root2)


def test_probe_counts() -> None:
    assert len(DATA["probes"]["inclusion"]) == 98
    assert len(DATA["probes"]["consistency"]) == 98


# -- tampering ----------------------------------------------------------------------


def flip(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


LEAVES_13 = make_leaves(13)
ROOT_13 = root_hash(LEAVES_13)


def inclusion_args(index: int = 5) -> dict[str, Any]:
    return {
        "leaf_hash": LEAVES_13[index],
        "index": index,
        "tree_size": 13,
        "proof": inclusion_proof(LEAVES_13, index),
        "root": ROOT_13,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"leaf_hash": LEAVES_13[6]}, "does not lead to the root"),
        ({"index": 4}, "does not lead to the root"),
        ({"index": 13}, "not in a tree of size 13"),
        ({"index": -1}, "non-negative integer"),
        ({"index": True}, "non-negative integer"),
        ({"tree_size": 7}, "has 4 elements, expected 3"),
        ({"tree_size": 32}, "has 4 elements, expected 5"),
        ({"tree_size": 0}, "not in a tree of size 0"),
        ({"root": flip(ROOT_13)}, "does not lead to the root"),
        ({"root": ROOT_13[:31]}, "root hash must be a 32-byte hash, got 31 bytes"),
        ({"leaf_hash": "00" * 32}, "leaf hash must be a 32-byte hash, got str"),
    ],
)
def test_inclusion_tampered_inputs(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InclusionProofError, match=message):
        verify_inclusion(**{**inclusion_args(), **change})


def test_inclusion_tampered_proofs() -> None:
    args = inclusion_args()
    proof = args["proof"]
    assert len(proof) == 4
    verify_inclusion(**args)
    for i in range(len(proof)):
        for bit in (0, 7):
            bad = [*proof]
            bad[i] = flip(bad[i], bit)
            with pytest.raises(InclusionProofError, match="does not lead to the root"):
                verify_inclusion(**{**args, "proof": bad})
    too_long = "has 5 elements, expected 4"
    with pytest.raises(InclusionProofError, match=too_long):
        verify_inclusion(**{**args, "proof": [*proof, ROOT_13]})
    with pytest.raises(InclusionProofError, match="has 3 elements, expected 4"):
        verify_inclusion(**{**args, "proof": proof[:-1]})
    with pytest.raises(InclusionProofError, match="proof element 4 must be a 32-byte hash"):
        verify_inclusion(**{**args, "proof": [*proof, b"garbage"]})
    with pytest.raises(InclusionProofError, match="proof element 1 must be"):
        verify_inclusion(**{**args, "proof": [proof[0], proof[1][:16], *proof[2:]]})


def test_consistency_tampered() -> None:
    old = 6
    proof = consistency_proof(LEAVES_13, old)
    good: dict[str, Any] = {
        "old_size": old,
        "new_size": 13,
        "old_root": root_hash(LEAVES_13[:old]),
        "new_root": ROOT_13,
        "proof": proof,
    }
    verify_consistency(**good)
    for i in range(len(proof)):
        bad = [*proof]
        bad[i] = flip(bad[i], 3)
        with pytest.raises(ConsistencyProofError, match="does not lead to the"):
            verify_consistency(**{**good, "proof": bad})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"proof": [*proof, ROOT_13]}, "too long: element"),
        ({"proof": proof[:-1]}, "too short"),
        ({"proof": [*proof, b""]}, r"proof element 4 must be a 32-byte hash, got 0 bytes"),
        ({"proof": []}, "empty proof from size 6 to size 13"),
        ({"old_root": flip(good["old_root"])}, "old root"),
        ({"new_root": flip(ROOT_13)}, "new root"),
        ({"new_root": ROOT_13[:8]}, "new root must be a 32-byte hash"),
        ({"old_size": 7}, "too short"),
        ({"old_size": 10}, "does not lead to the old root"),
        ({"old_size": 1}, "does not lead to the new root"),
        ({"old_size": 14}, "old size 14 is larger than new size 13"),
        ({"new_size": -1}, "new size must be a non-negative integer"),
        ({"old_size": 0, "proof": []}, "old size 0"),
        ({"old_size": 13, "proof": []}, "roots differ"),
        ({"old_size": 13, "old_root": ROOT_13}, "proof has 4 elements"),
    ]
    for change, message in cases:
        with pytest.raises(ConsistencyProofError, match=message):
            verify_consistency(**{**good, **change})
    verify_consistency(**{**good, "old_size": 13, "old_root": ROOT_13, "proof": []})


def test_proof_generation_arguments() -> None:
    with pytest.raises(InclusionProofError, match="not in a tree of size 3"):
        inclusion_proof(LEAVES[:3], 3)
    with pytest.raises(InclusionProofError, match="not in a tree of size 0"):
        inclusion_proof([], 0)
    with pytest.raises(ConsistencyProofError, match="need 0 < old size <= new size"):
        consistency_proof(LEAVES, 0)
    with pytest.raises(ConsistencyProofError, match="need 0 < old size <= new size"):
        consistency_proof(LEAVES[:3], 4)
    with pytest.raises(ConsistencyProofError, match="non-negative"):
        consistency_proof_from_nodes(1, -2, Store(LEAVES).get)
    assert consistency_proof(LEAVES, 8) == []
    with pytest.raises(ProofError, match="leaf hash 1 must be a 32-byte hash"):
        root_hash([LEAVES[0], b"short"])


def test_node_callbacks_are_checked() -> None:
    with pytest.raises(ProofError, match=r"stored node \(level 2, index 0\)"):
        root_from_nodes(4, lambda level, index: b"x")
    with pytest.raises(ProofError, match="tree size must be a non-negative integer"):
        root_from_nodes(-1, Store(LEAVES).get)
    assert root_from_nodes(0, Store([]).get) == EMPTY_ROOT


# -- right edge ---------------------------------------------------------------------


def test_right_edge_basics() -> None:
    edge = RightEdge()
    assert edge.size == 0
    assert edge.hashes == ()
    assert edge.root() == EMPTY_ROOT
    assert edge.append(LEAVES[0]) == [(0, 0, LEAVES[0])]
    completed = edge.append(LEAVES[1])
    assert completed == [(0, 1, LEAVES[1]), (1, 0, node_hash(LEAVES[0], LEAVES[1]))]
    edge.append(LEAVES[2])
    assert edge.size == 3
    assert len(edge.hashes) == 2
    again = RightEdge(edge.size, edge.hashes)
    assert again.root() == edge.root() == root_hash(LEAVES[:3])
    assert "size=3" in repr(again)


def test_right_edge_rejects_bad_state() -> None:
    with pytest.raises(ProofError, match="size 3 has 2 hashes, got 1"):
        RightEdge(3, [LEAVES[0]])
    with pytest.raises(ProofError, match="right-edge hash 0"):
        RightEdge(1, [b"x"])
    with pytest.raises(ProofError, match="size must be a non-negative integer"):
        RightEdge(-1)
    with pytest.raises(ProofError, match="leaf hash must be"):
        RightEdge().append(b"not a hash")
    with pytest.raises(ProofError, match="size must be"):
        RightEdge.from_nodes(-3, Store(LEAVES).get)


# -- properties against the reference -----------------------------------------------

sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=0, max_value=300), salt=st.integers(0, 65535))
def test_root_matches_reference(n: int, salt: int) -> None:
    leaves = make_leaves(n, salt)
    store = Store(leaves)
    expected = ref_mth(leaves)
    assert root_hash(leaves) == expected
    assert store.edge.root() == expected
    assert root_from_nodes(n, store.get) == expected
    assert RightEdge.from_nodes(n, store.get).hashes == store.edge.hashes


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_inclusion_matches_reference(data: st.DataObject, n: int) -> None:
    leaves = make_leaves(n)
    index = data.draw(st.integers(0, n - 1))
    expected = ref_path(index, leaves)
    assert inclusion_proof(leaves, index) == expected
    store = Store(leaves)
    assert inclusion_proof_from_nodes(index, n, store.get) == expected
    assert store.calls <= 2 * n.bit_length()
    verify_inclusion(
        leaf_hash=leaves[index], index=index, tree_size=n, proof=expected, root=ref_mth(leaves)
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_consistency_matches_reference(data: st.DataObject, n: int) -> None:
    leaves = make_leaves(n)
    old = data.draw(st.integers(1, n))
    expected = ref_subproof(old, leaves, True)
    assert consistency_proof(leaves, old) == expected
    store = Store(leaves)
    assert consistency_proof_from_nodes(old, n, store.get) == expected
    assert store.calls <= 2 * n.bit_length()
    verify_consistency(
        old_size=old,
        new_size=n,
        old_root=ref_mth(leaves[:old]),
        new_root=ref_mth(leaves),
        proof=expected,
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(2, 200))
def test_wrong_index_or_size_is_rejected(data: st.DataObject, n: int) -> None:
    leaves = make_leaves(n)
    index = data.draw(st.integers(0, n - 1))
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index))
    proof = inclusion_proof(leaves, index)
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            leaf_hash=leaves[index], index=other, tree_size=n, proof=proof, root=root_hash(leaves)
        )
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            leaf_hash=leaves[other], index=index, tree_size=n, proof=proof, root=root_hash(leaves)
        )


def test_large_tree_node_calls_are_logarithmic() -> None:
    n = 1_000_003
    calls = 0

    def get_node(level: int, index: int) -> bytes:
        nonlocal calls
        calls += 1
        return hashlib.sha256(level.to_bytes(1, "big") + index.to_bytes(8, "big")).digest()

    root_from_nodes(n, get_node)
    inclusion_proof_from_nodes(n - 1, n, get_node)
    inclusion_proof_from_nodes(12345, n, get_node)
    consistency_proof_from_nodes(777_777, n, get_node)
    RightEdge.from_nodes(n, get_node)
    assert calls < 8 * n.bit_length()


def test_module_exports() -> None:
    exported: Sequence[str] = merkle.__all__
    for name in exported:
        assert hasattr(merkle, name)
    assert isinstance(merkle.GetNode, object)
    unused: Callable[[int, int], bytes] = Store(LEAVES).get
    assert unused(0, 0) == LEAVES[0]
