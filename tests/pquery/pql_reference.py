"""A slow, obvious pandas reference for PQL labels, used to check the generated SQL.

It loops over anchors, entities and rows in Python and evaluates the parsed query directly
(SQL three-valued logic with ``None`` as *unknown*). Nothing here is shared with the SQL path
except the parser's AST and the graph's metadata.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from relgraph.graph import Graph
from relgraph.pquery import ast

UNIT = ast.UNIT_SECONDS
NULL_TIME = np.iinfo(np.int64).min


def _secs(series: pd.Series) -> list[int | None]:
    out: list[int | None] = []
    for v in series:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or pd.isna(v):
            out.append(None)
        else:
            out.append(int(pd.Timestamp(v).value // 1_000_000_000))
    return out


def _val(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


class Reference:
    """Evaluate a query over a graph at given anchors (epoch seconds)."""

    def __init__(self, graph: Graph, query: ast.Query) -> None:
        self.g = graph
        self.q = query
        self.ent = query.entity.table
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.times: dict[str, list[int | None]] = {}
        for name, table in graph.tables.items():
            df = table.data.reset_index(drop=True)
            self.rows[name] = [{c: _val(v) for c, v in rec.items()}
                               for rec in df.astype(object).to_dict("records")]
            self.times[name] = _secs(df[table.time_column]) if table.time_column else \
                [None] * len(df)

    def fkey(self, src: str, dst: str) -> str:
        keys = [e.fkey for e in self.g.edges if e.src_table == src and e.dst_table == dst]
        assert len(keys) == 1
        return keys[0]

    def pk_row(self, table: str, key: Any) -> dict[str, Any] | None:
        pk = self.g.tables[table].primary_key
        for row in self.rows[table]:
            if key is not None and row[pk] == key:
                return row
        return None

    # -- values ----------------------------------------------------------------
    def column(self, ref: ast.ColumnRef, row_table: str, row: dict[str, Any],
               entity_row: dict[str, Any] | None) -> Any:
        if ref.table == row_table:
            return row[ref.column]
        if entity_row is not None and ref.table == self.ent:
            return entity_row[ref.column]
        parent = self.pk_row(ref.table, row[self.fkey(row_table, ref.table)])
        return None if parent is None else parent[ref.column]

    def cond(self, node: Any, row_table: str, row: dict[str, Any],
             entity_row: dict[str, Any] | None, anchor: int, temporal: bool) -> bool | None:
        if isinstance(node, ast.BoolOp):
            vals = [self.cond(o, row_table, row, entity_row, anchor, temporal)
                    for o in node.operands]
            if node.op == "AND":
                if any(v is False for v in vals):
                    return False
                return None if any(v is None for v in vals) else True
            if any(v is True for v in vals):
                return True
            return None if any(v is None for v in vals) else False
        if isinstance(node, ast.Not):
            v = self.cond(node.operand, row_table, row, entity_row, anchor, temporal)
            return None if v is None else not v
        if isinstance(node, ast.ColumnRef):
            v = self.column(node, row_table, row, entity_row)
            return None if v is None else bool(v)
        assert isinstance(node, ast.Comparison)
        if isinstance(node.left, ast.Aggregation):
            left = self.agg(node.left, row, anchor, temporal)
        else:
            left = self.column(node.left, row_table, row, entity_row)
        return self.compare(left, node)

    def compare(self, left: Any, node: ast.Comparison) -> bool | None:
        op = node.op
        if op == "IS NULL":
            return left is None
        if op == "IS NOT NULL":
            return left is not None
        if left is None:
            return None
        if op in ("IN", "NOT IN"):
            assert isinstance(node.right, ast.LiteralList)
            values = [self.const(v, left) for v in node.right.values]
            hit = any(left == v for v in values)
            return hit if op == "IN" else not hit
        assert isinstance(node.right, ast.Literal)
        right = self.const(node.right, left)
        if op.endswith("CONTAINS"):
            res = right in left
        elif op.endswith("STARTS WITH"):
            res = left.startswith(right)
        elif op.endswith("ENDS WITH"):
            res = left.endswith(right)
        elif op.endswith("LIKE"):
            pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                              for c in right)
            res = re.fullmatch(pattern, left, re.S) is not None
        else:
            res = {"=": left == right, "!=": left != right, "<": left < right,
                   "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        if op.startswith("NOT "):
            return not res
        return bool(res)

    @staticmethod
    def const(lit: ast.Literal, like: Any) -> Any:
        v = lit.value
        if isinstance(like, bool) and lit.kind == "int":
            return bool(v)
        if hasattr(like, "year") and lit.kind in ("str", "datetime"):
            return pd.Timestamp(v).to_pydatetime()
        if isinstance(like, str) and lit.kind in ("int", "float"):
            return str(v)
        return v

    # -- aggregation -----------------------------------------------------------
    def agg(self, node: ast.Aggregation, entity_row: dict[str, Any], anchor: int,
            temporal: bool) -> Any:
        table = node.column.table
        fkey = self.fkey(table, self.ent)
        pk = entity_row[self.g.tables[self.ent].primary_key]
        has_time = self.g.tables[table].time_column is not None
        picked: list[tuple[tuple[int, int], Any]] = []
        for i, row in enumerate(self.rows[table]):
            if row[fkey] is None or row[fkey] != pk:
                continue
            t = self.times[table][i]
            if node.window is not None:
                if t is None:
                    continue
                start = node.window.start
                unit = UNIT[node.window.unit]
                if start is not None and not t > anchor + start * unit:
                    continue
                if not t <= anchor + node.window.end * unit:
                    continue
            elif temporal and has_time and (t is None or t > anchor):
                continue
            if node.where is not None and self.cond(node.where, table, row, entity_row,
                                                    anchor, temporal) is not True:
                continue
            value = None if node.column.is_star else row[node.column.column]
            picked.append((((t if t is not None else -(2**63) + 1), i), value))
        func = node.func
        if func == "COUNT":
            return len(picked) if node.column.is_star else sum(v is not None for _, v in picked)
        values = [v for _, v in picked if v is not None]
        if func == "COUNT_DISTINCT":
            return len(set(values))
        if func == "SUM":
            return sum(values) if values else 0
        if func == "LIST_DISTINCT":
            return sorted(set(values))
        if not values:
            return None
        if func == "AVG":
            return sum(values) / len(values)
        if func == "MIN":
            return min(values)
        if func == "MAX":
            return max(values)
        ordered = sorted(((k, v) for k, v in picked if v is not None), key=lambda kv: kv[0])
        return ordered[0][1] if func == "FIRST" else ordered[-1][1]

    # -- table -----------------------------------------------------------------
    def labels(self, anchors: list[int], temporal: bool = True, with_target: bool = True,
               drop_empty_lists: bool = False) -> pd.DataFrame:
        ent_table = self.g.tables[self.ent]
        pk = ent_table.primary_key
        out = []
        for anchor in anchors:
            for i, row in enumerate(self.rows[self.ent]):
                t = self.times[self.ent][i]
                if temporal and t is not None and t > anchor:
                    continue
                end_col = ent_table.end_time_column
                if temporal and end_col is not None and row[end_col] is not None and \
                        int(pd.Timestamp(row[end_col]).value // 10**9) <= anchor:
                    continue
                if self.q.entity_filter is not None and self.cond(
                        self.q.entity_filter, self.ent, row, None, anchor, temporal) is not True:
                    continue
                if not with_target:
                    out.append((row[pk], anchor, None))
                    continue
                target = self.q.target
                if isinstance(target, ast.Aggregation):
                    value = self.agg(target, row, anchor, temporal)
                elif isinstance(target, ast.ColumnRef):
                    value = self.column(target, self.ent, row, None)
                else:
                    value = self.cond(target, self.ent, row, None, anchor, temporal)
                if value is None or (drop_empty_lists and value == []):
                    continue
                out.append((row[pk], anchor, value))
        df = pd.DataFrame(out, columns=["ENTITY", "__anchor", "TARGET"])
        return df.sort_values(["__anchor", "ENTITY"], kind="stable").reset_index(drop=True)
