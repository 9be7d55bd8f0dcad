"""The hybrid model: blend weights, seed inputs, past targets, and the GBDT learner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import relgraph as rg
from relgraph.task import TaskType
from relgraph.testing.graphs import CHURN, SPEND, make_activity_db, small_plan
from relgraph.training.ensemble import DEFAULT_WEIGHT, fit_blend
from relgraph.training.examples import TargetInfo, fit_target_info
from relgraph.training.hybrid import SeedScaler, encode_past


def _regression(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1, n)
    return torch.tensor(y, dtype=torch.float32), y


def test_blend_keeps_the_even_weight_when_validation_cannot_tell() -> None:
    y_t, y = _regression(400, 0)
    rng = np.random.default_rng(1)
    gnn = y_t + torch.tensor(rng.normal(0, 1.0, 400), dtype=torch.float32)
    gbdt = y_t + torch.tensor(rng.normal(0, 1.0, 400), dtype=torch.float32)
    info = TargetInfo(TaskType.REGRESSION)
    weight, scores = fit_blend(gnn, gbdt, y, info, "mae")
    assert weight == DEFAULT_WEIGHT
    assert scores[0.5] > max(scores[0.0], scores[1.0])  # two noisy models: their mean wins


@pytest.mark.parametrize("better", ["gnn", "gbdt"])
def test_blend_follows_a_clearly_better_component(better: str) -> None:
    y_t, y = _regression(2000, 2)
    rng = np.random.default_rng(3)
    good = y_t + torch.tensor(rng.normal(0, 0.1, 2000), dtype=torch.float32)
    bad = y_t + torch.tensor(rng.normal(0, 3.0, 2000), dtype=torch.float32)
    gnn, gbdt = (good, bad) if better == "gnn" else (bad, good)
    weight, _ = fit_blend(gnn, gbdt, y, TargetInfo(TaskType.REGRESSION), "mae")
    assert weight == (0.0 if better == "gnn" else 1.0)


def test_blend_of_probabilities_for_auroc() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(3000) < 0.4).astype(float)
    signal = torch.tensor(y + rng.normal(0, 0.6, 3000), dtype=torch.float32)
    gnn = torch.sigmoid(signal)
    gbdt = torch.rand(3000, generator=torch.Generator().manual_seed(0))  # no signal at all
    weight, scores = fit_blend(gnn, gbdt, y, TargetInfo(TaskType.BINARY_CLASSIFICATION),
                               "auroc")
    assert weight == 0.0 and scores[0.0] > scores[0.5] > scores[1.0]


def test_seed_scaler_round_trip_and_missing_values() -> None:
    frame = pd.DataFrame({"a": [1.0, 10.0, np.nan, 1000.0], "b": [0.0, 0.0, 0.0, 0.0],
                          "c": pd.Categorical(["x", "y", "x", None])})
    scaler = SeedScaler.fit(frame, np.array([0, 1, 2]))
    assert scaler.columns == ["a", "b"]           # categoricals stay with the GBDT learner
    x = scaler.transform(frame)
    assert x.shape == (4, 2) and torch.isfinite(x).all()
    assert float(x[2, 0]) == 0.0                   # missing -> the training mean
    again = SeedScaler.from_dict(scaler.to_dict())
    assert torch.equal(again.transform(frame), x)
    fitted, together = SeedScaler.fit_transform(frame, np.array([0, 1, 2]))
    assert fitted == scaler and torch.equal(together, x)


def test_past_targets_are_standardized_like_the_target() -> None:
    info = fit_target_info(TaskType.REGRESSION, pd.Series([0.0, 1.0, 2.0, 3.0, 100.0] * 20))
    past = np.array([[1.0, np.nan], [100.0, 0.0]])
    enc = encode_past(past, info)
    assert torch.isnan(enc[0, 1])
    if info.skewed:
        expected = (np.log1p(100.0) - info.log_mean) / info.log_std
    else:
        expected = (100.0 - info.mean) / info.std
    assert float(enc[1, 0]) == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def graph() -> rg.Graph:
    return make_activity_db()


@pytest.mark.parametrize(("query", "task_type", "metric"),
                         [(CHURN, TaskType.BINARY_CLASSIFICATION, "auroc"),
                          (SPEND, TaskType.REGRESSION, "mae")])
def test_hybrid_job_records_components_and_past_targets(graph, home, query, task_type,
                                                        metric) -> None:
    """The job trains the GBDT learner on relational features and past targets, records
    each component's test metric, and the past targets reach the GNN."""
    pq = rg.PredictiveQuery(graph, query)
    table = pq.generate_training_table()
    result = rg.Trainer(small_plan(task_type, epochs=2), verbose=False).fit(graph, table)
    gbdt = result.gbdt
    assert gbdt is not None and 0.0 <= gbdt["weight"] <= 1.0
    assert gbdt["num_features"] > 6                 # aggregates plus PAST_1..PAST_6
    assert set(gbdt["test"]) == {"gnn", "gbdt"} and metric in gbdt["test"]["gbdt"]
    saved = (result.dir / "model.json").read_text()
    assert '"past_steps": 6' in saved and '"past_encoder": "decomposed"' in saved
    # the past targets are the query's own target one window earlier
    df = table.data_df()
    anchors = df["ANCHOR_TIMESTAMP"].astype("datetime64[s]").astype(np.int64).to_numpy()
    past = pq.past_targets(df["ENTITY"], anchors, 2)
    earlier = pd.DataFrame({"ENTITY": df["ENTITY"], "ANCHOR_TIMESTAMP":
                            df["ANCHOR_TIMESTAMP"] - pd.Timedelta(days=14), "PAST": past[:, 0]})
    known = earlier.merge(df, on=["ENTITY", "ANCHOR_TIMESTAMP"])
    assert len(known) > 50
    np.testing.assert_allclose(known["PAST"], known["TARGET"].astype(float))
