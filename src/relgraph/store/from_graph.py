"""Turn a :class:`relgraph.graph.Graph` into a :class:`GraphStore`.

:func:`build_store` streams each foreign-key column in chunks of :data:`CHUNK_ROWS` rows
straight into the store's arrays (:func:`relgraph.store.csr.build_fk_csrs`), so the build
holds the store plus one chunk's temporaries, not whole copies of every edge list.
:func:`graph_arrays` gives the plain inputs of :meth:`GraphStore.from_arrays` (same store).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from relgraph.errors import GraphError
from relgraph.graph.visibility import store_times, tie_ranks
from relgraph.store.arrays import EdgeArrays, TableArrays
from relgraph.store.csr import CSR, build_fk_csrs, chunks, index_dtype

if TYPE_CHECKING:
    from relgraph.graph import Graph
    from relgraph.store.graph_store import GraphStore

#: Rows per chunk of :func:`build_store` (bounds its temporaries; the store is the same).
CHUNK_ROWS = 1 << 20


def graph_arrays(graph: Graph) -> tuple[dict[str, TableArrays], list[EdgeArrays]]:
    """Row counts, row times and resolved foreign keys of every table and edge."""
    tables: dict[str, TableArrays] = {}
    for name, table in graph.tables.items():
        time, end = store_times(table)
        tables[name] = TableArrays(num_rows=table.num_rows, time=time, end_time=end,
                                   tie=tie_ranks(table))
    edges = []
    for edge in graph.edges:
        src, dst = graph[edge.src_table], graph[edge.dst_table]
        assert dst.primary_key is not None
        src_rows, dst_rows = resolve_keys(src.data[edge.fkey], dst.data[dst.primary_key])
        edges.append(EdgeArrays(edge.src_table, edge.fkey, edge.dst_table, src_rows, dst_rows))
    return tables, edges


def key_index(pkey: pd.Series) -> pd.Index:
    """An index over primary-key values (numbers as float64 so int/float keys match)."""
    if pd.api.types.is_numeric_dtype(pkey.dtype) and not pd.api.types.is_bool_dtype(pkey.dtype):
        return pd.Index(pkey.astype("float64").to_numpy())
    return pd.Index(pkey.astype("string").to_numpy(dtype=object, na_value=None))


def lookup_keys(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Row positions of ``values`` in a :func:`key_index` (-1 where absent or null)."""
    if index.dtype.kind == "f":
        numeric = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        pos = index.get_indexer(numeric)
        pos[np.isnan(numeric)] = -1
        return pos.astype(np.int64)
    strings = values.astype("string").to_numpy(dtype=object, na_value=None)
    pos = index.get_indexer(strings).astype(np.int64)
    pos[pd.isna(strings)] = -1
    return pos


def resolve_keys(fkey: pd.Series, pkey: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(src_rows, dst_rows)`` for foreign-key values that match a primary key."""
    pos = lookup_keys(key_index(pkey), fkey)
    src_rows = np.flatnonzero(pos >= 0).astype(np.int64)
    return src_rows, pos[src_rows]


def build_store(graph: Graph, cache_dir: str | Path | None = None, *,
                chunk_rows: int | None = None) -> GraphStore:
    """Materialize ``graph`` (cached under ``cache_dir`` by the graph's fingerprint).

    Built in chunks of ``chunk_rows`` rows (default :data:`CHUNK_ROWS`): besides the
    store's own arrays the build holds one chunk's temporaries, and per foreign key the
    primary-key index and an int64 count per referenced row. The arrays equal
    ``GraphStore.from_arrays(*graph_arrays(graph))``'s, whatever the chunk size.
    """
    from relgraph.store.graph_store import GraphStore

    chunk = max(1, int(chunk_rows or CHUNK_ROWS))
    if cache_dir is None:
        return _build_chunked(graph, chunk, None)
    fp = graph.fingerprint()
    return GraphStore.cached(cache_dir, fp, lambda: _build_chunked(graph, chunk, fp))


def _build_chunked(graph: Graph, chunk: int, fingerprint: str | None) -> GraphStore:
    from relgraph.store.graph_store import (
        EdgeType,
        FKeyInfo,
        GraphStore,
        _check_edge,
        reverse_edge_type,
    )

    for name in {edge.dst_table for edge in graph.edges}:  # keys must resolve to one row
        graph[name].check_primary_key()
    num_nodes = {name: table.num_rows for name, table in graph.tables.items()}
    times: dict[str, np.ndarray | None] = {}
    ends: dict[str, np.ndarray | None] = {}
    for name, table in graph.tables.items():
        times[name], ends[name] = store_times(table)
    ties = {name: tie_ranks(table) for name, table in graph.tables.items()}
    csrs: dict[EdgeType, CSR] = {}
    infos: dict[EdgeType, FKeyInfo] = {}
    num_fk_edges = 0
    none = np.empty(0, dtype=np.int64)
    for edge in graph.edges:
        _check_edge(EdgeArrays(edge.src_table, edge.fkey, edge.dst_table, none, none), num_nodes)
        fwd: EdgeType = (edge.src_table, edge.fkey, edge.dst_table)
        rev = reverse_edge_type(fwd)
        if fwd in csrs or rev in csrs:
            raise GraphError(f"Edge type {fwd} is defined twice; each foreign key "
                             f"(src_table, fkey, dst_table) must appear once.")
        src, dst = graph[edge.src_table], graph[edge.dst_table]
        assert dst.primary_key is not None
        ref = resolve_ref(src.data[edge.fkey], dst.data[dst.primary_key], chunk)
        csrs[fwd], csrs[rev] = build_fk_csrs(
            ref, times[edge.src_table], times[edge.dst_table], num_nodes[edge.dst_table], chunk,
            src_end_time=ends[edge.src_table], dst_end_time=ends[edge.dst_table],
            src_tie=ties[edge.src_table])
        infos[fwd] = FKeyInfo(edge.src_table, edge.fkey, edge.dst_table, "forward")
        infos[rev] = FKeyInfo(edge.src_table, edge.fkey, edge.dst_table, "reverse")
        num_fk_edges += csrs[fwd].num_edges
    time_t = {k: None if v is None else torch.from_numpy(v) for k, v in times.items()}
    end_t = {k: None if v is None else torch.from_numpy(v) for k, v in ends.items()}
    return GraphStore(num_nodes, time_t, csrs, infos, num_fk_edges, fingerprint, end_t)


def resolve_ref(fkey: pd.Series, pkey: pd.Series, chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Per foreign-key row, the row of the matching primary key or -1, looked up in chunks
    (dtype :func:`~relgraph.store.csr.index_dtype` of the primary-key table's last row)."""
    index = key_index(pkey)
    out = np.empty(len(fkey), dtype=index_dtype(max(len(pkey) - 1, 0)))
    for a, b in chunks(len(fkey), chunk):
        out[a:b] = lookup_keys(index, fkey.iloc[a:b])
    return out
