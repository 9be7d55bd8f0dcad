"""GraphStore: node counts, row times and time-sorted CSRs of every foreign key."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from relgraph.errors import GraphError
from relgraph.store.arrays import EdgeArrays, TableArrays
from relgraph.store.csr import CSR, build_csr

logger = logging.getLogger(__name__)

EdgeType = tuple[str, str, str]
Direction = Literal["forward", "reverse"]

REV_PREFIX = "rev_"


class FKeyInfo(NamedTuple):
    """The foreign key behind an edge type and the direction it is traversed in."""

    src_table: str
    fkey: str
    dst_table: str
    direction: Direction


def reverse_edge_type(edge_type: EdgeType) -> EdgeType:
    """``(a, fkey, b)`` <-> ``(b, rev_fkey, a)``."""
    src, rel, dst = edge_type
    rel = rel[len(REV_PREFIX) :] if rel.startswith(REV_PREFIX) else REV_PREFIX + rel
    return (dst, rel, src)


class GraphStore:
    """Materialized relational graph, ready for temporal neighbor sampling.

    Node types are table names. Every foreign key ``src.fkey -> dst`` gives two edge
    types: ``(src, fkey, dst)`` (a row to the row it references) and
    ``(dst, "rev_" + fkey, src)`` (a row to every row referencing it). Each is a
    :class:`~relgraph.store.csr.CSR` whose neighbors are sorted by neighbor time, so
    "neighbors visible at time t" is a binary search.

    Time semantics: the rule of :mod:`relgraph.graph.visibility`. A neighbor is
    visible to a seed with anchor time ``t`` when its time is ``<= t`` (and its end
    time, where its table has one, is ``> t``); neighbors from static tables (no time
    column) are always visible. Rows with a NULL time should be passed as
    ``INT64_MAX`` (:data:`~relgraph.store.arrays.NEVER_VISIBLE`): they are never sampled.
    Equal times are ordered by primary key (``TableArrays.tie``).

    Build with :meth:`from_arrays`; persist with :meth:`save` / :meth:`load`.
    """

    def __init__(
        self,
        num_nodes: Mapping[str, int],
        time: Mapping[str, Tensor | None],
        csr: Mapping[EdgeType, CSR],
        fkey_info: Mapping[EdgeType, FKeyInfo],
        num_fk_edges: int,
        fingerprint: str | None = None,
        end_time: Mapping[str, Tensor | None] | None = None,
    ) -> None:
        self._num_nodes = dict(num_nodes)
        self._time = dict(time)
        self._end_time = {t: (end_time or {}).get(t) for t in self._num_nodes}
        self._csr = dict(csr)
        self._fkey_info = dict(fkey_info)
        self._num_fk_edges = int(num_fk_edges)
        self.fingerprint = fingerprint

    # ------------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        tables: Mapping[str, TableArrays],
        edges: Sequence[EdgeArrays],
        cache_dir: str | Path | None = None,
        fingerprint: str | None = None,
    ) -> GraphStore:
        """Build a store from plain arrays, or reuse a cached build.

        Args:
            tables: one :class:`TableArrays` per node type.
            edges: one :class:`EdgeArrays` per foreign key.
            cache_dir: when given, the store is loaded (memory-mapped) from
                ``cache_dir/fingerprint`` if present, else built and saved there.
            fingerprint: identifies the data (a hash the caller computes). When
                ``None`` and ``cache_dir`` is set, a hash of the arrays is used.
        """
        if cache_dir is None:
            return cls._build(tables, edges, fingerprint)
        fp = fingerprint if fingerprint is not None else fingerprint_arrays(tables, edges)
        return cls.cached(cache_dir, fp, lambda: cls._build(tables, edges, fp))

    @classmethod
    def cached(cls, cache_dir: str | Path, fingerprint: str,
               build: Callable[[], GraphStore]) -> GraphStore:
        """The store cached at ``cache_dir/fingerprint`` (memory-mapped), or ``build()``
        saved there (``build`` must give a store with this fingerprint)."""
        _check_fingerprint(fingerprint)
        path = Path(cache_dir) / fingerprint
        if (path / "manifest.json").is_file():
            try:
                store = cls.load(path, mmap=True)
            except (GraphError, OSError, ValueError, KeyError) as err:
                logger.warning("Rebuilding graph store: cache at %s is unreadable (%s)", path, err)
            else:
                if store.fingerprint == fingerprint:
                    return store
        store = build()
        store.save(path)
        return store

    @classmethod
    def _build(
        cls,
        tables: Mapping[str, TableArrays],
        edges: Sequence[EdgeArrays],
        fingerprint: str | None,
        key_mode: str = "auto",
        allow_direct: bool = True,
    ) -> GraphStore:
        num_nodes: dict[str, int] = {}
        times: dict[str, np.ndarray | None] = {}
        ends: dict[str, np.ndarray | None] = {}
        ties: dict[str, np.ndarray | None] = {}
        for name, table in tables.items():
            num_nodes[name] = _check_num_rows(name, table.num_rows)
            times[name] = _check_time(name, table, table.time, "time")
            ends[name] = _check_time(name, table, table.end_time, "end_time")
            ties[name] = _check_time(name, table, table.tie, "tie")

        csrs: dict[EdgeType, CSR] = {}
        infos: dict[EdgeType, FKeyInfo] = {}
        num_fk_edges = 0
        for edge in edges:
            src_rows, dst_rows = _check_edge(edge, num_nodes)
            fwd: EdgeType = (edge.src_table, edge.fkey, edge.dst_table)
            rev = reverse_edge_type(fwd)
            for et in (fwd, rev):
                if et in csrs:
                    raise GraphError(
                        f"Edge type {et} is defined twice; each foreign key "
                        f"(src_table, fkey, dst_table) must appear once in `edges`."
                    )
            for et, rows, nbrs, row_table, nbr_table in (
                (fwd, src_rows, dst_rows, edge.src_table, edge.dst_table),
                (rev, dst_rows, src_rows, edge.dst_table, edge.src_table),
            ):
                nbr_time, nbr_end, nbr_tie = times[nbr_table], ends[nbr_table], ties[nbr_table]
                csrs[et] = build_csr(
                    rows,
                    nbrs,
                    None if nbr_time is None else nbr_time[nbrs],
                    num_nodes[row_table],
                    num_nodes[nbr_table],
                    key_mode,
                    allow_direct,
                    nbr_end_time=None if nbr_end is None else nbr_end[nbrs],
                    nbr_tie=None if nbr_tie is None else nbr_tie[nbrs],
                )
            infos[fwd] = FKeyInfo(edge.src_table, edge.fkey, edge.dst_table, "forward")
            infos[rev] = FKeyInfo(edge.src_table, edge.fkey, edge.dst_table, "reverse")
            num_fk_edges += int(src_rows.shape[0])
        time_t = {k: None if v is None else torch.from_numpy(v) for k, v in times.items()}
        end_t = {k: None if v is None else torch.from_numpy(v) for k, v in ends.items()}
        return cls(num_nodes, time_t, csrs, infos, num_fk_edges, fingerprint, end_t)

    # ----------------------------------------------------------------- access
    @property
    def node_types(self) -> list[str]:
        """Table names, in input order."""
        return list(self._num_nodes)

    @property
    def edge_types(self) -> list[EdgeType]:
        """All edge types: for each foreign key its forward then its reverse type."""
        return list(self._csr)

    @property
    def device(self) -> torch.device:
        """Device holding the tensors."""
        for csr in self._csr.values():
            for tensor in csr.arrays().values():
                return tensor.device
        for t in self._time.values():
            if t is not None:
                return t.device
        return torch.device("cpu")

    def num_nodes(self, node_type: str) -> int:
        """Number of rows of ``node_type``."""
        self._check_node_type(node_type)
        return self._num_nodes[node_type]

    def time(self, node_type: str) -> Tensor | None:
        """int64 row times of ``node_type``, or ``None`` for a static table."""
        self._check_node_type(node_type)
        return self._time[node_type]

    def end_time(self, node_type: str) -> Tensor | None:
        """int64 row end times of ``node_type`` (``INT64_MAX``: open), or ``None``."""
        self._check_node_type(node_type)
        return self._end_time[node_type]

    def has_time(self, node_type: str) -> bool:
        """Whether ``node_type`` has a time column."""
        return self.time(node_type) is not None

    def csr(self, edge_type: EdgeType) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(rowptr, col, nbr_time | None)`` of ``edge_type``."""
        c = self.csr_data(edge_type)
        return c.rowptr, c.col, c.nbr_time

    def csr_data(self, edge_type: EdgeType) -> CSR:
        """The :class:`CSR` of ``edge_type`` (with ``max_degree``)."""
        et = tuple(edge_type)
        if et not in self._csr:
            raise GraphError(f"Unknown edge type {et!r}; valid edge types: {self.edge_types}.")
        return self._csr[et]  # type: ignore[index]

    def fkey_info(self, edge_type: EdgeType) -> FKeyInfo:
        """``(src_table, fkey, dst_table, direction)`` of the foreign key behind it."""
        self.csr_data(edge_type)
        return self._fkey_info[tuple(edge_type)]  # type: ignore[index]

    def num_edges(self, edge_type: EdgeType) -> int:
        """Number of edges of ``edge_type``."""
        return self.csr_data(edge_type).num_edges

    @property
    def num_fk_edges(self) -> int:
        """Number of resolved foreign-key references (each stored in both directions)."""
        return self._num_fk_edges

    def nbytes(self) -> int:
        """Bytes held by all CSR arrays (row times excluded)."""
        return sum(c.nbytes() for c in self._csr.values())

    def nbytes_per_edge(self) -> float:
        """CSR bytes per foreign-key reference, both directions and neighbor times included."""
        return self.nbytes() / self._num_fk_edges if self._num_fk_edges else 0.0

    def to(self, device: torch.device | str) -> GraphStore:
        """Copy of the store on ``device`` (the same object if already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return GraphStore(
            self._num_nodes,
            {k: None if v is None else v.to(device) for k, v in self._time.items()},
            {k: v.to(device) for k, v in self._csr.items()},
            self._fkey_info,
            self._num_fk_edges,
            self.fingerprint,
            {k: None if v is None else v.to(device) for k, v in self._end_time.items()},
        )

    def __repr__(self) -> str:
        return (
            f"GraphStore(node_types={len(self._num_nodes)}, "
            f"edge_types={len(self._csr)}, fk_edges={self._num_fk_edges}, "
            f"device={self.device})"
        )

    def _check_node_type(self, node_type: str) -> None:
        if node_type not in self._num_nodes:
            raise GraphError(
                f"Unknown node type {node_type!r}; valid node types: {self.node_types}."
            )

    # ------------------------------------------------------------------- disk
    def save(self, path: str | Path) -> Path:
        """Write the store to directory ``path`` atomically (see :mod:`.disk`)."""
        from relgraph.store.disk import save_store

        return save_store(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> GraphStore:
        """Open a store written by :meth:`save`; ``mmap=True`` maps arrays lazily."""
        from relgraph.store.disk import load_store

        return load_store(Path(path), mmap=mmap)

    # internal accessors for the disk module
    def _parts(
        self,
    ) -> tuple[
        dict[str, int], dict[str, Tensor | None], dict[EdgeType, CSR], dict[EdgeType, FKeyInfo],
        dict[str, Tensor | None],
    ]:
        return self._num_nodes, self._time, self._csr, self._fkey_info, self._end_time


# ---------------------------------------------------------------------- checks
def _check_num_rows(name: str, num_rows: int) -> int:
    n = int(num_rows)
    if n < 0:
        raise GraphError(f"Table {name!r} has num_rows={n}; it must be >= 0.")
    return n


def _check_time(name: str, table: TableArrays, values: np.ndarray | None, what: str
                ) -> np.ndarray | None:
    """``values`` (one int64 per row of ``table``) as a contiguous int64 array."""
    if values is None:
        return None
    t = np.asarray(values)
    if t.ndim != 1 or t.shape[0] != table.num_rows:
        raise GraphError(
            f"Table {name!r}: {what} has shape {t.shape} but num_rows={table.num_rows}; "
            f"pass one int64 value per row."
        )
    if not np.issubdtype(t.dtype, np.integer):
        raise GraphError(
            f"Table {name!r}: {what} has dtype {t.dtype}; pass int64 epoch seconds (tie "
            f"ranks as int64; NULL start times as INT64_MAX so those rows are never sampled)."
        )
    return np.ascontiguousarray(t, dtype=np.int64)


def _check_edge(edge: EdgeArrays, num_nodes: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    where = f"Foreign key {edge.src_table}.{edge.fkey} -> {edge.dst_table}"
    for table in (edge.src_table, edge.dst_table):
        if table not in num_nodes:
            raise GraphError(
                f"{where}: table {table!r} is not in `tables`; add a TableArrays for it."
            )
    if edge.fkey.startswith(REV_PREFIX):
        raise GraphError(
            f"{where}: foreign-key names may not start with {REV_PREFIX!r} (reserved for "
            f"reverse edge types); rename the relation."
        )
    src = np.asarray(edge.src_rows)
    dst = np.asarray(edge.dst_rows)
    if src.ndim != 1 or dst.ndim != 1 or src.shape != dst.shape:
        raise GraphError(
            f"{where}: src_rows {src.shape} and dst_rows {dst.shape} must be aligned 1-D arrays."
        )
    for arr, table, label in ((src, edge.src_table, "src_rows"), (dst, edge.dst_table, "dst_rows")):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise GraphError(f"{where}: {label} has dtype {arr.dtype}; pass integer row indices.")
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= num_nodes[table]):
            raise GraphError(
                f"{where}: {label} holds indices outside [0, {num_nodes[table]}) "
                f"(got min {int(arr.min())}, max {int(arr.max())}); drop unresolved keys."
            )
    return src.astype(np.int64, copy=False), dst.astype(np.int64, copy=False)


def _check_fingerprint(fp: str) -> None:
    if not fp or any(c in fp for c in "/\\") or fp in (".", ".."):
        raise GraphError(
            f"Invalid cache fingerprint {fp!r}; use a non-empty string without path separators "
            f"(for example a hex digest)."
        )


def fingerprint_arrays(tables: Mapping[str, TableArrays], edges: Sequence[EdgeArrays]) -> str:
    """Content hash of the inputs, used as cache key when none is given."""
    h = hashlib.blake2b(digest_size=16)
    meta: list[object] = []
    for name, table in tables.items():
        meta.append([name, int(table.num_rows), table.time is not None,
                     table.end_time is not None, table.tie is not None])
        for values in (table.time, table.end_time, table.tie):
            if values is not None:
                h.update(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    for edge in edges:
        meta.append([edge.src_table, edge.fkey, edge.dst_table, len(edge.src_rows)])
        h.update(np.ascontiguousarray(edge.src_rows, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(edge.dst_rows, dtype=np.int64).tobytes())
    h.update(json.dumps(meta).encode())
    return h.hexdigest()
