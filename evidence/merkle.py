"""RFC 6962 / RFC 9162 Merkle trees over SHA-256.

Hashes are 32-byte ``bytes``. A leaf hashes as ``SHA-256(0x00 || data)`` and an interior
node as ``SHA-256(0x01 || left || right)`` (RFC 9162 section 2.1.1), so a leaf can never
be passed off as a node. For ``n > 1`` leaves the tree splits at ``k``, the largest power
of two smaller than ``n``.

Two families of functions produce proofs:

* list-based (``root_hash``, ``inclusion_proof``, ``consistency_proof``) take all leaf
  hashes, for tests and small trees;
* node-based (``*_from_nodes``) take a callback ``get_node(level, index)`` that returns the
  stored hash of the perfect subtree over leaves ``[index * 2**level, (index+1) * 2**level)``
  and make O(log n) calls, for a database-backed log; :class:`RightEdge` keeps the
  compact range of the right edge so that appending a leaf is O(log n) too and yields
  the new perfect-subtree hashes to store.

Verifiers (``verify_inclusion``, ``verify_consistency``) follow RFC 9162 sections 2.1.3.2
and 2.1.4.2 literally and raise :class:`InclusionProofError` or
:class:`ConsistencyProofError`; they never return ``False``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Final

from evidence.errors import ConsistencyProofError, InclusionProofError, ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "GetNode",
    "RightEdge",
    "consistency_proof",
    "consistency_proof_from_nodes",
    "inclusion_proof",
    "inclusion_proof_from_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_nodes",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string (RFC 9162 section 2.1.1)."""

GetNode = Callable[[int, int], bytes]
"""``get_node(level, index)``: hash of the perfect subtree of ``2**level`` leaves at ``index``."""

SubtreeHash = Callable[[int, int], bytes]  # (start, end) -> MTH(D[start:end])


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of a leaf (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str, error: type[ProofError]) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise error(f"{what} must be a {HASH_SIZE}-byte hash, got {got}")


def _check_size(value: int, what: str, error: type[ProofError]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise error(f"{what} must be a non-negative integer, got {value!r}")


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of a tree whose perfect subtrees, left to right, have these hashes."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


# -- list-based ---------------------------------------------------------------------


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) (RFC 9162 section 2.1.1) of the given leaf hashes, in O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    stack: list[bytes] = []
    for count, value in enumerate(leaf_hashes, start=1):
        _check_hash(value, f"leaf hash {count - 1}", ProofError)
        stack.append(value)
        while count & 1 == 0:  # close every perfect subtree this leaf completes
            right = stack.pop()
            stack.append(node_hash(stack.pop(), right))
            count >>= 1
    return _fold(stack)


def _list_subtree(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    return lambda start, end: root_hash(leaf_hashes[start:end])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 section 2.1.3.1): leaf's sibling first, root's child last."""
    return _inclusion_path(index, len(leaf_hashes), _list_subtree(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) (RFC 9162 section 2.1.4.1); ``[]`` when ``old_size == n``."""
    return _consistency_path(old_size, len(leaf_hashes), _list_subtree(leaf_hashes))


# -- shared proof construction ------------------------------------------------------


def _inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    _check_size(index, "leaf index", InclusionProofError)
    _check_size(size, "tree size", InclusionProofError)
    if index >= size:
        raise InclusionProofError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:  # walk down from the root, collecting siblings
        middle = start + _split(end - start)
        if index < middle:
            path.append(subtree(middle, end))
            end = middle
        else:
            path.append(subtree(start, middle))
            start = middle
    path.reverse()
    return path


def _consistency_path(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    _check_size(old_size, "old size", ConsistencyProofError)
    _check_size(new_size, "new size", ConsistencyProofError)
    if not 0 < old_size <= new_size:
        raise ConsistencyProofError(
            f"no consistency proof from size {old_size} to size {new_size}: "
            "need 0 < old size <= new size"
        )
    # SUBPROOF(m, D[start:end], b), unrolled: the nodes are collected root-side first.
    path: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        path.append(subtree(start, end))
    path.reverse()
    return path


# -- node-based (for a stored log) --------------------------------------------------


def _nodes_subtree(tree_size: int, get_node: GetNode) -> SubtreeHash:
    def subtree(start: int, end: int) -> bytes:
        # Every subtree reached from the root starts at a multiple of a power of two at
        # least its width, so it is a row of perfect subtrees, largest first.
        hashes: list[bytes] = []
        while start < end:
            level = (end - start).bit_length() - 1
            value = get_node(level, start >> level)
            _check_hash(value, f"stored node (level {level}, index {start >> level})", ProofError)
            hashes.append(value)
            start += 1 << level
        return _fold(hashes)

    return subtree


def root_from_nodes(tree_size: int, get_node: GetNode) -> bytes:
    """MTH of the first ``tree_size`` leaves from stored perfect subtrees: O(log n) calls."""
    _check_size(tree_size, "tree size", ProofError)
    if tree_size == 0:
        return EMPTY_ROOT
    return _nodes_subtree(tree_size, get_node)(0, tree_size)


def inclusion_proof_from_nodes(index: int, tree_size: int, get_node: GetNode) -> list[bytes]:
    """Same proof as :func:`inclusion_proof`, from stored nodes: O(log n) calls."""
    return _inclusion_path(index, tree_size, _nodes_subtree(tree_size, get_node))


def consistency_proof_from_nodes(old_size: int, new_size: int, get_node: GetNode) -> list[bytes]:
    """Same proof as :func:`consistency_proof`, from stored nodes: O(log n) calls."""
    return _consistency_path(old_size, new_size, _nodes_subtree(new_size, get_node))


class RightEdge:
    """The compact range ``[0, size)``: one hash per perfect subtree on the right edge.

    ``hashes`` lists them left to right (largest first), one per set bit of ``size``.
    :meth:`append` adds a leaf in O(log n) and returns the perfect subtrees it completes,
    so a log can store them and later serve proofs with the ``*_from_nodes`` functions.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, "size", ProofError)
        if len(hashes) != size.bit_count():
            raise ProofError(
                f"a right edge of size {size} has {size.bit_count()} hashes, got {len(hashes)}"
            )
        for i, value in enumerate(hashes):
            _check_hash(value, f"right-edge hash {i}", ProofError)
        self._size = size
        self._hashes = list(hashes)

    @classmethod
    def from_nodes(cls, size: int, get_node: GetNode) -> RightEdge:
        """Rebuild the right edge of a stored tree of ``size`` leaves: O(log n) calls."""
        _check_size(size, "size", ProofError)
        hashes: list[bytes] = []
        start = 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                hashes.append(get_node(level, start >> level))
                start += 1 << level
        return cls(size, hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the completed nodes ``(level, index, hash)``, leaf first."""
        _check_hash(leaf, "leaf hash", ProofError)
        index, value = self._size, leaf
        completed = [(0, index, value)]
        level = 0
        while index & 1:  # a right child: merge with its left sibling
            value = node_hash(self._hashes.pop(), value)
            index >>= 1
            level += 1
            completed.append((level, index, value))
        self._hashes.append(value)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the ``size`` leaves seen so far."""
        return _fold(self._hashes) if self._hashes else EMPTY_ROOT

    def __repr__(self) -> str:
        return f"RightEdge(size={self._size}, root={self.root().hex()})"


# -- verification -------------------------------------------------------------------


def _mismatch(what: str, computed: bytes, expected: bytes) -> str:
    return f"{what}: computed {computed.hex()}, expected {expected.hex()}"


def verify_inclusion(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree with ``root`` (RFC 9162 2.1.3.2)."""
    error = InclusionProofError
    _check_size(index, "leaf index", error)
    _check_size(tree_size, "tree size", error)
    _check_hash(leaf_hash, "leaf hash", error)
    _check_hash(root, "root hash", error)
    for i, element in enumerate(proof):
        _check_hash(element, f"proof element {i}", error)
    if index >= tree_size:
        raise error(f"leaf index {index} is not in a tree of size {tree_size}")
    inner = (index ^ (tree_size - 1)).bit_length()
    wrong_length = (
        f"proof for leaf {index} in a tree of size {tree_size} has {len(proof)} elements, "
        f"expected {inner + (index >> inner).bit_count()}"
    )
    fn, sn, r = index, tree_size - 1, leaf_hash
    for element in proof:
        if sn == 0:
            raise error(wrong_length)
        if fn & 1 or fn == sn:
            r = node_hash(element, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise error(wrong_length)
    if not hmac.compare_digest(r, root):
        raise error(_mismatch(f"leaf {index} does not lead to the root", r, root))


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``old_root`` is a prefix of the tree ``new_root`` (RFC 9162 2.1.4.2).

    As in RFC 9162, ``0 < old_size``: a proof from the empty tree proves nothing and is
    refused. Equal sizes need an empty proof and equal roots.
    """
    error = ConsistencyProofError
    _check_size(old_size, "old size", error)
    _check_size(new_size, "new size", error)
    _check_hash(old_root, "old root", error)
    _check_hash(new_root, "new root", error)
    for i, element in enumerate(proof):
        _check_hash(element, f"proof element {i}", error)
    if old_size == 0:
        raise error("consistency from the empty tree (old size 0) proves nothing")
    if old_size > new_size:
        raise error(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise error(f"sizes are equal ({old_size}) but the proof has {len(proof)} elements")
        if not hmac.compare_digest(old_root, new_root):
            raise error(
                _mismatch(f"sizes are equal ({old_size}) but roots differ", new_root, old_root)
            )
        return
    if not proof:
        raise error(f"empty proof from size {old_size} to size {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for i, c in enumerate(path[1:], start=1):
        if sn == 0:
            raise error(f"proof is too long: element {i} is past the root of size {new_size}")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise error(f"proof is too short to reach the root of size {new_size}")
    if not hmac.compare_digest(fr, old_root):
        raise error(
            _mismatch(f"proof does not lead to the old root (size {old_size})", fr, old_root)
        )
    if not hmac.compare_digest(sr, new_root):
        raise error(
            _mismatch(f"proof does not lead to the new root (size {new_size})", sr, new_root)
        )
