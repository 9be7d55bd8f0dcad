"""Adjacency of one edge type with neighbors sorted by time, searchable in batch.

Two layouts, chosen at build time:

* **CSR** (``rowptr``, ``col``): row ``r``'s neighbors are ``col[rowptr[r]:rowptr[r+1]]``
  sorted by neighbor time. Where the neighbor table has a time column, the per-edge
  time array is stored as a *row-major time key* ``key[e] = row(e) * span +
  code(time[e])`` with ``code`` a monotone map of times onto ``1 .. span - 1``.
  ``key`` is then sorted globally, so the number of neighbors of row ``r`` visible
  at ``t`` is ``searchsorted(key, r * span + code_q(t), right=True) - rowptr[r]``;
  keys of other rows never match, so the search can also run as a padded window
  compare or a fixed-step bisection from ``rowptr[r]`` (see :func:`search_mode`).
  The key costs the same 8 bytes per edge as a raw time.
* **direct** (every row has at most one neighbor, e.g. the foreign-key direction):
  ``direct[r]`` is the neighbor or ``-1`` and ``direct_time[r]`` its time. One
  random access per row instead of two; :attr:`CSR.rowptr`/:attr:`CSR.col` are
  derived on demand.

Neighbors with equal times are ordered by descending tie rank (primary key), so the
last ``k`` of a row are its ``k`` most recent neighbors with the smaller keys first
among equal times (see :mod:`relgraph.graph.visibility`). Where the neighbor table has
an end-time column, ``end_time`` (``direct_end_time``) holds each neighbor's end time.
Which neighbors a row sees at an anchor is :meth:`CSR.visible_candidates`: the prefix
of time-sorted neighbors with time ``<= t`` found by the index search, filtered by the
rule of :func:`relgraph.graph.visibility.visible` where end times exist.

Time codes: ``offset`` (usual): ``code(time) = time - t_min + 1``, and rows with time
``INT64_MAX`` (NULL: never visible) get ``span - 1``; ``rank`` (fallback when
``num_rows * span`` would overflow int64): dense rank + 1 among the distinct times,
which are kept in ``key_values``. :attr:`CSR.nbr_time` decodes times back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from relgraph.graph.visibility import visible
from relgraph.store.ranges import expand_ranges

INT32_MAX = int(np.iinfo(np.int32).max)
INT64_MAX = int(np.iinfo(np.int64).max)
_KEY_LIMIT = 2**62  # keep headroom below 2**63 for query arithmetic
#: Temporal CSRs with ``max_degree`` up to this compare a window per row on CPU ...
WINDOW_MAX_DEGREE = 128
#: ... for fewer queries than this (more: the window copies no longer fit in cache).
WINDOW_MAX_QUERIES = 4096
#: Force one search (``"window"``, ``"bisect"`` or ``"searchsorted"``; testing hook).
FORCE_SEARCH: str | None = None


def search_mode(max_degree: int, device: torch.device, num_queries: int = 0) -> str:
    """How :meth:`CSR.visible_stop` searches a row.

    On CPU the search is memory-bound, so it stays inside the row's few cache lines:
    ``window`` (degrees up to :data:`WINDOW_MAX_DEGREE`) copies each row's
    ``max_degree`` keys through a strided view and counts the visible ones;
    ``bisect`` (larger degrees, or :data:`WINDOW_MAX_QUERIES` queries and more) is a
    fixed-step binary search from the row start. Measured on 2 cores, 512 random rows
    with degree <= 47 of 2M keys: window 160 us, bisect 175 us, ``torch.searchsorted``
    over the whole key 280 us (chunked to stay off the intra-op pool, which is 3-4x
    slower again on a busy machine). For the 45k queries of one batch's degree features
    (sakila, degree <= 46) the window's copies cost 0.34 us per query, bisect 0.07 us.
    On CUDA one ``torch.searchsorted`` call is the fastest.
    """
    if FORCE_SEARCH is not None:
        return FORCE_SEARCH
    if device.type == "cuda":
        return "searchsorted"
    if max_degree <= WINDOW_MAX_DEGREE and num_queries < WINDOW_MAX_QUERIES:
        return "window"
    return "bisect"


@dataclass(frozen=True)
class CSR:
    """Adjacency of one edge type (see the module docstring for the layouts).

    Attributes:
        num_rows: number of rows.
        num_edges: number of edges.
        max_degree: largest row length.
        rowptr_data: ``[num_rows + 1]`` offsets (CSR layout; int32 when it fits).
        col_data: ``[num_edges]`` neighbor rows (CSR layout; int32 when they fit).
        time_key: ``[num_edges]`` int64 row-major time keys (temporal CSR layout).
        direct: ``[num_rows]`` neighbor row or ``-1`` (direct layout).
        direct_time: ``[num_rows]`` int64 neighbor time, ``INT64_MAX`` where none
            (temporal direct layout).
        end_time: ``[num_edges]`` int64 neighbor end time in CSR order (``INT64_MAX``:
            open), where the neighbor table has an end-time column (CSR layout).
        direct_end_time: ``[num_rows]`` the same for the direct layout.
        key_mode: ``"offset"`` or ``"rank"`` (``""`` without time key).
        key_span: multiplier of the row index in ``time_key``.
        key_base: ``t_min`` of the offset code.
        key_max: largest finite time of the offset code.
        key_values: sorted distinct times of the rank code, else ``None``.
    """

    num_rows: int
    num_edges: int
    max_degree: int
    rowptr_data: Tensor | None = None
    col_data: Tensor | None = None
    time_key: Tensor | None = None
    direct: Tensor | None = None
    direct_time: Tensor | None = None
    end_time: Tensor | None = None
    direct_end_time: Tensor | None = None
    key_mode: str = ""
    key_span: int = 0
    key_base: int = 0
    key_max: int = 0
    key_values: Tensor | None = None
    _cache: dict[str, Tensor] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------- properties
    @property
    def is_direct(self) -> bool:
        """Whether the direct (at most one neighbor per row) layout is used."""
        return self.direct is not None

    @property
    def is_temporal(self) -> bool:
        """Whether neighbors carry times (else they are always visible)."""
        return self.time_key is not None or self.direct_time is not None

    @property
    def has_end_time(self) -> bool:
        """Whether neighbors carry end times (they may stop being visible)."""
        return self.end_time is not None or self.direct_end_time is not None

    @property
    def rowptr(self) -> Tensor:
        """``[num_rows + 1]`` CSR offsets (derived and cached for the direct layout)."""
        if self.rowptr_data is not None:
            return self.rowptr_data
        if "rowptr" not in self._cache:
            assert self.direct is not None
            has = (self.direct >= 0).long()
            rowptr = torch.zeros(self.num_rows + 1, dtype=torch.long, device=has.device)
            torch.cumsum(has, 0, out=rowptr[1:])
            self._cache["rowptr"] = rowptr
        return self._cache["rowptr"]

    @property
    def col(self) -> Tensor:
        """``[num_edges]`` neighbor rows in CSR order."""
        if self.col_data is not None:
            return self.col_data
        if "col" not in self._cache:
            assert self.direct is not None
            self._cache["col"] = self.direct.masked_select(self.direct >= 0)
        return self._cache["col"]

    @property
    def nbr_time(self) -> Tensor | None:
        """int64 neighbor time per edge in CSR order (decoded, cached), or ``None``."""
        if not self.is_temporal:
            return None
        if "nbr_time" not in self._cache:
            self._cache["nbr_time"] = self._decode()
        return self._cache["nbr_time"]

    @property
    def nbr_end_time(self) -> Tensor | None:
        """int64 neighbor end time per edge in CSR order, or ``None``."""
        if self.direct_end_time is not None:
            assert self.direct is not None
            return self.direct_end_time.masked_select(self.direct >= 0)
        return self.end_time

    def _decode(self) -> Tensor:
        if self.direct is not None:
            assert self.direct_time is not None
            return self.direct_time.masked_select(self.direct >= 0)
        assert self.time_key is not None
        rowptr = self.rowptr.long()
        rowid = torch.repeat_interleave(
            torch.arange(self.num_rows, device=rowptr.device),
            rowptr[1:] - rowptr[:-1],
            output_size=self.num_edges,
        )
        code = self.time_key - rowid * self.key_span
        if self.key_mode == "rank":
            assert self.key_values is not None
            return self.key_values.index_select(0, code - 1)
        never = torch.full_like(code, INT64_MAX)
        return torch.where(code == self.key_span - 1, never, code - 1 + self.key_base)

    # ------------------------------------------------------------- visibility
    def direct_visible(self, rows: Tensor, anchor: Tensor | None) -> Tensor:
        """Direct layout: whether each row's neighbor exists and is visible at ``anchor``
        (``None`` only for neighbors without times)."""
        assert self.direct is not None
        ok = self.direct.index_select(0, rows) >= 0
        if self.direct_time is None and self.direct_end_time is None:
            return ok
        assert anchor is not None, "temporal neighbors need an anchor time"
        time = (self.direct_time.index_select(0, rows) if self.direct_time is not None
                else torch.full_like(anchor, torch.iinfo(torch.int64).min))
        end = (None if self.direct_end_time is None
               else self.direct_end_time.index_select(0, rows))
        return ok & visible(time, anchor, end)

    def visible_window(self, rows: Tensor, anchor: Tensor | None) -> tuple[Tensor, Tensor]:
        """int64 ``(start, stop)`` per row: the neighbors with time ``<= anchor`` are the
        CSR positions ``start .. stop - 1`` (static neighbors: all; ``anchor`` may be
        ``None`` for them).

        Where neighbors have end times, the window can hold ended ones (for the direct
        layout it does not); :meth:`visible_candidates` removes them.
        """
        rowptr = self.rowptr
        start = rowptr.index_select(0, rows).long()
        if self.direct is not None:
            return start, start + self.direct_visible(rows, anchor).long()
        if self.time_key is None:
            return start, rowptr.index_select(0, rows + 1).long()
        assert anchor is not None, "temporal neighbors need an anchor time"
        return start, self.visible_stop(rows, start, anchor)

    def visible_candidates(self, rows: Tensor, anchor: Tensor | None
                           ) -> tuple[Tensor, Tensor, Tensor]:
        """Every neighbor of ``rows`` visible at ``anchor``, per row in CSR order.

        Returns ``(parent, pos, count)``: the index into ``rows`` and the CSR position of
        each visible neighbor, and the number of visible neighbors per row.
        """
        start, stop = self.visible_window(rows, anchor)
        parent, pos, _ = expand_ranges(start, stop - start)
        end = self.end_time
        if end is None or pos.numel() == 0:
            return parent, pos, stop - start
        assert anchor is not None, "neighbors with end times need an anchor time"
        times = self.nbr_time
        start_time = (times.index_select(0, pos) if times is not None
                      else torch.full_like(pos, torch.iinfo(torch.int64).min))
        keep = visible(start_time, anchor.index_select(0, parent), end.index_select(0, pos))
        parent, pos = parent.masked_select(keep), pos.masked_select(keep)
        count = torch.zeros(rows.numel(), dtype=torch.long, device=rows.device)
        count.index_add_(0, parent, torch.ones_like(parent))
        return parent, pos, count

    # ----------------------------------------------------------------- search
    def visible_stop(self, rows: Tensor, start: Tensor, time: Tensor) -> Tensor:
        """int64 end offset (exclusive) of the neighbors of ``rows`` with time ``<= time``.

        Args:
            rows: int64 row indices ``[n]`` (CSR layout, temporal).
            start: int64 ``rowptr[rows]``.
            time: int64 anchor time per row ``[n]``.
        """
        key = self.time_key
        assert key is not None
        if self.key_mode == "rank":
            assert self.key_values is not None
            code = torch.searchsorted(self.key_values, time, right=True)
        else:
            code = time.clamp(self.key_base - 1, self.key_max) - (self.key_base - 1)
        query = rows * self.key_span + code
        width = self.max_degree
        mode = search_mode(width, start.device, rows.numel())
        num = key.numel()
        if mode == "window" and width > 0:
            # Row r's window is the `width` keys from s = min(start, num - width):
            # keys of later rows exceed the query, and the `start - s` keys of earlier
            # rows that a clamped window covers are all below it, so
            # s + count(keys <= query) = start + visible neighbors.
            view = key.contiguous().as_strided((num - width + 1, width), (1, 1))
            first = start.clamp(max=num - width)
            count = (view.index_select(0, first) <= query.unsqueeze(1)).sum(1)
            return first + count
        if mode == "bisect" and width > 0:
            # Branchless binary search for the last key <= query in
            # [start, start + width): later rows' keys exceed the query, so the
            # search never leaves the row. `last` = start - 1 means "none".
            last = start - 1
            step = 1 << (width.bit_length() - 1)
            while step:
                cand = (last + step).clamp_(max=num - 1)
                ok = key.index_select(0, cand) <= query
                last = torch.where(ok, cand, last)
                step >>= 1
            return last + 1
        return torch.searchsorted(key, query, right=True)

    # ------------------------------------------------------------------ misc
    def arrays(self) -> dict[str, Tensor]:
        """The stored (non-derived) tensors by field name."""
        names = ("rowptr_data", "col_data", "time_key", "direct", "direct_time", "end_time",
                 "direct_end_time", "key_values")
        return {n: t for n in names if (t := getattr(self, n)) is not None}

    def meta(self) -> dict[str, Any]:
        """Scalar metadata (for the manifest)."""
        return {
            "num_rows": self.num_rows,
            "num_edges": self.num_edges,
            "max_degree": self.max_degree,
            "key_mode": self.key_mode,
            "key_span": self.key_span,
            "key_base": self.key_base,
            "key_max": self.key_max,
        }

    def nbytes(self) -> int:
        """Bytes held by the stored arrays."""
        return int(sum(t.numel() * t.element_size() for t in self.arrays().values()))

    def to(self, device: torch.device | str) -> CSR:
        """Copy of this CSR on ``device``."""
        moved: dict[str, Any] = {n: t.to(device) for n, t in self.arrays().items()}
        return replace(self, _cache={}, **moved)


def index_dtype(max_value: int) -> np.dtype:
    """int32 when ``max_value`` fits, else int64."""
    return np.dtype(np.int32) if max_value <= INT32_MAX else np.dtype(np.int64)


def build_csr(
    rows: np.ndarray,
    nbrs: np.ndarray,
    nbr_time: np.ndarray | None,
    num_rows: int,
    num_nbr_rows: int,
    key_mode: str = "auto",
    allow_direct: bool = True,
    nbr_end_time: np.ndarray | None = None,
    nbr_tie: np.ndarray | None = None,
) -> CSR:
    """Build the adjacency of one edge type from aligned ``(row, neighbor)`` pairs.

    Args:
        rows: int64 row of each edge (``0 <= row < num_rows``).
        nbrs: int64 neighbor of each edge (``0 <= nbr < num_nbr_rows``).
        nbr_time: int64 time of each edge's neighbor, or ``None`` for static neighbors.
        num_rows: number of rows.
        num_nbr_rows: number of rows of the neighbor table (sizes indices).
        key_mode: ``"auto"``, ``"offset"`` or ``"rank"`` (testing hook).
        allow_direct: use the direct layout when every row has at most one neighbor.
        nbr_end_time: int64 end time of each edge's neighbor (``INT64_MAX``: open), or
            ``None`` when neighbors never end.
        nbr_tie: int64 tie rank of each edge's neighbor (default: the neighbor row);
            equal times are ordered by descending tie rank.
    """
    num_edges = int(rows.shape[0])
    counts = np.bincount(rows, minlength=num_rows) if num_edges else np.zeros(num_rows, np.int64)
    max_degree = int(counts.max()) if num_rows and num_edges else 0
    col_dtype = index_dtype(max(num_nbr_rows - 1, 0))
    if allow_direct and max_degree <= 1:
        direct = np.full(num_rows, -1, dtype=col_dtype)
        direct[rows] = nbrs
        return CSR(
            num_rows=num_rows,
            num_edges=num_edges,
            max_degree=max_degree,
            direct=torch.from_numpy(direct),
            direct_time=_scatter_rows(nbr_time, rows, num_rows),
            direct_end_time=_scatter_rows(nbr_end_time, rows, num_rows),
        )
    meta: dict[str, Any] = {}
    key_values = None
    tie = np.asarray(nbrs if nbr_tie is None else nbr_tie, dtype=np.int64)
    if nbr_time is None:
        order = np.lexsort((-tie, rows))
        key = None
    else:
        code, span, meta, key_values = _time_code(nbr_time, num_rows, key_mode)
        key = rows * np.int64(span) + code
        order = np.lexsort((-tie, key))
        key = np.ascontiguousarray(key[order])
    col = np.ascontiguousarray(nbrs[order].astype(col_dtype))
    end = None if nbr_end_time is None else np.ascontiguousarray(nbr_end_time[order],
                                                                 dtype=np.int64)
    rowptr = np.zeros(num_rows + 1, dtype=index_dtype(num_edges))
    np.cumsum(counts, out=rowptr[1:])
    return CSR(
        num_rows=num_rows,
        num_edges=num_edges,
        max_degree=max_degree,
        rowptr_data=torch.from_numpy(rowptr),
        col_data=torch.from_numpy(col),
        time_key=None if key is None else torch.from_numpy(key),
        end_time=None if end is None else torch.from_numpy(end),
        key_values=None if key_values is None else torch.from_numpy(key_values),
        **meta,
    )


def _scatter_rows(values: np.ndarray | None, rows: np.ndarray, num_rows: int
                  ) -> Tensor | None:
    """``[num_rows]`` int64 with ``values`` at ``rows`` and ``INT64_MAX`` elsewhere."""
    if values is None:
        return None
    out = np.full(num_rows, INT64_MAX, dtype=np.int64)
    out[rows] = values
    return torch.from_numpy(out)


def _time_code(
    nbr_time: np.ndarray, num_rows: int, key_mode: str
) -> tuple[np.ndarray, int, dict[str, Any], np.ndarray | None]:
    """Monotone int64 code of each time, the row span, metadata and rank values."""
    finite = nbr_time != INT64_MAX
    if finite.any():
        t_min, t_max = int(nbr_time[finite].min()), int(nbr_time[finite].max())
    else:
        t_min = t_max = 0
    span = t_max - t_min + 3
    if key_mode == "offset" or (
        key_mode == "auto" and max(num_rows, 1) * span < _KEY_LIMIT and t_min > -_KEY_LIMIT
    ):
        code = np.where(finite, nbr_time - (t_min - 1), span - 1).astype(np.int64)
        meta = {"key_mode": "offset", "key_span": span, "key_base": t_min, "key_max": t_max}
        return code, span, meta, None
    values, inverse = np.unique(nbr_time, return_inverse=True)
    span = int(values.shape[0]) + 1
    code = inverse.astype(np.int64).reshape(-1) + 1
    return code, span, {"key_mode": "rank", "key_span": span}, values.astype(np.int64)


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in pieces of at most ``size``."""
    size = max(1, int(size))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def build_fk_csrs(
    ref: np.ndarray,
    src_time: np.ndarray | None,
    dst_time: np.ndarray | None,
    num_dst: int,
    chunk: int,
    src_end_time: np.ndarray | None = None,
    dst_end_time: np.ndarray | None = None,
    src_tie: np.ndarray | None = None,
) -> tuple[CSR, CSR]:
    """Forward and reverse adjacency of one foreign key, built in row chunks.

    ``ref[i]`` is the row of the referenced table that source row ``i`` points at, or
    ``-1`` (dangling or null key); it becomes the forward CSR's ``direct`` array (shared,
    not copied, when its dtype is :func:`index_dtype` of ``num_dst - 1``). The result is
    identical to :func:`build_csr` on the resolved ``(src_rows, dst_rows)`` pairs in both
    directions (``allow_direct=True``), but besides the output arrays only ``chunk``-row
    temporaries and one ``[num_dst]`` int64 count array are held: the reverse CSR is a counting
    sort by referenced row, scattered chunk by chunk, then each block of whole rows is
    sorted by time key and descending tie rank (``src_tie``, default the source row). The
    rank time code (times too spread for the offset code) falls back to :func:`build_csr`
    on materialized pairs. ``*_end_time`` are the tables' end times (``INT64_MAX``: open).
    """
    ref = ref.astype(index_dtype(max(num_dst - 1, 0)), copy=False)
    num_src = int(ref.shape[0])
    parts = chunks(num_src, chunk)
    counts = np.zeros(num_dst, dtype=np.int64)
    for a, b in parts:
        d = ref[a:b]
        np.add.at(counts, d[d >= 0], 1)
    num_edges = int(counts.sum())
    forward = CSR(
        num_rows=num_src,
        num_edges=num_edges,
        max_degree=1 if num_src and num_edges else 0,
        direct=torch.from_numpy(ref),
        direct_time=_gather_refs(dst_time, ref, parts),
        direct_end_time=_gather_refs(dst_end_time, ref, parts),
    )
    max_degree = int(counts.max()) if num_dst and num_edges else 0
    col_dtype = index_dtype(max(num_src - 1, 0))
    if max_degree <= 1:
        direct = np.full(num_dst, -1, dtype=col_dtype)
        rev_time = None if src_time is None else np.full(num_dst, INT64_MAX, dtype=np.int64)
        rev_end = None if src_end_time is None else np.full(num_dst, INT64_MAX, dtype=np.int64)
        for a, b in parts:
            d = ref[a:b]
            at = np.flatnonzero(d >= 0)
            direct[d[at]] = at + a
            if rev_time is not None and src_time is not None:
                rev_time[d[at]] = src_time[a:b][at]
            if rev_end is not None and src_end_time is not None:
                rev_end[d[at]] = src_end_time[a:b][at]
        reverse = CSR(
            num_rows=num_dst,
            num_edges=num_edges,
            max_degree=max_degree,
            direct=torch.from_numpy(direct),
            direct_time=None if rev_time is None else torch.from_numpy(rev_time),
            direct_end_time=None if rev_end is None else torch.from_numpy(rev_end),
        )
        return forward, reverse
    meta: dict[str, Any] = {}
    span = 0
    if src_time is not None:
        meta = _offset_code_meta(ref, src_time, num_dst, parts)
        if not meta:  # times too spread for the offset code: the rank code needs them all
            src_rows = np.flatnonzero(ref >= 0)
            dst_rows = ref[src_rows].astype(np.int64)
            return forward, build_csr(
                dst_rows, src_rows, src_time[src_rows], num_dst, num_src,
                nbr_end_time=None if src_end_time is None else src_end_time[src_rows],
                nbr_tie=None if src_tie is None else src_tie[src_rows])
        span = meta["key_span"]
    rowptr = np.zeros(num_dst + 1, dtype=index_dtype(num_edges))
    np.cumsum(counts, out=rowptr[1:])
    col = np.empty(num_edges, dtype=col_dtype)
    key = None if src_time is None else np.empty(num_edges, dtype=np.int64)
    fill = counts  # reused: the next free slot of each referenced row
    fill[:] = rowptr[:-1]
    for a, b in parts:
        d = ref[a:b]
        src = np.flatnonzero(d >= 0)
        if not src.shape[0]:
            continue
        d = d[src].astype(np.int64)
        src += a
        if key is None:
            order = np.argsort(d, kind="stable")
        else:
            # sorted by time key within the chunk: each row then holds one sorted run per
            # chunk, which the final block sort merges
            assert src_time is not None
            t = src_time[src]
            k = d * np.int64(span) + np.where(t != INT64_MAX, t - (meta["key_base"] - 1),
                                               span - 1)
            order = np.argsort(k, kind="stable")
        d, src = d[order], src[order]
        # rank of each edge among the chunk's edges to the same row (chunk order = src order)
        new = np.empty(d.shape[0], dtype=bool)
        new[0] = True
        np.not_equal(d[1:], d[:-1], out=new[1:])
        first = np.flatnonzero(new)
        sizes = np.diff(np.append(first, d.shape[0]))
        pos = np.arange(d.shape[0], dtype=np.int64) - np.repeat(first, sizes)
        pos += fill[d]
        col[pos] = src
        if key is not None:
            key[pos] = k[order]
        fill[d[first]] += sizes
    _sort_row_blocks(key, col, rowptr, chunk, src_tie)
    end = None
    if src_end_time is not None:
        end = np.empty(num_edges, dtype=np.int64)
        for a, b in chunks(num_edges, chunk):
            end[a:b] = src_end_time[col[a:b]]
    return forward, CSR(
        num_rows=num_dst,
        num_edges=num_edges,
        max_degree=max_degree,
        rowptr_data=torch.from_numpy(rowptr),
        col_data=torch.from_numpy(col),
        time_key=None if key is None else torch.from_numpy(key),
        end_time=None if end is None else torch.from_numpy(end),
        **meta,
    )


def _gather_refs(values: np.ndarray | None, ref: np.ndarray, parts: list[tuple[int, int]]
                 ) -> Tensor | None:
    """``values[ref[i]]`` per source row (``INT64_MAX`` where ``ref[i] < 0``), in chunks."""
    if values is None:
        return None
    out = np.full(ref.shape[0], INT64_MAX, dtype=np.int64)
    for a, b in parts:
        d = ref[a:b]
        ok = d >= 0
        out[a:b][ok] = values[d[ok]]
    return torch.from_numpy(out)


def _offset_code_meta(
    ref: np.ndarray, src_time: np.ndarray, num_dst: int, parts: list[tuple[int, int]]
) -> dict[str, Any]:
    """The offset time code's metadata (as :func:`_time_code`), or ``{}`` for the rank code."""
    t_min = t_max = None
    for a, b in parts:
        t = src_time[a:b][ref[a:b] >= 0]
        t = t[t != INT64_MAX]
        if t.shape[0]:
            lo, hi = int(t.min()), int(t.max())
            t_min = lo if t_min is None else min(t_min, lo)
            t_max = hi if t_max is None else max(t_max, hi)
    if t_min is None or t_max is None:
        t_min = t_max = 0
    span = t_max - t_min + 3
    if max(num_dst, 1) * span < _KEY_LIMIT and t_min > -_KEY_LIMIT:
        return {"key_mode": "offset", "key_span": span, "key_base": t_min, "key_max": t_max}
    return {}


def _sort_row_blocks(key: np.ndarray | None, col: np.ndarray, rowptr: np.ndarray, chunk: int,
                     tie: np.ndarray | None) -> None:
    """Sort each row's edges by time ``key`` (row order where ``None``), then by
    descending tie rank of the neighbor (``tie[col]``, the neighbor row where ``None``),
    in place, within blocks of whole rows of about ``chunk`` edges. Keys of different
    rows never interleave, so this equals one global sort."""
    num_edges = int(col.shape[0])
    start = 0
    while start < num_edges:
        # the last row boundary at or before start + chunk, but at least one whole row
        row = int(np.searchsorted(rowptr, min(start + max(1, chunk), num_edges),
                                  side="right")) - 1
        stop = int(rowptr[row])
        if stop <= start:
            stop = int(rowptr[np.searchsorted(rowptr, start, side="right")])
        block = slice(start, stop)
        nbr = col[block].astype(np.int64)
        ties = -(nbr if tie is None else tie[nbr])
        if key is None:
            first = int(np.searchsorted(rowptr, start, side="right")) - 1
            last = int(np.searchsorted(rowptr, stop, side="left"))
            sizes = np.diff(rowptr[first:last + 1]).astype(np.int64)
            primary = np.repeat(np.arange(sizes.shape[0]), sizes)
            order = np.lexsort((ties, primary))
        else:
            order = np.lexsort((ties, key[block]))
            key[block] = key[block][order]
        col[block] = col[block][order]
        start = stop
