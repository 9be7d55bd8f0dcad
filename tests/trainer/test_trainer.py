"""End-to-end trainer behaviour on a small seeded database with a learnable signal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import relgraph as rg
from relgraph.errors import JobError, TrainingError
from relgraph.task import TaskType
from relgraph.testing.graphs import CHURN, SPEND, make_activity_db, make_purchase_db, small_plan


@pytest.fixture(scope="module")
def graph() -> rg.Graph:
    return make_activity_db()


def test_binary_fit_beats_chance_and_predicts(graph, home):
    pq = rg.PredictiveQuery(graph, CHURN)
    table = pq.generate_training_table()
    trainer = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION), verbose=False)
    result = trainer.fit(graph, table)
    metrics = result.metrics()
    assert metrics["test_auroc"] > 0.7          # past activity strongly predicts churn
    holdout = result.holdout_df()
    assert {"ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "TARGET_PRED", "TRUE_PROB"} <= set(
        holdout.columns)
    assert holdout["TRUE_PROB"].between(0, 1).all()
    out_dir = home / "out"
    out_dir.mkdir()
    job = trainer.predict(graph, pq.generate_prediction_table(),
                          output_config=rg.OutputConfig(
                              output_types={"predictions", "embeddings"},
                              output_connector=rg.LocalFileConnector(out_dir),
                              output_table_name="churn"))
    preds = job.predictions_df()
    assert len(preds) == graph["users"].num_rows
    assert sorted(p.name for p in out_dir.iterdir()) == ["churn_embeddings.parquet",
                                                        "churn_predictions.parquet"]
    emb = job.embeddings_df()
    assert len(emb) == len(preds) and len(emb["EMBEDDING"].iloc[0]) > 0


def test_regression_beats_mean(graph, home):
    pq = rg.PredictiveQuery(graph, SPEND)
    table = pq.generate_training_table()
    df = table.data_df()
    train_mean = df.loc[df.SPLIT == "train", "TARGET"].mean()
    test = df[df.SPLIT == "test"]
    mean_mae = float((test.TARGET - train_mean).abs().mean())
    result = rg.Trainer(small_plan(TaskType.REGRESSION, epochs=4), verbose=False).fit(graph, table)
    assert result.metrics()["test_mae"] < mean_mae


def test_same_seed_same_metrics(graph, home):
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    runs = [rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1, seed=7),
                       verbose=False).fit(graph, table).metrics().to_dict() for _ in range(2)]
    assert runs[0] == runs[1]


def test_loaded_trainer_predicts_identically(graph, home):
    pq = rg.PredictiveQuery(graph, CHURN)
    trainer = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1), verbose=False)
    result = trainer.fit(graph, pq.generate_training_table())
    ptable = pq.generate_prediction_table()
    first = trainer.predict(graph, ptable).predictions_df()
    second = rg.Trainer.load(result.id).predict(graph, ptable).predictions_df()
    pd.testing.assert_frame_equal(first, second)


def test_no_future_rows_reach_the_model(graph, home):
    """Shuffling every event after the last anchor must not change any prediction."""
    pq = rg.PredictiveQuery(graph, CHURN)
    trainer = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1), verbose=False)
    trainer.fit(graph, pq.generate_training_table())
    ptable = pq.generate_prediction_table()
    anchor = ptable.data_df()["ANCHOR_TIMESTAMP"].iloc[0] - pd.Timedelta(days=30)
    early = pd.DataFrame({"ENTITY": graph["users"].data["user_id"], "ANCHOR_TIMESTAMP": anchor})
    early_table = rg.TrainingTable.from_dataframe(
        early.assign(TARGET=0.0), graph, entity_table="users", entity_column="ENTITY",
        anchor_time_column="ANCHOR_TIMESTAMP", target_column="TARGET",
        task_type="regression")
    before = trainer.predict(graph, early_table).predictions_df()
    events = graph["events"].data.copy()
    late = events["ts"] > anchor
    events.loc[late, "amount"] = events.loc[late, "amount"].sample(frac=1.0,
                                                                   random_state=1).to_numpy()
    changed = rg.Graph(
        tables={"users": graph["users"],
                "events": rg.Table.from_dataframe(events, "events", primary_key="event_id",
                                                  time_column="ts")},
        edges=graph.edges)
    after = trainer.predict(changed, early_table).predictions_df()
    np.testing.assert_allclose(before["TRUE_PROB"], after["TRUE_PROB"], rtol=1e-5, atol=1e-6)


def test_fit_argument_errors(graph, home):
    trainer = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION), verbose=False)
    with pytest.raises(TrainingError, match="exactly one"):
        trainer.fit(graph)
    with pytest.raises(JobError, match="not been fit"):
        trainer.predict(graph, None)


def test_torch_generator_is_not_global(graph, home):
    """Training must not depend on (or disturb) the global RNG beyond its manual seed."""
    torch.manual_seed(123)
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    a = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1, seed=3),
                   verbose=False).fit(graph, table).metrics().to_dict()
    torch.manual_seed(999)
    b = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1, seed=3),
                   verbose=False).fit(graph, table).metrics().to_dict()
    assert a == b


def test_temporal_link_prediction_learns_preferences(home):
    graph = make_purchase_db()
    pq = rg.PredictiveQuery(graph, "PREDICT LIST_DISTINCT(buys.item_id, 0, 14, days) "
                                   "RANK TOP 5 FOR EACH users.user_id")
    assert pq.get_task_type() is TaskType.TEMPORAL_LINK_PREDICTION
    table = pq.generate_training_table()
    plan = small_plan(TaskType.TEMPORAL_LINK_PREDICTION, epochs=4)
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    metrics = result.metrics()
    # Random ranking of 40 items gives map@5 near 0.05; favourites make it far higher.
    assert metrics[f"test_{plan.training_job.tune_metric}"] > 0.2
    preds = rg.Trainer.load(result.id).predict(graph, pq.generate_prediction_table(),
                                               num_classes_to_return=5).predictions_df()
    assert set(preds.columns) >= {"ENTITY", "CLASS", "SCORE"}
    assert (preds.groupby("ENTITY").size() == 5).all()


def test_graph_transformer_plan_trains_a_transformer(graph, home):
    from relgraph.plan.model_plan import GraphTransformerModelPlan

    plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=2)
    plan.model_architecture.model = [GraphTransformerModelPlan(
        channels=[32], num_layers=[1], num_heads=[4], dropout=[0.0],
        positional_encodings=[["hop", "random_gnn"]])]
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    assert result.best_trial["model"] == "GraphTransformer"
    assert result.best_trial["positional_encodings"] == ["hop", "random_gnn"]
    assert result.metrics()["test_auroc"] > 0.6


def test_pruning_stops_a_lagging_trial(home):
    from relgraph.plan.model_plan import PruningConfig

    graph = make_activity_db(num_users=120, days=120)
    plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=3)
    plan.training_job.num_experiments = 2
    plan.optimization.base_lr = [5e-3, 1e-6]     # the second trial barely learns
    plan.training_job.pruning = PruningConfig(min_epochs=1, k=1, min_delta=0.0, patience=1)
    plan.training_job.hybrid = False  # seed features would make even an untrained GNN rank
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    curves = rg.Trainer(plan, verbose=False).fit(graph, table).training_curves()
    epochs = curves.groupby("trial")["epoch"].max().to_dict()
    assert epochs[0] == 3 and epochs[1] < 3


def test_static_target_column_is_not_a_feature(graph, home):
    """``PREDICT users.tier`` must not see ``tier`` itself among the inputs."""
    from relgraph.training.features import excluded_target_columns

    table = rg.PredictiveQuery(graph, "PREDICT users.tier FOR EACH users.user_id"
                               ).generate_training_table()
    assert excluded_target_columns(table) == {("users", "tier")}
    result = rg.Trainer(small_plan(TaskType.MULTICLASS_CLASSIFICATION, epochs=1),
                        verbose=False).fit(graph, table)
    encoders = rg.Trainer.get_encoders(result.id)
    assert "tier" not in str(encoders.get("users", ""))


@pytest.mark.parametrize(("query", "columns"), [
    ("PREDICT users.tier FOR EACH users.user_id", ["ENTITY", "CLASS", "SCORE"]),
    ("PREDICT COUNT(events.*, 0, 14, days) = 0 FOR EACH users.user_id "
     "WHERE COUNT(events.*, -14, 0, days) > 100000",
     ["ENTITY", "ANCHOR_TIMESTAMP", "TARGET_PRED", "FALSE_PROB", "TRUE_PROB"]),
])
def test_empty_prediction_table_warns_and_writes_no_rows(graph, home, query, columns):
    """Every tier is known / no user passes the filter: a warning, then outputs with the
    usual columns and no rows (not a crash inside the model)."""
    pq = rg.PredictiveQuery(graph, query)
    train_query = query.replace("100000", "0")
    table = rg.PredictiveQuery(graph, train_query).generate_training_table()
    plan = small_plan(pq.get_task_type(), epochs=1)
    trainer = rg.Trainer(plan, verbose=False)
    trainer.fit(graph, table)
    with pytest.warns(UserWarning, match="prediction table is empty"):
        ptable = pq.generate_prediction_table()
    out_dir = home / "out"
    out_dir.mkdir()
    job = trainer.predict(graph, ptable, output_config=rg.OutputConfig(
        output_types={"predictions", "embeddings"},
        output_connector=rg.LocalFileConnector(out_dir), output_table_name="empty"))
    preds = job.predictions_df()
    assert list(preds.columns) == columns and preds.empty
    assert job.embeddings_df().empty
    assert pd.read_parquet(out_dir / "empty_predictions.parquet").columns.tolist() == columns


def test_constant_training_labels_warn(graph, home):
    """``COUNT(...) >= 0`` is always true: fit says so instead of silently scoring 1.0."""
    pq = rg.PredictiveQuery(graph, "PREDICT COUNT(events.*, 0, 14, days) >= 0 "
                                   "FOR EACH users.user_id")
    with pytest.warns(UserWarning, match=r"Every training label is True \(\d+ rows\)"):
        rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1),
                   verbose=False).fit(graph, pq.generate_training_table())


def test_predicting_on_a_graph_without_a_trained_column_names_it(graph, home):
    from relgraph.errors import GraphError

    pq = rg.PredictiveQuery(graph, CHURN)
    trainer = rg.Trainer(small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1), verbose=False)
    trainer.fit(graph, pq.generate_training_table())
    users = graph["users"].data.drop(columns=["tier"])
    smaller = rg.Graph(
        tables={"users": rg.Table.from_dataframe(users, "users", primary_key="user_id"),
                "events": graph["events"]},
        edges=[rg.Edge("events", "user_id", "users")])
    with pytest.raises(GraphError, match=r"lacks 'users.tier', which training job"):
        trainer.predict(smaller, rg.PredictiveQuery(smaller, CHURN).generate_prediction_table())


def test_prefetching_the_next_batch_does_not_change_results(graph, home, monkeypatch):
    """Sampling ahead in a background thread consumes the sampler's generator in the same
    order, so metrics are identical with and without it."""
    import relgraph.training.fitting as fitting

    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    runs = []
    for flag in (False, True):
        monkeypatch.setattr(fitting, "PREFETCH", flag)
        plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=2, seed=5)
        runs.append(rg.Trainer(plan, verbose=False).fit(graph, table).metrics().to_dict())
    assert runs[0] == runs[1]


def test_prefetched_yields_items_in_order_and_propagates_errors():
    from relgraph.training.fitting import prefetched

    assert list(prefetched(lambda x: x * x, [1, 2, 3])) == [(1, 1), (2, 4), (3, 9)]
    assert list(prefetched(lambda x: x, [], True)) == []

    def boom(x: int) -> int:
        if x == 2:
            raise ValueError("bad batch")
        return x

    with pytest.raises(ValueError, match="bad batch"):
        list(prefetched(boom, [1, 2, 3]))


@pytest.mark.parametrize("query,task_type,loss,column", [
    (SPEND, TaskType.REGRESSION, "mae", "TARGET_PRED"),
    (CHURN, TaskType.BINARY_CLASSIFICATION, "binary_cross_entropy", "TRUE_PROB"),
])
def test_averaged_trials_are_saved_and_predict_like_the_holdout(graph, home, monkeypatch,
                                                                 query, task_type, loss,
                                                                 column):
    """An ensemble of trials is saved member by member: batch prediction at a test anchor
    reproduces the holdout predictions, and the loaded job predicts the same."""
    import relgraph.training.ensemble as ensemble

    monkeypatch.setattr(ensemble, "WORSE_SHARE", 1.01)  # admit every trial with the best's head
    pq = rg.PredictiveQuery(graph, query)
    table = pq.generate_training_table()
    plan = small_plan(task_type, epochs=2)
    plan.training_job.num_experiments = 3
    plan.training_job.pruning = None
    plan.optimization.loss = [loss]
    plan.optimization.base_lr = [1e-3, 5e-3, 1e-2]
    plan.neighbor_sampling.num_neighbors = [[-1, -1]]  # every neighbor: no sampling noise
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, table)
    assert sorted(result.ensemble_trials) == [0, 1, 2]
    saved = json.loads((result.dir / "model.json").read_text())
    assert len(saved["ensemble"]) == 2 and (result.dir / "ensemble.pt").exists()

    holdout = result.holdout_df()
    if task_type is TaskType.REGRESSION:
        mae = float((holdout["TARGET"] - holdout["TARGET_PRED"]).abs().mean())
        assert mae == pytest.approx(result.metrics()["test_mae"], rel=1e-5)
    anchor = holdout["ANCHOR_TIMESTAMP"].max()
    at_anchor = holdout[holdout["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")
    ptable = pq.generate_prediction_table(anchor_time=anchor)
    preds = trainer.predict(graph, ptable).predictions_df().set_index("ENTITY")
    common = at_anchor.index.intersection(preds.index)
    assert len(common) == len(at_anchor)
    np.testing.assert_allclose(preds.loc[common, column], at_anchor.loc[common, column],
                               rtol=1e-5, atol=1e-4)
    again = rg.Trainer.load(result.id).predict(graph, ptable).predictions_df()
    pd.testing.assert_frame_equal(again, preds.reset_index()[again.columns])


def test_trials_without_kept_validation_outputs_are_not_averaged(graph, home, monkeypatch):
    """Validation outputs over the size cap are not kept, so the best trial stands alone."""
    import relgraph.training.ensemble as ensemble
    import relgraph.training.fitting as fitting

    monkeypatch.setattr(ensemble, "WORSE_SHARE", 1.01)
    monkeypatch.setattr(fitting, "MAX_KEPT_OUTPUTS", 0)
    table = rg.PredictiveQuery(graph, SPEND).generate_training_table()
    plan = small_plan(TaskType.REGRESSION, epochs=1)
    plan.training_job.num_experiments = 2
    plan.training_job.pruning = None
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    assert len(result.ensemble_trials) == 1
    assert not (result.dir / "ensemble.pt").exists()
