"""How many neighbors of each kind a row has at the anchor time, and how recently.

Sampling caps every row at a few neighbors per edge type, so a GNN cannot tell a
customer with 16 orders from one with 500, nor (with uniform sampling) whether the last
order was yesterday. For every one-to-many edge type these features restore that
signal: the number of neighbors visible at the anchor, in the last 7/30/90/365 days, and the
days since the most recent one. Each costs one binary search per node in the
time-sorted CSR.
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor

from relgraph.store import CSR, EdgeType, GraphStore


def degree_edge_types(store: GraphStore) -> dict[str, list[EdgeType]]:
    """Per node type, the reverse (one-to-many) edge types whose degree is a feature."""
    out: dict[str, list[EdgeType]] = {t: [] for t in store.node_types}
    for et in store.edge_types:
        if store.fkey_info(et).direction == "reverse":
            out[et[0]].append(et)
    return out


WINDOWS_DAYS = (7, 30, 90, 365)
DAY = 86400
#: Features per edge type: total, one per window, days since the last neighbor, "has none".
NUM_FEATURES = 3 + len(WINDOWS_DAYS)


def degree_dim(store: GraphStore, edge_types: list[EdgeType]) -> int:
    return NUM_FEATURES * len(edge_types)


def visible_degree(store: GraphStore, edge_types: list[EdgeType], rows: Tensor,
                   anchor: Tensor) -> Tensor:
    """Count and recency features of ``rows`` at ``anchor``: ``[n, NUM_FEATURES * len(ets)]``.

    Only neighbors visible at each row's anchor count (the rule of
    :mod:`relgraph.graph.visibility`, through :meth:`CSR.visible_window` and
    :meth:`CSR.visible_candidates`), in every store layout. Counts enter as ``log1p``;
    recency as ``log1p(days since the last visible neighbor)`` (0 with a "has none"
    flag when there is none, and for static neighbors).

    Each distinct ``(row, anchor)`` pair is searched once: a subgraph reaches the same
    row from many of its rows (all of a plane's flights reach its airline).
    """
    times, time_of = torch.unique(anchor, return_inverse=True)
    pairs, pair_of = torch.unique(rows * max(1, times.numel()) + time_of, return_inverse=True)
    if pairs.numel() == rows.numel():
        return _visible_degree(store, edge_types, rows, anchor)
    return _visible_degree(store, edge_types, pairs // times.numel(),
                           times.index_select(0, pairs % times.numel())).index_select(0, pair_of)


class DegreeCache:
    """:func:`visible_degree` of whole node types at each anchor time asked for, computed
    once per ``(node type, time)`` and then read: a training table has few distinct
    anchors, and every batch asks again for the same planes, airports or airlines at them.

    A time is cached for a type while all the cached features, of every type, fit
    :data:`BYTES` (what does not fit is computed per call, as before), so the work a
    fill can waste (times asked for once, as in a table whose anchors are all distinct)
    is bounded by that budget too. Values are those of :func:`visible_degree` exactly:
    each is one row's own computation.
    """

    #: Memory of all the cached features, at most.
    BYTES = 128 * 2**20

    def __init__(self, store: GraphStore, edge_types: dict[str, list[EdgeType]]) -> None:
        self.store = store
        self.edge_types = edge_types
        self._tables: dict[str, Tensor] = {}   # [times, rows, features], in time order
        self._times: dict[str, Tensor] = {}    # those times, sorted
        self._lock = threading.Lock()

    def __call__(self, node_type: str, rows: Tensor, anchor: Tensor) -> Tensor:
        """``visible_degree(store, edge_types[node_type], rows, anchor)``."""
        ets = self.edge_types[node_type]
        if rows.numel() == 0:
            return visible_degree(self.store, ets, rows, anchor)
        with self._lock:
            times, time_of = torch.unique(anchor, return_inverse=True)
            slots = self._slots_of(node_type, ets, times)
            if slots is None:
                return visible_degree(self.store, ets, rows, anchor)
            return self._tables[node_type][slots.index_select(0, time_of), rows]

    def _slots_of(self, node_type: str, ets: list[EdgeType], times: Tensor) -> Tensor | None:
        """The positions of ``times`` in the node type's table (filling the missing ones),
        or ``None`` when they would not fit."""
        known = self._times.get(node_type, times.new_empty(0))
        where = torch.searchsorted(known, times).clamp(max=max(0, known.numel() - 1))
        missing = times if not known.numel() else times[known[where] != times]
        if missing.numel():
            num_rows = self.store.num_nodes(node_type)
            width = NUM_FEATURES * len(ets)
            held = sum(table.numel() * table.element_size() for table in self._tables.values())
            if held + missing.numel() * num_rows * width * 4 > self.BYTES:
                return None
            every = torch.arange(num_rows, dtype=torch.long)
            new = visible_degree(self.store, ets, every.repeat(missing.numel()),
                                 missing.repeat_interleave(num_rows)
                                 ).view(missing.numel(), num_rows, width)
            old = self._tables.get(node_type, new.new_empty(0, num_rows, width))
            stamps = torch.cat([known, missing])
            order = torch.argsort(stamps)
            self._tables[node_type] = torch.cat([old, new]).index_select(0, order)
            known = self._times[node_type] = stamps.index_select(0, order)
            where = torch.searchsorted(known, times)
        return where


def _visible_degree(store: GraphStore, edge_types: list[EdgeType], rows: Tensor,
                    anchor: Tensor) -> Tensor:
    cols: list[Tensor] = []
    zeros = torch.zeros(rows.numel(), dtype=torch.long, device=rows.device)
    for et in edge_types:
        csr = store.csr_data(et)
        if csr.has_end_time:
            counts, has, age = _candidate_counts(csr, rows, anchor)
        elif csr.is_temporal:
            # one search for the anchor and every window start: [1 + windows, n] queries
            shifts = torch.tensor([0] + [days * DAY for days in WINDOWS_DAYS],
                                  dtype=anchor.dtype, device=anchor.device)
            starts, stops = csr.visible_window(
                rows.repeat(len(shifts)), (anchor.unsqueeze(0) - shifts.unsqueeze(1)).view(-1))
            start, stop = starts[:rows.numel()], stops[:rows.numel()]
            counts = [stop - start] + [stop - s for s in stops.view(len(shifts), -1)[1:]]
            has = stop > start
            nbr_time = csr.nbr_time
            assert nbr_time is not None
            last = nbr_time.index_select(0, (stop - 1).clamp(min=0)) if nbr_time.numel() \
                else zeros
            age = torch.where(has, (anchor - last).clamp(min=0), zeros)
        else:
            start, stop = csr.visible_window(rows, None)
            counts = [stop - start] + [zeros] * len(WINDOWS_DAYS)
            has = torch.zeros_like(stop, dtype=torch.bool)
            age = zeros
        feats = [torch.log1p(c.clamp(min=0).to(torch.float32)) for c in counts]
        feats.append(torch.log1p(age.to(torch.float32) / DAY))
        feats.append((~has).to(torch.float32))
        cols.extend(feats)
    if not cols:
        return torch.zeros(rows.numel(), 0, device=rows.device)
    return torch.stack(cols, dim=1)


def _candidate_counts(csr: CSR, rows: Tensor, anchor: Tensor
                      ) -> tuple[list[Tensor], Tensor, Tensor]:
    """Counts per window, "has any" and age of the last one, from the listed visible
    neighbors (edge types whose neighbors have end times)."""
    parent, pos, count = csr.visible_candidates(rows, anchor)
    n = rows.numel()
    nbr_time = csr.nbr_time
    if nbr_time is None:  # static neighbors with end times: counts only
        zeros = torch.zeros(n, dtype=torch.long, device=rows.device)
        return [count] + [zeros] * len(WINDOWS_DAYS), torch.zeros_like(count, dtype=torch.bool), \
            zeros
    time = nbr_time.index_select(0, pos)
    seed_anchor = anchor.index_select(0, parent)
    counts = [count]
    for days in WINDOWS_DAYS:
        inside = (time > seed_anchor - days * DAY).long()
        counts.append(torch.zeros(n, dtype=torch.long, device=rows.device)
                      .index_add_(0, parent, inside))
    last = torch.full((n,), torch.iinfo(torch.int64).min, dtype=torch.long, device=rows.device)
    last.scatter_reduce_(0, parent, time, reduce="amax")
    has = count > 0
    age = torch.where(has, (anchor - last).clamp(min=0), torch.zeros_like(last))
    return counts, has, age
