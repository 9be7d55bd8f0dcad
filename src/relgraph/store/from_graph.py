"""Turn a :class:`relgraph.graph.Graph` into the arrays a :class:`GraphStore` is built from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from relgraph.store.arrays import NEVER_VISIBLE, EdgeArrays, TableArrays

if TYPE_CHECKING:
    from relgraph.graph import Graph
    from relgraph.store.graph_store import GraphStore

_NULL_TIME = np.iinfo(np.int64).min


def graph_arrays(graph: Graph) -> tuple[dict[str, TableArrays], list[EdgeArrays]]:
    """Row counts, row times and resolved foreign keys of every table and edge."""
    tables: dict[str, TableArrays] = {}
    for name, table in graph.tables.items():
        time = None
        if table.time_column is not None:
            time = table.time_values().copy()
            time[time == _NULL_TIME] = NEVER_VISIBLE
        tables[name] = TableArrays(num_rows=table.num_rows, time=time)
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


def build_store(graph: Graph, cache_dir: str | Path | None = None) -> GraphStore:
    """Materialize ``graph`` (cached under ``cache_dir`` by the graph's fingerprint)."""
    from relgraph.store.graph_store import GraphStore

    tables, edges = graph_arrays(graph)
    if cache_dir is None:
        return GraphStore.from_arrays(tables, edges)
    return GraphStore.from_arrays(
        tables, edges, cache_dir=cache_dir, fingerprint=graph.fingerprint()
    )
