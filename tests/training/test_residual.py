"""Residual GNNs: members that start at the GBDT learner's prediction and learn its error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import relgraph as rg
from relgraph.errors import ArtifactError
from relgraph.nn.offset import OutputOffset
from relgraph.task import TaskType
from relgraph.testing.graphs import CHURN, SPEND, make_activity_db, small_plan
from relgraph.training import hybrid
from relgraph.training.examples import Examples, TargetInfo, fit_target_info
from relgraph.training.hybrid import BASE_FOLDS, fit_base_learner
from relgraph.training.losses import decode_outputs, output_offset


def _regression_info(loss: str) -> TargetInfo:
    """A skewed non-negative target with the head of ``loss`` (log space for mae and
    multi_quantile, standardized values for mse)."""
    values = pd.Series(np.r_[np.zeros(200), 10.0 ** np.arange(0.0, 5.0, 0.25)])
    return fit_target_info(TaskType.REGRESSION, values).for_loss(loss)


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression", "log_space",
                                  "multi_quantile", "forecasting"])
def test_the_offset_decodes_back_to_the_base_prediction(case: str) -> None:
    """Zero correction on top of the offset decodes to the base prediction exactly: the
    offset is the inverse of decoding (before recalibration)."""
    if case == "binary":
        info = TargetInfo(TaskType.BINARY_CLASSIFICATION)
        base = torch.tensor([[0.05], [0.5], [0.93]])
    elif case == "multiclass":
        info = TargetInfo(TaskType.MULTICLASS_CLASSIFICATION, classes=["a", "b", "c"])
        base = torch.tensor([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    elif case == "forecasting":
        info = fit_target_info(TaskType.FORECASTING, pd.Series([[1.0, 2.0], [3.0, 5.0]] * 20))
        base = torch.tensor([[1.5, 2.5], [4.0, 0.5]])
    else:
        info = _regression_info({"regression": "mse", "log_space": "mae"}.get(case, case))
        assert info.log_space == (case != "regression")
        base = torch.tensor([[0.0], [3.5], [1200.0]])
    offset = output_offset(info)
    assert offset is not None
    decoded = decode_outputs(info, offset(base), calibrated=False)
    np.testing.assert_allclose(decoded.reshape(base.shape).numpy(), base.numpy(), rtol=1e-4,
                               atol=1e-4)


def test_heads_without_a_point_output_get_no_offset() -> None:
    info = fit_target_info(TaskType.REGRESSION, pd.Series(np.arange(1.0, 100.0)))
    assert output_offset(info.for_loss("normal_distribution")) is None
    assert output_offset(TargetInfo(TaskType.MULTILABEL_CLASSIFICATION, classes=["a"])) is None
    with pytest.raises(ValueError, match="kind"):
        OutputOffset("softmax")


def _memorizable_examples(n: int = 1200, seed: int = 0) -> tuple[Examples, TargetInfo]:
    """Targets that are pure noise and a feature unique per row: trees can only remember
    the training rows."""
    rng = np.random.default_rng(seed)
    y = rng.normal(10.0, 3.0, n)
    split = np.array(["train"] * (n - 400) + ["val"] * 200 + ["test"] * 200, dtype=object)
    info = fit_target_info(TaskType.REGRESSION, pd.Series(y[split == "train"]))
    ex = Examples(torch.arange(n), torch.zeros(n, dtype=torch.long),
                  pd.DataFrame({"ENTITY": np.arange(n)}),
                  features=pd.DataFrame({"row_id": rng.permutation(n).astype(float),
                                         "noise": rng.normal(size=n)}),
                  y=torch.tensor((y - info.mean) / info.std, dtype=torch.float32), split=split)
    return ex, info


@pytest.mark.parametrize("refit", [False, True], ids=["train", "refit"])
@pytest.mark.parametrize("cross_fitted", [False, True])
def test_training_rows_get_out_of_fold_predictions(monkeypatch, cross_fitted: bool,
                                                   refit: bool) -> None:
    """On training rows the base comes from boosters that never saw the row, so it holds
    no memory of their targets (the learner's in-sample predictions do); elsewhere it is
    the learner's own prediction. Both ways: extra out-of-fold boosters, and (from
    ``CROSS_FIT_ROWS`` training rows) the learner's own bag cross-fitted on folds; and
    for a refit on train+val with fixed rounds, whose validation rows are training rows."""
    monkeypatch.setattr(hybrid, "CROSS_FIT_ROWS", 1 if cross_fitted else 10**9)
    ex, info = _memorizable_examples()
    splits = ("train", "val") if refit else ("train",)
    model = fit_base_learner(ex, info, "mse", seed=0, train_splits=splits,
                             rounds=[60] * hybrid.BAG if refit else None)
    if refit:
        assert model.rounds == [60] * hybrid.BAG
    assert ex.base is not None and ex.base.shape == (len(ex.rows), 1)
    train = ex.index(splits).numpy()
    y = ex.y.numpy()[train]
    in_sample = model.predict(ex.features)[train]
    # a cross-fitted bag's mean saw each row in two members of three: less memory, but some
    assert np.corrcoef(in_sample, y)[0, 1] > (0.2 if cross_fitted else 0.3)
    assert abs(np.corrcoef(ex.base.numpy()[train, 0], y)[0, 1]) < 0.1
    rest = ex.index(("test",) if refit else ("val", "test")).numpy()
    np.testing.assert_allclose(ex.base.numpy()[rest, 0],
                               model.predict(ex.features.iloc[rest]), rtol=1e-6)
    assert BASE_FOLDS >= 2


@pytest.fixture(scope="module")
def graph() -> rg.Graph:
    return make_activity_db()


@pytest.mark.slow
@pytest.mark.parametrize(("query", "task_type", "column", "refit"),
                         [(CHURN, TaskType.BINARY_CLASSIFICATION, "TRUE_PROB", False),
                          (SPEND, TaskType.REGRESSION, "TARGET_PRED", False),
                          (SPEND, TaskType.REGRESSION, "TARGET_PRED", True)])
def test_residual_and_plain_members_predict_in_batch_like_the_holdout(
        graph, home, monkeypatch, query, task_type, column, refit) -> None:
    """Trials alternate between residual and plain GNNs; a saved model rebuilds the base of
    its residual members for new seeds, so batch prediction reproduces the holdout (also
    after a refit on train+val, whose learner and bases are refitted too)."""
    import relgraph.training.ensemble as ensemble

    monkeypatch.setattr(ensemble, "WORSE_SHARE", 1.01)  # average both kinds of member
    pq = rg.PredictiveQuery(graph, query)
    table = pq.generate_training_table()
    plan = small_plan(task_type, epochs=2)
    plan.training_job.num_experiments = 2
    plan.training_job.pruning = None
    plan.optimization.base_lr = [1e-3, 5e-3]
    plan.neighbor_sampling.num_neighbors = [[-1, -1]]  # every neighbor: no sampling noise
    plan.training_job.refit_trainval = refit
    trainer = rg.Trainer(plan, verbose=False)
    result = trainer.fit(graph, table)
    assert sorted(result.ensemble_trials) == [0, 1]
    meta_json = json.loads((result.dir / "meta.json").read_text())
    assert meta_json["refit_splits"] == (["train", "val"] if refit else ["train"])
    meta = json.loads((result.dir / "model.json").read_text())
    members = [(meta["settings"], meta["spec"])] + \
        [(m["settings"], m["spec"]) for m in meta["ensemble"]]
    assert {s["trial_index"]: s["residual"] for s, _ in members} == {0: True, 1: False}
    assert all((spec["offset"] is not None) == s["residual"] for s, spec in members)

    holdout = result.holdout_df()
    anchor = holdout["ANCHOR_TIMESTAMP"].max()
    at_anchor = holdout[holdout["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")
    ptable = pq.generate_prediction_table(anchor_time=anchor)
    preds = trainer.predict(graph, ptable).predictions_df().set_index("ENTITY")
    common = at_anchor.index.intersection(preds.index)
    assert len(common) == len(at_anchor) > 0
    np.testing.assert_allclose(preds.loc[common, column], at_anchor.loc[common, column],
                               rtol=1e-5, atol=1e-4)

    (result.dir / "gbdt.json").unlink()   # the residual member cannot run without its base
    with pytest.raises(ArtifactError):
        rg.Trainer.load(result.id).predict(graph, ptable).predictions_df()
