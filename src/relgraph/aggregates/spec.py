"""Which relational features to compute for an entity table: a JSON-able plan.

:func:`plan_features` walks the graph from the entity table one and two hops away and
lists, per path, the aggregates a data scientist would hand-write: counts, sums, means,
minima and maxima of numerical columns over 7/30/90/365 days and all time, last values,
days since the last and first row, counts per value of low-cardinality categoricals, the
columns of referenced (parent) tables, and aggregates of the rows two hops away. Column
choices and categorical vocabularies come from the rows visible at the fit time (the last
training anchor), so later rows never shape the features. The plan is saved with a model
and replayed unchanged at prediction time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from relgraph.engine import TIME_COLUMN, quote_ident
from relgraph.graph import Graph, Stype
from relgraph.graph.visibility import visible_rows, visible_sql

#: Windows (days) of the aggregates; ``0`` = all time.
WINDOWS_DAYS = (7, 30, 90, 365, 0)
#: Windows of the two-hop aggregates.
WINDOWS_2HOP = (30, 365, 0)
#: Numerical columns aggregated per table, at most.
MAX_NUMERIC = 12
#: A categorical column is counted per value when it has at most this many values.
MAX_CATEGORIES = 30
#: Values counted per categorical column (the most frequent ones).
TOP_VALUES = 8
#: Features per entity table at most: blocks are kept in order (own columns, parents,
#: children, then two hops away) while they fit.
MAX_FEATURES = 1500

Kind = Literal["entity", "parent", "child", "grandchild", "child_parent"]


@dataclass
class Block:
    """One SQL statement's worth of features, along one path from the entity table.

    ``path`` is a list of ``(table, fkey, direction)`` steps: ``"forward"`` follows a
    foreign key of the previous table to the table it references, ``"reverse"`` goes to
    the rows of ``table`` whose ``fkey`` references the previous table.
    """

    kind: Kind
    path: list[tuple[str, str, str]]
    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    windows: list[int] = field(default_factory=list)
    recency: bool = False  # days since the last / first row (child), the row's age (entity)

    @property
    def table(self) -> str:
        """The table whose columns the block aggregates."""
        return self.path[-1][0] if self.path else ""

    @property
    def prefix(self) -> str:
        """Feature-name prefix: the path, e.g. ``invoices.customer_id``."""
        return ".".join(f"{t}.{k}" for t, k, _ in self.path) or "self"


@dataclass
class FeatureSpec:
    """The relational features of one entity table (see :func:`plan_features`)."""

    entity_table: str
    blocks: list[Block]
    exclude: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"entity_table": self.entity_table, "exclude": [list(p) for p in self.exclude],
                "blocks": [asdict(b) for b in self.blocks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        blocks = [Block(kind=b["kind"], path=[tuple(s) for s in b["path"]],  # type: ignore
                        numeric=list(b["numeric"]), categorical=dict(b["categorical"]),
                        windows=list(b["windows"]), recency=bool(b["recency"]))
                  for b in data["blocks"]]
        return cls(data["entity_table"], blocks, [tuple(p) for p in data.get("exclude", [])])


def plan_features(graph: Graph, entity_table: str, fit_time: int | None = None,
                  exclude: set[tuple[str, str]] | frozenset = frozenset(), *,
                  temporal: bool = True, two_hops: bool = True) -> FeatureSpec:
    """The features of ``entity_table``: its own columns, its parents' columns, its
    children's aggregates and (``two_hops``) the aggregates two hops away.

    ``exclude`` holds ``(table, column)`` pairs no feature may read (a static target).
    ``fit_time`` (epoch seconds) limits the rows that choose columns and vocabularies.
    ``temporal=False`` (static queries, no anchor time) keeps only all-time aggregates.
    """
    columns = _ColumnChooser(graph, fit_time, exclude)
    blocks: list[Block] = []
    own = columns.block("entity", [], entity_table)
    own.recency = temporal and graph[entity_table].time_column is not None
    if own.numeric or own.categorical or own.recency:
        blocks.append(own)
    for edge in graph.edges:
        if edge.src_table == entity_table:  # the entity references a parent row
            block = columns.block("parent", [(edge.dst_table, edge.fkey, "forward")],
                                  edge.dst_table)
            if block.numeric or block.categorical:
                blocks.append(block)
    for edge in graph.edges:
        if edge.dst_table != entity_table:
            continue
        child = graph[edge.src_table]
        step = (edge.src_table, edge.fkey, "reverse")
        timed = temporal and child.time_column is not None
        block = columns.block("child", [step], edge.src_table,
                              windows=list(WINDOWS_DAYS) if timed else [0])
        block.recency = timed
        blocks.append(block)
        if not two_hops:
            continue
        for second in graph.edges:
            if child.primary_key is not None and second.dst_table == edge.src_table and \
                    second.src_table != entity_table:
                grand_timed = temporal and (graph[second.src_table].time_column is not None
                                            or timed)
                blocks.append(columns.block(
                    "grandchild", [step, (second.src_table, second.fkey, "reverse")],
                    second.src_table, windows=list(WINDOWS_2HOP) if grand_timed else [0],
                    categorical=False))
            if second.src_table == edge.src_table and second.fkey != edge.fkey:
                block = columns.block(
                    "child_parent", [step, (second.dst_table, second.fkey, "forward")],
                    second.dst_table, windows=[90, 0] if timed else [0], categorical=False)
                if block.numeric:
                    blocks.append(block)
    return FeatureSpec(entity_table, _within_budget(blocks), sorted(exclude))


def _within_budget(blocks: list[Block]) -> list[Block]:
    """The blocks that fit :data:`MAX_FEATURES`, one-hop paths first."""
    order = {"entity": 0, "parent": 1, "child": 2, "grandchild": 3, "child_parent": 4}
    kept: list[Block] = []
    total = 0
    for block in sorted(blocks, key=lambda b: order[b.kind]):
        size = len(block_columns(block))
        if total + size <= MAX_FEATURES:
            kept.append(block)
            total += size
    return kept


class _ColumnChooser:
    """Numerical columns and categorical vocabularies of each table, from fit rows."""

    def __init__(self, graph: Graph, fit_time: int | None,
                 exclude: set[tuple[str, str]] | frozenset) -> None:
        self.graph = graph
        self.fit_time = fit_time
        self.exclude = set(exclude)
        self._cache: dict[str, tuple[list[str], dict[str, list[str]]]] = {}

    def block(self, kind: Kind, path: list[tuple[str, str, str]], table: str,
              windows: list[int] | None = None, categorical: bool = True) -> Block:
        numeric, vocab = self._columns(table)
        return Block(kind, path, list(numeric), dict(vocab) if categorical else {},
                     list(windows or []))

    def _columns(self, name: str) -> tuple[list[str], dict[str, list[str]]]:
        if name in self._cache:
            return self._cache[name]
        table = self.graph[name]
        keys = {table.primary_key, table.time_column, table.end_time_column}
        keys |= {e.fkey for e in self.graph.edges if e.src_table == name}
        rows = visible_rows(table, self.fit_time, include_ended=True)
        data = table.data
        numeric: list[str] = []
        vocab: dict[str, list[str]] = {}
        for col in table.columns:
            if col.name in keys or (name, col.name) in self.exclude:
                continue
            values = data[col.name][rows] if not rows.all() else data[col.name]
            if col.stype is Stype.numerical and len(numeric) < MAX_NUMERIC:
                x = pd.to_numeric(values, errors="coerce")
                if x.notna().any() and x.nunique() > 1:
                    numeric.append(col.name)
            elif col.stype is Stype.categorical:
                counts = self._value_counts(name, col.name)
                if 1 < len(counts) <= MAX_CATEGORIES:
                    vocab[col.name] = counts[:TOP_VALUES]
        self._cache[name] = (numeric, vocab)
        return numeric, vocab

    def _value_counts(self, table: str, column: str) -> list[str]:
        """Values of a column among the fit rows, most frequent first, as the engine
        writes them (``CAST(... AS VARCHAR)``, the form the feature SQL compares)."""
        engine = self.graph.engine
        col = quote_ident(column)
        where = f"{col} IS NOT NULL"
        if self.fit_time is not None and self.graph[table].time_column is not None:
            where += f" AND {visible_sql(TIME_COLUMN, str(int(self.fit_time)))}"
        sql = (f"SELECT CAST({col} AS VARCHAR) AS v, COUNT(*) AS n FROM "
               f"{engine.relation(table)} WHERE {where} GROUP BY 1 ORDER BY n DESC, v "
               f"LIMIT {MAX_CATEGORIES + 1}")
        return [str(v) for v in engine.sql(sql)["v"]]


def feature_names(spec: FeatureSpec) -> list[str]:
    """Names of the features :func:`~relgraph.aggregates.compute_features` returns, in order."""
    names: list[str] = []
    for block in spec.blocks:
        names += [name for name, _ in block_columns(block)]
    return names


def block_columns(block: Block) -> list[tuple[str, str]]:
    """``(name, kind)`` of a block's features; kind is ``"num"``, ``"count"`` or ``"cat"``."""
    return [(name, kind) for name, kind, _ in _block_features(block)]


#: Source "column" of features that count rows (``count_*``) and of recency features.
ROWS = "(rows)"
TIME = "(time)"


def feature_sources(spec: FeatureSpec) -> dict[str, tuple[str, str]]:
    """``{feature name: (table, column)}``: the column each feature is computed from
    (:data:`ROWS` for row counts, :data:`TIME` for ages and recencies)."""
    return {name: (block.table or spec.entity_table, column) for block in spec.blocks
            for name, _, column in _block_features(block)}


def _block_features(block: Block) -> list[tuple[str, str, str]]:
    """``(name, kind, source column)`` of a block's features."""
    p = block.prefix
    out: list[tuple[str, str, str]] = []
    if block.kind in ("entity", "parent"):
        out += [(f"{p}.{c}", "num", c) for c in block.numeric]
        out += [(f"{p}.{c}", "cat", c) for c in block.categorical]
        if block.recency:
            out.append((f"{p}.age_days", "num", TIME))
        return out
    for w in block.windows:
        tag = f"{w}d" if w else "all"
        if block.kind != "child_parent":
            out.append((f"{p}.count_{tag}", "count", ROWS))
        funcs = ("mean",) if block.kind == "child_parent" else \
            ("sum", "mean") if block.kind == "grandchild" else ("sum", "mean", "min", "max")
        out += [(f"{p}.{c}.{f}_{tag}", "num", c) for c in block.numeric for f in funcs]
    if block.recency:
        out += [(f"{p}.{c}.last", "num", c) for c in block.numeric]
        out += [(f"{p}.days_since_last", "num", TIME), (f"{p}.days_since_first", "num", TIME)]
    if block.kind == "child":
        for col, values in block.categorical.items():
            out += [(f"{p}.{col}={v}.count_all", "count", col) for v in values]
            if 90 in block.windows:
                out += [(f"{p}.{col}={v}.count_90d", "count", col) for v in values]
    return out


def is_count(name: str, spec: FeatureSpec) -> bool:
    """Whether a feature is a count (0 where no row matches, never missing)."""
    return name in {n for b in spec.blocks for n, k in block_columns(b) if k == "count"}


__all__ = ["ROWS", "TIME", "Block", "FeatureSpec", "block_columns", "feature_names",
           "feature_sources", "is_count", "plan_features"]
