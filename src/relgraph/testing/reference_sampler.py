"""Slow per-seed reference sampler (numpy loops) for tests and benchmarks.

It follows the same semantics as :class:`~relgraph.sampling.NeighborSampler` (no
adaptive sampling, no per-entity cap) with plain Python/numpy code that is easy to
check by eye, and returns every seed's tree of node slots.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from relgraph.sampling.subgraph import SampledSubgraph
from relgraph.store import EdgeArrays, EdgeType, GraphStore, TableArrays, reverse_edge_type

Adjacency = dict[EdgeType, tuple[np.ndarray, np.ndarray, np.ndarray | None]]
STATIC_ANCHOR = int(np.iinfo(np.int64).max) - 1


@dataclass(frozen=True)
class RefSlot:
    """One node slot of a seed's tree."""

    hop: int
    node_type: str
    row: int
    parent: int  # index of the parent slot in the same seed's list (-1 for the seed)
    edge_type: EdgeType | None  # store edge type traversed to reach this slot


def adjacency_from_arrays(
    tables: Mapping[str, TableArrays], edges: Sequence[EdgeArrays]
) -> Adjacency:
    """Time-sorted CSR per edge type built directly from the inputs (equal times: the
    neighbor with the larger tie rank first, so "last" keeps the smaller keys)."""
    adj: Adjacency = {}
    for e in edges:
        for rows, nbrs, row_table, nbr_table, et in (
            (e.src_rows, e.dst_rows, e.src_table, e.dst_table, (e.src_table, e.fkey, e.dst_table)),
            (
                e.dst_rows,
                e.src_rows,
                e.dst_table,
                e.src_table,
                (e.dst_table, "rev_" + e.fkey, e.src_table),
            ),
        ):
            rows = np.asarray(rows, dtype=np.int64)
            nbrs = np.asarray(nbrs, dtype=np.int64)
            t = tables[nbr_table].time
            times = None if t is None else np.asarray(t, dtype=np.int64)[nbrs]
            tie = tables[nbr_table].tie
            ranks = nbrs if tie is None else np.asarray(tie, dtype=np.int64)[nbrs]
            keys = (-ranks,) + (() if times is None else (times,)) + (rows,)
            order = np.lexsort(keys)
            rowptr = np.zeros(tables[row_table].num_rows + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=tables[row_table].num_rows), out=rowptr[1:])
            adj[et] = (rowptr, nbrs[order], None if times is None else times[order])
    return adj


def adjacency_from_store(store: GraphStore) -> Adjacency:
    """The store's CSRs as numpy arrays (neighbor times decoded)."""
    adj: Adjacency = {}
    for et in store.edge_types:
        rowptr, col, nbr_time = store.csr(et)
        adj[et] = (
            rowptr.cpu().numpy().astype(np.int64),
            col.cpu().numpy().astype(np.int64),
            None if nbr_time is None else nbr_time.cpu().numpy(),
        )
    return adj


def reference_sample(
    adj: Adjacency,
    num_neighbors: Sequence[Mapping[EdgeType, int]],
    seed_table: str,
    seed_rows: Sequence[int] | np.ndarray,
    seed_time: Sequence[int] | np.ndarray | None,
    strategy: str = "uniform",
    rng: np.random.Generator | None = None,
) -> list[list[RefSlot]]:
    """Sample every seed's tree with a Python loop per seed, node and edge type."""
    rng = rng if rng is not None else np.random.default_rng(0)
    out_types: dict[str, list[EdgeType]] = {}
    for et in adj:
        out_types.setdefault(et[0], []).append(et)
    trees: list[list[RefSlot]] = []
    for i, seed in enumerate(np.asarray(seed_rows).tolist()):
        anchor = STATIC_ANCHOR if seed_time is None else int(np.asarray(seed_time)[i])
        slots = [RefSlot(0, seed_table, int(seed), -1, None)]
        frontier = [0]
        for hop, plan in enumerate(num_neighbors, start=1):
            new: list[int] = []
            for idx in frontier:
                node = slots[idx]
                for et in out_types.get(node.node_type, []):
                    k = plan[et]
                    if k == 0:
                        continue
                    rowptr, col, times = adj[et]
                    a, b = rowptr[node.row], rowptr[node.row + 1]
                    nbrs = col[a:b]
                    if times is not None:
                        nbrs = nbrs[times[a:b] <= anchor]
                    if 0 <= k < len(nbrs):
                        if strategy == "last":
                            nbrs = nbrs[len(nbrs) - k :]
                        else:
                            nbrs = rng.choice(nbrs, k, replace=False)
                    for nbr in nbrs.tolist():
                        slots.append(RefSlot(hop, et[2], int(nbr), idx, et))
                        new.append(len(slots) - 1)
            frontier = new
        trees.append(slots)
    return trees


Path = tuple[tuple[EdgeType, int], ...]


def reference_paths(trees: Sequence[Sequence[RefSlot]]) -> list[Counter[Path]]:
    """Per seed, the multiset of root-to-slot paths ``((edge_type, row), ...)``."""
    out: list[Counter[Path]] = []
    for slots in trees:
        paths: list[Path] = []
        for slot in slots:
            if slot.parent < 0:
                paths.append(())
            else:
                assert slot.edge_type is not None
                paths.append((*paths[slot.parent], (slot.edge_type, slot.row)))
        out.append(Counter(paths))
    return out


def subgraph_paths(sub: SampledSubgraph) -> list[Counter[Path]]:
    """Per seed, the multiset of root-to-slot paths of a :class:`SampledSubgraph`."""
    parent: dict[tuple[str, int], tuple[str, int, EdgeType]] = {}
    for (child_type, rel, parent_type), ei in sub.edge_index_dict.items():
        store_et = reverse_edge_type((child_type, rel, parent_type))
        for c, p in ei.t().tolist():
            assert (child_type, c) not in parent, "a slot has two parents"
            parent[(child_type, c)] = (parent_type, p, store_et)
    cache: dict[tuple[str, int], Path] = {}

    def path(node_type: str, local: int) -> Path:
        key = (node_type, local)
        if key not in cache:
            if key not in parent:
                cache[key] = ()
            else:
                ptype, plocal, et = parent[key]
                row = int(sub.node_dict[node_type][local])
                cache[key] = (*path(ptype, plocal), (et, row))
        return cache[key]

    out: list[Counter[Path]] = [Counter() for _ in range(sub.batch_size)]
    for node_type, rows in sub.node_dict.items():
        batch = sub.batch_dict[node_type].tolist()
        for local in range(rows.numel()):
            out[batch[local]][path(node_type, local)] += 1
    return out
