"""The Spark engine computes the same training/prediction tables as DuckDB (local Spark)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")

from relgraph.engine import DuckDBEngine, use_engine
from relgraph.engine.spark import SparkEngine
from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import PredictiveQuery
from relgraph.pquery.export import (
    read_table,
    write_prediction_table,
    write_training_table,
)

pytestmark = pytest.mark.spark

START = pd.Timestamp("2022-01-01")


def shop() -> Graph:
    rng = np.random.default_rng(0)
    n_users, n_orders, n_products = 40, 600, 15
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int64),
        "signup": START + pd.to_timedelta(rng.integers(0, 200, n_users), unit="D"),
        "age": rng.integers(18, 70, n_users).astype(float),
        "tier": rng.choice(["gold", "silver", "bronze"], n_users),
        "tags": [rng.choice(["a|b", "b", "a|c|d", "d"]) for _ in range(n_users)],
    })
    users.loc[3, "signup"] = pd.NaT
    products = pd.DataFrame({
        "product_id": np.arange(n_products, dtype=np.int64),
        "category": rng.choice(["toys", "food", "tools"], n_products),
        "price": rng.uniform(1, 50, n_products),
    })
    orders = pd.DataFrame({
        "order_id": np.arange(n_orders, dtype=np.int64),
        "user_id": rng.integers(0, n_users + 2, n_orders),  # some dangling keys
        "product_id": rng.integers(0, n_products, n_orders),
        "ts": START + pd.to_timedelta(rng.integers(0, 365 * 24, n_orders) // 24 * 24,
                                      unit="h"),  # ties on the day
        "amount": rng.uniform(1, 100, n_orders).round(2),
        "status": rng.choice(["paid", "refunded", "open", "o'quote"], n_orders),
    })
    orders.loc[::17, "amount"] = np.nan
    t = {
        "users": Table.from_dataframe(users, name="users", primary_key="user_id",
                                      time_column="signup"),
        "products": Table.from_dataframe(products, name="products", primary_key="product_id"),
        "orders": Table.from_dataframe(orders, name="orders", primary_key="order_id",
                                       time_column="ts"),
    }
    t["users"]["tier"].stype = "categorical"
    t["users"]["tags"].stype = "multicategorical"
    t["orders"]["status"].stype = "categorical"
    return Graph(tables=t, edges=[Edge("orders", "user_id", "users"),
                                  Edge("orders", "product_id", "products")])


@pytest.fixture(scope="module")
def graphs(spark: Any) -> tuple[Graph, Graph]:
    duck = shop()
    sgraph = Graph(tables=dict(duck.tables), edges=list(duck.edges))
    use_engine(sgraph, SparkEngine(sgraph, spark))
    return duck, sgraph


QUERIES = [
    "PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH users.user_id "
    "WHERE COUNT(orders.*, -90, 0, days) > 0",
    "PREDICT SUM(orders.amount WHERE orders.status = 'paid', 0, 30) FOR EACH users.user_id",
    "PREDICT AVG(orders.amount, 0, 30) FOR EACH users.user_id WHERE users.tier IN "
    "('gold', 'silver')",
    "PREDICT MAX(orders.amount, 0, 14) > 50 FOR EACH users.user_id",
    "PREDICT FIRST(orders.status, 0, 30) FOR EACH users.user_id",
    "PREDICT LAST(orders.status WHERE orders.status LIKE 'o%', 0, 60) FOR EACH users.user_id",
    "PREDICT COUNT_DISTINCT(orders.product_id, 0, 30) FOR EACH users.user_id",
    "PREDICT LIST_DISTINCT(orders.status, 0, 30) CLASSIFY FOR EACH users.user_id",
    "PREDICT LIST_DISTINCT(orders.product_id, 0, 30) RANK TOP 5 FOR EACH users.user_id",
    "PREDICT SUM(orders.amount, 0, 7) FORECAST 3 TIMEFRAMES FOR EACH users.user_id",
    "PREDICT COUNT(orders.* WHERE products.category = 'toys', 0, 30) > 0 "
    "FOR EACH users.user_id",
    "PREDICT users.tier FOR EACH users.user_id",
    "PREDICT users.tags CLASSIFY FOR EACH users.user_id",
    "PREDICT LIST_DISTINCT(orders.product_id) RANK TOP 5 FOR EACH users.user_id",
]


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Row for row: same columns and rows; floats equal up to summation order."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("query", QUERIES)
def test_training_table_matches_duckdb(graphs: tuple[Graph, Graph], query: str) -> None:
    duck, sgraph = graphs
    assert isinstance(duck.engine, DuckDBEngine) and isinstance(sgraph.engine, SparkEngine)
    a = PredictiveQuery(duck, query).generate_training_table().data_df()
    b = PredictiveQuery(sgraph, query).generate_training_table().data_df()
    assert len(a) > 0
    assert_same(a, b)


@pytest.mark.parametrize("query", [QUERIES[0], QUERIES[12]])
def test_prediction_table_matches_duckdb(graphs: tuple[Graph, Graph], query: str) -> None:
    duck, sgraph = graphs
    a = PredictiveQuery(duck, query).generate_prediction_table().data_df()
    b = PredictiveQuery(sgraph, query).generate_prediction_table().data_df()
    assert_same(a, b)


def test_partitioned_parquet_from_both_engines(graphs: tuple[Graph, Graph],
                                               tmp_path: Path) -> None:
    duck, sgraph = graphs
    query = QUERIES[0]
    ref = PredictiveQuery(duck, query).generate_training_table().data_df()
    for name, g in (("duck", duck), ("spark", sgraph)):
        out = write_training_table(PredictiveQuery(g, query), tmp_path / name)
        assert {p.name for p in out.iterdir() if p.is_dir()} == \
            {"SPLIT=train", "SPLIT=val", "SPLIT=test"}
        got = read_table(out)[list(ref.columns)]
        assert_same(ref, got)
        pred = read_table(write_prediction_table(PredictiveQuery(g, query),
                                                 tmp_path / f"{name}_pred"))
        want = PredictiveQuery(duck, query).generate_prediction_table().data_df()
        assert_same(want, pred[list(want.columns)])


def test_tables_from_parquet_sources(graphs: tuple[Graph, Graph], spark: Any,
                                     tmp_path: Path) -> None:
    """Tables registered from a Parquet folder (data in the cluster) give the same labels."""
    duck, _ = graphs
    folder = tmp_path / "orders"
    folder.mkdir()
    orders = duck["orders"].data
    orders.iloc[:300].to_parquet(folder / "part-0.parquet", index=False)
    orders.iloc[300:].to_parquet(folder / "part-1.parquet", index=False)
    g = Graph(tables=dict(duck.tables), edges=list(duck.edges))
    use_engine(g, SparkEngine(g, spark, sources={"orders": str(folder)}))
    for query in (QUERIES[0], QUERIES[5]):
        assert_same(PredictiveQuery(duck, query).generate_training_table().data_df(),
                    PredictiveQuery(g, query).generate_training_table().data_df())


def test_init_selects_the_spark_engine(spark: Any, tmp_path: Path) -> None:
    import relgraph
    from relgraph import config

    saved = config._settings
    try:
        relgraph.init(tmp_path, engine="spark", spark_session=spark)
        g = shop()
        assert isinstance(g.engine, SparkEngine) and g.engine.spark is spark
        relgraph.init(tmp_path)
        assert isinstance(shop().engine, DuckDBEngine)
    finally:
        config._settings = saved
