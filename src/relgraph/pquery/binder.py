"""Resolve a parsed query against a :class:`~relgraph.graph.Graph`.

The binder turns AST nodes into *bound* nodes that know their tables, join paths, column
types and windows in seconds. Every error points at the offending part of the query.

Row contexts: the top level of the target and the entity filter are evaluated per entity
row (columns of the entity table, or of a table the entity table references). Inside an
aggregation's ``WHERE`` the row is a row of the aggregated table (its own columns, columns of
a table it references, or columns of the entity table).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import warnings
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

import pandas as pd

from relgraph.errors import PQLError
from relgraph.pquery import ast

if TYPE_CHECKING:
    from relgraph.graph import Graph, Table

__all__ = ["BAgg", "BBool", "BCmp", "BCol", "BNot", "BoundQuery", "Join", "bind"]

NUMERIC_AGGS = ("SUM", "AVG")
COUNT_AGGS = ("COUNT", "COUNT_DISTINCT")
ORDER_AGGS = ("FIRST", "LAST")


@dataclass(frozen=True)
class Join:
    """How a referenced table is reached from the current row context.

    ``kind``: ``self`` (the row's own table), ``parent`` (the row table's ``fkey`` references
    ``table``), ``entity`` (inside an aggregation: the entity row the aggregated row belongs
    to) or ``child`` (a static target on a table whose ``fkey`` references the entity).
    """

    kind: str
    table: str
    fkey: str | None = None


@dataclass(frozen=True)
class BCol:
    """A bound column reference."""

    join: Join
    column: str
    stype: str | None
    dtype: str | None
    is_time: bool = False
    span: ast.Span = field(default_factory=ast.Span.unknown, compare=False)

    @property
    def table(self) -> str:
        return self.join.table

    def __str__(self) -> str:
        return f"{self.join.table}.{self.column}"


@dataclass(frozen=True)
class BAgg:
    """A bound aggregation over rows of ``table`` whose ``fkey`` references the entity."""

    index: int
    func: str
    table: str
    fkey: str
    column: BCol | None
    where: BCond | None
    start: int | None  # seconds after the anchor, exclusive; None = -INF
    end: int | None  # seconds after the anchor, inclusive; None = no upper bound
    windowed: bool
    unit_seconds: int
    table_has_time: bool
    span: ast.Span = field(default_factory=ast.Span.unknown, compare=False)
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class BCmp:
    """``left OP value``; ``value`` is a tuple for IN, None for IS [NOT] NULL."""

    left: BAgg | BCol
    op: str
    value: Any
    span: ast.Span = field(default_factory=ast.Span.unknown, compare=False)


@dataclass(frozen=True)
class BBool:
    op: str
    operands: tuple[BCond, ...]


@dataclass(frozen=True)
class BNot:
    operand: BCond


BCond = BCmp | BBool | BNot


@dataclass
class BoundQuery:
    """A query resolved against a graph; input to task-type inference and SQL generation."""

    query: ast.Query
    text: str
    entity_table: str
    entity_pk: str
    target: BCond | BAgg | BCol
    entity_filter: BCond | None
    assuming: BCond | None
    aggregations: list[BAgg]
    is_temporal: bool
    problem: ast.ProblemSpec | None

    @property
    def target_kind(self) -> str:
        if isinstance(self.target, BAgg):
            return "aggregation"
        if isinstance(self.target, BCol):
            return "column"
        return "condition"

    def target_aggregations(self) -> list[BAgg]:
        return [a for a in _aggs_in(self.target)]

    def filter_aggregations(self) -> list[BAgg]:
        return list(_aggs_in(self.entity_filter)) if self.entity_filter is not None else []

    @property
    def target_tables(self) -> list[str]:
        """Tables the target reads (aggregated tables first), without duplicates."""
        out: list[str] = []
        for agg in self.target_aggregations():
            if agg.table not in out:
                out.append(agg.table)
        if isinstance(self.target, BCol) and self.target.table not in out:
            out.append(self.target.table)
        return out

    def target_columns(self) -> set[tuple[str, str]]:
        """``(table, column)`` of every column the target reads through a join."""
        out: set[tuple[str, str]] = set()
        stack: list[Any] = [self.target]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen or node is None:
                continue
            seen.add(id(node))
            if hasattr(node, "join") and hasattr(node, "column") and isinstance(node.column, str):
                out.add((node.join.table, node.column))
            if dataclasses.is_dataclass(node) and not isinstance(node, type):
                stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
        return out


def _aggs_in(node: Any) -> list[BAgg]:
    out: list[BAgg] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, BAgg):
            out.append(cur)
            if cur.where is not None:
                stack.append(cur.where)
        elif isinstance(cur, BCmp):
            stack.append(cur.left)
        elif isinstance(cur, BBool):
            stack.extend(reversed(cur.operands))
        elif isinstance(cur, BNot):
            stack.append(cur.operand)
    return sorted(out, key=lambda a: a.index)


# ------------------------------------------------------------------------------ binder


class _Binder:
    def __init__(self, graph: Graph, query: ast.Query) -> None:
        self.graph = graph
        self.query = query
        self.text = query.text
        self.aggs: list[BAgg] = []
        self.entity_table = query.entity.table

    # -- errors --------------------------------------------------------------------
    def error(self, message: str, span: ast.Span) -> PQLError:
        end = span.end_column if span.end_line == span.line else span.column + 1
        return PQLError(message, query=self.text, line=span.line, column=span.column,
                        end_column=end)

    # -- tables and columns --------------------------------------------------------
    def table(self, ref: ast.ColumnRef) -> Table:
        names = list(self.graph.tables)
        if ref.table not in names:
            close = get_close_matches(ref.table, names, n=3)
            if not close:
                lowered = {n.lower(): n for n in names}
                if ref.table.lower() in lowered:
                    close = [lowered[ref.table.lower()]]
            hint = f"Did you mean {' or '.join(repr(c) for c in close)}?" if close \
                else f"Tables: {', '.join(names)}."
            raise self.error(f"Unknown table '{ref.table}'. {hint}", ref.table_span)
        return self.graph.tables[ref.table]

    def check_column(self, ref: ast.ColumnRef) -> Table:
        table = self.table(ref)
        if not ref.is_star and not table.has_column(ref.column):
            cols = [c.name for c in table.columns]
            close = get_close_matches(ref.column, cols, n=3)
            if not close:
                lowered = {c.lower(): c for c in cols}
                if ref.column.lower() in lowered:
                    close = [lowered[ref.column.lower()]]
            hint = f"Did you mean {' or '.join(repr(c) for c in close)}?" if close \
                else f"Columns: {', '.join(cols)}."
            raise self.error(f"Table '{ref.table}' has no column '{ref.column}'. {hint}",
                             ref.column_span)
        return table

    def no_key(self, ref: ast.ColumnRef) -> None:
        """A key-naming reference (``table.fkey.column``) outside an aggregation."""
        if ref.via is not None:
            plain = ast.ColumnRef(ref.table, ref.column)
            raise self.error(
                f"'{ref}' names the foreign key '{ref.via}', which only aggregations use "
                f"(COUNT({ref.table}.{ref.via}.*, ...)); write {plain} here", ref.via_span)

    def agg_fkey(self, ref: ast.ColumnRef, fact: str, entity: str, fkeys: list[str]) -> str:
        """The foreign key of ``fact`` that links an aggregation's rows to the entity."""
        star = ".*" if ref.is_star else f".{ast.quote_name(ref.column)}"
        if ref.via is not None:
            if ref.via in fkeys:
                return ref.via
            table = self.graph.tables[fact]
            what = "is not a column of" if not table.has_column(ref.via) else \
                f"does not reference '{entity}' in the graph's edges of"
            raise self.error(
                f"'{ref.via}' {what} '{fact}'; the keys linking '{fact}' to '{entity}' are "
                f"{', '.join(repr(f) for f in fkeys)} (e.g. {fact}.{fkeys[0]}{star})",
                ref.via_span)
        if len(fkeys) > 1:
            options = " or ".join(f"{fact}.{f}{star}" for f in fkeys)
            raise self.error(
                f"Ambiguous join path: '{fact}' references '{entity}' through "
                f"{', '.join(repr(f) for f in fkeys)}. Name the key that links the rows to "
                f"the entity: {options}", ref.table_span)
        return fkeys[0]

    def edges_between(self, src: str, dst: str) -> list[str]:
        return [e.fkey for e in self.graph.edges if e.src_table == src and e.dst_table == dst]

    def bcol(self, ref: ast.ColumnRef, join: Join) -> BCol:
        table = self.graph.tables[join.table]
        col = table[ref.column]
        return BCol(join, ref.column, _str(col.stype), _str(col.dtype),
                    ref.column in (table.time_column, table.end_time_column), ref.span)

    def resolve_column(self, ref: ast.ColumnRef, row_table: str, in_agg: bool) -> BCol:
        """A column reference in a row context (see module docstring)."""
        self.check_column(ref)
        self.no_key(ref)
        if ref.is_star:
            raise self.error(f"'{ref}' (all rows) is only allowed inside COUNT(...)", ref.span)
        if ref.table == row_table:
            return self.bcol(ref, Join("self", ref.table))
        if in_agg and ref.table == self.entity_table:
            return self.bcol(ref, Join("entity", ref.table))
        fkeys = self.edges_between(row_table, ref.table)
        if len(fkeys) == 1:
            return self.bcol(ref, Join("parent", ref.table, fkeys[0]))
        if len(fkeys) > 1:
            raise self.error(
                f"Ambiguous path from '{row_table}' to '{ref.table}': foreign keys "
                f"{', '.join(fkeys)} all reference it. Filter on a column of '{row_table}' "
                f"instead (e.g. its key: {row_table}.{fkeys[0]} = ...)", ref.table_span)
        where = "inside this aggregation" if in_agg else "here"
        raise self.error(
            f"Table '{ref.table}' cannot be used {where}: it is not '{row_table}' or a table "
            f"that '{row_table}' references by a foreign key", ref.table_span)

    # -- constants ------------------------------------------------------------------
    def coerce(self, lit: ast.Literal, kind: str, what: str) -> Any:
        """Convert a literal to the value kind of the left operand."""
        if lit.kind == "null":
            return None
        if kind == "number":
            if lit.kind in ("int", "float"):
                return lit.value
            if lit.kind == "bool":
                return int(bool(lit.value))
            raise self.error(f"{what} is numeric; compare it with a number (got {lit})",
                             lit.span)
        if kind == "bool":
            if lit.kind == "bool":
                return lit.value
            if lit.kind == "int" and lit.value in (0, 1):
                return bool(lit.value)
            if lit.kind == "str" and str(lit.value).lower() in ("true", "false"):
                return str(lit.value).lower() == "true"
            raise self.error(f"{what} is boolean; compare it with TRUE or FALSE (got {lit})",
                             lit.span)
        if kind == "time":
            if lit.kind == "datetime":
                return pd.Timestamp(lit.value).to_pydatetime()
            if lit.kind == "str":
                try:
                    ts = pd.Timestamp(str(lit.value))
                except (ValueError, TypeError):
                    ts = None
                if ts is not None and ts is not pd.NaT:
                    if ts.tzinfo is not None:
                        ts = ts.tz_convert("UTC").tz_localize(None)
                    return ts.to_pydatetime()
            raise self.error(f"{what} is a timestamp; compare it with a date such as "
                             f"'2024-01-31' (got {lit})", lit.span)
        if kind == "string":
            if lit.kind == "str":
                return lit.value
            if lit.kind in ("int", "float"):
                return str(lit.value)
            if lit.kind == "bool":
                return "true" if lit.value else "false"
            if lit.kind == "datetime":
                assert isinstance(lit.value, _dt.datetime)
                return lit.value.isoformat(sep=" ")
        return lit.value

    def value_kind(self, operand: BAgg | BCol) -> str:
        if isinstance(operand, BAgg):
            if operand.func in COUNT_AGGS or operand.func in NUMERIC_AGGS:
                return "number"
            if operand.func == "LIST_DISTINCT":
                return "list"
            assert operand.column is not None
            return self.value_kind(operand.column)
        dtype = operand.dtype or ""
        if operand.is_time or dtype in ("date", "time") or operand.stype == "timestamp":
            return "time"
        if dtype == "bool":
            return "bool"
        if dtype in ("int", "byte", "int16", "int32", "int64", "float", "float32", "float64",
                     "timedelta"):
            return "number"
        if dtype in ("string", "binary"):
            return "string"
        return "other"

    # -- conditions -----------------------------------------------------------------
    def condition(self, node: ast.Condition, row_table: str, in_agg: bool,
                  context: str) -> BCond:
        if isinstance(node, ast.BoolOp):
            return BBool(node.op, tuple(self.condition(o, row_table, in_agg, context)
                                        for o in node.operands))
        if isinstance(node, ast.Not):
            return BNot(self.condition(node.operand, row_table, in_agg, context))
        if isinstance(node, ast.Comparison):
            return self.comparison(node, row_table, in_agg, context)
        if isinstance(node, ast.ColumnRef):
            col = self.resolve_column(node, row_table, in_agg)
            if col.dtype == "bool":
                return BCmp(col, "=", True, node.span)
            raise self.error(f"'{node}' is not a condition; compare it with a value, e.g. "
                             f"{node} = ...", node.span)
        assert isinstance(node, ast.Aggregation)
        raise self.error(f"'{node}' is not a condition; compare it with a value, e.g. "
                         f"{node.func}(...) > 0", node.span)

    def comparison(self, node: ast.Comparison, row_table: str, in_agg: bool,
                   context: str) -> BCmp:
        left: BAgg | BCol
        if isinstance(node.left, ast.Aggregation):
            if in_agg:
                raise self.error("Aggregations cannot be nested", node.left.span)
            left = self.aggregation(node.left, context)
        else:
            left = self.resolve_column(node.left, row_table, in_agg)
        kind = self.value_kind(left)
        what = f"'{_text(self.text, node.left.span)}'"
        op = node.op
        if kind == "list":
            raise self.error("LIST_DISTINCT gives a list and cannot be compared; use "
                             "RANK TOP K or CLASSIFY", node.span)
        if op in ast.UNARY_OPS:
            return BCmp(left, op, None, node.span)
        if op in ast.LIST_OPS:
            assert isinstance(node.right, ast.LiteralList)
            values = tuple(self.coerce(v, kind, what) for v in node.right.values)
            return BCmp(left, op, values, node.span)
        if op in ast.STRING_OPS:
            if kind != "string":
                raise self.error(f"{op} needs a string column; {what} is not one", node.span)
            assert isinstance(node.right, ast.Literal)
            return BCmp(left, op, str(node.right.value), node.span)
        assert isinstance(node.right, ast.Literal)
        return BCmp(left, op, self.coerce(node.right, kind, what), node.span)

    # -- aggregations ---------------------------------------------------------------
    def aggregation(self, node: ast.Aggregation, context: str) -> BAgg:
        """``context``: target, filter or assuming (decides which windows are allowed)."""
        table = self.check_column(node.column)
        fact = node.column.table
        entity = self.entity_table
        if fact == entity:
            raise self.error(
                f"{node.func} aggregates rows of a table linked to the entity table "
                f"'{entity}', not the entity table itself; use a table whose foreign key "
                f"references '{entity}'", node.column.table_span)
        fkeys = self.edges_between(fact, entity)
        if not fkeys:
            back = self.edges_between(entity, fact)
            if back:
                msg = (f"'{fact}' is referenced by '{entity}.{back[0]}' (one '{fact}' row per "
                       f"entity), so there is nothing to aggregate; use the column directly, "
                       f"e.g. {fact}.{node.column.column if not node.column.is_star else '...'}")
            else:
                msg = (f"Table '{fact}' is not linked to the entity table '{entity}' by a "
                       f"foreign key; aggregations need a direct link (multi-hop paths are "
                       f"not supported). Link it with graph.link('{fact}', <fkey>, '{entity}')")
            raise self.error(msg, node.column.table_span)
        fkey = self.agg_fkey(node.column, fact, entity, fkeys)
        column = None
        if not node.column.is_star:
            column = self.bcol(node.column, Join("self", fact))
            self.check_agg_column(node, column, table, fkey)
        where = None
        if node.where is not None:
            where = self.condition(node.where, fact, True, context)
            if _only_entity_columns(where):
                warnings.warn(
                    f"The filter of {node.func}({node.column} WHERE ...) only uses columns of "
                    f"the entity table '{entity}'; it selects entities, not rows. Consider "
                    "moving it to FOR EACH ... WHERE", UserWarning, stacklevel=4)
        has_time = table.time_column is not None
        start: int | None = None
        end: int | None = None
        unit = ast.UNIT_SECONDS["days"]
        win = node.window
        if win is not None:
            unit = ast.UNIT_SECONDS[win.unit]
            if not has_time:
                raise self.error(
                    f"Table '{fact}' has no time column, so a time window cannot apply; set "
                    f"its time_column or drop the window", win.span)
            start, end = win.start_seconds, win.end_seconds
            if context in ("target", "assuming"):
                name = "Target" if context == "target" else "ASSUMING"
                if win.start is None or win.start < 0 or win.end <= 0:
                    raise self.error(
                        f"{name} windows must look forward from the anchor time (start >= 0, "
                        f"end > 0; got {win}); past windows belong in FOR EACH ... WHERE",
                        win.span)
            elif context == "filter" and win.end > 0:
                raise self.error(
                    f"Entity filters may only look at the past (window end <= 0; got {win}), "
                    "since they must be known at prediction time", win.span)
        elif node.func in ORDER_AGGS and not has_time:
            pass  # row order decides FIRST/LAST on static tables
        agg = BAgg(len(self.aggs), node.func, fact, fkey, column, where, start, end,
                   win is not None, unit, has_time, node.span,
                   _text(self.text, node.span))
        self.aggs.append(agg)
        return agg

    def check_agg_column(self, node: ast.Aggregation, column: BCol, table: Table,
                         fkey: str) -> None:
        func = node.func
        kind = self.value_kind(column)
        span = node.column.column_span
        if func in NUMERIC_AGGS and kind != "number":
            raise self.error(f"{func} needs a numerical column; '{node.column}' is "
                             f"{column.stype or column.dtype}", span)
        if func in ("MIN", "MAX") and kind not in ("number", "time"):
            raise self.error(f"{func} needs a numerical or timestamp column; '{node.column}' "
                             f"is {column.stype or column.dtype}", span)

    # -- query ---------------------------------------------------------------------
    def bind(self) -> BoundQuery:
        q = self.query
        ent_ref = q.entity
        ent_table = self.check_column(ent_ref)
        self.no_key(ent_ref)
        self.entity_table = ent_ref.table
        if ent_table.primary_key is None:
            raise self.error(f"FOR EACH needs the primary key of '{ent_ref.table}', which has "
                             f"none; set graph['{ent_ref.table}'].primary_key", ent_ref.span)
        if ent_ref.column != ent_table.primary_key:
            raise self.error(
                f"FOR EACH must name the primary key of '{ent_ref.table}' "
                f"('{ent_ref.table}.{ent_table.primary_key}'), not '{ent_ref.column}'",
                ent_ref.column_span)
        target = self.bind_target(q.target)
        entity_filter = None
        if q.entity_filter is not None:
            entity_filter = self.condition(q.entity_filter, self.entity_table, False, "filter")
        if q.entity_restriction is not None:
            restriction = self.comparison(q.entity_restriction, self.entity_table, False,
                                          "filter")
            entity_filter = restriction if entity_filter is None else \
                BBool("AND", (restriction, entity_filter))
        assuming = None
        if q.assuming is not None:
            assert q.assuming is not None
            span = getattr(q.assuming, "span", ast.Span.unknown())
            if not isinstance(target, (BAgg, BCmp, BBool, BNot)) or not _aggs_in(target):
                raise self.error("ASSUMING needs a target that aggregates over a time window",
                                 span)
            assuming = self.condition(q.assuming, self.entity_table, False, "assuming")
            if not _aggs_in(assuming):
                raise self.error("ASSUMING needs a condition on future events, such as "
                                 "COUNT(orders.*, 0, 7) > 0", span)
        target_aggs = _aggs_in(target)
        windowed = [a.windowed for a in target_aggs]
        is_temporal = any(windowed)
        if is_temporal and not all(windowed):
            bad = next(a for a in target_aggs if not a.windowed)
            raise self.error("Give every aggregation of the target a time window (or none)",
                             bad.span)
        if q.problem is not None and q.problem.kind == "forecast" and (
                not isinstance(target, BAgg) or not target.windowed):
            raise self.error("FORECAST N TIMEFRAMES needs a target aggregation with a time "
                             "window, e.g. SUM(orders.amount, 0, 7, days)", q.problem.span)
        return BoundQuery(q, self.text, self.entity_table, ent_ref.column, target,
                          entity_filter, assuming, list(self.aggs), is_temporal, q.problem)

    def bind_target(self, node: ast.Expr) -> BCond | BAgg | BCol:
        if isinstance(node, ast.Aggregation):
            return self.aggregation(node, "target")
        if isinstance(node, ast.ColumnRef):
            return self.static_target(node)
        return self.condition(node, self.entity_table, False, "target")

    def static_target(self, ref: ast.ColumnRef) -> BCol:
        table = self.check_column(ref)
        self.no_key(ref)
        if ref.is_star:
            raise self.error(f"'{ref}' (all rows) is only allowed inside COUNT(...)", ref.span)
        entity = self.entity_table
        if ref.table == entity:
            col = self.bcol(ref, Join("self", entity))
        else:
            child = self.edges_between(ref.table, entity)
            parent = self.edges_between(entity, ref.table)
            if len(child) + len(parent) > 1:
                raise self.error(f"Ambiguous path between '{entity}' and '{ref.table}' "
                                 f"(foreign keys: {', '.join(child + parent)})", ref.table_span)
            if child:
                col = self.bcol(ref, Join("child", ref.table, child[0]))
            elif parent:
                col = self.bcol(ref, Join("parent", ref.table, parent[0]))
            else:
                raise self.error(
                    f"Target table '{ref.table}' is not linked to the entity table '{entity}' "
                    "by a foreign key (multi-hop paths are not supported)", ref.table_span)
        if ref.column == table.primary_key:
            raise self.error(f"'{ref}' is the primary key of '{ref.table}' and cannot be "
                             "predicted", ref.column_span)
        if any(e.src_table == ref.table and e.fkey == ref.column for e in self.graph.edges):
            raise self.error(f"'{ref}' is a foreign key and cannot be predicted directly; use "
                             f"LIST_DISTINCT({ref}) RANK TOP K for link prediction",
                             ref.column_span)
        if col.is_time or col.stype == "timestamp":
            raise self.error(f"'{ref}' is a timestamp and cannot be predicted", ref.column_span)
        if col.stype in ("text", "ID", "sequence", "image", "unsupported"):
            raise self.error(f"'{ref}' has stype {col.stype} and cannot be predicted; only "
                             "numerical, categorical and multicategorical columns can",
                             ref.column_span)
        return col


def _only_entity_columns(cond: BCond) -> bool:
    cols: list[BCol] = []
    stack: list[Any] = [cond]
    while stack:
        cur = stack.pop()
        if isinstance(cur, BCmp):
            if isinstance(cur.left, BCol):
                cols.append(cur.left)
            else:
                return False
        elif isinstance(cur, BBool):
            stack.extend(cur.operands)
        elif isinstance(cur, BNot):
            stack.append(cur.operand)
    return bool(cols) and all(c.join.kind == "entity" for c in cols)


def _str(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _text(text: str, span: ast.Span) -> str:
    return text[span.start:span.end] if 0 <= span.start < span.end <= len(text) else ""


def bind(graph: Graph, query: ast.Query) -> BoundQuery:
    """Resolve every name of ``query`` against ``graph``; raise :class:`PQLError` if invalid."""
    return _Binder(graph, query).bind()
