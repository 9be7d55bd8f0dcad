"""Small seeded graphs with a learnable signal, and small plans, shared by the tests of the
trainer, the training loop, the job system and the distributed runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import relgraph as rg
from relgraph.plan.model_plan import EarlyStoppingConfig, ModelPlan, RunMode
from relgraph.plan.suggest import suggest_model_plan
from relgraph.task import TaskType

__all__ = ["CHURN", "SPEND", "make_activity_db", "make_data", "make_plan", "make_purchase_db",
           "small_plan"]

CHURN = "PREDICT COUNT(events.*, 0, 14, days) = 0 FOR EACH users.user_id"
SPEND = "PREDICT SUM(events.amount, 0, 14, days) FOR EACH users.user_id"


def make_activity_db(seed: int = 0, num_users: int = 300, days: int = 240) -> rg.Graph:
    """Users whose event rate (and spend) is persistent, so the past predicts the future."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(mean=-2.0, sigma=1.2, size=num_users)      # events per day
    tiers = rng.choice(["gold", "silver", "bronze"], num_users)
    start = pd.Timestamp("2022-01-01")
    rows = []
    for u in range(num_users):
        n = rng.poisson(rate[u] * days)
        t = np.sort(rng.uniform(0, days, n))
        amounts = rng.gamma(2, 5 + 20 * rate[u], n)
        rows += [(u, start + pd.Timedelta(days=float(x)), float(a)) for x, a in zip(t, amounts)]
    events = pd.DataFrame(rows, columns=["user_id", "ts", "amount"])
    events.insert(0, "event_id", np.arange(len(events)))
    users = pd.DataFrame({"user_id": np.arange(num_users), "tier": tiers})
    return rg.Graph(
        tables={"users": rg.Table.from_dataframe(users, "users", primary_key="user_id"),
                "events": rg.Table.from_dataframe(events, "events", primary_key="event_id",
                                                  time_column="ts")},
        edges=[rg.Edge("events", "user_id", "users")],
    )


def small_plan(task_type: TaskType, epochs: int = 3, seed: int = 0) -> ModelPlan:
    """A FAST plan cut down to one trial of a few short epochs."""
    plan = suggest_model_plan(task_type, RunMode.FAST, num_train_examples=2000)
    plan.training_job.num_experiments = 1
    plan.training_job.manual_seed = seed
    plan.optimization.max_epochs = epochs
    plan.optimization.min_steps_per_epoch = 1
    plan.optimization.max_steps_per_epoch = 8
    plan.optimization.batch_size = [128]
    plan.optimization.base_lr = [5e-3]
    plan.neighbor_sampling.num_neighbors = [[8, 4]]
    return plan


def make_purchase_db(seed: int = 0, num_users: int = 200, num_items: int = 40,
                     days: int = 180) -> rg.Graph:
    """Users who keep buying from their own small favourite set of items."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    rows = []
    for u in range(num_users):
        favourites = rng.choice(num_items, 3, replace=False)
        n = rng.poisson(days / 6)
        for x in np.sort(rng.uniform(0, days, n)):
            item = rng.choice(favourites) if rng.random() < 0.8 else rng.integers(num_items)
            rows.append((u, int(item), start + pd.Timedelta(days=float(x))))
    buys = pd.DataFrame(rows, columns=["user_id", "item_id", "ts"])
    buys.insert(0, "buy_id", np.arange(len(buys)))
    return rg.Graph(
        tables={"users": rg.Table.from_dataframe(pd.DataFrame({"user_id": range(num_users)}),
                                                 "users", primary_key="user_id"),
                "items": rg.Table.from_dataframe(
                    pd.DataFrame({"item_id": range(num_items),
                                  "price": rng.uniform(1, 50, num_items)}),
                    "items", primary_key="item_id"),
                "buys": rg.Table.from_dataframe(buys, "buys", primary_key="buy_id",
                                                time_column="ts")},
        edges=[rg.Edge("buys", "user_id", "users"), rg.Edge("buys", "item_id", "items")],
    )


def make_data(seed: int = 0) -> tuple[rg.Graph, Any]:
    """40 customers with orders; the target (churn) depends on the number of orders."""
    rng = np.random.default_rng(seed)
    n = 40
    customers = pd.DataFrame({"customer_id": np.arange(n, dtype=np.int64),
                              "age": rng.integers(18, 80, n).astype(float),
                              "segment": rng.choice(["a", "b", "c"], n)})
    counts = rng.integers(0, 8, n)
    cust = np.repeat(np.arange(n), counts)
    orders = pd.DataFrame({"order_id": np.arange(len(cust), dtype=np.int64),
                           "customer_id": cust,
                           "amount": rng.gamma(2.0, 10.0, len(cust)),
                           "ts": pd.Timestamp("2022-01-01")
                           + pd.to_timedelta(rng.integers(0, 300, len(cust)), unit="D")})
    graph = rg.Graph(tables={
        "customers": rg.Table.from_dataframe(customers, "customers",
                                             primary_key="customer_id"),
        "orders": rg.Table.from_dataframe(orders, "orders", primary_key="order_id",
                                          time_column="ts")},
        edges=[("orders", "customer_id", "customers")])
    labels = pd.DataFrame({"cid": np.arange(n), "churn": counts < 3,
                           "split": np.where(np.arange(n) < 28, "train",
                                             np.where(np.arange(n) < 34, "val", "test"))})
    table = rg.TrainingTable.from_dataframe(labels, graph, "customers", "cid",
                                            target_column="churn", split_column="split")
    return graph, table


def make_plan(epochs: int = 2, *, no_early_stop: bool = False) -> ModelPlan:
    """A DEBUG binary-classification plan for the job-system tests (seed 3)."""
    plan = suggest_model_plan("binary_classification", RunMode.DEBUG)
    plan.optimization.max_epochs = epochs
    plan.training_job.manual_seed = 3
    if no_early_stop:
        plan.optimization.early_stopping = [EarlyStoppingConfig(min_delta=0.0, patience=10_000)]
    return plan
