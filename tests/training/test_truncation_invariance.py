"""No future row reaches a model: inputs on the full database equal those on the database
cut at the anchor (DESIGN §4), for every store layout, sampling strategy and feature path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relgraph.graph import Edge, Graph, Table
from relgraph.graph.visibility import store_times
from relgraph.nn.batch import Batch
from relgraph.sampling import NeighborSampler
from relgraph.store.from_graph import build_store
from relgraph.training.examples import Seeds
from relgraph.training.features import fit_graph_features
from relgraph.training.fitting import GraphContext

DAY = 86_400
T0 = pd.Timestamp("2022-01-01")


@dataclass
class Database:
    frames: dict[str, pd.DataFrame]
    times: dict[str, str]       # table -> time column
    ends: dict[str, str]        # table -> end-time column


def random_database(seed: int, num_users: int = 12) -> Database:
    """Users (static) with at most one account each (temporal: a direct reverse edge),
    many orders (temporal, ties and NULL times), subscriptions with end times (many per
    user), at most one membership with an end time, items (static) and reviews of orders
    (a two-hop temporal chain). Values are wild enough to move any statistic."""
    rng = np.random.default_rng(seed)
    days = rng.choice(120, size=40, replace=False)  # 40 distinct days: ties happen

    def when(n: int, null_frac: float = 0.0) -> pd.Series:
        t = pd.Series(T0 + pd.to_timedelta(rng.choice(days, n), unit="D"))
        t[rng.random(n) < null_frac] = pd.NaT
        return t

    users = pd.DataFrame({"user_id": rng.permutation(num_users) + 100,
                          "age": rng.normal(40, 10, num_users),
                          "country": rng.choice(["fr", "de", "uk"], num_users)})
    n_acc = int(rng.integers(0, num_users + 1))
    accounts = pd.DataFrame({"account_id": np.arange(n_acc) * 7 + 3,
                             "user_id": rng.choice(users["user_id"], n_acc, replace=False),
                             "opened_at": when(n_acc),
                             "tier": rng.choice(["gold", "silver", "x" * 5], n_acc),
                             "limit": rng.lognormal(3, 2, n_acc)})
    items = pd.DataFrame({"item_id": [f"i{j}" for j in range(6)],
                          "price": rng.exponential(10, 6)})
    n_ord = int(rng.integers(20, 60))
    orders = pd.DataFrame({"order_id": rng.permutation(n_ord) + 1000,
                           "user_id": rng.choice(users["user_id"], n_ord),
                           "item_id": rng.choice(items["item_id"], n_ord),
                           "ordered_at": when(n_ord, 0.1),
                           "amount": rng.lognormal(2, 1.5, n_ord),
                           "channel": rng.choice(["web", "app", "shop", "phone"], n_ord)})
    n_sub = int(rng.integers(5, 25))
    start = when(n_sub)
    end = start + pd.to_timedelta(rng.integers(1, 60, n_sub), unit="D")
    end[rng.random(n_sub) < 0.3] = pd.NaT
    subscriptions = pd.DataFrame({"sub_id": np.arange(n_sub),
                                  "user_id": rng.choice(users["user_id"], n_sub),
                                  "started": start, "ended": end,
                                  "plan": rng.choice(["a", "b"], n_sub),
                                  "fee": rng.normal(5, 3, n_sub)})
    n_mem = int(rng.integers(0, num_users + 1))
    m_start = when(n_mem)
    membership = pd.DataFrame({"member_id": np.arange(n_mem),
                               "user_id": rng.choice(users["user_id"], n_mem, replace=False),
                               "joined": m_start,
                               "left": m_start + pd.to_timedelta(rng.integers(1, 40, n_mem),
                                                                 unit="D"),
                               "level": rng.integers(0, 5, n_mem).astype(float)})
    n_rev = int(rng.integers(0, 40))
    reviews = pd.DataFrame({"review_id": np.arange(n_rev),
                            "order_id": rng.choice(orders["order_id"], n_rev),
                            "posted": when(n_rev),
                            "stars": rng.integers(1, 6, n_rev).astype(float)})
    return Database(
        {"users": users, "accounts": accounts, "items": items, "orders": orders,
         "subscriptions": subscriptions, "membership": membership, "reviews": reviews},
        {"accounts": "opened_at", "orders": "ordered_at", "subscriptions": "started",
         "membership": "joined", "reviews": "posted"},
        {"subscriptions": "ended", "membership": "left"})


EDGES = [Edge("accounts", "user_id", "users"), Edge("orders", "user_id", "users"),
         Edge("orders", "item_id", "items"), Edge("subscriptions", "user_id", "users"),
         Edge("membership", "user_id", "users"), Edge("reviews", "order_id", "orders")]
PKEYS = {"users": "user_id", "accounts": "account_id", "items": "item_id",
         "orders": "order_id", "subscriptions": "sub_id", "membership": "member_id",
         "reviews": "review_id"}


def make_graph(db: Database, kept: dict[str, np.ndarray] | None = None) -> Graph:
    """The database as a graph; ``kept`` selects rows per table (all by default)."""
    tables = {}
    for name, frame in db.frames.items():
        if kept is not None:
            frame = frame.iloc[kept[name]].reset_index(drop=True)
        tables[name] = Table.from_dataframe(frame, name, primary_key=PKEYS[name],
                                            time_column=db.times.get(name),
                                            end_time_column=db.ends.get(name)).infer_metadata()
    # the same column types on both sides (a cut table may look different to inference)
    return Graph(tables, EDGES)


def cut_at(graph: Graph, anchor: int) -> dict[str, np.ndarray]:
    """Rows kept when every row dated after ``anchor`` is removed (NULL times stay)."""
    kept = {}
    for name, table in graph.tables.items():
        time, _ = store_times(table)
        keep = np.ones(table.num_rows, dtype=bool) if time is None else \
            (time <= anchor) | (time == np.iinfo(np.int64).max)
        kept[name] = np.flatnonzero(keep)
    return kept


def same_stypes(full: Graph, cut: Graph) -> None:
    for name, table in full.tables.items():
        for col in table.columns:
            cut[name][col.name].stype = col.stype


def assert_same_inputs(full: Batch, cut: Batch, kept: dict[str, np.ndarray]) -> None:
    """Every tensor handed to the model is the same, with cut row ids mapped back."""
    assert set(full.node_dict) == set(cut.node_dict)
    for t, rows in full.node_dict.items():
        mapped = torch.from_numpy(kept[t]).index_select(0, cut.node_dict[t])
        assert torch.equal(rows, mapped), f"sampled rows of {t}"
        assert torch.equal(full.batch_dict[t], cut.batch_dict[t])
        assert torch.equal(full.hop_dict[t], cut.hop_dict[t])
    assert set(full.x_dict) == set(cut.x_dict)
    for t in full.x_dict:
        assert set(full.x_dict[t]) == set(cut.x_dict[t]), f"encoded columns of {t}"
        for col in full.x_dict[t]:
            assert torch.equal(full.x_dict[t][col], cut.x_dict[t][col]), \
                f"encoded values of {t}.{col}"
    assert set(full.time_dict) == set(cut.time_dict)
    for t in full.time_dict:
        assert torch.equal(full.time_dict[t], cut.time_dict[t]), f"times of {t}"
    assert torch.equal(full.seed_time, cut.seed_time)
    assert set(full.edge_index_dict) == set(cut.edge_index_dict)
    for et in full.edge_index_dict:
        assert torch.equal(full.edge_index_dict[et], cut.edge_index_dict[et]), f"edges {et}"
    assert set(full.degree_dict) == set(cut.degree_dict)
    for t in full.degree_dict:
        assert torch.equal(full.degree_dict[t], cut.degree_dict[t]), f"degree features of {t}"


def seeds_at(rows: torch.Tensor, anchor: int) -> Seeds:
    return Seeds(rows, torch.full_like(rows, anchor), pd.DataFrame(index=range(len(rows))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(db_seed=st.integers(0, 10_000), anchor_day=st.integers(-5, 125),
       fit_lag=st.integers(0, 60), strategy=st.sampled_from(["uniform", "last"]),
       fanout=st.sampled_from([[2, 2], [1, 3], [-1, 2], [3, 1, 1]]),
       adaptive=st.booleans(), cap=st.sampled_from([None, 0, 2]),
       seed_table=st.sampled_from(["users", "orders", "subscriptions"]))
def test_model_inputs_equal_on_database_cut_at_anchor(
        db_seed: int, anchor_day: int, fit_lag: int, strategy: str, fanout: list[int],
        adaptive: bool, cap: int | None, seed_table: str) -> None:
    db = random_database(db_seed)
    anchor = int((T0 + pd.Timedelta(days=anchor_day)).timestamp())
    full = make_graph(db)
    kept = cut_at(full, anchor)
    cut = make_graph(db, kept)
    same_stypes(full, cut)
    fit_time = anchor - fit_lag * DAY  # encoders fitted at the last training anchor
    if adaptive and any(k < 0 for k in fanout):
        fanout = [abs(k) for k in fanout]

    contexts = []
    for graph in (full, cut):
        features = fit_graph_features(graph, fit_time=fit_time)
        contexts.append(GraphContext(build_store(graph), features, seed_table,
                                     torch.device("cpu"), dict(PKEYS)))
    # seeds: rows of the seed table that exist at the anchor, identified in both graphs
    candidates = np.arange(len(kept[seed_table]))
    time, _ = store_times(cut[seed_table])
    if time is not None:
        candidates = candidates[time <= anchor]
    if not len(candidates):
        return
    rng = np.random.default_rng(db_seed)
    cut_rows = torch.from_numpy(rng.choice(candidates, min(8, len(candidates)), replace=False))
    rows = {id(contexts[0]): torch.from_numpy(kept[seed_table]).index_select(0, cut_rows),
            id(contexts[1]): cut_rows}
    inputs = []
    for ctx in contexts:
        sampler = NeighborSampler(ctx.store, fanout, strategy=strategy, adaptive=adaptive,  # type: ignore[arg-type]
                                  max_target_neighbors_per_entity=cap,
                                  generator=torch.Generator().manual_seed(db_seed),
                                  pkeys=ctx.pkeys)
        seed_rows = rows[id(ctx)]
        inputs.append(ctx.prepare(sampler, seeds_at(seed_rows, anchor),
                                  torch.arange(len(seed_rows))))
    assert_same_inputs(inputs[0], inputs[1], kept)
    # the fitted encoders themselves are the same
    for name, tf in contexts[0].features.items():
        assert tf.state_dict() == contexts[1].features[name].state_dict(), name


def test_store_layouts_are_covered() -> None:
    """The generator yields direct and CSR layouts, temporal and static, with end times."""
    seen = set()
    for seed in range(10):
        store = build_store(make_graph(random_database(seed)))
        for et in store.edge_types:
            csr = store.csr_data(et)
            seen.add((csr.is_direct, csr.is_temporal, csr.has_end_time))
    assert {(True, True, False), (False, True, False), (True, False, False),
            (False, True, True), (True, True, True)} <= seen


@pytest.mark.parametrize("seed", [0, 1])
def test_layout_switch_keeps_inputs(seed: int) -> None:
    """A reverse edge with several children in the full database and at most one before
    the anchor switches from the CSR to the direct layout: the inputs stay the same."""
    db = random_database(seed)
    orders = db.frames["orders"]
    # every user's orders but one move to day 130, after the anchor
    late = orders.groupby("user_id").cumcount() > 0
    orders.loc[late, "ordered_at"] = T0 + pd.Timedelta(days=130)
    db.frames["reviews"] = db.frames["reviews"].iloc[:0]
    anchor = int((T0 + pd.Timedelta(days=125)).timestamp())
    full = make_graph(db)
    kept = cut_at(full, anchor)
    cut = make_graph(db, kept)
    same_stypes(full, cut)
    et = ("users", "rev_user_id", "orders")
    assert not build_store(full).csr_data(et).is_direct
    assert build_store(cut).csr_data(et).is_direct
    inputs = []
    for graph, rows in ((full, torch.arange(12)), (cut, torch.arange(12))):
        ctx = GraphContext(build_store(graph), fit_graph_features(graph, fit_time=anchor),
                           "users", torch.device("cpu"), dict(PKEYS))
        sampler = NeighborSampler(ctx.store, [4, 2], generator=torch.Generator().manual_seed(0))
        inputs.append(ctx.prepare(sampler, seeds_at(rows, anchor), torch.arange(len(rows))))
    assert_same_inputs(inputs[0], inputs[1], kept)


# ----------------------------------------------------------------- end to end
def activity_graph(num_users: int = 150, extra: bool = False, seed: int = 0) -> Graph:
    """Users with persistent event rates; ``extra`` adds events dated after every label
    window with wild amounts and unseen channels."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(-2.0, 1.0, num_users)
    user, day = [], []
    for u in range(num_users):
        n = rng.poisson(rate[u] * 200)
        user += [u] * n
        day += list(rng.uniform(0, 200, n))
    events = pd.DataFrame({"event_id": np.arange(len(user)), "user_id": user,
                           "ts": T0 + pd.to_timedelta(day, unit="D"),
                           "amount": rng.gamma(2, 10, len(user)),
                           "channel": rng.choice(["web", "app"], len(user))})
    users = pd.DataFrame({"user_id": np.arange(num_users),
                          "tier": rng.choice(["gold", "silver"], num_users)})
    if extra:
        n = 300
        wild = pd.DataFrame({"event_id": np.arange(n) + 10**6,
                             "user_id": rng.integers(0, num_users, n),
                             "ts": T0 + pd.to_timedelta(rng.uniform(260, 400, n), unit="D"),
                             "amount": rng.choice([1e9, -1e6, 0.0], n),
                             "channel": rng.choice(["never-seen", "zzz"], n)})
        events = pd.concat([events, wild], ignore_index=True)
    tables = {"users": Table.from_dataframe(users, "users", primary_key="user_id"),
              "events": Table.from_dataframe(events, "events", primary_key="event_id",
                                             time_column="ts")}
    for table in tables.values():
        table.infer_metadata()
    return Graph(tables, [Edge("events", "user_id", "users")])


def spend_labels(graph: Graph) -> pd.DataFrame:
    """Spend in the 14 days after each anchor; train/val/test anchors by time."""
    events = graph["events"].data
    rows = []
    for day, split in [(d, "train") for d in range(60, 160, 10)] + [(170, "val"),
                                                                   (185, "test")]:
        anchor = T0 + pd.Timedelta(days=day)
        window = events[(events.ts > anchor) & (events.ts <= anchor + pd.Timedelta(days=14))]
        spend = window.groupby("user_id")["amount"].sum()
        for u in graph["users"].data["user_id"]:
            rows.append((u, anchor, float(spend.get(u, 0.0)), split))
    return pd.DataFrame(rows, columns=["ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT"])


def test_rows_after_every_label_window_change_no_prediction(tmp_path) -> None:
    """Same labels and seed, with and without wild rows dated after every label window:
    the holdout predictions are identical (encoders, sampling and degrees see none)."""
    import relgraph as rg
    from relgraph.plan.model_plan import RunMode
    from relgraph.plan.suggest import suggest_model_plan
    from relgraph.task import TaskType

    labels = spend_labels(activity_graph())
    holdouts = []
    for extra in (False, True):
        rg.init(home=tmp_path / f"home-{extra}")
        graph = activity_graph(extra=extra)
        table = rg.TrainingTable.from_dataframe(
            labels, graph, entity_table="users", entity_column="ENTITY",
            anchor_time_column="ANCHOR_TIMESTAMP", target_column="TARGET",
            split_column="SPLIT", task_type="regression")
        plan = suggest_model_plan(TaskType.REGRESSION, RunMode.FAST, num_train_examples=1500)
        plan.training_job.num_experiments = 1
        plan.training_job.manual_seed = 3
        plan.optimization.max_epochs = 2
        plan.optimization.min_steps_per_epoch = 1
        plan.optimization.max_steps_per_epoch = 6
        result = rg.Trainer(plan, verbose=False).fit(graph, table)
        holdouts.append(result.holdout_df())
    pd.testing.assert_frame_equal(holdouts[0], holdouts[1])


def churn_graph(n: int, label: np.ndarray, with_cancellations: bool) -> Graph:
    """Customers, noise orders, and one ``cancellations`` row per churner (at most one per
    customer: the direct store layout) dated after every anchor."""
    rng = np.random.default_rng(1)
    customers = pd.DataFrame({"customer_id": np.arange(n),
                              "segment": rng.choice(["a", "b", "c"], n)})
    orders = pd.DataFrame({"order_id": np.arange(4 * n), "customer_id": rng.integers(0, n, 4 * n),
                           "ts": T0 + pd.to_timedelta(rng.uniform(0, 200, 4 * n), unit="D"),
                           "value": rng.gamma(2, 5, 4 * n)})
    churners = np.flatnonzero(label)
    cancellations = pd.DataFrame({
        "cancel_id": np.arange(len(churners)), "customer_id": churners,
        "ts": T0 + pd.to_timedelta(rng.uniform(300, 330, len(churners)), unit="D"),
        "reason": rng.choice(["price", "service"], len(churners)),
        "refund": rng.gamma(2, 5, len(churners))})
    if not with_cancellations:
        cancellations = cancellations.iloc[:0]
    graph = Graph({
        "customers": Table.from_dataframe(customers, "customers", primary_key="customer_id"),
        "orders": Table.from_dataframe(orders, "orders", primary_key="order_id",
                                       time_column="ts"),
        "cancellations": Table.from_dataframe(cancellations, "cancellations",
                                              primary_key="cancel_id", time_column="ts"),
    }, [Edge("orders", "customer_id", "customers"),
        Edge("cancellations", "customer_id", "customers")])
    for table in graph.tables.values():
        table.infer_metadata()
    graph["cancellations"]["reason"].stype = "categorical"
    graph["cancellations"]["refund"].stype = "numerical"
    return graph


def test_future_single_child_rows_leave_auroc_at_chance(tmp_path) -> None:
    """Nothing visible at the anchors separates churners: the model trained with their
    future ``cancellations`` rows predicts exactly as the one trained without them, and
    its AUROC is near chance (1.0 when the future row leaked into the degree features)."""
    import relgraph as rg
    from relgraph.plan.suggest import suggest_model_plan
    from relgraph.task import TaskType

    n = 1500
    label = np.random.default_rng(0).random(n) < 0.5
    # labels are a fixed property of each customer, so splits hold different customers
    # (otherwise any model may recognize a customer it saw in training)
    group = np.arange(n) % 5
    frame = pd.concat([pd.DataFrame({"ENTITY": np.flatnonzero(group == g),
                                     "ANCHOR_TIMESTAMP": T0 + pd.Timedelta(days=d),
                                     "TARGET": label[group == g], "SPLIT": split})
                       for g, (d, split) in enumerate([(120, "train"), (140, "train"),
                                                       (160, "train"), (180, "val"),
                                                       (200, "test")])], ignore_index=True)
    results = []
    for with_cancellations in (True, False):
        rg.init(home=tmp_path / f"home-{with_cancellations}")
        graph = churn_graph(n, label, with_cancellations)
        if with_cancellations:
            store = build_store(graph)
            assert store.csr_data(("customers", "rev_customer_id", "cancellations")).is_direct
        table = rg.TrainingTable.from_dataframe(
            frame, graph, entity_table="customers", entity_column="ENTITY",
            anchor_time_column="ANCHOR_TIMESTAMP", target_column="TARGET",
            split_column="SPLIT", task_type="binary_classification")
        plan = suggest_model_plan(TaskType.BINARY_CLASSIFICATION, num_train_examples=3 * n // 5)
        plan.training_job.num_experiments = 1
        plan.optimization.max_epochs = 3
        results.append(rg.Trainer(plan, verbose=False).fit(graph, table))
    pd.testing.assert_frame_equal(results[0].holdout_df(), results[1].holdout_df())
    auroc = results[0].metrics()["test_auroc"]
    assert abs(auroc - 0.5) < 0.15, auroc
