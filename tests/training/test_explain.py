"""Explanations (issue 19): global column and table importance, per-entity contributions and
related rows, on a synthetic graph whose label is known to depend on one linked column.

The graph: ``users`` (``a``, ``b``: weakly informative; ``noise``: pure noise) and their
``events`` (``signal``; ``amount``: pure noise). Each user has one *key* event whose
``signal`` is +-2 (the others' is near 0), dated before the user's anchor; the label is
mostly the sign of the key event's signal, nudged by ``a`` and ``b``. Events dated after
the anchor carry a large opposite signal: a model that saw them would be wrong, and an
explanation naming them would break visibility.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import relgraph as rg
from relgraph.errors import JobError
from relgraph.plan.model_plan import RunMode
from relgraph.plan.suggest import suggest_model_plan
from relgraph.task import TaskType
from relgraph.training.explain import _permute_frame

NUM_USERS = 300
START = pd.Timestamp("2023-01-01")


def make_graph(seed: int = 0) -> tuple[rg.Graph, pd.DataFrame, dict[int, int]]:
    """The graph, its training table frame and each user's key event id."""
    rng = np.random.default_rng(seed)
    n = NUM_USERS
    users = pd.DataFrame({"user_id": np.arange(n), "a": rng.normal(size=n),
                          "b": rng.normal(size=n), "noise": rng.normal(size=n)})
    anchor_day = rng.integers(40, 80, n)
    key_sign = rng.choice([-1.0, 1.0], n)
    rows, key_event = [], {}
    for u in range(n):
        days = np.sort(rng.uniform(0, anchor_day[u] - 1, 6))
        key = int(rng.integers(0, 6))
        for j, d in enumerate(days):
            signal = 2.0 * key_sign[u] if j == key else rng.normal(0, 0.15)
            if j == key:
                key_event[u] = len(rows)
            rows.append((u, START + pd.Timedelta(days=float(d)), signal, rng.gamma(2, 10)))
        for d in rng.uniform(anchor_day[u] + 1, anchor_day[u] + 20, 2):  # after the anchor
            rows.append((u, START + pd.Timedelta(days=float(d)), -3.0 * key_sign[u],
                         rng.gamma(2, 10)))
    events = pd.DataFrame(rows, columns=["user_id", "ts", "signal", "amount"])
    events.insert(0, "event_id", np.arange(len(events)))
    logit = 3.0 * key_sign + 1.0 * users["a"].to_numpy() + 1.0 * users["b"].to_numpy()
    target = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    split = np.where(np.arange(n) % 5 == 3, "val", np.where(np.arange(n) % 5 == 4, "test",
                                                               "train"))
    table = pd.DataFrame({"ENTITY": np.arange(n), "ANCHOR_TIMESTAMP": START + pd.to_timedelta(
        anchor_day, unit="D"), "TARGET": target, "SPLIT": split})
    graph = rg.Graph(
        tables={"users": rg.Table.from_dataframe(users, "users", primary_key="user_id"),
                "events": rg.Table.from_dataframe(events, "events", primary_key="event_id",
                                                  time_column="ts")},
        edges=[rg.Edge("events", "user_id", "users")])
    return graph, table, key_event


def training_table(graph: rg.Graph, frame: pd.DataFrame) -> rg.TrainingTable:
    """The binary training table of :func:`make_graph`'s frame."""
    return rg.TrainingTable.from_dataframe(
        frame, graph, entity_table="users", entity_column="ENTITY",
        anchor_time_column="ANCHOR_TIMESTAMP", target_column="TARGET", split_column="SPLIT",
        task_type="binary_classification")


def plan() -> rg.ModelPlan:
    p = suggest_model_plan(TaskType.BINARY_CLASSIFICATION, RunMode.FAST,
                           num_train_examples=200)
    p.training_job.num_experiments = 1
    p.training_job.manual_seed = 0
    p.training_job.refit_trainval = False  # importance on validation rows it did not train on
    p.optimization.max_epochs = 6
    p.optimization.min_steps_per_epoch = 1
    p.optimization.max_steps_per_epoch = 8
    p.optimization.batch_size = [32]
    p.optimization.base_lr = [1e-2]
    p.neighbor_sampling.num_neighbors = [[8]]
    return p


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("explain") / "home"
    rg.init(home=home)
    graph, frame, key_event = make_graph()
    table = training_table(graph, frame)
    trainer = rg.Trainer(plan(), verbose=False)
    result = trainer.fit(graph, table)
    return {"graph": graph, "frame": frame, "key_event": key_event, "trainer": trainer,
            "result": result, "home": str(home)}


def test_label_column_and_its_table_rank_first(trained) -> None:
    exp = trained["result"].explanations()
    print(exp)
    cols = exp.columns
    first = cols.iloc[0]
    assert (first["table"], first["column"]) == ("events", "signal")
    assert exp.tables.iloc[0]["table"] == "events"
    # the data's own columns (not the derived "(rows)"/"(time)" keys, which are as
    # uninformative as noise here: every user has six events)
    names = [(t, c) for t, c in zip(cols["table"], cols["column"]) if not c.startswith("(")]
    for noise in (("users", "noise"), ("events", "amount")):
        assert names.index(noise) >= len(names) / 2, (noise, names)


def test_entity_explanations_name_the_driving_row(trained) -> None:
    """For users whose label follows their key event, that event is among the top three
    named rows; every named row is visible at the anchor; contributions are signed."""
    graph, frame = trained["graph"], trained["frame"]
    test = frame[frame["SPLIT"] == "test"].head(20)
    anchors = list(test["ANCHOR_TIMESTAMP"])
    out = trained["trainer"].explain(graph, list(test["ENTITY"]), anchors, top_rows=5)
    assert len(out) == len(test)
    events = graph["events"].data.set_index("event_id")
    hits = 0
    for e, anchor in zip(out, anchors):
        print(e)
        assert e.anchor_time == anchor
        assert 0.0 <= e.value <= 1.0 and e.prediction == pytest.approx(e.value)
        assert set(e.rows["table"]) <= {"events"}
        for key, when in zip(e.rows["primary_key"], e.rows["time"]):
            assert when <= anchor                              # visible at the anchor
            assert events.loc[key, "ts"] == when
        hits += trained["key_event"][e.entity] in list(e.rows["primary_key"])[:3]
        top = e.columns.iloc[0]
        assert (top["table"], top["column"]) == ("events", "signal")
        # the key event's sign moves the probability the same way
        sign = np.sign(events.loc[trained["key_event"][e.entity], "signal"])
        assert np.sign(top["contribution"]) == sign
    assert hits >= 0.8 * len(out), f"the key event is in the top 3 for {hits}/{len(out)}"


def test_batch_prediction_explains_every_entity(trained) -> None:
    """``predict(explain=True)``: one explanation per predicted entity, whose value is the
    prediction batch prediction wrote."""
    from relgraph.pquery.prediction_table import PredictionTable

    graph, frame = trained["graph"], trained["frame"]
    rows = frame[frame["SPLIT"] == "test"].head(8)[["ENTITY", "ANCHOR_TIMESTAMP"]]
    table = PredictionTable(rows.reset_index(drop=True), anchor_time=None, entity_table="users")
    job = trained["trainer"].predict(graph, table, explain=True)
    preds = job.predictions_df()
    exp = job.explanations_df()
    assert list(exp["ENTITY"]) == list(preds["ENTITY"]) == list(rows["ENTITY"])
    np.testing.assert_allclose(exp["VALUE"], preds["TRUE_PROB"], rtol=1e-5)
    first_columns = [c[0] for c in exp["COLUMNS"]]
    assert all({"table", "column", "contribution"} <= set(c) for c in first_columns)
    assert all(len(r) > 0 for r in exp["ROWS"])
    plain = trained["trainer"].predict(graph, table)
    with pytest.raises(JobError, match="explain=True"):
        plain.explanations_df()


def test_cli_explain(trained, capsys) -> None:
    from relgraph.cli.main import main

    job = trained["result"].job_id
    frame = trained["frame"]
    row = frame[frame["SPLIT"] == "test"].iloc[0]
    assert main(["explain", job, "--entity", str(row["ENTITY"]), "--at",
                 str(row["ANCHOR_TIMESTAMP"]), "--top", "3", "--home", trained["home"]]) == 0
    out = capsys.readouterr().out
    assert f"entity {row['ENTITY']}" in out and "events.signal" in out
    assert "related rows:" in out and out.count("events ") >= 3
    assert main(["explain", job, "--entity", "nope", "--home", trained["home"]]) == 2
    assert "not a value of the key column 'user_id'" in capsys.readouterr().err
    with pytest.raises(JobError, match="not primary keys"):
        trained["trainer"].explain(trained["graph"], [10_000])


def test_gbdt_contributions_add_up_to_the_probability() -> None:
    """TreeSHAP margins rescaled through the sigmoid: per row, the contributions add up to
    the predicted probability minus the model's base probability; the driving feature
    gets the largest share."""
    from relgraph.training.explain import gbdt_contributions
    from relgraph.training.gbdt import GBDTModel

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"drive": rng.normal(size=600), "noise": rng.normal(size=600)})
    y = (x["drive"] + rng.normal(0, 0.3, 600) > 0).astype(float).to_numpy()
    split = np.where(np.arange(600) % 5 == 0, "val", "train")
    model = GBDTModel.fit(TaskType.BINARY_CLASSIFICATION, x, y, split, "auroc")
    phi = gbdt_contributions(model, x, None)
    # the model's base probability: its bagged boosters' mean
    base = np.mean([1.0 / (1.0 + np.exp(-b.predict(x, num_iteration=b.best_iteration or None,
                                                   pred_contrib=True)[:, -1]))
                    for b in model.boosters], axis=0)
    np.testing.assert_allclose(phi.sum(1), model.predict(x) - base, atol=1e-5)
    assert np.abs(phi[:, 0]).mean() > 5 * np.abs(phi[:, 1]).mean()


@pytest.mark.slow
def test_gnn_alone_answers_the_same_api(tmp_path) -> None:
    """Without the GBDT learner (``training_job.hybrid = False``) the same calls answer from
    the GNN alone: the label column and its table first, the key event in the top 3."""
    rg.init(home=tmp_path / "home")
    graph, frame, key_event = make_graph(seed=1)
    table = training_table(graph, frame)
    p = plan()
    p.training_job.hybrid = False
    trainer = rg.Trainer(p, verbose=False)
    result = trainer.fit(graph, table)
    assert result.gbdt is None
    exp = result.explanations()
    assert tuple(exp.columns.iloc[0][["table", "column"]]) == ("events", "signal")
    assert exp.tables.iloc[0]["table"] == "events"
    test = frame[frame["SPLIT"] == "test"].head(10)
    out = trainer.explain(graph, list(test["ENTITY"]), list(test["ANCHOR_TIMESTAMP"]))
    hits = sum(key_event[e.entity] in list(e.rows["primary_key"])[:3] for e in out)
    assert hits >= 8, hits


@pytest.mark.slow
def test_regression_explanations(tmp_path) -> None:
    """A regression model (SUM of amounts) answers too: the value explained is the
    prediction batch prediction returns, named rows are visible at the anchor and never
    the entity's own row met again deeper in its subgraph."""
    from relgraph.testing.graphs import SPEND, make_activity_db, small_plan

    rg.init(home=tmp_path / "home")
    graph = make_activity_db(num_users=80, days=120)
    pq = rg.PredictiveQuery(graph, SPEND)
    plan = small_plan(TaskType.REGRESSION, epochs=1)
    plan.neighbor_sampling.num_neighbors = [[-1, -1]]  # every neighbor: no sampling noise
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, pq.generate_training_table())
    assert len(result.explanations().columns) >= 3
    users = [1, 2, 3, 5]
    out = trainer.explain(graph, users)             # default anchor: the latest time
    table = pq.generate_prediction_table()
    preds = trainer.predict(graph, table).predictions_df().set_index("ENTITY")
    for e in out:
        assert e.explained == "TARGET_PRED"
        assert e.value == pytest.approx(float(preds.loc[e.entity, "TARGET_PRED"]), rel=1e-4)
        assert np.isfinite(e.columns["contribution"]).all()
        assert ("users", e.entity) not in set(zip(e.rows["table"], e.rows["primary_key"]))
        assert all(t is None or t <= e.anchor_time for t in e.rows["time"])


def _fit_counting_passes(tmp_path, monkeypatch, device_columns: int) -> tuple[int, object]:
    """Fit the GNN alone on :func:`make_graph` plus a ``devices`` table that ``events``
    references (two hops from users: one-hop sampling never reaches it) with
    ``device_columns`` numeric columns; returns the model passes of the whole fit and the
    global explanation."""
    from relgraph.nn.model import RelGraphModel

    rg.init(home=tmp_path / f"home{device_columns}")
    graph, frame, _ = make_graph(seed=2)
    rng = np.random.default_rng(0)
    devices = pd.DataFrame({"device_id": np.arange(20)} | {
        f"d{j}": rng.normal(size=20) for j in range(device_columns)})
    events = graph["events"].data.assign(device_id=rng.integers(0, 20, graph["events"].num_rows))
    graph = rg.Graph(
        tables={"users": graph["users"],
                "events": rg.Table.from_dataframe(events, "events", primary_key="event_id",
                                                  time_column="ts"),
                "devices": rg.Table.from_dataframe(devices, "devices", primary_key="device_id")},
        edges=[rg.Edge("events", "user_id", "users"), rg.Edge("events", "device_id", "devices")])
    table = training_table(graph, frame)
    p = plan()
    p.training_job.hybrid = False
    p.optimization.max_epochs = 2
    calls = [0]
    forward = RelGraphModel.forward

    def counted(self, *args, **kwargs):
        calls[0] += 1
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(RelGraphModel, "forward", counted)
    result = rg.Trainer(p, verbose=False).fit(graph, table)
    return calls[0], result.explanations()


@pytest.mark.slow
def test_columns_the_model_cannot_read_cost_no_pass(tmp_path, monkeypatch) -> None:
    """A table the sampler never reaches gets importance exactly 0 without shuffling its
    columns: 2 or 12 such columns cost the same number of model passes."""
    few, exp = _fit_counting_passes(tmp_path, monkeypatch, 2)
    many, exp_many = _fit_counting_passes(tmp_path, monkeypatch, 12)
    assert few == many
    unread = exp_many.columns[exp_many.columns["table"] == "devices"]
    assert len(unread) >= 12
    assert (unread["importance"] == 0).all() and (unread["std"] == 0).all()
    assert all(not c.startswith("devices.") for c in exp.top_columns(10))


@pytest.mark.slow
def test_wide_models_are_explained_on_fewer_rows(tmp_path, monkeypatch) -> None:
    """The global explanation's GNN passes stay within ``ROW_PASSES``: rows x shuffles
    x members, cut to fewer validation rows (at least ``MIN_ROWS``) when a model reads
    many columns; every read column is still ranked."""
    from relgraph.training import explain

    monkeypatch.setattr(explain, "ROW_PASSES", 900)
    monkeypatch.setattr(explain, "MIN_ROWS", 12)
    _, exp = _fit_counting_passes(tmp_path, monkeypatch, 2)
    read = exp.columns[exp.columns["table"] != "devices"]
    groups = len(read) + read["table"].nunique()
    assert exp.num_rows == max(12, 900 // (explain.REPEATS * groups)) < NUM_USERS // 5
    assert (read["std"] > 0).any()


def test_large_learners_are_explained_on_fewer_rows(trained, tmp_path, monkeypatch) -> None:
    """The GBDT learner's tree evaluations stay within ``TREE_EVALUATIONS`` (rows x
    shuffles x trees): a learner with many trees is explained on fewer validation rows,
    at least ``MIN_ROWS``; every column the model reads is still ranked."""
    from relgraph.training import explain

    full = trained["result"].explanations()
    monkeypatch.setattr(explain, "TREE_EVALUATIONS", 1)  # any learner exceeds it
    monkeypatch.setattr(explain, "MIN_ROWS", 12)
    rg.init(home=tmp_path / "home")
    graph, frame, _ = make_graph()
    result = rg.Trainer(plan(), verbose=False).fit(graph, training_table(graph, frame))
    assert result.gbdt is not None  # the residual trial reads the learner
    exp = result.explanations()
    assert full.num_rows == NUM_USERS // 5 > exp.num_rows == 12
    assert set(exp.columns["column"]) == set(full.columns["column"])
    assert (exp.columns["std"] > 0).any()


@pytest.mark.parametrize("shuffled", [["a"], ["a", "b", "c"]])
def test_a_shuffle_moves_exactly_its_columns(shuffled: list[str]) -> None:
    """A few columns are moved one by one, most by moving all and putting back the rest:
    either way each shuffled column is permuted and every other column stays."""
    frame = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6, 12, dtype=np.float32),
                          "c": pd.Categorical(list("xyzxyz")), "d": np.arange(6) * 10})
    perm = torch.tensor([5, 3, 1, 0, 2, 4])
    out = _permute_frame(frame, list(frame.columns), [("t", c) for c in frame.columns],
                         {("t", c) for c in shuffled}, perm)
    for c in frame.columns:
        expected = frame[c].iloc[perm.numpy()].to_numpy() if c in shuffled else \
            frame[c].to_numpy()
        assert np.array_equal(out[c].to_numpy(), expected), c
        assert out[c].dtype == frame[c].dtype
    assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
