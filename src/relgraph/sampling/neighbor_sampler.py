"""Vectorized temporal neighbor sampler producing per-seed (disjoint) subgraphs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from relgraph.errors import GraphError
from relgraph.sampling import kernels
from relgraph.sampling.kernels import distinct_offsets, expand_ranges, topk_offsets
from relgraph.sampling.num_neighbors import resolve_num_neighbors
from relgraph.sampling.subgraph import SampledSubgraph
from relgraph.store import CSR, EdgeType, GraphStore, reverse_edge_type

Strategy = Literal["uniform", "last"]
#: Anchor used when ``seed_time`` is ``None``: every row is visible except NULL-time
#: rows (``INT64_MAX``), which are never sampled.
STATIC_ANCHOR = torch.iinfo(torch.int64).max - 1
#: Largest per-seed fan-out multiplier used by ``adaptive=True``.
ADAPTIVE_MAX_FACTOR = 4.0


@dataclass
class _Frontier:
    """Slots of one node type added in the previous hop (contiguous from ``local0``)."""

    rows: Tensor  # int64 global rows
    batch: Tensor  # int64 seed index
    local0: int  # local index of the first slot
    is_seeds: bool = False  # batch == arange(B): gathers by batch are the identity


class NeighborSampler:
    """Temporal neighbor sampler over a :class:`~relgraph.store.GraphStore`.

    For hop ``h`` every node added at hop ``h - 1`` (the seeds at hop 1) samples, for
    each outgoing edge type, up to ``k`` neighbors among those visible at its seed's
    anchor time (neighbor time ``<= seed_time``; static neighbors are always
    visible). Each sampled neighbor is a new node slot belonging to that seed:
    subgraphs are tree-shaped and disjoint across seeds (no deduplication).

    Args:
        store: the graph store (CPU or CUDA; the sampler follows its device).
        num_neighbors: fan-outs, any form accepted by
            :func:`~relgraph.sampling.resolve_num_neighbors` (``-1`` = all visible,
            ``0`` = none).
        strategy: ``"uniform"`` (uniform without replacement among the visible
            neighbors) or ``"last"`` (the ``k`` most recent visible neighbors).
        adaptive: metapath-aware oversampling. After each hop, seed ``b`` gets factor
            ``f_b = clamp(requested_b / got_b, 1, 4)`` where ``requested_b`` is the
            nominal fan-out of its frontier (per node: ``k`` per reverse edge type, one
            per foreign key) and ``got_b`` the slots actually sampled; the next hop samples
            ``ceil(k * f_b)`` per node of that seed. Needs counts ``>= 0``.
        max_target_neighbors_per_entity: caps, per seed, how many node slots of the
            seed table itself (besides the seed) the subgraph may hold, e.g. how many
            of the entity's other time-varying rows are reachable via shared
            neighbors. The most recent ones are kept for ``"last"``, a uniform random
            subset for ``"uniform"``. ``None`` or ``-1`` = no cap.
        generator: random generator on the store's device (default: torch's global).
        pkeys: primary-key column per table, used to validate override keys.

    Algorithms (per hop and edge type, vectorized over the whole frontier):
    visible neighbors are a prefix ``[start, stop)`` of each time-sorted CSR row,
    ``stop`` found by :meth:`CSR.visible_window` (where neighbors have end times, the
    visible ones are listed by :meth:`CSR.visible_candidates`); ``"last"`` takes
    ``[stop - k, stop)``, the ``k`` most recent (equal times: smaller primary key first);
    ``"uniform"`` takes the rows with more than ``k`` candidates and draws distinct
    offsets for them (random keys + ``topk``, or rejection sampling for rows with
    more than ``4k`` candidates, see :mod:`~relgraph.sampling.kernels`); on CUDA,
    when every row has at most ``4k`` visible neighbors, it shuffles all visible
    positions of the frontier in one sort instead. Every choice depends only on the
    visible neighbors (never on the table's largest degree), so the sample is the same
    on a database cut at the anchor.
    Foreign-key edge types (at most one neighbor per row) are a single gather.
    """

    #: Use the one-sort uniform path for small-degree edge types; ``None`` = on CUDA
    #: only (fewer host syncs there; on CPU random keys + topk are cheaper).
    _flat: bool | None = None

    def __init__(
        self,
        store: GraphStore,
        num_neighbors: Any,
        strategy: Strategy = "uniform",
        adaptive: bool = False,
        max_target_neighbors_per_entity: int | None = None,
        generator: torch.Generator | None = None,
        pkeys: Mapping[str, str] | None = None,
    ) -> None:
        if strategy not in ("uniform", "last"):
            raise GraphError(f"Unknown sampling strategy {strategy!r}; use 'uniform' or 'last'.")
        self.store = store
        self.strategy: Strategy = strategy
        self.num_neighbors = resolve_num_neighbors(num_neighbors, store, pkeys)
        self.adaptive = bool(adaptive)
        if self.adaptive and any(k < 0 for hop in self.num_neighbors for k in hop.values()):
            raise GraphError(
                "adaptive=True needs non-negative neighbor counts; replace -1 (all) by an "
                "explicit count or set adaptive=False."
            )
        cap = max_target_neighbors_per_entity
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < -1):
            raise GraphError(
                f"max_target_neighbors_per_entity must be an int >= 0, -1 or None (got {cap!r})."
            )
        self.max_target_neighbors_per_entity = None if cap is None or cap == -1 else cap
        self.generator = generator
        self._out: dict[str, list[EdgeType]] = {t: [] for t in store.node_types}
        for et in store.edge_types:
            if any(hop[et] != 0 for hop in self.num_neighbors):
                self._out[et[0]].append(et)
        self._msg_types = {et: reverse_edge_type(et) for et in store.edge_types}
        # adaptive: a row's nominal fan-out is one along a foreign key, k the other way
        self._nominal = {et: (lambda k: min(k, 1)) if store.fkey_info(et).direction ==
                         "forward" else (lambda k: k) for et in store.edge_types}

    @property
    def num_hops(self) -> int:
        """Number of hops sampled."""
        return len(self.num_neighbors)

    def sample(
        self,
        seed_table: str,
        seed_rows: Tensor,
        seed_time: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> SampledSubgraph:
        """Sample the subgraphs of a batch of seeds.

        Args:
            seed_table: node type of the seeds.
            seed_rows: int64 ``[B]`` seed rows.
            seed_time: int64 ``[B]`` anchor times (epoch seconds); ``None`` makes every
                neighbor visible (static prediction) except rows with NULL time.
            generator: overrides the sampler's generator for this call.
        """
        store = self.store
        device = store.device
        gen = generator if generator is not None else self.generator
        seeds, stime = self._check_seeds(seed_table, seed_rows, seed_time, device)
        num_seeds = int(seeds.numel())
        node_types = store.node_types

        rows_parts: dict[str, list[Tensor]] = {t: [] for t in node_types}
        batch_parts: dict[str, list[Tensor]] = {t: [] for t in node_types}
        hop_counts: dict[str, list[tuple[int, int]]] = {t: [] for t in node_types}
        edge_parts: dict[EdgeType, list[Tensor]] = {et: [] for et in self._msg_types.values()}
        count = dict.fromkeys(node_types, 0)

        seed_batch = torch.arange(num_seeds, device=device)
        rows_parts[seed_table].append(seeds)
        batch_parts[seed_table].append(seed_batch)
        hop_counts[seed_table].append((0, num_seeds))
        count[seed_table] = num_seeds
        frontier = {seed_table: _Frontier(seeds, seed_batch, 0, is_seeds=True)}

        cap = self.max_target_neighbors_per_entity
        used = torch.zeros(num_seeds, dtype=torch.long, device=device) if cap is not None else None
        factor: Tensor | None = None

        for hop, plan in enumerate(self.num_neighbors, start=1):
            start_count = dict(count)
            new_parts: dict[str, list[tuple[Tensor, Tensor]]] = {}
            requested = torch.zeros(num_seeds, device=device) if self.adaptive else None
            for src_type, front in frontier.items():
                ftime = None
                for et in self._out[src_type]:
                    k = plan[et]
                    if k == 0:
                        continue
                    csr = store.csr_data(et)
                    if (csr.is_temporal or csr.has_end_time) and ftime is None:
                        ftime = stime if front.is_seeds else stime.index_select(0, front.batch)
                    k_row = None
                    if factor is not None:
                        k_row = (factor.index_select(0, front.batch) * k).ceil().long()
                    if requested is not None:
                        requested.index_add_(
                            0,
                            front.batch,
                            torch.full_like(front.batch, self._nominal[et](k), dtype=torch.float),
                        )
                    picked = self._select(csr, front.rows, ftime, k, k_row, gen)
                    if picked is None:
                        continue
                    parent, nbr = picked
                    dst = et[2]
                    num_front = front.rows.numel()
                    if parent is None:  # exactly one neighbor per frontier row, in order
                        nb = front.batch
                        if used is not None and dst == seed_table:
                            parent = torch.arange(num_front, device=device)
                    elif front.is_seeds:
                        nb = parent
                    else:
                        nb = front.batch.index_select(0, parent)
                    if used is not None and dst == seed_table:
                        assert parent is not None
                        parent, nbr, nb = self._cap(parent, nbr, nb, used, cap, seed_table, gen)
                    num_new = int(nbr.numel())
                    if num_new == 0:
                        continue
                    local = torch.arange(count[dst], count[dst] + num_new, device=device)
                    if parent is None:
                        lo = front.local0
                        parent_local = torch.arange(lo, lo + num_front, device=device)
                    else:
                        parent_local = parent + front.local0
                    edge_parts[self._msg_types[et]].append(torch.stack([local, parent_local]))
                    count[dst] += num_new
                    new_parts.setdefault(dst, []).append((nbr, nb))
            frontier = {}
            got = torch.zeros(num_seeds, device=device) if self.adaptive else None
            for dst, parts in new_parts.items():
                rows = parts[0][0] if len(parts) == 1 else torch.cat([p[0] for p in parts])
                batch = parts[0][1] if len(parts) == 1 else torch.cat([p[1] for p in parts])
                rows_parts[dst].append(rows)
                batch_parts[dst].append(batch)
                hop_counts[dst].append((hop, int(rows.numel())))
                frontier[dst] = _Frontier(rows, batch, start_count[dst])
                if got is not None:
                    got.index_add_(0, batch, torch.ones_like(batch, dtype=torch.float))
            if requested is not None and got is not None:
                factor = (requested / got.clamp(min=1)).clamp(1.0, ADAPTIVE_MAX_FACTOR)
            if not frontier:
                break

        return self._assemble(
            seed_table, stime, rows_parts, batch_parts, hop_counts, edge_parts, device
        )

    # ------------------------------------------------------------------ pieces
    def _check_seeds(
        self,
        seed_table: str,
        seed_rows: Tensor,
        seed_time: Tensor | None,
        device: torch.device,
    ) -> tuple[Tensor, Tensor]:
        if seed_table not in self.store.node_types:
            raise GraphError(
                f"Unknown seed table {seed_table!r}; valid tables: {self.store.node_types}."
            )
        seeds = torch.as_tensor(seed_rows, device=device).long().reshape(-1)
        n = self.store.num_nodes(seed_table)
        if seeds.numel():
            lo, hi = (int(v) for v in torch.aminmax(seeds))
            if lo < 0 or hi >= n:
                raise GraphError(
                    f"seed_rows must be row indices of {seed_table!r} in [0, {n}) "
                    f"(got min {lo}, max {hi})."
                )
        if seed_time is None:
            stime = torch.full_like(seeds, STATIC_ANCHOR)
        else:
            stime = torch.as_tensor(seed_time, device=device).long().reshape(-1)
            if stime.numel() != seeds.numel():
                raise GraphError(
                    f"seed_time has {stime.numel()} values but seed_rows has "
                    f"{seeds.numel()}; pass one anchor time per seed."
                )
        return seeds, stime

    def _select(
        self,
        csr: CSR,
        rows: Tensor,
        time: Tensor | None,
        k: int,
        k_row: Tensor | None,
        gen: torch.Generator | None,
    ) -> tuple[Tensor | None, Tensor] | None:
        """Sample neighbors of every frontier row: ``(parent, neighbor_row)``.

        ``parent`` is ``None`` when every frontier row got exactly one neighbor, in order.
        """
        if rows.numel() == 0 or csr.num_edges == 0:
            return None
        if csr.direct is not None:  # at most one neighbor per row: take it if visible
            nbr = csr.direct.index_select(0, rows)
            if not csr.is_temporal and not csr.has_end_time and csr.num_edges == csr.num_rows:
                return None, nbr.long()  # every row references a static row
            ok = csr.direct_visible(rows, time)
            if bool(ok.all()):  # common: every reference resolves and is visible
                return None, nbr.long()
            parent = ok.nonzero().squeeze(1)
            return parent, nbr.index_select(0, parent).long()
        parent, pos = self._select_csr(csr, rows, time, k, k_row, gen)
        return parent, csr.col.index_select(0, pos).long()

    def _select_csr(
        self,
        csr: CSR,
        rows: Tensor,
        time: Tensor | None,
        k: int,
        k_row: Tensor | None,
        gen: torch.Generator | None,
    ) -> tuple[Tensor, Tensor]:
        """Pick CSR positions for every frontier row: ``(parent, pos)``.

        Every choice depends only on the neighbors visible at each row's anchor (never on
        the whole table, e.g. its largest degree), so the sample is the same on a database
        cut at the anchor.
        """
        if csr.has_end_time:  # visible neighbors are not a prefix: list them
            parent, pos, avail = csr.visible_candidates(rows, time)
            limit = self._limit(avail, k, k_row)
            if not bool((avail > limit).any()):  # every visible neighbor fits: no draw
                return parent, pos
            if self.strategy == "last":
                return _keep_last(parent, pos, avail, limit)
            return _keep_random(parent, pos, avail, limit, gen)
        start, stop = csr.visible_window(rows, time)
        avail = stop - start
        if k < 0:  # every visible neighbor
            parent, pos, _ = expand_ranges(start, avail)
            return parent, pos
        limit = self._limit(avail, k, k_row)
        if self.strategy == "last":
            parent, pos, _ = expand_ranges(stop - limit, limit)
            return parent, pos
        most = int(avail.max()) if avail.numel() else 0
        k_max = k if k_row is None else (int(limit.max()) if limit.numel() else 0)
        if most <= k_max and k_row is None:  # every visible neighbor fits
            parent, pos, _ = expand_ranges(start, avail)
            return parent, pos
        flat = self._flat if self._flat is not None else start.is_cuda
        if flat and most <= kernels.REJECTION_RATIO * max(k_max, 1):
            # Few candidates per row: shuffle every row's visible positions at once.
            parent, pos, _ = expand_ranges(start, avail)
            return _keep_random(parent, pos, avail, limit, gen)
        # Take the first `limit` positions, then overwrite the rows that need a
        # random subset with distinct uniform offsets.
        parent, pos, ptr = expand_ranges(start, limit)
        need = (avail > limit).nonzero().squeeze(1)
        if need.numel() == 0:
            return parent, pos
        need_avail = avail.index_select(0, need)
        width = int(need_avail.max())
        if k_row is not None:
            k_max = int(limit.index_select(0, need).max())
        if width <= kernels.REJECTION_RATIO * k_max:  # one padded draw, no split
            # Without per-row limits every row in `need` uses all k columns, so
            # their order does not matter.
            off = topk_offsets(need_avail, k_max, width, gen, ordered=k_row is not None)
        else:
            off = distinct_offsets(need_avail, k_max, gen)
        cols = torch.arange(k_max, device=off.device)
        value = start.index_select(0, need).unsqueeze(1) + off
        if k_row is None:  # every row in `need` fills exactly k outputs
            target = (ptr.index_select(0, need) - k_max).unsqueeze(1) + cols
            pos.index_copy_(0, target.view(-1), value.view(-1))
        else:
            lim = limit.index_select(0, need)
            mask = cols < lim.unsqueeze(1)
            target = (ptr.index_select(0, need) - lim).unsqueeze(1) + cols
            pos.index_copy_(0, target.masked_select(mask), value.masked_select(mask))
        return parent, pos

    @staticmethod
    def _limit(avail: Tensor, k: int, k_row: Tensor | None) -> Tensor:
        """How many neighbors each row takes: ``min(avail, k)`` (``k_row`` per row when
        adaptive; ``k < 0``: all)."""
        if k_row is not None:
            return torch.minimum(avail, k_row)
        return avail if k < 0 else avail.clamp(max=k)

    def _cap(
        self,
        parent: Tensor,
        nbr: Tensor,
        nb: Tensor,
        used: Tensor,
        cap: int | None,
        seed_table: str,
        gen: torch.Generator | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Keep at most ``cap - used[b]`` new seed-table slots per seed ``b``."""
        assert cap is not None
        num = nbr.numel()
        if num == 0:
            return parent, nbr, nb
        device = nbr.device
        table_time = self.store.time(seed_table)
        if self.strategy == "last" and table_time is not None:
            prio = -table_time.index_select(0, nbr).to(torch.float64)
        else:
            prio = torch.rand(num, generator=gen, device=device, dtype=torch.float64)
        order = prio.argsort(stable=True)
        order = order.index_select(0, nb.index_select(0, order).argsort(stable=True))
        nb_sorted = nb.index_select(0, order)
        counts = torch.bincount(nb_sorted, minlength=used.numel())
        first = counts.cumsum(0) - counts
        rank = torch.arange(num, device=device) - first.index_select(0, nb_sorted)
        keep_sorted = rank < (cap - used).index_select(0, nb_sorted)
        keep = order.masked_select(keep_sorted).sort().values
        nb = nb.index_select(0, keep)
        used += torch.bincount(nb, minlength=used.numel())
        return parent.index_select(0, keep), nbr.index_select(0, keep), nb

    def _assemble(
        self,
        seed_table: str,
        stime: Tensor,
        rows_parts: dict[str, list[Tensor]],
        batch_parts: dict[str, list[Tensor]],
        hop_counts: dict[str, list[tuple[int, int]]],
        edge_parts: dict[EdgeType, list[Tensor]],
        device: torch.device,
    ) -> SampledSubgraph:
        empty = torch.empty(0, dtype=torch.long, device=device)
        node_dict: dict[str, Tensor] = {}
        batch_dict: dict[str, Tensor] = {}
        hop_dict: dict[str, Tensor] = {}
        total = 0
        for t, parts in rows_parts.items():
            if not parts:
                node_dict[t] = batch_dict[t] = hop_dict[t] = empty
                continue
            node_dict[t] = parts[0] if len(parts) == 1 else torch.cat(parts)
            b = batch_parts[t]
            batch_dict[t] = b[0] if len(b) == 1 else torch.cat(b)
            hops = hop_counts[t]
            num = sum(c for _, c in hops)
            fills = [torch.full((c,), h, dtype=torch.long, device=device) for h, c in hops]
            hop_dict[t] = fills[0] if len(fills) == 1 else torch.cat(fills)
            total += num
        edge_index_dict: dict[EdgeType, Tensor] = {}
        for et, chunks in edge_parts.items():
            if not chunks:
                edge_index_dict[et] = torch.empty(2, 0, dtype=torch.long, device=device)
            else:
                edge_index_dict[et] = chunks[0] if len(chunks) == 1 else torch.cat(chunks, 1)
        return SampledSubgraph(
            seed_table=seed_table,
            seed_time=stime,
            node_dict=node_dict,
            batch_dict=batch_dict,
            hop_dict=hop_dict,
            edge_index_dict=edge_index_dict,
            num_sampled_nodes=total,
        )


def _keep_last(parent: Tensor, pos: Tensor, count: Tensor, limit: Tensor
               ) -> tuple[Tensor, Tensor]:
    """Of each row's candidates (grouped by ``parent``, ``count`` per row, in CSR order),
    keep the last ``limit``: the most recent ones."""
    first = count.cumsum(0) - count
    rank = torch.arange(pos.numel(), device=pos.device) - first.index_select(0, parent)
    keep = rank >= (count - limit).index_select(0, parent)
    return parent.masked_select(keep), pos.masked_select(keep)


def _keep_random(parent: Tensor, pos: Tensor, count: Tensor, limit: Tensor,
                 gen: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Of each row's candidates, keep a uniform random ``limit``-subset (shuffle all
    rows at once: sort by row + U[0, 1), keep the first ``limit`` of each row)."""
    if pos.numel() == 0:
        return parent, pos
    keys = torch.rand(pos.numel(), generator=gen, device=pos.device, dtype=torch.float64)
    order = (keys + parent).argsort()
    parent, pos = parent.index_select(0, order), pos.index_select(0, order)
    first = count.cumsum(0) - count
    rank = torch.arange(pos.numel(), device=pos.device) - first.index_select(0, parent)
    keep = rank < limit.index_select(0, parent)
    return parent.masked_select(keep), pos.masked_select(keep)
