"""Losses and output heads: unit behaviour, and end to end through the trainer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import relgraph as rg
from relgraph.errors import PlanError, TrainingError
from relgraph.task import TaskType
from relgraph.testing.graphs import SPEND, make_activity_db, small_plan
from relgraph.training.examples import TargetInfo, fit_target_info, numeric_targets
from relgraph.training.losses import (
    QUANTILES,
    compute_loss,
    decode_outputs,
    decode_quantiles,
    quantile_column,
)

REGRESSION_LOSSES = ["mae", "mse", "huber", "wape", "normal_distribution",
                     "log_normal_distribution", "negative_binomial_distribution",
                     "multi_quantile", {"name": "quantile", "q": 0.8}]


def _fit_constant_model(info: TargetInfo, loss: object, y: torch.Tensor,
                        steps: int = 600) -> torch.Tensor:
    """Fit one free output vector to targets ``y`` and return its decoded prediction."""
    info = info.for_loss(loss)
    params = torch.zeros(1, info.out_channels, requires_grad=True)
    opt = torch.optim.Adam([params], lr=0.05)
    for _ in range(steps):
        out = params.expand(len(y), -1)
        value = compute_loss(info, loss, out, y)
        opt.zero_grad()
        value.backward()
        opt.step()
    return decode_outputs(info, params.detach())


@pytest.mark.parametrize("loss", REGRESSION_LOSSES, ids=str)
def test_regression_losses_fit_the_target_distribution(loss: object) -> None:
    """A constant model under each loss converges to that loss's optimal point."""
    rng = np.random.default_rng(0)
    raw = pd.Series(rng.poisson(6.0, 4000).astype(float))
    info = fit_target_info(TaskType.REGRESSION, raw)
    y = torch.tensor(((raw - info.mean) / info.std).to_numpy(), dtype=torch.float32)
    pred = float(_fit_constant_model(info, loss, y)[0])
    name = loss if isinstance(loss, str) else loss["name"]  # type: ignore[index]
    expected = {"mse": raw.mean(), "normal_distribution": raw.mean(),
                "negative_binomial_distribution": raw.mean(),
                "quantile": raw.quantile(0.8)}.get(name, raw.median())
    assert pred == pytest.approx(expected, abs=0.6), name


def test_loss_changes_the_head_width() -> None:
    info = TargetInfo(TaskType.REGRESSION)
    assert info.for_loss("huber").out_channels == 1
    assert info.for_loss("normal_distribution").out_channels == 2
    assert info.for_loss("multi_quantile").out_channels == len(QUANTILES) == 27
    forecast = TargetInfo(TaskType.FORECASTING, horizon=3)
    assert forecast.for_loss("negative_binomial_distribution").out_channels == 6


def test_quantiles_are_ordered_and_named() -> None:
    info = TargetInfo(TaskType.REGRESSION, mean=10.0, std=2.0).for_loss("multi_quantile")
    out = torch.randn(5, 27)
    q = decode_quantiles(info, out)
    assert q is not None and q.shape == (5, 1, 27)
    assert bool((q.diff(dim=-1) >= 0).all())
    assert torch.allclose(decode_outputs(info, out), q[:, 0, QUANTILES.index(0.5)])
    assert quantile_column(0.005) == "q_0.005" and quantile_column(0.995) == "q_0.995"
    normal = TargetInfo(TaskType.REGRESSION).for_loss("normal_distribution")
    nq = decode_quantiles(normal, torch.tensor([[0.0, 0.0]]))
    assert nq is not None and float(nq[0, 0, QUANTILES.index(0.5)]) == pytest.approx(0.0)
    assert float(nq[0, 0, 0]) < 0 < float(nq[0, 0, -1])


def test_ordinal_log_loss_penalizes_distant_classes_more() -> None:
    info = TargetInfo(TaskType.MULTICLASS_CLASSIFICATION, classes=[1, 2, 3, 4, 5])
    y = torch.tensor([0])
    near = torch.tensor([[0.0, 4.0, 0.0, 0.0, 0.0]])   # mass on the neighbouring class
    far = torch.tensor([[0.0, 0.0, 0.0, 0.0, 4.0]])    # same mass on the farthest class
    oll = {"name": "ordinal_log", "alpha": 1.0}
    assert compute_loss(info, oll, far, y) > compute_loss(info, oll, near, y)
    # cross entropy cannot tell them apart
    assert compute_loss(info, "cross_entropy", far, y) == pytest.approx(
        float(compute_loss(info, "cross_entropy", near, y)))
    # alpha = 0 weighs every wrong class alike
    flat = {"name": "ordinal_log", "alpha": 0.0}
    assert compute_loss(info, flat, far, y) == pytest.approx(
        float(compute_loss(info, flat, near, y)))


def test_wrong_loss_for_task_is_a_plan_error() -> None:
    info = TargetInfo(TaskType.REGRESSION)
    with pytest.raises(PlanError, match="does not apply to regression"):
        compute_loss(info, "focal", torch.zeros(2, 1), torch.zeros(2))


@pytest.fixture(scope="module")
def graph() -> rg.Graph:
    return make_activity_db()


def test_multi_quantile_writes_quantile_columns(graph, home):
    pq = rg.PredictiveQuery(graph, SPEND)
    table = pq.generate_training_table()
    plan = small_plan(TaskType.REGRESSION, epochs=4)
    plan.optimization.loss = ["multi_quantile"]
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, table)
    holdout = result.holdout_df()
    qcols = [quantile_column(q) for q in QUANTILES]
    assert qcols[0] == "q_0.005" and set(qcols) <= set(holdout.columns)
    assert (np.diff(holdout[qcols].to_numpy(), axis=1) >= -1e-6).all()
    assert np.allclose(holdout["TARGET_PRED"], holdout["q_0.5"])
    inside = holdout["TARGET"].between(holdout["q_0.05"], holdout["q_0.95"]).mean()
    assert inside > 0.6  # a 90% interval from a short training run
    preds = trainer.predict(graph, pq.generate_prediction_table()).predictions_df()
    assert set(qcols) <= set(preds.columns) and len(preds) == graph["users"].num_rows


@pytest.mark.parametrize("loss", ["log_normal_distribution", "negative_binomial_distribution"])
def test_count_distributions_beat_the_mean(graph, home, loss):
    count = "PREDICT COUNT(events.*, 0, 14, days) FOR EACH users.user_id"
    table = rg.PredictiveQuery(graph, count).generate_training_table()
    df = table.data_df()
    test = df[df.SPLIT == "test"]
    mean_mae = float((test.TARGET - df.loc[df.SPLIT == "train", "TARGET"].mean()).abs().mean())
    plan = small_plan(TaskType.REGRESSION, epochs=4)
    plan.optimization.loss = [loss]
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    assert result.metrics()["test_mae"] < mean_mae
    assert (result.holdout_df()["TARGET_PRED"] >= 0).all()


def test_non_negative_losses_reject_negative_targets(graph, home):
    table = rg.PredictiveQuery(graph, SPEND).generate_training_table()
    df = table.data_df().copy()
    df["TARGET"] = df["TARGET"] - 1000.0
    shifted = rg.TrainingTable.from_dataframe(
        df, graph, "users", "ENTITY", "ANCHOR_TIMESTAMP", split_column="SPLIT",
        task_type=TaskType.REGRESSION)
    plan = small_plan(TaskType.REGRESSION, epochs=1)
    plan.optimization.loss = ["negative_binomial_distribution"]
    with pytest.raises(TrainingError, match="non-negative"):
        rg.Trainer(plan, verbose=False).fit(graph, shifted)


def test_forecasting_trains_one_output_per_window(graph, home):
    query = ("PREDICT SUM(events.amount, 0, 7, days) FORECAST 3 TIMEFRAMES "
             "FOR EACH users.user_id")
    pq = rg.PredictiveQuery(graph, query)
    assert pq.get_task_type() is TaskType.FORECASTING
    table = pq.generate_training_table()
    df = table.data_df()
    plan = small_plan(TaskType.FORECASTING, epochs=3)
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, table)
    holdout = result.holdout_df()
    assert list(holdout["STEP"].unique()) == [1, 2, 3]
    n_test = int((df.SPLIT == "test").sum())
    assert len(holdout) == 3 * n_test
    # every window's value beats predicting the training mean for all windows
    train = np.array([v for t in df.loc[df.SPLIT == "train", "TARGET"] for v in t])
    mean_mae = float(np.abs(holdout["TARGET"].astype(float) - train.mean()).mean())
    assert result.metrics()["test_mae"] < mean_mae
    preds = trainer.predict(graph, pq.generate_prediction_table()).predictions_df()
    assert len(preds) == 3 * graph["users"].num_rows
    assert preds.groupby("ENTITY")["STEP"].apply(list).map(lambda s: s == [1, 2, 3]).all()


def _heavy_tailed_counts(n: int = 4000) -> pd.Series:
    """Zero-inflated, heavy-tailed counts, like 'ratings in the next 30 days'."""
    rng = np.random.default_rng(1)
    active = rng.random(n) < 0.4
    return pd.Series(np.where(active, rng.negative_binomial(1, 0.05, n), 0).astype(float))


def test_skewed_non_negative_targets_are_fitted_in_log_space() -> None:
    raw = _heavy_tailed_counts()
    info = fit_target_info(TaskType.REGRESSION, raw)
    assert info.non_negative and info.skewed
    assert info.for_loss("mae").log_space and info.for_loss("multi_quantile").log_space
    # Losses aiming at the mean or a distribution keep the raw scale.
    assert not info.for_loss("mse").log_space
    assert not info.for_loss("normal_distribution").log_space
    symmetric = fit_target_info(TaskType.REGRESSION, pd.Series(np.arange(100.0)))
    assert symmetric.non_negative and not symmetric.skewed
    signed = fit_target_info(TaskType.REGRESSION, pd.Series([-3.0, 0.0, 1.0, 500.0] * 20))
    assert not signed.non_negative and not signed.for_loss("mae").log_space


@pytest.mark.parametrize("loss", ["mae", "huber", {"name": "quantile", "q": 0.8},
                                  "multi_quantile"], ids=str)
def test_log_space_losses_still_aim_at_their_quantile(loss: object) -> None:
    """Quantiles commute with log1p, so the decoded optimum is the raw median / quantile."""
    raw = _heavy_tailed_counts()
    info = fit_target_info(TaskType.REGRESSION, raw)
    y = torch.tensor(((raw - info.mean) / info.std).to_numpy(), dtype=torch.float32)
    pred = float(_fit_constant_model(info, loss, y, steps=1500)[0])
    q = loss["q"] if isinstance(loss, dict) else 0.5  # type: ignore[index]
    if q == 0.5:  # huber is quadratic within delta of the optimum, so it sits a bit off
        assert pred == pytest.approx(float(raw.median()), abs=1.0 if loss == "huber" else 0.5)
    else:  # the 0.8 quantile sits in a wide gap between observed counts
        low, high = raw.quantile(q - 0.1), raw.quantile(q + 0.1)
        assert low - 0.5 <= pred <= high + 0.5, (pred, low, high)


def test_never_negative_targets_get_non_negative_predictions() -> None:
    info = TargetInfo(TaskType.REGRESSION, mean=2.0, std=1.0, non_negative=True)
    out = torch.tensor([[-5.0], [0.5]])
    assert decode_outputs(info, out).tolist() == [0.0, 2.5]
    signed = TargetInfo(TaskType.REGRESSION, mean=2.0, std=1.0)
    assert decode_outputs(signed, out).tolist() == [-3.0, 2.5]
    saved = TargetInfo.from_dict(info.for_loss("mae").to_dict())
    assert saved == info.for_loss("mae")


@pytest.mark.parametrize("refit", [False, True], ids=["selected", "refit"])
def test_heavy_tailed_count_fits_in_log_space_end_to_end(graph, home, refit):
    """COUNT targets are skewed: the default huber loss fits log1p(count); predictions are
    non-negative, beat the training median, and batch predictions decode the same way.
    A model refitted on train+val keeps its scale (no shift/scale recalibration) and is
    still rounded to integers where validation says so."""
    count = "PREDICT COUNT(events.*, 0, 14, days) FOR EACH users.user_id"
    pq = rg.PredictiveQuery(graph, count)
    table = pq.generate_training_table()
    df = table.data_df()
    test = df[df.SPLIT == "test"]
    median_mae = float((test.TARGET - df.loc[df.SPLIT == "train", "TARGET"].median()).abs().mean())
    plan = small_plan(TaskType.REGRESSION, epochs=4)
    plan.training_job.refit_trainval = refit
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, table)
    target = json.loads((result.dir / "model.json").read_text())["target"]
    meta = json.loads((result.dir / "meta.json").read_text())
    assert meta["refit_splits"] == (["train", "val"] if refit else ["train"])
    if refit:
        assert (target["shift"], target["scale"]) == (0.0, 1.0)
    assert target["non_negative"] and target["skewed"] and target["log_space"]
    assert result.metrics()["test_mae"] < median_mae
    assert (result.holdout_df()["TARGET_PRED"] >= 0).all()
    assert target["integer"]
    if target["round_at"] is not None:  # kept because it lowered the validation MAE
        assert result.recalibration is not None and result.recalibration["rounded"]
        assert result.recalibration["round_at"] == target["round_at"]
        pred = result.holdout_df()["TARGET_PRED"]
        assert (pred == pred.round()).all()
    preds = trainer.predict(graph, pq.generate_prediction_table()).predictions_df()
    assert len(preds) == graph["users"].num_rows and (preds["TARGET_PRED"] >= 0).all()


def test_forecast_targets_become_a_padded_float_matrix() -> None:
    """Lists of per-window values (lists or arrays, of any length; None, NaN and
    non-numbers unknown) become ``[n, horizon]`` floats, NaN-padded."""
    targets = pd.Series([[1, 2, 3], None, np.array([4.0, np.nan]), [5, None, "x"], [],
                         [6.5]], dtype=object)
    out = numeric_targets(targets)
    nan = np.nan
    np.testing.assert_array_equal(out, [[1, 2, 3], [nan, nan, nan], [4, nan, nan],
                                        [5, nan, nan], [nan, nan, nan], [6.5, nan, nan]])
    np.testing.assert_array_equal(numeric_targets(pd.Series([1.0, None, "2"])), [1, nan, 2])
