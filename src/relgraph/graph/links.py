"""Foreign-key discovery from column names and value overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from relgraph.graph.edge import Edge
from relgraph.type_inference import preferred_key_names
from relgraph.types import Dtype, Stype

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph


def key_set(values: pd.Series, numeric: bool) -> set:
    """The distinct non-null key values as a Python set (floats when ``numeric``).

    Plain set lookups are much faster than ``Series.isin`` on Arrow-backed strings.
    """
    values = values.dropna()
    return set((values.astype("float64") if numeric else values).unique().tolist())


def match_count(values: pd.Series, keys: set, numeric: bool) -> int:
    """How many non-null ``values`` are found in ``keys``."""
    values = values.dropna()
    items = (values.astype("float64") if numeric else values).tolist()
    return int(np.fromiter((v in keys for v in items), dtype=bool, count=len(items)).sum())


def match_fraction(values: pd.Series, keys: set, numeric: bool) -> float:
    """The fraction of non-null ``values`` found in ``keys`` (0.0 when there are none)."""
    total = int(values.notna().sum())
    return match_count(values, keys, numeric) / total if total else 0.0


def _stems(name: str) -> set[str]:
    """Singular forms a table name may have (``movies`` -> movie, ``categories`` -> category)."""
    name = name.lower()
    out = {name}
    if name.endswith("s"):
        out.add(name[:-1])
    if name.endswith("ies"):
        out.add(name[:-3] + "y")
    return out


def propose_links(graph: Graph, min_overlap: float = 0.5) -> list[Edge]:
    """Edges whose foreign-key column is named like a table's key and whose values overlap."""
    from relgraph.graph.graph import keys_compatible

    edges = []
    tables = graph.tables
    pk_sets: dict[tuple[str, bool], set] = {}
    for src_name, src in tables.items():
        for col in src.columns:
            if col.name in (src.primary_key, src.time_column, src.end_time_column):
                continue
            best: tuple[bool, float, str] | None = None
            for dst_name, dst in tables.items():
                pk = dst.primary_key
                if dst_name == src_name or pk is None:
                    continue
                low = col.name.lower()
                names = {pk.lower()} | {f"{stem}_id" for stem in _stems(dst_name)}
                fk_dtype, pk_dtype = col.dtype, dst[pk].dtype
                by_name = low in names or (pk.lower() not in ("id", "key")
                                           and low.endswith("_" + pk.lower()))
                # Without a matching name, only string keys are linked by their values alone:
                # small integer ranges overlap by chance.
                if not by_name and not (fk_dtype is Dtype.string and pk_dtype is Dtype.string):
                    continue
                assert isinstance(fk_dtype, Dtype) and isinstance(pk_dtype, Dtype)
                values = src.data[col.name].dropna()
                if len(values) == 0 or not keys_compatible(values, fk_dtype, pk_dtype):
                    continue
                sample = values.sample(min(len(values), 20000), random_state=0) \
                    if len(values) > 20000 else values
                numeric = fk_dtype.is_numeric and pk_dtype.is_numeric
                if (dst_name, numeric) not in pk_sets:
                    pk_sets[dst_name, numeric] = key_set(dst.data[pk], numeric)
                overlap = match_fraction(sample, pk_sets[dst_name, numeric], numeric)
                if not by_name and (overlap < 0.9 or sample.nunique() < 2):
                    continue
                named = any(low.startswith(stem) for stem in _stems(dst_name))
                if overlap >= min_overlap and (best is None or (named, overlap) > best[:2]):
                    best = (named, overlap, dst_name)
            if best is not None:
                edges.append(Edge(src_name, col.name, best[2]))
    return edges


def release_borrowed_keys(graph: Graph, min_overlap: float = 0.9) -> list[str]:
    """Drop inferred primary keys that are really foreign keys; return the tables changed.

    A junction or extension table (``film_category``, movielens ``links``) often has a unique
    column named after *another* table's key (``film_id``, ``movieId``). Metadata inference
    picks it as primary key, but a primary key cannot also be a foreign key, so the table
    would stay cut off from the table it extends. Such a key is released when it is named
    like the other table's primary key, not like its own table's key, its values are found
    in the other table, and no edge points at it yet.
    """
    tables = graph.tables
    targets = {e.dst_table for e in graph.edges}
    released = []
    for name, table in tables.items():
        pk = table.primary_key
        if pk is None or not table._pk_inferred or name in targets \
                or pk.lower() in preferred_key_names(name):
            continue
        for other_name, other in tables.items():
            opk = other.primary_key
            if other_name == name or opk is None or opk.lower() != pk.lower() \
                    or opk.lower() not in preferred_key_names(other_name):
                continue
            fk_dtype, pk_dtype = table[pk].dtype, other[opk].dtype
            assert isinstance(fk_dtype, Dtype) and isinstance(pk_dtype, Dtype)
            numeric = fk_dtype.is_numeric and pk_dtype.is_numeric
            if not numeric and not (fk_dtype is Dtype.string and pk_dtype is Dtype.string):
                continue
            keys = key_set(other.data[opk], numeric)
            if match_fraction(table.data[pk], keys, numeric) >= min_overlap:
                table.primary_key = None
                table[pk].stype = Stype.ID
                released.append(name)
                break
    return released
