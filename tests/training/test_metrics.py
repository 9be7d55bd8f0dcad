"""Metrics against scikit-learn and hand-computed ranking examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from relgraph.errors import PlanError
from relgraph.task import TaskType
from relgraph.training.metrics import (
    compute_metrics,
    default_metrics,
    default_tune_metric,
    higher_is_better,
    hits_matrix,
    multilabel_per_label,
    parse_metric,
)

RNG = np.random.default_rng(0)


def test_binary_vs_sklearn():
    y = RNG.integers(0, 2, size=200)
    p = np.clip(y * 0.3 + RNG.random(200) * 0.7, 0, 1)
    m = compute_metrics(
        TaskType.BINARY_CLASSIFICATION, default_metrics("binary_classification"), y, p
    )
    hard = (p >= 0.5).astype(int)
    prec, rec, _ = skm.precision_recall_curve(y, p)
    assert m["acc"] == pytest.approx(skm.accuracy_score(y, hard))
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["auprc"] == pytest.approx(skm.auc(rec, prec))
    assert m["ap"] == pytest.approx(skm.average_precision_score(y, p))
    assert m["precision"] == pytest.approx(skm.precision_score(y, hard))
    assert m["recall"] == pytest.approx(skm.recall_score(y, hard))
    assert m["f1"] == pytest.approx(skm.f1_score(y, hard))


def test_binary_single_class_gives_none():
    m = compute_metrics(
        "binary_classification", ["auroc", "auprc", "ap", "acc", "f1"], np.zeros(5), np.full(5, 0.2)
    )
    assert m["auroc"] is None and m["auprc"] is None and m["ap"] is None
    assert m["acc"] == 1.0 and m["f1"] == 0.0
    empty = compute_metrics("binary_classification", ["auroc", "acc"], [], [])
    assert empty == {"auroc": None, "acc": None}


def test_multiclass_vs_sklearn():
    y = RNG.integers(0, 4, size=300)
    s = RNG.random((300, 4))
    s[np.arange(300), y] += 0.3
    m = compute_metrics(
        "multiclass_classification", default_metrics("multiclass_classification"), y, s
    )
    hard = s.argmax(1)
    assert m["acc"] == pytest.approx(skm.accuracy_score(y, hard))
    for name, fn in [
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ]:
        assert m[name] == pytest.approx(fn(y, hard, average="macro", zero_division=0))
    ranks = (s > s[np.arange(300), y][:, None]).sum(1) + 1
    assert m["mrr"] == pytest.approx(np.mean(1 / ranks))
    # hand example: true class ranked 1st and 3rd
    mrr = compute_metrics(
        "multiclass_classification", ["mrr"], [0, 2], [[0.9, 0.05, 0.05], [0.5, 0.3, 0.2]]
    )["mrr"]
    assert mrr == pytest.approx((1 + 1 / 3) / 2)


def test_multilabel_vs_sklearn():
    y = RNG.integers(0, 2, size=(100, 5))
    y[:, 4] = 0  # a label with a single class
    p = np.clip(y * 0.4 + RNG.random((100, 5)) * 0.6, 0, 1)
    names = default_metrics("multilabel_classification")
    m = compute_metrics("multilabel_classification", names, y, p)
    assert m["auroc_macro"] == pytest.approx(skm.roc_auc_score(y[:, :4], p[:, :4], average="macro"))
    assert m["auroc_micro"] == pytest.approx(skm.roc_auc_score(y.ravel(), p.ravel()))
    assert m["ap_macro"] == pytest.approx(
        skm.average_precision_score(y[:, :4], p[:, :4], average="macro")
    )
    assert m["ap_micro"] == pytest.approx(skm.average_precision_score(y.ravel(), p.ravel()))
    hard = (p >= 0.5).astype(int)
    assert m["acc"] == pytest.approx(1 - skm.hamming_loss(y, hard))
    assert m["f1"] == pytest.approx(skm.f1_score(y, hard, average="micro"))
    per = multilabel_per_label("auroc", y, p)
    assert per[4] is None and per[0] == pytest.approx(skm.roc_auc_score(y[:, 0], p[:, 0]))
    assert m["auprc_macro"] is not None and 0 <= m["auprc_macro"] <= 1


def test_regression_vs_sklearn():
    y = RNG.normal(5, 2, size=100)
    p = y + RNG.normal(0, 1, size=100)
    m = compute_metrics("regression", default_metrics("regression"), y, p)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y, p))
    assert m["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, p)))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert m["smape"] == pytest.approx(np.mean(2 * np.abs(p - y) / (np.abs(y) + np.abs(p))))


def test_regression_edge_cases():
    m = compute_metrics("forecasting", ["r2", "mape", "smape", "mae"], [0.0, 0.0], [0.0, 1.0])
    assert m["r2"] is None and m["mape"] is None
    assert m["smape"] == pytest.approx(1.0)  # (0 + 2) / 2
    assert m["mae"] == pytest.approx(0.5)


def test_ranking_hand_computed():
    # entity 0: true {1, 3}; ranked [1, 2, 3] -> hits at 1 and 3
    # entity 1: true {9};    ranked [4, 5, 9] -> hit at 3
    # entity 2: true {};     skipped
    y_true = [{1, 3}, [9], []]
    y_pred = np.array([[1, 2, 3], [4, 5, 9], [7, 8, -1]])
    names = [f"{m}@3" for m in ("precision", "recall", "f1", "map", "ndcg", "mrr", "hit_ratio")]
    m = compute_metrics("static_link_prediction", names, y_true, y_pred)
    assert m["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["recall@3"] == pytest.approx((1 + 1) / 2)
    f1_0 = 2 * (2 / 3) * 1 / (2 / 3 + 1)
    f1_1 = 2 * (1 / 3) * 1 / (1 / 3 + 1)
    assert m["f1@3"] == pytest.approx((f1_0 + f1_1) / 2)
    assert m["map@3"] == pytest.approx(((1 + 2 / 3) / 2 + (1 / 3) / 1) / 2)
    dcg0 = 1 + 1 / math.log2(4)
    idcg0 = 1 + 1 / math.log2(3)
    assert m["ndcg@3"] == pytest.approx((dcg0 / idcg0 + (1 / math.log2(4)) / 1) / 2)
    assert m["mrr@3"] == pytest.approx((1 + 1 / 3) / 2)
    assert m["hit_ratio@3"] == pytest.approx(1.0)
    m1 = compute_metrics(
        "temporal_link_prediction", ["precision@1", "hit_ratio@1", "map@1"], y_true, y_pred
    )
    assert m1 == {"precision@1": 0.5, "hit_ratio@1": 0.5, "map@1": 0.5}


def test_ranking_scores_mode_and_strings():
    truth = np.array([[1, 0, 0, 1], [0, 0, 1, 0]])
    scores = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.8, 0.1, 0.0]])
    m = compute_metrics("multilabel_ranking", ["recall@2", "mrr@4"], truth, scores)
    assert m["recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["mrr@4"] == pytest.approx((1 + 1 / 3) / 2)
    hits, num_true = hits_matrix([["a", "b"]], [["b", "b", "a"]], 3)
    assert hits.tolist() == [[True, False, True]]  # duplicate counts once
    assert num_true.tolist() == [2]
    none = compute_metrics("static_link_prediction", ["map@5"], [[], []], [[1], [2]])
    assert none == {"map@5": None}


def test_metric_names():
    assert parse_metric("MAP@10") == ("map", 10)
    assert parse_metric("mae") == ("mae", None)
    with pytest.raises(PlanError):
        parse_metric("map@x")
    with pytest.raises(PlanError, match="not available for regression"):
        compute_metrics("regression", ["auroc"], [1.0], [1.0])
    with pytest.raises(PlanError, match="map@k"):
        compute_metrics("static_link_prediction", ["map"], [[1]], [[1]])
    with pytest.raises(PlanError, match="Unknown task type"):
        default_metrics("clustering")
    assert not higher_is_better("mae") and not higher_is_better("rmse")
    assert higher_is_better("auroc") and higher_is_better("ndcg@10")
    assert default_tune_metric("binary_classification") == "auroc"
    assert default_tune_metric("regression") == "mae"
    assert default_tune_metric(TaskType.STATIC_LINK_PREDICTION, top_k=12) == "map@12"
    assert "map@5" in default_metrics("temporal_link_prediction", top_k=5)
    for t in TaskType:
        assert default_tune_metric(t) in default_metrics(t)
        compute_metrics(t, default_metrics(t), *_dummy(t))


def _dummy(t: TaskType):
    if t is TaskType.BINARY_CLASSIFICATION:
        return [0, 1], [0.2, 0.7]
    if t is TaskType.MULTICLASS_CLASSIFICATION:
        return [0, 1], [[0.6, 0.4], [0.1, 0.9]]
    if t is TaskType.MULTILABEL_CLASSIFICATION:
        return [[0, 1], [1, 0]], [[0.2, 0.7], [0.6, 0.4]]
    if t.is_regression:
        return [1.0, 2.0], [1.5, 2.5]
    return [[1], [2]], [[1, 2], [3, 2]]
