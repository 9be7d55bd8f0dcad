"""DuckDB -> Spark SQL rendering of PQL statements (no Spark needed)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("sqlglot")

from relgraph.engine.transpile import to_spark_sql


def test_parameters_are_inlined_as_typed_literals() -> None:
    sql = to_spark_sql("SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d, $5 AS e, $6 AS f",
                       [1_700_000_000_000, -5, 0.1, "it's \\ here", None,
                        pd.Timestamp("2024-01-02 03:04:05")])
    assert "1700000000000 AS a" in sql and "-5 AS b" in sql
    assert "CAST('0.1' AS DOUBLE)" in sql
    assert "NULL AS e" in sql and "CAST('2024-01-02 03:04:05' AS TIMESTAMP)" in sql
    with pytest.raises(KeyError):
        to_spark_sql("SELECT $2", [1])


def test_duckdb_constructs_are_rewritten() -> None:
    sql = to_spark_sql(
        "SELECT arg_min(f.x, (f.t, f.r)) AS a, list(DISTINCT f.x ORDER BY f.x) AS b, "
        "list(f.v ORDER BY k.__k) FILTER (WHERE k.__k >= 0) AS c, len(b) AS d "
        "FROM __anchors a, range($1, $2) k(__k), t f GROUP BY ALL", [-2, 3])
    up = sql.upper()
    assert "MIN_BY(F.X, STRUCT(F.T, F.R))" in up
    assert "ARRAY_SORT(COLLECT_SET(F.X))" in up
    assert "COLLECT_LIST(STRUCT(K.__K AS K0, F.V AS V)) FILTER(WHERE" in up
    assert "SIZE(B)" in up and "GROUP BY ALL" in up
    assert "RANGE(-2, 3)" in up and "AS `__k`" in sql
