"""Render the DuckDB SQL that PQL compiles to as Spark SQL (one logical plan, two engines).

:mod:`relgraph.pquery.sql` emits one statement in DuckDB's dialect with ``$n`` parameters.
:func:`to_spark_sql` parses it with sqlglot, inlines the bound parameters as typed literals
and rewrites the few constructs sqlglot does not map with the same meaning:

* ``list(x ORDER BY k)`` -> ``transform(array_sort(collect_list(struct(k, x))), s -> s.v)``
  (``FILTER`` moved onto ``collect_list``); ``list(DISTINCT x ORDER BY x)`` ->
  ``array_sort(collect_set(x))``;
* ``arg_min/arg_max(x, (a, b))`` -> ``min_by/max_by(x, struct(a, b))``;
* ``range(lo, hi) k(c)`` -> ``(SELECT id AS c FROM range(lo, hi)) k``;
* ``len(list)`` -> ``size(list)``.

Everything else (``GROUP BY ALL``, ``FILTER``, ``bool_or``, ``epoch`` -> ``unix_timestamp``,
identifier quoting, null ordering) is sqlglot's own DuckDB -> Spark mapping. The Spark
session must run in UTC (``spark.sql.session.timeZone``), as relgraph's times are UTC.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["literal", "to_spark_sql"]


def literal(value: Any) -> Any:
    """A sqlglot expression for a bound parameter value (typed like DuckDB binds it)."""
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, (bool, np.bool_)):
        return exp.Boolean(this=bool(value))
    if isinstance(value, (int, np.integer)):
        number = int(value)
        lit = exp.Literal.number(abs(number))
        return exp.Neg(this=lit) if number < 0 else lit
    if isinstance(value, (float, np.floating)):
        return exp.Cast(this=exp.Literal.string(repr(float(value))),
                        to=exp.DataType.build("DOUBLE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (pd.Timestamp, _dt.datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return exp.Cast(this=exp.Literal.string(ts.isoformat(sep=" ")),
                        to=exp.DataType.build("TIMESTAMP"))
    if isinstance(value, _dt.date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()),
                        to=exp.DataType.build("DATE"))
    if isinstance(value, (list, tuple, np.ndarray)):
        return exp.Array(expressions=[literal(v) for v in value])
    raise TypeError(f"Cannot inline a parameter of type {type(value).__name__}")


def _spark(text: str) -> Any:
    import sqlglot

    return sqlglot.parse_one(text, read="spark")


def _list_agg(node: Any, where: Any | None) -> Any:
    """``list(x ORDER BY k)`` (an ``ArrayAgg``) as a Spark expression with the same order."""
    from sqlglot import exp

    inner = node.this
    order = None
    if isinstance(inner, exp.Order):
        order = [o.this for o in inner.expressions]
        inner = inner.this
    distinct = isinstance(inner, exp.Distinct)
    value = inner.expressions[0] if distinct else inner

    def filtered(agg: Any) -> Any:
        return exp.Filter(this=agg, expression=where.copy()) if where is not None else agg

    if distinct and (order is None or (len(order) == 1 and order[0] == value)):
        return exp.Anonymous(this="array_sort", expressions=[
            filtered(exp.Anonymous(this="collect_set", expressions=[value.copy()]))])
    if distinct:
        raise ValueError("list(DISTINCT x ORDER BY y) with y != x has no Spark equivalent")
    if not order:
        return filtered(exp.Anonymous(this="collect_list", expressions=[value.copy()]))
    fields = [exp.Alias(this=k.copy(), alias=exp.to_identifier(f"k{i}"))
              for i, k in enumerate(order)]
    fields.append(exp.Alias(this=value.copy(), alias=exp.to_identifier("v")))
    struct = exp.Anonymous(this="struct", expressions=fields)
    collected = filtered(exp.Anonymous(this="collect_list", expressions=[struct]))
    out = _spark("transform(array_sort(__rg_list), __rg_s -> __rg_s.v)")
    for col in out.find_all(exp.Column):
        if col.name == "__rg_list":
            col.replace(collected)
            break
    return out


def _rewrite(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        return _list_agg(node.this, node.expression)
    if isinstance(node, exp.ArrayAgg):
        return _list_agg(node, None)
    if isinstance(node, (exp.ArgMin, exp.ArgMax)) and isinstance(node.expression, exp.Tuple):
        name = "min_by" if isinstance(node, exp.ArgMin) else "max_by"
        struct = exp.Anonymous(this="struct", expressions=[
            e.copy() for e in node.expression.expressions])
        return exp.Anonymous(this=name, expressions=[node.this.copy(), struct])
    if isinstance(node, exp.Length):
        # pquery.sql uses len() on lists only
        return exp.Anonymous(this="size", expressions=[node.this.copy()])
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        series = node.this
        alias = node.args.get("alias")
        name = alias.name if alias is not None else "__rg_range"
        cols = alias.columns if alias is not None and alias.columns else []
        col = cols[0].name if cols else "id"
        start = series.args["start"].sql("spark")
        end = series.args["end"].sql("spark")
        if not series.args.get("is_end_exclusive"):
            end = f"({end}) + 1"
        sub = _spark(f"SELECT id AS `{col}` FROM range({start}, {end})")
        return exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(name)))
    return node


def to_spark_sql(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> str:
    """Spark SQL for a DuckDB statement with ``$n`` (or ``$name``) parameters inlined."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    values: dict[str, Any] = {}
    if isinstance(params, dict):
        values = {str(k): v for k, v in params.items()}
    elif params is not None:
        values = {str(i): v for i, v in enumerate(params, 1)}

    def bind(node: Any) -> Any:
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            key = str(node.name or node.this)
            if key not in values:
                raise KeyError(f"No value bound for parameter ${key}")
            return literal(values[key])
        return node

    tree = tree.transform(bind)
    tree = tree.transform(_rewrite)
    return tree.sql(dialect="spark")
