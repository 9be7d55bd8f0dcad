"""PredictiveQuery: binding errors, task types, training/prediction tables, plans, splits."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import PlanError, PQLError
from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import (
    PredictionTable,
    PredictionTableGenerationPlan,
    PredictiveQuery,
    TrainingTable,
    TrainingTableGenerationPlan,
)
from relgraph.pquery.jobs import TrainingTableJob
from relgraph.pquery.planner import assign_temporal_splits, make_anchors, parse_split
from relgraph.task import QueryType, TaskType

DAY = 86400
START = pd.Timestamp("2022-01-01")


@pytest.fixture(scope="module")
def graph() -> Graph:
    rng = np.random.default_rng(0)
    n_users, n_orders, n_products = 40, 600, 15
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int64),
        "signup": START + pd.to_timedelta(rng.integers(0, 200, n_users), unit="D"),
        "age": rng.integers(18, 70, n_users).astype(float),
        "tier": rng.choice(["gold", "silver", "bronze"], n_users),
        "churned": rng.integers(0, 2, n_users).astype(bool),
        "bio": [f"user {i} likes {'tea' if i % 2 else 'coffee'} and more words" for i in
                range(n_users)],
        "weight": rng.uniform(0.5, 2.0, n_users),
    })
    products = pd.DataFrame({
        "product_id": np.arange(n_products, dtype=np.int64),
        "category": rng.choice(["toys", "food", "tools"], n_products),
        "price": rng.uniform(1, 50, n_products),
    })
    orders = pd.DataFrame({
        "order_id": np.arange(n_orders, dtype=np.int64),
        "user_id": rng.integers(0, n_users, n_orders),
        "product_id": rng.integers(0, n_products, n_orders),
        "ts": START + pd.to_timedelta(rng.integers(0, 365 * 24, n_orders), unit="h"),
        "amount": rng.uniform(1, 100, n_orders).round(2),
        "status": rng.choice(["paid", "refunded", "open"], n_orders),
    })
    profiles = pd.DataFrame({
        "profile_id": np.arange(n_users, dtype=np.int64),
        "user_id": np.arange(n_users, dtype=np.int64),
        "score": rng.normal(size=n_users),
    })
    reviews = pd.DataFrame({  # two foreign keys to users: ambiguous
        "review_id": np.arange(10, dtype=np.int64),
        "author_id": rng.integers(0, n_users, 10),
        "subject_id": rng.integers(0, n_users, 10),
        "ts": START + pd.to_timedelta(np.arange(10), unit="D"),
    })
    t = {
        "users": Table.from_dataframe(users, name="users", primary_key="user_id",
                                      time_column="signup"),
        "products": Table.from_dataframe(products, name="products", primary_key="product_id"),
        "orders": Table.from_dataframe(orders, name="orders", primary_key="order_id",
                                       time_column="ts"),
        "profiles": Table.from_dataframe(profiles, name="profiles", primary_key="profile_id"),
        "reviews": Table.from_dataframe(reviews, name="reviews", primary_key="review_id",
                                        time_column="ts"),
    }
    t["users"]["tier"].stype = "categorical"
    t["users"]["bio"].stype = "text"
    t["orders"]["status"].stype = "categorical"
    t["products"]["category"].stype = "categorical"
    return Graph(tables=t, edges=[
        Edge("orders", "user_id", "users"), Edge("orders", "product_id", "products"),
        Edge("profiles", "user_id", "users"), Edge("reviews", "author_id", "users"),
        Edge("reviews", "subject_id", "users")])


# ----------------------------------------------------------------------------- task types
@pytest.mark.parametrize(("query", "task", "qtype"), [
    ("PREDICT COUNT(orders.*, 0, 30) > 0 FOR EACH users.user_id",
     TaskType.BINARY_CLASSIFICATION, QueryType.TEMPORAL),
    ("PREDICT users.churned FOR EACH users.user_id",
     TaskType.BINARY_CLASSIFICATION, QueryType.STATIC),
    ("PREDICT SUM(orders.amount, 0, 30) FOR EACH users.user_id",
     TaskType.REGRESSION, QueryType.TEMPORAL),
    ("PREDICT users.age FOR EACH users.user_id", TaskType.REGRESSION, QueryType.STATIC),
    ("PREDICT SUM(orders.amount, 0, 7) FORECAST 3 TIMEFRAMES FOR EACH users.user_id",
     TaskType.FORECASTING, QueryType.TEMPORAL),
    ("PREDICT users.tier FOR EACH users.user_id",
     TaskType.MULTICLASS_CLASSIFICATION, QueryType.STATIC),
    ("PREDICT FIRST(orders.status, 0, 30) FOR EACH users.user_id",
     TaskType.MULTICLASS_CLASSIFICATION, QueryType.TEMPORAL),
    ("PREDICT LIST_DISTINCT(orders.status, 0, 30) CLASSIFY FOR EACH users.user_id",
     TaskType.MULTILABEL_CLASSIFICATION, QueryType.TEMPORAL),
    ("PREDICT LIST_DISTINCT(orders.status, 0, 30) RANK TOP 2 FOR EACH users.user_id",
     TaskType.MULTILABEL_RANKING, QueryType.TEMPORAL),
    ("PREDICT LIST_DISTINCT(orders.product_id, 0, 30) RANK TOP 5 FOR EACH users.user_id",
     TaskType.TEMPORAL_LINK_PREDICTION, QueryType.TEMPORAL),
    ("PREDICT LIST_DISTINCT(orders.product_id) RANK TOP 5 FOR EACH users.user_id",
     TaskType.STATIC_LINK_PREDICTION, QueryType.STATIC),
    ("PREDICT profiles.score FOR EACH users.user_id", TaskType.REGRESSION, QueryType.STATIC),
])
def test_task_types(graph: Graph, query: str, task: TaskType, qtype: QueryType) -> None:
    pq = PredictiveQuery(graph, query).validate(verbose=False)
    assert pq.get_task_type() is task
    assert pq.query_type is qtype
    assert pq.entity_table == "users"


def test_link_prediction_properties(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT LIST_DISTINCT(orders.product_id, 0, 30) RANK TOP 5 "
                                "FOR EACH users.user_id")
    assert pq.target_table == "products" and pq.top_k == 5
    pq = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 7) FORECAST 3 TIMEFRAMES "
                                "FOR EACH users.user_id")
    assert pq.num_forecasts == 3 and pq.target_table == "orders"


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("query", "fragment", "pointed"), [
    ("PREDICT COUNT(order.*, 0, 30) FOR EACH users.user_id", "Did you mean 'orders'", "order"),
    ("PREDICT SUM(orders.amout, 0, 30) FOR EACH users.user_id", "Did you mean 'amount'",
     "amout"),
    ("PREDICT SUM(orders.amount, 0, 30) FOR EACH users.age", "primary key", "age"),
    ("PREDICT SUM(orders.amount, -30, 0) FOR EACH users.user_id", "look forward",
     "-30, 0"),
    ("PREDICT SUM(orders.amount, 0, 30) FOR EACH users.user_id "
     "WHERE COUNT(orders.*, 0, 10) > 0", "only look at the past", "0, 10"),
    ("PREDICT COUNT(products.*, 0, 30) FOR EACH users.user_id", "not linked", "products"),
    ("PREDICT COUNT(reviews.*, 0, 30) FOR EACH users.user_id", "Ambiguous", "reviews"),
    ("PREDICT users.user_id FOR EACH users.user_id", "primary key", "user_id"),
    ("PREDICT orders.product_id FOR EACH orders.order_id", "foreign key", "product_id"),
    ("PREDICT users.signup FOR EACH users.user_id", "timestamp", "signup"),
    ("PREDICT users.bio FOR EACH users.user_id", "text", "bio"),
    ("PREDICT SUM(orders.status, 0, 30) FOR EACH users.user_id", "numerical", "status"),
    ("PREDICT LIST_DISTINCT(orders.product_id, 0, 30) FOR EACH users.user_id", "RANK TOP K",
     None),
    ("PREDICT LIST_DISTINCT(orders.status, 0, 30) RANK FOR EACH users.user_id", "TOP K",
     "RANK"),
    ("PREDICT SUM(orders.amount, 0, 30) RANK TOP 3 FOR EACH users.user_id", "only applies",
     "RANK TOP 3"),
    ("PREDICT COUNT(orders.*, 0, 30) > 'x' FOR EACH users.user_id", "numeric", "'x'"),
    ("PREDICT users.churned FOR EACH users.user_id WHERE users.signup > 'soon'", "timestamp",
     "'soon'"),
    ("PREDICT SUM(products.price, 0, 7) FOR EACH products.product_id",
     "not the entity table itself", "products"),
    ("PREDICT COUNT(orders.*, 0, 7) > 0 FOR EACH users.user_id WHERE users.bio CONTAINS 1",
     "quoted", None),
    ("PREDICT users.churned FOR EACH users.user_id ASSUMING COUNT(orders.*, 0, 7) > 0",
     "ASSUMING", None),
    ("PREDICT COUNT(orders.* WHERE products.category = 'toys' AND reviews.ts > 1, 0, 7) "
     "FOR EACH users.user_id", "cannot be used", "reviews"),
    ("PREDICT COUNT(orders.*, 0, 7) FORECAST 2 TIMEFRAMES FOR EACH users.user_id "
     "WHERE users.tier", "not a condition", "users.tier"),
    ("PREDICT COUNT(orders.* WHERE products.price > 1, 0, 7) FOR EACH users.user_id "
     "WHERE orders.status = 'paid'", "cannot be used here", "orders"),
    ("PREDICT COUNT(orders.*, 0, 7) > 0 AND COUNT(orders.*) > 1 FOR EACH users.user_id",
     "every aggregation", "COUNT(orders.*) "),
    ("PREDICT users.churned FORECAST 2 TIMEFRAMES FOR EACH users.user_id", "FORECAST",
     "FORECAST"),
    ("PREDICT COUNT(profiles.*, 0, 7) FOR EACH users.user_id", "no time column", "0, 7"),
    ("PREDICT LIST_DISTINCT(orders.product_id, 0, 7) CLASSIFY FOR EACH users.user_id",
     "link prediction", "CLASSIFY"),
    ("PREDICT LIST_DISTINCT(orders.status) CLASSIFY FOR EACH users.user_id",
     "needs a time window", "LIST_DISTINCT"),
    ("PREDICT SUM(orders.amount, 0, 7) FOR EACH users.user_id WHERE COUNT(orders.* WHERE "
     "COUNT(orders.*, -1, 0) > 1, -7, 0) > 0", "cannot be nested", "COUNT(orders.*, -1"),
    ("PREDICT FIRST(orders.product_id, 0, 7) FOR EACH users.user_id", "foreign key",
     "FIRST"),
])
def test_semantic_errors_point_at_the_problem(graph: Graph, query: str, fragment: str,
                                              pointed: str | None) -> None:
    with pytest.raises(PQLError) as info:
        PredictiveQuery(graph, query).validate(verbose=False)
    err = info.value
    assert fragment in str(err), str(err)
    assert err.line == 1 and err.column is not None
    if pointed is not None:
        assert query[err.column - 1:].startswith(pointed), str(err)


def test_target_filter_on_entity_columns_warns(graph: Graph) -> None:
    with pytest.warns(UserWarning, match="entity table"):
        PredictiveQuery(graph, "PREDICT COUNT(orders.* WHERE users.tier = 'gold', 0, 7) "
                               "FOR EACH users.user_id").validate(verbose=False)


# ----------------------------------------------------------------------------- planner
def test_split_rule_no_overlap() -> None:
    anchors = make_anchors(1000 * DAY, 0, 10 * DAY)
    spec = parse_split("ApproxDateOffsetSplit([0.8, 0.1, 0.1])")
    splits = assign_temporal_splits(anchors, spec, 0, 30 * DAY)  # step < window: gaps
    test, val, train = (anchors[splits == s] for s in ("test", "val", "train"))
    assert len(test) and len(val) and len(train)
    assert test.min() > val.max() > train.max()
    assert val.max() + 30 * DAY <= test.min()
    assert train.max() + 30 * DAY <= val.min()
    assert (splits == "").sum() > 0  # anchors dropped by the gap rule
    # step == window: nothing dropped, windows are adjacent
    anchors = make_anchors(1000 * DAY, 0, 30 * DAY)
    splits = assign_temporal_splits(anchors, spec, 0, 30 * DAY)
    assert (splits != "").all()
    assert list(splits[:4]) == ["test"] * 3 + ["val"]


@pytest.mark.parametrize("text", ["Nope([1])", "RandomSplit([0.5, 0.1])",
                                  "ApproxDateOffsetSplit([0.8, 0.3, 0.1])",
                                  "DateOffsetSplit([0, -1])", "TimeRangeSplit([1, 2])"])
def test_bad_split_strings(text: str) -> None:
    with pytest.raises(PlanError):
        parse_split(text)


def test_plan_validation() -> None:
    plan = TrainingTableGenerationPlan()
    with pytest.raises(PlanError):
        plan.timeframe_step = 0
    with pytest.raises(PlanError):
        TrainingTableGenerationPlan(start_time=5)
    with pytest.raises(PlanError):
        TrainingTableGenerationPlan(weight_col="nodot")
    with pytest.raises(PlanError):
        PredictionTableGenerationPlan(anchor_time="not a time")
    plan.start_time = "2022-03-01"
    assert TrainingTableGenerationPlan.from_dict(plan.to_dict()) == plan


# ----------------------------------------------------------------------------- tables
def test_training_table_temporal(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30, days) > 0 FOR EACH "
                                "users.user_id WHERE COUNT(orders.*, -60, 0, days) > 0")
    plan = pq.suggest_training_table_plan()
    assert plan.timeframe_step == 30 and plan.split.startswith("ApproxDateOffsetSplit")
    table = pq.generate_training_table(plan)
    assert isinstance(table, TrainingTable)
    df = table.data_df()
    assert list(df.columns) == ["ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT"]
    assert df["ANCHOR_TIMESTAMP"].dtype == np.dtype("datetime64[ns]")
    assert df["TARGET"].dtype == bool
    assert set(df["SPLIT"]) == {"train", "val", "test"}
    t_max = graph["orders"].data["ts"].max()
    latest = df["ANCHOR_TIMESTAMP"].max()
    assert latest == (t_max - pd.Timedelta(days=30)).floor("s")
    anchors = sorted(df["ANCHOR_TIMESTAMP"].unique())
    assert all(b - a == pd.Timedelta(days=30) for a, b in pairwise(anchors))
    by_split = df.groupby("SPLIT")["ANCHOR_TIMESTAMP"]
    assert by_split.max()["train"] + pd.Timedelta(days=30) <= by_split.min()["val"]
    assert by_split.max()["val"] + pd.Timedelta(days=30) <= by_split.min()["test"]
    # entities exist only after signup
    signup = graph["users"].data.set_index("user_id")["signup"]
    assert (df["ANCHOR_TIMESTAMP"].to_numpy() >= signup.loc[df["ENTITY"]].to_numpy()).all()
    assert table.task_type is TaskType.BINARY_CLASSIFICATION and table.num_classes == 2
    assert pq.train_table is table


def test_training_table_plan_controls(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 14) FOR EACH users.user_id")
    plan = TrainingTableGenerationPlan(timeframe_step=7, start_time="2022-06-01",
                                       end_time="2022-10-01",
                                       split="TimeRangeSplit([['2022-01-01', '2022-08-01'], "
                                             "['2022-08-15', '2022-09-01'], "
                                             "['2022-09-15', '2022-12-01']])")
    df = pq.generate_training_table(plan).data_df()
    assert df["ANCHOR_TIMESTAMP"].min() >= pd.Timestamp("2022-06-01")
    assert df["ANCHOR_TIMESTAMP"].max() == pd.Timestamp("2022-10-01")
    assert df["TARGET"].dtype == float
    stamps = sorted(df["ANCHOR_TIMESTAMP"].unique())
    assert all((b - a) % pd.Timedelta(days=7) == pd.Timedelta(0) for a, b in pairwise(stamps))
    for split, group in df.groupby("SPLIT"):
        lo, hi = {"train": ("2022-01-01", "2022-08-01"), "val": ("2022-08-15", "2022-09-01"),
                  "test": ("2022-09-15", "2022-12-01")}[split]
        assert group["ANCHOR_TIMESTAMP"].min() >= pd.Timestamp(lo)
        assert group["ANCHOR_TIMESTAMP"].max() < pd.Timestamp(hi)


def test_run_mode_caps_anchors(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 1) FOR EACH users.user_id")
    df = pq.generate_training_table(pq.suggest_training_table_plan("debug")).data_df()
    assert df["ANCHOR_TIMESTAMP"].nunique() <= 5
    fast = pq.generate_training_table().data_df()
    assert fast["ANCHOR_TIMESTAMP"].nunique() == 50


def test_prediction_table(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30) > 0 FOR EACH users.user_id "
                                "WHERE COUNT(orders.*, -30, 0) > 0")
    pt = pq.generate_prediction_table()
    assert isinstance(pt, PredictionTable)
    assert pt.anchor_time == graph["orders"].data["ts"].max().floor("s")
    df = pt.data_df()
    assert list(df.columns) == ["ENTITY", "ANCHOR_TIMESTAMP"]
    assert (df["ANCHOR_TIMESTAMP"] == pt.anchor_time).all()
    orders = graph["orders"].data
    recent = orders[(orders["ts"] > pt.anchor_time - pd.Timedelta(days=30))
                    & (orders["ts"] <= pt.anchor_time)]["user_id"].unique()
    assert sorted(df["ENTITY"]) == sorted(recent)
    early = pq.generate_prediction_table(anchor_time="2022-03-01")
    assert early.anchor_time == pd.Timestamp("2022-03-01")
    signup = graph["users"].data.set_index("user_id")["signup"]
    assert (signup.loc[early.data_df()["ENTITY"]] <= pd.Timestamp("2022-03-01")).all()
    planned = pq.generate_prediction_table(
        PredictionTableGenerationPlan(anchor_time=pd.Timestamp("2022-05-01").value))
    assert planned.anchor_time == pd.Timestamp("2022-05-01")
    with pytest.raises(PlanError, match=r"Not a time.*'2024-01-31 12:00'.*'yesterday'"):
        pq.generate_prediction_table(anchor_time="yesterday")


def test_static_tables(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT users.tier FOR EACH users.user_id "
                                "WHERE users.age > 20")
    table = pq.generate_training_table()
    df = table.data_df()
    assert list(df.columns) == ["ENTITY", "TARGET", "SPLIT"]
    users = graph["users"].data
    assert sorted(df["ENTITY"]) == sorted(users[users["age"] > 20]["user_id"])
    assert table.class_labels == ["bronze", "gold", "silver"] and table.num_classes == 3
    # TemporalSplit by signup time (users have a time column)
    signup = users.set_index("user_id")["signup"]
    s = df.assign(t=signup.loc[df["ENTITY"]].to_numpy()).groupby("SPLIT")["t"]
    assert s.max()["train"] <= s.min()["val"] and s.max()["val"] <= s.min()["test"]
    pred = pq.generate_prediction_table()
    assert pred.anchor_time is None and len(pred) == 0  # no user lacks a tier
    child = PredictiveQuery(graph, "PREDICT profiles.score FOR EACH users.user_id")
    cdf = child.generate_training_table().data_df()
    scores = graph["profiles"].data.set_index("user_id")["score"]
    assert np.allclose(cdf["TARGET"], scores.loc[cdf["ENTITY"]])


def test_list_targets(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT LIST_DISTINCT(orders.product_id, 0, 30) RANK TOP 5 "
                                "FOR EACH users.user_id")
    table = pq.generate_training_table()
    df = table.data_df()
    assert table.target_table == "products" and table.top_k == 5
    assert all(isinstance(v, list) and v == sorted(set(v)) and v for v in df["TARGET"])
    assert all(isinstance(x, int) for v in df["TARGET"] for x in v)
    # default LP split: DateOffsetSplit -> test is the newest anchor only
    assert df[df["SPLIT"] == "test"]["ANCHOR_TIMESTAMP"].nunique() == 1
    ml = PredictiveQuery(graph, "PREDICT LIST_DISTINCT(orders.status, 0, 30) CLASSIFY "
                                "FOR EACH users.user_id").generate_training_table()
    assert ml.class_labels == ["open", "paid", "refunded"]
    assert any(v == [] for v in ml.data_df()["TARGET"])  # kept for classification


def test_forecasting_and_lags(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 7) FORECAST 3 TIMEFRAMES "
                                "FOR EACH users.user_id")
    plan = pq.suggest_training_table_plan()
    plan.lag_timesteps = 2
    table = pq.generate_training_table(plan)
    df = table.data_df()
    assert table.task_type is TaskType.FORECASTING and table.num_forecasts == 3
    assert list(df.columns) == ["ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT", "LAG_1",
                                "LAG_2"]
    assert all(len(v) == 3 for v in df["TARGET"])
    single = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 7) FOR EACH users.user_id")
    labels = single.compute_labels(df["ANCHOR_TIMESTAMP"].unique()[:3])
    row = df.merge(labels, on=["ENTITY", "ANCHOR_TIMESTAMP"], suffixes=("", "_1")).iloc[0]
    assert row["TARGET"][0] == pytest.approx(row["TARGET_1"])
    shifted = single.compute_labels([row["ANCHOR_TIMESTAMP"] - pd.Timedelta(days=7)])
    prev = shifted.set_index("ENTITY")["TARGET"].get(row["ENTITY"], 0.0)
    assert row["LAG_1"] == pytest.approx(prev)
    regression = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 7) FOR EACH "
                                        "users.user_id")
    plan = regression.suggest_training_table_plan()
    plan.forecast_length = 2
    as_forecast = regression.generate_training_table(plan)
    assert as_forecast.task_type is TaskType.FORECASTING
    assert all(len(v) == 2 for v in as_forecast.data_df()["TARGET"])


def test_weight_column(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT users.age FOR EACH users.user_id")
    df = pq.generate_training_table(
        TrainingTableGenerationPlan(weight_col="users.weight")).data_df()
    weights = graph["users"].data.set_index("user_id")["weight"]
    assert np.allclose(df["WEIGHT"], weights.loc[df["ENTITY"]])
    with pytest.raises(PlanError):
        pq.generate_training_table(TrainingTableGenerationPlan(weight_col="users.tier"))
    lp = PredictiveQuery(graph, "PREDICT LIST_DISTINCT(orders.product_id, 0, 30) RANK TOP 5 "
                                "FOR EACH users.user_id")
    plan = lp.suggest_training_table_plan()
    plan.weight_col = "orders.amount"
    table = lp.generate_training_table(plan)
    df = table.data_df()
    assert table.has_weight
    orders = graph["orders"].data
    row = df.iloc[-1]
    anchor = row["ANCHOR_TIMESTAMP"]
    sel = orders[(orders["user_id"] == row["ENTITY"]) & (orders["ts"] > anchor)
                 & (orders["ts"] <= anchor + pd.Timedelta(days=30))]
    want = sel.groupby("product_id")["amount"].max()
    assert row["TARGET"] == want.index.tolist()
    assert np.allclose(row["WEIGHT"], want.to_numpy())
    with pytest.raises(PlanError):
        plan.weight_col = "products.price"
        lp.generate_training_table(plan)


def test_non_blocking_and_explain(graph: Graph, tmp_path: Path,
                                  restore_settings: None) -> None:
    import relgraph as rg
    from relgraph.jobs.store import JobStatus

    rg.init(home=tmp_path / "home")
    pq = PredictiveQuery(graph, "PREDICT SUM(orders.amount WHERE orders.status = 'paid', "
                                "0, 30) FOR EACH users.user_id WHERE users.tier IN ('gold')")
    job = pq.generate_training_table(non_blocking=True, custom_tags={"t": "1"})
    assert isinstance(job, TrainingTableJob)
    table = job.result(timeout=60)
    assert job.status().status is JobStatus.DONE and len(table) > 0
    assert TrainingTableJob.search_by_tags({"t": "1"})[0].id == job.id
    pjob = pq.generate_prediction_table(non_blocking=True)
    assert len(pjob.result(timeout=60)) > 0
    text = pq.explain()
    assert "$1" in text and "bound parameters" in text
    sql = text.split("WITH", 1)[1].split("-- bound parameters")[0]
    assert "'paid'" not in sql and "'gold'" not in sql  # values are bound, not pasted
    assert re.search(r'"orders"', sql)


def test_entity_restriction(graph: Graph) -> None:
    pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30) FOR users.user_id IN (1, 2, 3)")
    df = pq.generate_prediction_table().data_df()
    assert sorted(df["ENTITY"]) == [1, 2, 3]


def test_assuming_filters_training_rows(graph: Graph) -> None:
    base = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 30) FOR EACH users.user_id")
    cond = PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 30) FOR EACH users.user_id "
                                  "ASSUMING COUNT(orders.* WHERE orders.status = 'paid', "
                                  "0, 30) > 0")
    a = base.generate_training_table().data_df()
    b = cond.generate_training_table().data_df()
    assert 0 < len(b) < len(a)
    assert len(cond.generate_prediction_table()) == len(base.generate_prediction_table())


# ----------------------------------------------------------------------------- custom tables
def test_from_dataframe(graph: Graph) -> None:
    df = pd.DataFrame({"uid": [1, 2, 3, 4], "t": pd.to_datetime(["2022-01-01"] * 2 + [
        "2022-02-01"] * 2), "y": [0, 1, 1, 0], "s": ["train", "train", "val", "test"],
        "w": [1.0, 2.0, 1.0, 1.0]})
    table = TrainingTable.from_dataframe(df, graph, entity_table="users", entity_column="uid",
                                         anchor_time_column="t", target_column="y",
                                         split_column="s", weight_column="w")
    assert table.task_type is TaskType.BINARY_CLASSIFICATION
    assert table.query_type is QueryType.TEMPORAL
    out = table.data_df()
    assert list(out.columns) == ["ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT", "WEIGHT"]
    assert out["TARGET"].dtype == bool
    reg = TrainingTable.from_dataframe(df.assign(y=[0.5, 1.5, 2.5, 3.5]), graph, "users", "uid",
                                       target_column="y")
    assert reg.task_type is TaskType.REGRESSION and set(reg.data_df()["SPLIT"]) <= {
        "train", "val", "test"}
    with pytest.raises(PQLError, match=r"not in 'users\.user_id'"):
        TrainingTable.from_dataframe(df.assign(uid=[1, 2, 3, 999]), graph, "users", "uid",
                                     target_column="y")
    with pytest.raises(PQLError, match="Split column"):
        TrainingTable.from_dataframe(df.assign(s=["a", "b", "c", "d"]), graph, "users", "uid",
                                     target_column="y", split_column="s")
    with pytest.raises(PQLError, match="not in the DataFrame"):
        TrainingTable.from_dataframe(df, graph, "users", "nope", target_column="y")
    with pytest.raises(PQLError, match=r"finite numbers; 'y' has 2 others \(e.g. \[inf, 'x'\]"):
        TrainingTable.from_dataframe(df.assign(y=[0.5, np.inf, "x", 1.0]), graph, "users",
                                     "uid", target_column="y", task_type="regression")
    with pytest.raises(PQLError, match=r"2 other values, e.g. \[2, 7\]"):
        TrainingTable.from_dataframe(df.assign(y=[0, 1, 7, 2]), graph, "users", "uid",
                                     target_column="y", task_type="binary_classification")
    with pytest.raises(PQLError, match="finite non-negative"):
        TrainingTable.from_dataframe(df.assign(w=[1.0, np.inf, 1.0, 1.0]), graph, "users",
                                     "uid", target_column="y", weight_column="w")


def test_from_source_table_and_model_plan(graph: Graph, tmp_path: Path) -> None:
    from relgraph.connector import LocalFileConnector

    pd.DataFrame({"uid": np.arange(30) % 40, "y": np.linspace(0, 3, 30),
                  "split": ["train"] * 24 + ["val"] * 3 + ["test"] * 3}).to_csv(
        tmp_path / "labels.csv", index=False)
    source = LocalFileConnector(tmp_path)["labels"]
    table = TrainingTable.from_dataframe(source, graph, entity_table="users",
                                         entity_column="uid", target_column="y",
                                         split_column="split")
    assert table.task_type is TaskType.REGRESSION and table.query_type is QueryType.STATIC
    assert table.num_rows_per_split == {"train": 24, "val": 3, "test": 3}
    try:
        plan = table.suggest_model_plan("fast")
    except ImportError as exc:  # the trainer is optional for this package's tests
        pytest.skip(f"trainer unavailable: {exc}")
    assert type(plan).__name__ == "ModelPlan"
    pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30) > 0 FOR EACH users.user_id")
    pq.generate_training_table()
    assert type(pq.suggest_model_plan()).__name__ == "ModelPlan"


def test_from_dataframe_link_prediction(graph: Graph) -> None:
    df = pd.DataFrame({"uid": [1, 2, 3, 4], "items": [[1, 2], [3], [4, 5], [0]]})
    table = TrainingTable.from_dataframe(df, graph, "users", "uid", target_column="items",
                                         target_table="products", top_k=3)
    assert table.task_type is TaskType.STATIC_LINK_PREDICTION
    assert table.top_k == 3 and table.target_table == "products"
    with pytest.raises(PQLError, match="not keys"):
        TrainingTable.from_dataframe(df.assign(items=[[1], [999], [2], [3]]), graph, "users",
                                     "uid", target_column="items", target_table="products")


def test_link_prediction_leaves_out_dangling_keys(retail: dict[str, pd.DataFrame]) -> None:
    graph = Graph(tables={
        "customers": Table.from_dataframe(retail["customers"], name="customers",
                                          primary_key="customer_id"),
        "products": Table.from_dataframe(retail["products"], name="products",
                                         primary_key="stock_code"),
        "transactions": Table.from_dataframe(retail["transactions"], name="transactions",
                                             primary_key="line_id", time_column="invoice_date"),
    }, edges=[Edge("transactions", "customer_id", "customers"),
              Edge("transactions", "stock_code", "products")])
    pq = PredictiveQuery(graph, "PREDICT LIST_DISTINCT(transactions.stock_code) RANK TOP 3 "
                                "FOR EACH customers.customer_id")
    df = pq.generate_training_table().data_df()
    items = {x for v in df["TARGET"] for x in v}
    assert "P999" not in items and items <= set(retail["products"]["stock_code"])
    tx = retail["transactions"].dropna(subset=["customer_id"])
    tx = tx[tx["stock_code"] != "P999"]
    want = tx.groupby("customer_id")["stock_code"].agg(lambda s: sorted(set(s)))
    got = df.set_index("ENTITY")["TARGET"]
    assert got.sort_index().tolist() == [want[int(c)] for c in sorted(got.index)]


def test_static_target_columns_name_what_the_label_reads(graph: Graph) -> None:
    """A static target's columns are the label (a model must not see them); a temporal
    target lies after the anchor and reads none."""
    assert PredictiveQuery(graph, "PREDICT users.tier FOR EACH users.user_id"
                           ).static_target_columns() == {("users", "tier")}
    assert PredictiveQuery(graph, "PREDICT profiles.score FOR EACH users.user_id"
                           ).static_target_columns() == {("profiles", "score")}
    temporal = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30, days) > 0 "
                                      "FOR EACH users.user_id")
    assert temporal.static_target_columns() == set()
