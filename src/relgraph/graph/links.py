"""Foreign-key discovery from column names and value overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relgraph.graph.edge import Edge
from relgraph.graph.types import Dtype

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph


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
                sample = values.sample(min(len(values), 20000), random_state=0)
                pk_values = dst.data[pk]
                if fk_dtype.is_numeric and pk_dtype.is_numeric:
                    sample, pk_values = sample.astype("float64"), pk_values.astype("float64")
                overlap = float(sample.isin(pk_values).mean())
                if not by_name and (overlap < 0.9 or sample.nunique() < 2):
                    continue
                named = any(low.startswith(stem) for stem in _stems(dst_name))
                if overlap >= min_overlap and (best is None or (named, overlap) > best[:2]):
                    best = (named, overlap, dst_name)
            if best is not None:
                edges.append(Edge(src_name, col.name, best[2]))
    return edges
