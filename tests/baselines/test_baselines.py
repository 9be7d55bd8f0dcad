"""Baselines for every task type: the constant, and LightGBM where the features carry signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relgraph as rg
from relgraph.baselines.run import run_baselines

pytest.importorskip("lightgbm")

CATEGORIES = ["books", "games", "garden", "music"]


@pytest.fixture(scope="module")
def shop() -> rg.Graph:
    """Users who spend at a steady personal rate, mostly in their favourite category."""
    rng = np.random.default_rng(3)
    n_users, days = 150, 240
    favourite = rng.choice(CATEGORIES, n_users)
    rate = rng.lognormal(-1.0, 0.8, n_users)
    rows = []
    for u in range(n_users):
        for t in np.sort(rng.uniform(0, days, rng.poisson(rate[u] * days))):
            cat = favourite[u] if rng.random() < 0.85 else rng.choice(CATEGORIES)
            rows.append((u, pd.Timestamp("2023-01-01") + pd.Timedelta(days=float(t)), cat,
                         float(rng.gamma(2.0, 5.0 + 10 * rate[u]))))
    orders = pd.DataFrame(rows, columns=["user_id", "ts", "category", "amount"])
    orders.insert(0, "order_id", np.arange(len(orders)))
    users = pd.DataFrame({"user_id": np.arange(n_users), "favourite": favourite})
    graph = rg.Graph(
        tables={"users": rg.Table.from_dataframe(users, "users", primary_key="user_id"),
                "orders": rg.Table.from_dataframe(orders, "orders", primary_key="order_id",
                                                  time_column="ts")},
        edges=[rg.Edge("orders", "user_id", "users")])
    graph["orders"]["category"].stype = "categorical"
    graph["users"]["favourite"].stype = "categorical"
    return graph


def baselines(graph: rg.Graph, query: str, metrics: list[str] | None = None) -> dict:
    table = rg.PredictiveQuery(graph, query).generate_training_table()
    return run_baselines(graph, table, metrics=metrics)


def test_forecasting_baselines_score_every_step(shop: rg.Graph) -> None:
    out = baselines(shop, "PREDICT SUM(orders.amount, 0, 14, days) FORECAST 3 TIMEFRAMES "
                          "FOR EACH users.user_id", ["mae"])
    assert set(out) == {"mean", "lightgbm_entity", "lightgbm_aggregated"}
    mean, agg = out["mean"]["test"]["mae"], out["lightgbm_aggregated"]["test"]["mae"]
    assert mean is not None and agg is not None
    assert agg < mean  # past spend predicts future spend; the mean cannot know it


def test_multilabel_baselines_learn_from_entity_columns(shop: rg.Graph) -> None:
    query = ("PREDICT LIST_DISTINCT(orders.category, 0, 30, days) CLASSIFY "
             "FOR EACH users.user_id WHERE COUNT(orders.*, -30, 0, days) > 0")
    out = baselines(shop, query, ["auroc_macro", "acc"])
    assert out["majority"]["test"]["auroc_macro"] == pytest.approx(0.5)
    assert out["lightgbm_entity"]["test"]["auroc_macro"] > 0.65  # favourite -> category
    ranked = baselines(shop, query.replace("CLASSIFY", "RANK TOP 2"), ["map@2"])
    assert ranked["lightgbm_entity"]["test"]["map@2"] > ranked["majority"]["test"]["map@2"]


def test_link_prediction_baseline_is_global_popularity() -> None:
    rng = np.random.default_rng(0)
    buys = pd.DataFrame({"buy_id": np.arange(600), "user_id": rng.integers(0, 40, 600),
                         "item_id": rng.choice(10, 600, p=np.r_[0.5, np.full(9, 0.5 / 9)]),
                         "ts": pd.Timestamp("2023-01-01")
                         + pd.to_timedelta(rng.uniform(0, 200, 600), "D")})
    graph = rg.Graph(
        tables={"users": rg.Table.from_dataframe(pd.DataFrame({"user_id": range(40)}),
                                                 "users", primary_key="user_id"),
                "items": rg.Table.from_dataframe(pd.DataFrame({"item_id": range(10)}),
                                                 "items", primary_key="item_id"),
                "buys": rg.Table.from_dataframe(buys, "buys", primary_key="buy_id",
                                                time_column="ts")},
        edges=[rg.Edge("buys", "user_id", "users"), rg.Edge("buys", "item_id", "items")])
    out = baselines(graph, "PREDICT LIST_DISTINCT(buys.item_id, 0, 30, days) RANK TOP 1 "
                           "FOR EACH users.user_id", ["precision@1"])
    assert set(out) == {"popularity"}
    test = out["popularity"]["test"]["precision@1"]
    table = rg.PredictiveQuery(graph, "PREDICT LIST_DISTINCT(buys.item_id, 0, 30, days) "
                                      "RANK TOP 1 FOR EACH users.user_id"
                               ).generate_training_table().data_df()
    rows = table[(table["SPLIT"] == "test") & (table["TARGET"].map(len) > 0)]
    assert test == pytest.approx(float(rows["TARGET"].map(lambda v: 0 in list(v)).mean()))
