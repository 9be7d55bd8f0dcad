"""SQL generation: one DuckDB statement computes a whole label table for all anchors.

Shape of the statement (temporal query)::

    WITH __anchors AS (SELECT unnest($1::BIGINT[]) AS __a),          -- all anchor times
         __g0 AS (SELECT a.__a, f.fkey AS __e, <AGG> AS v             -- one per aggregation
                  FROM __anchors a JOIN <fact> f
                    ON f.__rg_time > a.__a + $s AND f.__rg_time <= a.__a + $e
                  WHERE f.fkey IS NOT NULL AND <target filter> GROUP BY ALL)
    SELECT * FROM (
      SELECT e.pk AS "ENTITY", a.__a AS "__anchor", <target> AS "TARGET"
      FROM __anchors a JOIN <entity> e ON <entity exists at a>
      LEFT JOIN __g0 g0 ON g0.__a = a.__a AND g0.__e = e.pk
      WHERE <entity filter>) WHERE "TARGET" IS NOT NULL

Identifiers are quoted with :func:`quote_ident`; every value (anchors, window offsets,
constants) is a bound ``$n`` parameter.

Missing values: COUNT, COUNT_DISTINCT and SUM over no rows are 0 (also SUM over only null
values); AVG/MIN/MAX/FIRST/LAST over no (non-null) rows are NULL, and rows whose target is
NULL are dropped. Conditions follow SQL three-valued logic (a comparison with NULL is
unknown; an unknown target is dropped, an unknown filter excludes the row).
LIST_DISTINCT gives the sorted distinct non-null values; an empty list for ranking and link
prediction targets is dropped (nothing to rank), kept for multilabel classification. Link
prediction targets only hold keys present in the target table (dangling keys are left out).
FIRST/LAST order rows by (time, row position); rows without a time come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relgraph.engine.duckdb import ROW_COLUMN, TIME_COLUMN, quote_ident
from relgraph.pquery.binder import BAgg, BBool, BCmp, BCol, BCond, BNot, BoundQuery, Join

__all__ = ["LabelSql", "Params", "build_label_sql", "quote_ident"]

ROW = ROW_COLUMN
TIME = TIME_COLUMN


class Params:
    """Collects bound parameter values; ``add`` returns the ``$n`` placeholder."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass
class LabelSql:
    """A generated statement with its parameters."""

    sql: str
    params: list[Any]
    outputs: list[str] = field(default_factory=list)

    def explain(self) -> str:
        lines = [self.sql.rstrip(), "", "-- bound parameters:"]
        for i, value in enumerate(self.params, 1):
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:200] + f"... ({len(value) if hasattr(value, '__len__') else '?'}"\
                    " values)"
            lines.append(f"--   ${i} = {shown}")
        return "\n".join(lines)


class _Ctx:
    """Aliases of the tables joined in one row context."""

    def __init__(self, row_alias: str, prefix: str) -> None:
        self.row_alias = row_alias
        self.prefix = prefix
        self.joins: dict[tuple[str, str, str | None], str] = {}

    def alias(self, join: Join) -> str:
        if join.kind == "self":
            return self.row_alias
        key = (join.kind, join.table, join.fkey)
        if key not in self.joins:
            self.joins[key] = f"{self.prefix}{len(self.joins)}"
        return self.joins[key]


@dataclass
class _Settings:
    """Per-statement options."""

    temporal: bool
    target_mode: str  # "train" (labels) | "predict" (no target) | "static_missing"
    list_drop_empty: bool = False
    num_forecasts: int = 1
    num_lags: int = 0
    weight: BCol | None = None
    forecast: bool = False
    #: a column of the LIST_DISTINCT target's table: WEIGHT is a list aligned with TARGET
    list_weight: str | None = None
    #: link prediction: only keys present in this table count as targets
    link_table: str | None = None


class _Builder:
    def __init__(self, bq: BoundQuery, graph: Any, params: Params, settings: _Settings) -> None:
        self.bq = bq
        self.graph = graph
        self.p = params
        self.s = settings
        self.ctes: list[str] = []
        self.engine = graph.engine

    # -- helpers ---------------------------------------------------------------------
    def rel(self, table: str) -> str:
        return self.engine.relation(table)

    def pk(self, table: str) -> str:
        pk = self.graph.tables[table].primary_key
        assert pk is not None
        return quote_ident(pk)

    def col(self, c: BCol, ctx: _Ctx) -> str:
        return f"{ctx.alias(c.join)}.{quote_ident(c.column)}"

    def join_sql(self, ctx: _Ctx, row_table: str, entity_key_expr: str | None) -> str:
        out = []
        for (kind, table, fkey), alias in ctx.joins.items():
            if kind == "parent":
                assert fkey is not None
                out.append(f"LEFT JOIN {self.rel(table)} {alias} ON {alias}.{self.pk(table)} = "
                           f"{ctx.row_alias}.{quote_ident(fkey)}")
            elif kind == "entity":
                assert entity_key_expr is not None
                out.append(f"LEFT JOIN {self.rel(table)} {alias} ON {alias}.{self.pk(table)} = "
                           f"{entity_key_expr}")
        return "\n  ".join(out)

    # -- conditions ------------------------------------------------------------------
    def cond(self, c: BCond, ctx: _Ctx) -> str:
        if isinstance(c, BBool):
            return "(" + f" {c.op} ".join(self.cond(o, ctx) for o in c.operands) + ")"
        if isinstance(c, BNot):
            return f"(NOT {self.cond(c.operand, ctx)})"
        return self.cmp(c, ctx)

    def operand(self, x: BAgg | BCol, ctx: _Ctx) -> str:
        if isinstance(x, BCol):
            return self.col(x, ctx)
        return self.agg_ref(x)

    def cmp(self, c: BCmp, ctx: _Ctx) -> str:
        left = self.operand(c.left, ctx)
        op = c.op
        if op == "IS NULL":
            return f"({left} IS NULL)"
        if op == "IS NOT NULL":
            return f"({left} IS NOT NULL)"
        if op in ("IN", "NOT IN"):
            items = ", ".join(self.p.add(v) for v in c.value)
            return f"({left} {op} ({items}))"
        if op in ("CONTAINS", "NOT CONTAINS"):
            neg = "NOT " if op.startswith("NOT") else ""
            return f"({neg}contains({left}, {self.p.add(c.value)}))"
        if op in ("STARTS WITH", "NOT STARTS WITH"):
            neg = "NOT " if op.startswith("NOT") else ""
            return f"({neg}starts_with({left}, {self.p.add(c.value)}))"
        if op in ("ENDS WITH", "NOT ENDS WITH"):
            neg = "NOT " if op.startswith("NOT") else ""
            return f"({neg}ends_with({left}, {self.p.add(c.value)}))"
        if op in ("LIKE", "NOT LIKE"):
            return f"({left} {op} {self.p.add(c.value)})"
        return f"({left} {op} {self.p.add(c.value)})"

    # -- aggregations ----------------------------------------------------------------
    def agg_ref(self, agg: BAgg) -> str:
        ref = f"g{agg.index}.v"
        if agg.func in ("COUNT", "COUNT_DISTINCT", "SUM"):
            return f"COALESCE({ref}, 0)"
        if agg.func == "LIST_DISTINCT":
            return f"COALESCE({ref}, [])"
        return ref

    def agg_expr(self, agg: BAgg, f: str) -> str:
        col = f"{f}.{quote_ident(agg.column.column)}" if agg.column is not None else None
        # FIRST/LAST order: time, then row position; rows without a time come first
        order = (f"(COALESCE({f}.{TIME}, -9223372036854775807), {f}.{ROW})"
                 if agg.table_has_time else f"{f}.{ROW}")
        func = agg.func
        if func == "COUNT":
            return "count(*)" if col is None else f"count({col})"
        if func == "COUNT_DISTINCT":
            return f"count(DISTINCT {col})"
        if func in ("SUM", "AVG", "MIN", "MAX"):
            return f"{func.lower()}({col})"
        if func == "FIRST":
            return f"arg_min({col}, {order})"
        if func == "LAST":
            return f"arg_max({col}, {order})"
        assert func == "LIST_DISTINCT"
        return f"list(DISTINCT {col} ORDER BY {col})"

    def time_condition(self, agg: BAgg, f: str, anchor: str, shift: str | None) -> str:
        """Join condition selecting the rows of ``agg`` visible for ``anchor``."""
        if not agg.table_has_time:
            return "TRUE"
        base = anchor if shift is None else f"({anchor} + {shift})"
        if agg.windowed:
            parts = []
            if agg.start is not None:
                parts.append(f"{f}.{TIME} > {base} + {self.p.add(agg.start)}")
            assert agg.end is not None
            parts.append(f"{f}.{TIME} <= {base} + {self.p.add(agg.end)}")
            return " AND ".join(parts)
        if self.s.temporal:  # no window in a temporal query: everything up to the anchor
            return f"{f}.{TIME} <= {anchor}"
        return "TRUE"

    def agg_cte(self, agg: BAgg, stepped: bool = False) -> None:
        """CTE ``__g{i}(__a, [__k,] __e, v)``: one value per anchor (and step) and entity."""
        ctx = _Ctx("f", "fp")
        where = [f"f.{quote_ident(agg.fkey)} IS NOT NULL"]
        if agg.column is not None:
            # one aggregate per CTE: null values never count, so drop them up front (a group
            # without non-null values is absent: 0 / [] / NULL through the outer join)
            where.append(f"f.{quote_ident(agg.column.column)} IS NOT NULL")
        if agg.where is not None:
            where.append(self.cond(agg.where, ctx))
        if self.s.link_table is not None and agg is self.bq.target and agg.column is not None:
            dst = self.s.link_table
            where.append(f"f.{quote_ident(agg.column.column)} IN (SELECT {self.pk(dst)} "
                         f"FROM {self.rel(dst)})")
        if stepped:
            length = (agg.end or 0) - (agg.start or 0)
            lo, hi = -self.s.num_lags, self.s.num_forecasts
            source = (f"(SELECT a.__a, k.__k, a.__a + k.__k * {self.p.add(length)} AS __s "
                      f"FROM __anchors a, range({self.p.add(lo)}, {self.p.add(hi)}) k(__k)) a")
            on = self.time_condition(agg, "f", "a.__s", None)
            keys = "a.__a AS __a, a.__k AS __k"
        else:
            source = "__anchors a"
            on = self.time_condition(agg, "f", "a.__a", None)
            keys = "a.__a AS __a"
        joins = self.join_sql(ctx, agg.table, f"f.{quote_ident(agg.fkey)}")
        if (self.s.list_weight is not None and agg is self.bq.target and not stepped
                and agg.column is not None):
            self.weighted_list_cte(agg, source, on, joins, where)
            return
        self.ctes.append(
            f"__g{agg.index} AS (\n"
            f"  SELECT {keys}, f.{quote_ident(agg.fkey)} AS __e, {self.agg_expr(agg, 'f')} AS v\n"
            f"  FROM {source}\n"
            f"  JOIN {self.rel(agg.table)} f ON {on}\n"
            + (f"  {joins}\n" if joins else "")
            + f"  WHERE {' AND '.join(where)}\n"
            f"  GROUP BY ALL)")

    def weighted_list_cte(self, agg: BAgg, source: str, on: str, joins: str,
                          where: list[str]) -> None:
        """LIST_DISTINCT with a weight list: max weight per distinct value, aligned by value;
        rows with a null value or a null weight are left out."""
        assert agg.column is not None and self.s.list_weight is not None
        col = f"f.{quote_ident(agg.column.column)}"
        w = f"f.{quote_ident(self.s.list_weight)}"
        where = [*where, f"{col} IS NOT NULL", f"{w} IS NOT NULL"]
        self.ctes.append(
            f"__g{agg.index}w AS (\n"
            f"  SELECT a.__a AS __a, f.{quote_ident(agg.fkey)} AS __e, {col} AS __item, "
            f"max({w}) AS __w\n"
            f"  FROM {source}\n"
            f"  JOIN {self.rel(agg.table)} f ON {on}\n"
            + (f"  {joins}\n" if joins else "")
            + f"  WHERE {' AND '.join(where)}\n"
            f"  GROUP BY ALL),\n"
            f"__g{agg.index} AS (\n"
            f"  SELECT __a, __e, list(__item ORDER BY __item) AS v, "
            f"list(__w::DOUBLE ORDER BY __item) AS wv\n"
            f"  FROM __g{agg.index}w GROUP BY ALL)")

    # -- the statement ---------------------------------------------------------------
    def build(self, anchors: list[int]) -> LabelSql:
        bq, s = self.bq, self.s
        ent = bq.entity_table
        etable = self.graph.tables[ent]
        anchors_param = self.p.add(list(anchors))
        self.ctes.append(f"__anchors AS (SELECT unnest({anchors_param}::BIGINT[]) AS __a)")
        ctx = _Ctx("e", "p")
        forecast = s.forecast or s.num_forecasts > 1 or s.num_lags > 0
        with_target = s.target_mode == "train"
        use_target = with_target or s.target_mode == "static_missing"

        aggs: list[BAgg] = []
        if use_target:
            aggs += bq.target_aggregations()
        aggs += bq.filter_aggregations()
        if with_target and bq.assuming is not None:
            aggs += [a for a in _aggs(bq.assuming)]
        seen: set[int] = set()
        target_aggs = {a.index for a in bq.target_aggregations()} if use_target else set()
        for agg in aggs:
            if agg.index in seen:
                continue
            seen.add(agg.index)
            self.agg_cte(agg, stepped=forecast and agg.index in target_aggs)

        pk = f"e.{self.pk(ent)}"
        select = [f"{pk} AS \"ENTITY\"", "a.__a AS \"__anchor\""]
        where: list[str] = []
        child_join = ""
        if s.temporal and etable.time_column is not None:
            where.append(f"(e.{TIME} IS NULL OR e.{TIME} <= a.__a)")
        if s.temporal and etable.end_time_column is not None:
            end_col = quote_ident(etable.end_time_column)
            where.append(f"(e.{end_col} IS NULL OR epoch(e.{end_col}) > a.__a)")
        if bq.entity_filter is not None:
            where.append(self.cond(bq.entity_filter, ctx))
        if with_target and bq.assuming is not None:
            where.append(self.cond(bq.assuming, ctx))

        # a bare target aggregation whose "no rows" value drops the row: inner join, so the
        # engine can drive the join from the (smaller) aggregated rows
        inner = isinstance(bq.target, BAgg) and with_target and not forecast and (
            bq.target.func in ("AVG", "MIN", "MAX", "FIRST", "LAST")
            or (bq.target.func == "LIST_DISTINCT" and s.list_drop_empty))
        group = False
        target_sql = None
        if use_target:
            target = bq.target
            if isinstance(target, BCol) and target.join.kind == "child":
                child_join = self.child_target_cte(target)
                target_sql = "c.v"
            elif isinstance(target, BCol):
                target_sql = self.col(target, ctx)
            elif isinstance(target, BAgg) and forecast:
                group = True
                target_sql = self.forecast_target(target, select)
            elif isinstance(target, BAgg):
                # inner-joined: no COALESCE; a NULL list (no non-null values) is dropped
                target_sql = f"g{target.index}.v" if inner else self.agg_ref(target)
            else:
                target_sql = self.cond(target, ctx)
            if s.target_mode == "static_missing":
                where.append(f"({target_sql}) IS NULL")
            elif not group:
                select.append(f"{target_sql} AS \"TARGET\"")
        if s.list_weight is not None and with_target and isinstance(bq.target, BAgg):
            select.append(f"g{bq.target.index}.wv AS \"WEIGHT\"")
        if s.weight is not None and with_target:
            select.append(f"{self.col(s.weight, ctx)} AS \"WEIGHT\"")
            where.append(f"{self.col(s.weight, ctx)} IS NOT NULL")

        joins = [self.join_sql(ctx, ent, None)]
        if child_join:
            joins.append(child_join)
        joined: set[int] = set()
        for agg in aggs:
            if (agg.index in target_aggs and forecast) or agg.index in joined:
                continue
            joined.add(agg.index)
            kind = "JOIN" if inner and agg is bq.target else "LEFT JOIN"
            joins.append(f"{kind} __g{agg.index} g{agg.index} ON g{agg.index}.__a = a.__a "
                         f"AND g{agg.index}.__e = {pk}")
        from_sql = f"FROM __anchors a CROSS JOIN {self.rel(ent)} e"
        if group:
            assert isinstance(bq.target, BAgg)
            idx = bq.target.index
            from_sql += (f"\n  CROSS JOIN range({self.p.add(-s.num_lags)}, "
                         f"{self.p.add(s.num_forecasts)}) k(__k)")
            joins.append(f"LEFT JOIN __g{idx} g{idx} ON g{idx}.__a = a.__a AND g{idx}.__k = "
                         f"k.__k AND g{idx}.__e = {pk}")
        body = (f"SELECT {', '.join(select)}\n  {from_sql}\n  "
                + "\n  ".join(j for j in joins if j)
                + (f"\n  WHERE {' AND '.join(where)}" if where else "")
                + (f"\n  GROUP BY {pk}, a.__a" if group else ""))
        outer_where = []
        if with_target and not (inner and not group):  # inner-joined values are never NULL
            outer_where.append("\"TARGET\" IS NOT NULL")
            if group:
                outer_where.append("NOT \"__incomplete\"")
            if s.list_drop_empty and not inner:
                outer_where.append("len(\"TARGET\") > 0")
        sql = "WITH " + ",\n".join(self.ctes) + f"\nSELECT * FROM (\n  {body}\n) __t"
        if outer_where:
            sql += "\nWHERE " + " AND ".join(outer_where)
        outputs = ["ENTITY", "__anchor"] + (["TARGET"] if with_target else [])
        return LabelSql(sql, self.p.values, outputs)

    def forecast_target(self, agg: BAgg, select: list[str]) -> str:
        """Aggregate the stepped CTE into a TARGET list (and LAG_j columns)."""
        ref = self.agg_ref(agg).replace(f"g{agg.index}.v", f"g{agg.index}.v")
        select.append(f"list({ref} ORDER BY k.__k) FILTER (WHERE k.__k >= 0) AS \"TARGET\"")
        select.append(f"bool_or(({ref}) IS NULL) FILTER (WHERE k.__k >= 0) AS \"__incomplete\"")
        for j in range(1, self.s.num_lags + 1):
            select.append(f"max(CASE WHEN k.__k = {self.p.add(-j)} THEN {ref} END) "
                          f"AS \"LAG_{j}\"")
        return ref

    def child_target_cte(self, target: BCol) -> str:
        """Static target on a child table: the latest non-null value per entity."""
        table = self.graph.tables[target.table]
        fkey = quote_ident(target.join.fkey or "")
        col = quote_ident(target.column)
        order = f"(c.{TIME}, c.{ROW})" if table.time_column is not None else f"c.{ROW}"
        self.ctes.append(
            f"__child AS (SELECT c.{fkey} AS __e, arg_max(c.{col}, {order}) AS v "
            f"FROM {self.rel(target.table)} c WHERE c.{fkey} IS NOT NULL AND c.{col} IS NOT NULL "
            "GROUP BY ALL)")
        pk = self.pk(self.bq.entity_table)
        return f"LEFT JOIN __child c ON c.__e = e.{pk}"


def _aggs(cond: BCond) -> list[BAgg]:
    from relgraph.pquery.binder import _aggs_in

    return _aggs_in(cond)


def build_label_sql(bq: BoundQuery, graph: Any, anchors: list[int], *, temporal: bool,
                    mode: str = "train", list_drop_empty: bool = False, num_forecasts: int = 1,
                    num_lags: int = 0, weight: BCol | None = None,
                    forecast: bool = False, list_weight: str | None = None,
                    link_table: str | None = None) -> LabelSql:
    """The statement computing ``(ENTITY, __anchor, TARGET[, LAG_j][, WEIGHT])`` rows.

    ``mode``: ``train`` (labelled rows), ``predict`` (entities passing the filters, no target)
    or ``static_missing`` (entities whose static target is missing).
    """
    settings = _Settings(temporal=temporal, target_mode=mode, list_drop_empty=list_drop_empty,
                         num_forecasts=num_forecasts, num_lags=num_lags, weight=weight,
                         forecast=forecast, list_weight=list_weight,
                         link_table=link_table)
    return _Builder(bq, graph, Params(), settings).build(anchors)
