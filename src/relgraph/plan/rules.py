"""Task-dependent rules of the plans: which losses and metrics each task type accepts."""

from __future__ import annotations

import re
from typing import Any

from relgraph.task import TaskType

# ---------------------------------------------------------------------------------------
# Task-dependent rules
# ---------------------------------------------------------------------------------------

_REGRESSION_LOSSES = frozenset(
    {
        "mae",
        "mse",
        "huber",
        "wape",
        "multi_quantile",
        "quantile",
        "normal_distribution",
        "negative_binomial_distribution",
        "log_normal_distribution",
    }
)
_LOSSES: dict[TaskType, frozenset[str]] = {
    TaskType.BINARY_CLASSIFICATION: frozenset({"binary_cross_entropy", "focal"}),
    TaskType.MULTILABEL_CLASSIFICATION: frozenset({"binary_cross_entropy", "focal"}),
    TaskType.MULTICLASS_CLASSIFICATION: frozenset({"cross_entropy", "ordinal_log"}),
    TaskType.MULTILABEL_RANKING: frozenset({"cross_entropy", "ordinal_log"}),
    TaskType.REGRESSION: _REGRESSION_LOSSES,
    TaskType.FORECASTING: _REGRESSION_LOSSES,
    TaskType.TEMPORAL_LINK_PREDICTION: frozenset({"cross_entropy", "binary_cross_entropy"}),
    TaskType.STATIC_LINK_PREDICTION: frozenset({"cross_entropy", "binary_cross_entropy"}),
}


def valid_losses(task_type: TaskType | str) -> frozenset[str]:
    """Loss names (``LossType`` values and ``"quantile"``) allowed for a task type."""
    return _LOSSES[TaskType(task_type)]


_BINARY_METRICS = frozenset({"acc", "auroc", "auprc", "ap", "precision", "recall", "f1"})
_MULTICLASS_METRICS = frozenset({"acc", "precision", "recall", "f1", "mrr"})
_MULTILABEL_METRICS = frozenset(
    {
        f"{m}_{avg}"
        for m in ("auroc", "auprc", "ap", "precision", "recall", "f1")
        for avg in ("macro", "micro")
    }
    | {"acc", "auroc", "auprc", "ap", "precision", "recall", "f1"}
)
_REGRESSION_METRICS = frozenset({"mae", "mape", "mse", "rmse", "smape", "r2"})
RANKING_METRIC_NAMES: tuple[str, ...] = (
    "map",
    "ndcg",
    "mrr",
    "precision",
    "recall",
    "f1",
    "hit_ratio",
)
_AT_K = re.compile(r"^([a-z_0-9]+)@(\d+)$")


def valid_metric(task_type: TaskType | str, name: str) -> bool:
    """Whether ``name`` is a metric relgraph computes for ``task_type``.

    Ranking tasks use ``<metric>@<k>`` (``map@10``) with k in [1, 1000]; multilabel
    classification uses ``<metric>_macro`` / ``<metric>_micro`` (plain names = macro).
    """
    task = TaskType(task_type)
    name = name.lower()
    if task.is_ranking:
        m = _AT_K.match(name)
        if m is None:
            return False
        return m.group(1) in RANKING_METRIC_NAMES and 1 <= int(m.group(2)) <= 1000
    if task is TaskType.BINARY_CLASSIFICATION:
        return name in _BINARY_METRICS
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        return name in _MULTICLASS_METRICS
    if task is TaskType.MULTILABEL_CLASSIFICATION:
        return name in _MULTILABEL_METRICS
    return name in _REGRESSION_METRICS


# Values that count as "not set" for a field that does not apply to a task (the field
# default, MISSING, and what suggest_model_plan writes into inapplicable fields).
_NEUTRAL: dict[str, list[Any]] = {
    "neighbor_sampling.sample_from_entity_table": [True],
    "neighbor_sampling.max_target_neighbors_per_entity": [["inferred"]],
    "optimization.lookup_optimization": [["inferred"]],
    "optimization.majority_sampling_ratio": [[None]],
    "optimization.weight_mode": [[None]],
    "optimization.target_fraction": [[1.0]],
    "optimization.overlap_ratio": [[1.0]],
    "model_architecture.module": ["context", "shallow_rhs"],
    "model_architecture.forecast_type": [None],
}
