"""Metric names per task type (the reference's names; no numpy/sklearn): which metrics a
task reports by default, which one tunes trials, which names are accepted. The metrics
themselves are computed by :mod:`relgraph.training.metrics`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from relgraph.errors import PlanError
from relgraph.task import TaskType

__all__ = ["BINARY_METRICS", "DEFAULT_TOP_K", "LOWER_IS_BETTER", "MULTICLASS_METRICS",
           "MULTILABEL_METRICS", "RANKING_METRICS", "REGRESSION_METRICS", "allowed_metrics",
           "default_metrics", "default_tune_metric", "higher_is_better", "parse_metric",
           "validate_metrics"]

_K_RE = re.compile(r"^([a-z_0-9]+?)@(\d+)$")

BINARY_METRICS = ("acc", "auroc", "auprc", "ap", "precision", "recall", "f1")
MULTICLASS_METRICS = ("acc", "precision", "recall", "f1", "mrr")
MULTILABEL_METRICS = (
    "auroc_macro",
    "auroc_micro",
    "auprc_macro",
    "auprc_micro",
    "ap_macro",
    "ap_micro",
    "acc",
    "f1",
    "f1_macro",
    "f1_micro",
    "precision",
    "recall",
)
REGRESSION_METRICS = ("mae", "mape", "mse", "rmse", "smape", "r2")
RANKING_METRICS = ("map", "ndcg", "mrr", "precision", "recall", "f1", "hit_ratio")
LOWER_IS_BETTER = frozenset({"mae", "mape", "mse", "rmse", "smape", "loss"})
DEFAULT_TOP_K = 10


def _task(task_type: TaskType | str) -> TaskType:
    try:
        return TaskType(str(getattr(task_type, "value", task_type)))
    except ValueError:
        raise PlanError(
            f"Unknown task type {task_type!r}; expected one of "
            f"{', '.join(t.value for t in TaskType)}."
        ) from None


def _family(task: TaskType) -> str:
    if task is TaskType.BINARY_CLASSIFICATION:
        return "binary"
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        return "multiclass"
    if task is TaskType.MULTILABEL_CLASSIFICATION:
        return "multilabel"
    if task.is_regression:
        return "regression"
    return "ranking"


def parse_metric(name: str) -> tuple[str, int | None]:
    """Split ``"map@10"`` into ``("map", 10)``; ``"mae"`` into ``("mae", None)``."""
    text = name.strip().lower()
    m = _K_RE.match(text)
    if m:
        k = int(m.group(2))
        if k < 1:
            raise PlanError(f"Invalid metric {name!r}: k must be >= 1.")
        return m.group(1), k
    if "@" in text:
        raise PlanError(f"Invalid metric {name!r}; expected NAME or NAME@K with K an integer.")
    return text, None


def higher_is_better(name: str) -> bool:
    """Whether larger values of metric ``name`` are better (errors and losses: no)."""
    base, _ = parse_metric(name)
    return base not in LOWER_IS_BETTER and not base.endswith("loss")


def default_metrics(task_type: TaskType | str, top_k: int | None = None) -> list[str]:
    """Metrics reported by default for ``task_type`` (ranking at ``top_k``, default 10)."""
    fam = _family(_task(task_type))
    if fam == "binary":
        return list(BINARY_METRICS)
    if fam == "multiclass":
        return list(MULTICLASS_METRICS)
    if fam == "multilabel":
        return ["auroc_macro", "auprc_macro", "ap_macro", "auroc_micro", "auprc_micro",
                "ap_micro", "acc", "f1"]
    if fam == "regression":
        return list(REGRESSION_METRICS)
    ks = sorted({1, 10, 100} | ({min(top_k, 100)} if top_k else set()))
    return [f"{m}@{k}" for m in RANKING_METRICS for k in ks]


def default_tune_metric(task_type: TaskType | str, top_k: int | None = None) -> str:
    """Validation metric used to select trials: auroc, acc, auroc_macro, mae, map@k."""
    fam = _family(_task(task_type))
    return {
        "binary": "auroc",
        "multiclass": "acc",
        "multilabel": "auroc_macro",
        "regression": "mae",
    }.get(fam, f"map@{min(top_k, 100) if top_k else DEFAULT_TOP_K}")


def allowed_metrics(task_type: TaskType | str) -> tuple[str, ...]:
    """Metric names accepted for ``task_type`` (ranking names take ``@k``)."""
    fam = _family(_task(task_type))
    return {
        "binary": BINARY_METRICS,
        "multiclass": MULTICLASS_METRICS,
        "multilabel": MULTILABEL_METRICS,
        "regression": REGRESSION_METRICS,
        "ranking": tuple(f"{m}@k" for m in RANKING_METRICS),
    }[fam]


def validate_metrics(task_type: TaskType | str, names: Iterable[str]) -> list[str]:
    """Normalize metric names (lower case) and raise :class:`PlanError` on unknown ones."""
    fam = _family(_task(task_type))
    out = []
    for name in names:
        base, k = parse_metric(name)
        if fam == "ranking":
            ok = base in RANKING_METRICS and k is not None
        else:
            table = {
                "binary": BINARY_METRICS,
                "multiclass": MULTICLASS_METRICS,
                "multilabel": MULTILABEL_METRICS,
                "regression": REGRESSION_METRICS,
            }[fam]
            ok = base in table and k is None
        if not ok:
            raise PlanError(
                f"Metric {name!r} is not available for {_task(task_type).value}; allowed: "
                f"{', '.join(allowed_metrics(task_type))}."
            )
        out.append(f"{base}@{k}" if k is not None else base)
    return out
