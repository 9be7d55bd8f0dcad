"""Baselines run on the Spark engine and give the same features and metrics as on DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
pytest.importorskip("lightgbm")

import relgraph
from relgraph.baselines.run import aggregated_features, run_baselines
from relgraph.engine import DuckDBEngine, use_engine
from relgraph.engine.spark import SparkEngine
from relgraph.errors import GraphError
from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import PredictiveQuery
from relgraph.training.examples import make_seeds

pytestmark = [pytest.mark.spark, pytest.mark.slow]

START = pd.Timestamp("2022-01-01")
CHURN = ("PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH users.user_id "
         "WHERE COUNT(orders.*, -90, 0, days) > 0")
SPEND = "PREDICT SUM(orders.amount, 0, 30) FOR EACH users.user_id"


def shop() -> Graph:
    """Users and their orders; amounts are whole numbers so sums and means are exact on
    every engine (floating-point summation order cannot differ)."""
    rng = np.random.default_rng(1)
    n_users, n_orders = 80, 1500
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int64),
        "age": rng.integers(18, 70, n_users).astype(float),
        "tier": rng.choice(["gold", "silver", "bronze"], n_users),
    })
    rate = rng.uniform(0.2, 3.0, n_users)
    user = rng.choice(n_users, n_orders, p=rate / rate.sum())
    orders = pd.DataFrame({
        "order_id": np.arange(n_orders, dtype=np.int64),
        "user_id": user.astype(np.int64),
        "ts": START + pd.to_timedelta(rng.integers(0, 365, n_orders), unit="D"),
        "amount": rng.integers(1, 100, n_orders).astype(float),
        "items": rng.integers(1, 5, n_orders).astype(np.int64),
    })
    orders.loc[::23, "amount"] = np.nan
    t = {"users": Table.from_dataframe(users, name="users", primary_key="user_id"),
         "orders": Table.from_dataframe(orders, name="orders", primary_key="order_id",
                                        time_column="ts")}
    t["users"]["tier"].stype = "categorical"
    t["orders"]["items"].stype = "numerical"
    return Graph(tables=t, edges=[Edge("orders", "user_id", "users")])


@pytest.mark.parametrize("query", [CHURN, SPEND])
def test_baselines_on_spark_equal_duckdb(spark: Any, tmp_path: Path, query: str,
                                         restore_settings: None) -> None:
    relgraph.init(tmp_path)
    duck = shop()
    duck_table = PredictiveQuery(duck, query).generate_training_table()
    want = run_baselines(duck, duck_table)
    assert isinstance(duck.engine, DuckDBEngine)

    relgraph.init(tmp_path, engine="spark", spark_session=spark)
    sgraph = shop()
    spark_table = PredictiveQuery(sgraph, query).generate_training_table()
    got = run_baselines(sgraph, spark_table)
    assert isinstance(sgraph.engine, SparkEngine)
    # the aggregated features themselves are equal value for value
    seeds = make_seeds(duck, "users", duck_table.data_df())
    rows, anchors = seeds.rows.numpy(), seeds.time.numpy()
    a = aggregated_features(duck, "users", rows, anchors)
    b = aggregated_features(sgraph, "users", rows, anchors)
    # own: age, tier; orders: 5 windows x (count + 2 columns x 4) + 2 last values + recency
    assert a.shape[1] == 2 + 5 * (1 + 2 * 4) + 2 + 2
    different = [c for c in a.columns if not a[c].equals(b[c]) and not np.allclose(
        a[c].astype(float), b[c].astype(float), rtol=1e-6, equal_nan=True)
        if not isinstance(a[c].dtype, pd.CategoricalDtype)]
    assert different == []
    pd.testing.assert_frame_equal(a, b, rtol=1e-6, atol=0)
    assert "lightgbm_aggregated" in got and set(got) == set(want)
    for name in want:
        for split, metrics in want[name].items():
            assert got[name][split] == pytest.approx(metrics, rel=1e-9, abs=1e-12), (name, split)


def test_baselines_refuse_spark_sources(spark: Any, tmp_path: Path) -> None:
    """With tables read from cluster sources the graph holds only a sample: a clear error."""
    duck = shop()
    folder = tmp_path / "orders"
    folder.mkdir()
    duck["orders"].data.to_parquet(folder / "part-0.parquet", index=False)
    g = Graph(tables=dict(duck.tables), edges=list(duck.edges))
    use_engine(g, SparkEngine(g, spark, sources={"orders": str(folder)}))
    table = PredictiveQuery(duck, CHURN).generate_training_table()
    with pytest.raises(GraphError, match=r"tables \['orders'\] are read by the Spark engine"):
        run_baselines(g, table)
