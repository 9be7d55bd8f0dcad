"""Evaluation metrics with the reference names, per task type.

Inputs are numpy-compatible arrays; every metric returns a ``float`` or ``None``
when it is undefined (e.g. AUROC with a single class in ``y_true``, R2 of a
constant target, MAPE with only zero targets, an empty input).

Input shapes per task type:

* binary: ``y_true [n]`` in {0, 1}; ``y_pred [n]`` probabilities of class 1
  (thresholded at 0.5 for ``acc``/``precision``/``recall``/``f1``).
* multiclass: ``y_true [n]`` class ids ``0..C-1``; ``y_pred [n, C]`` scores or
  probabilities. ``precision``/``recall``/``f1`` are macro averages.
* multilabel classification: ``y_true [n, L]`` in {0, 1}; ``y_pred [n, L]``
  probabilities. ``*_macro`` averages over labels with both classes present,
  ``*_micro`` pools all ``(row, label)`` pairs. ``acc`` is per-label accuracy
  (1 - Hamming loss); ``f1`` is micro F1 (``f1_macro``/``f1_micro`` explicit).
* regression / forecasting: ``y_true [n]`` and ``y_pred [n]`` (any shape, flattened).
* ranking (link prediction, multilabel ranking): ``y_pred`` holds per-entity
  ranked item lists (``[n, K]`` array, ``-1``/``None`` padded, or a list of lists),
  ``y_true`` per-entity true item collections (list of sets/lists or ``[n, L]``
  array padded with ``-1``). Alternatively ``y_true [n, L]`` binary and ``y_pred
  [n, L]`` float scores, ranked here. Entities without true items are skipped.
  ``@k`` metrics: ``precision@k = hits/k``, ``recall@k = hits/|true|``, ``f1@k``
  per entity then averaged, ``map@k`` = sum of precision at each hit /
  ``min(k, |true|)``, ``ndcg@k`` with binary gains, ``mrr@k`` = 1/rank of the first
  hit (0 if none), ``hit_ratio@k`` = any hit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

from relgraph.errors import PlanError
from relgraph.plan.metric_names import (
    BINARY_METRICS,
    DEFAULT_TOP_K,
    MULTICLASS_METRICS,
    MULTILABEL_METRICS,
    RANKING_METRICS,
    REGRESSION_METRICS,
    _family,
    _task,
    allowed_metrics,
    default_metrics,
    default_tune_metric,
    higher_is_better,
    parse_metric,
    validate_metrics,
)
from relgraph.task import TaskType

MetricValue = float | None



# --------------------------------------------------------------------------- helpers
def _f(x: Any) -> MetricValue:
    v = float(x)
    return v if np.isfinite(v) else None


def _two_classes(y: np.ndarray) -> bool:
    return np.unique(y).size == 2


def _auprc(y: np.ndarray, p: np.ndarray) -> MetricValue:
    if not _two_classes(y):
        return None
    prec, rec, _ = skm.precision_recall_curve(y, p)
    return _f(skm.auc(rec, prec))


def _ap(y: np.ndarray, p: np.ndarray) -> MetricValue:
    if not (y == 1).any():
        return None
    return _f(skm.average_precision_score(y, p))


def _auroc(y: np.ndarray, p: np.ndarray) -> MetricValue:
    return _f(skm.roc_auc_score(y, p)) if _two_classes(y) else None


# --------------------------------------------------------------------------- binary
def binary_metric(name: str, y_true: Any, y_pred: Any, threshold: float = 0.5) -> MetricValue:
    """One binary-classification metric (``y_pred`` = probability of class 1)."""
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y.size == 0:
        return None
    hard = (p >= threshold).astype(np.int64)
    if name == "acc":
        return _f(skm.accuracy_score(y, hard))
    if name == "auroc":
        return _auroc(y, p)
    if name == "auprc":
        return _auprc(y, p)
    if name == "ap":
        return _ap(y, p)
    if name == "precision":
        return _f(skm.precision_score(y, hard, zero_division=0))
    if name == "recall":
        return _f(skm.recall_score(y, hard, zero_division=0))
    if name == "f1":
        return _f(skm.f1_score(y, hard, zero_division=0))
    raise PlanError(f"Unknown binary metric {name!r}; allowed: {', '.join(BINARY_METRICS)}.")


# --------------------------------------------------------------------------- multiclass
def multiclass_metric(name: str, y_true: Any, y_pred: Any) -> MetricValue:
    """One multiclass metric (``y_pred [n, C]`` scores, or ``[n]`` hard labels; macro)."""
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    s = np.asarray(y_pred, dtype=np.float64)
    if y.size == 0:
        return None
    if s.ndim == 1:  # hard labels: no scores, so no mrr
        if name == "mrr":
            return None
        hard = s.astype(np.int64)
        s = np.zeros((y.size, 1))
    else:
        s = s.reshape(y.size, -1)
        hard = s.argmax(axis=1)
    if name == "acc":
        return _f(skm.accuracy_score(y, hard))
    if name in ("precision", "recall", "f1"):
        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
        return _f(fn[name](y, hard, average="macro", zero_division=0))
    if name == "mrr":
        valid = (y >= 0) & (y < s.shape[1])
        if not valid.any():
            return None
        true_score = s[valid, y[valid]][:, None]
        rank = 1 + (s[valid] > true_score).sum(axis=1)
        return _f(np.mean(1.0 / rank))
    raise PlanError(
        f"Unknown multiclass metric {name!r}; allowed: {', '.join(MULTICLASS_METRICS)}."
    )


# --------------------------------------------------------------------------- multilabel
def multilabel_per_label(name: str, y_true: Any, y_pred: Any) -> list[MetricValue]:
    """Per-label values of ``auroc``/``auprc``/``ap``/``f1``/``precision``/``recall``/``acc``."""
    y = np.asarray(y_true).astype(np.int64)
    p = np.asarray(y_pred, dtype=np.float64)
    y = y.reshape(y.shape[0], -1)
    p = p.reshape(y.shape)
    fns: dict[str, Callable[[np.ndarray, np.ndarray], MetricValue]] = {
        "auroc": _auroc,
        "auprc": _auprc,
        "ap": _ap,
        "acc": lambda a, b: binary_metric("acc", a, b),
        "f1": lambda a, b: binary_metric("f1", a, b),
        "precision": lambda a, b: binary_metric("precision", a, b),
        "recall": lambda a, b: binary_metric("recall", a, b),
    }
    if name not in fns:
        raise PlanError(f"Unknown per-label metric {name!r}; allowed: {', '.join(fns)}.")
    return [fns[name](y[:, j], p[:, j]) for j in range(y.shape[1])]


def multilabel_metric(name: str, y_true: Any, y_pred: Any) -> MetricValue:
    """One multilabel-classification metric (see the module docstring)."""
    y = np.asarray(y_true).astype(np.int64)
    if y.size == 0:
        return None
    y = y.reshape(y.shape[0], -1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(y.shape)
    hard = (p >= 0.5).astype(np.int64)
    base, _, avg = name.rpartition("_")
    if base in ("auroc", "auprc", "ap") and avg in ("macro", "micro"):
        if avg == "micro":
            fn = {"auroc": _auroc, "auprc": _auprc, "ap": _ap}[base]
            return fn(y.reshape(-1), p.reshape(-1))
        vals = [v for v in multilabel_per_label(base, y, p) if v is not None]
        return _f(np.mean(vals)) if vals else None
    if name == "acc":
        return _f((hard == y).mean())
    if name in ("f1", "f1_micro", "f1_macro", "precision", "recall"):
        average = "macro" if name == "f1_macro" else "micro"
        fn2 = {"precision": skm.precision_score, "recall": skm.recall_score}.get(name, skm.f1_score)
        return _f(fn2(y, hard, average=average, zero_division=0))
    raise PlanError(
        f"Unknown multilabel metric {name!r}; allowed: {', '.join(MULTILABEL_METRICS)}."
    )


# --------------------------------------------------------------------------- regression
def regression_metric(name: str, y_true: Any, y_pred: Any) -> MetricValue:
    """One regression / forecasting metric (MAPE over non-zero targets; SMAPE in [0, 2])."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    if y.size == 0:
        return None
    err = p - y
    if name == "mae":
        return _f(np.abs(err).mean())
    if name == "mse":
        return _f((err**2).mean())
    if name == "rmse":
        return _f(np.sqrt((err**2).mean()))
    if name == "mape":
        nz = y != 0
        return _f(np.mean(np.abs(err[nz]) / np.abs(y[nz]))) if nz.any() else None
    if name == "smape":
        denom = np.abs(y) + np.abs(p)
        frac = np.divide(2.0 * np.abs(err), denom, out=np.zeros_like(denom), where=denom > 0)
        return _f(frac.mean())
    if name == "r2":
        if y.size < 2 or np.all(y == y[0]):
            return None
        return _f(skm.r2_score(y, p))
    raise PlanError(
        f"Unknown regression metric {name!r}; allowed: {', '.join(REGRESSION_METRICS)}."
    )


# --------------------------------------------------------------------------- ranking
def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        return True
    return bool(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v < 0)


def _rows(x: Any) -> list[list[Any]]:
    if isinstance(x, np.ndarray):
        if x.ndim == 1 and x.dtype != object:
            x = x.reshape(-1, 1)
        return [[v for v in row if not _is_missing(v)] for row in x.tolist()]
    return [[v for v in (row if row is not None else []) if not _is_missing(v)] for row in x]


def hits_matrix(y_true: Any, y_pred: Any, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(hits [n, K] bool, num_true [n])`` for ranked predictions vs true item sets.

    Score mode: if ``y_pred`` is a float ``[n, L]`` array and ``y_true`` a ``[n, L]``
    array, items are the column ids ranked by descending score.
    """
    yp = np.asarray(y_pred) if not isinstance(y_pred, list) else None
    yt = np.asarray(y_true) if isinstance(y_true, np.ndarray) else None
    if (
        yp is not None
        and yt is not None
        and yp.ndim == 2
        and yt.shape == yp.shape
        and np.issubdtype(yp.dtype, np.floating)
    ):
        kk = yp.shape[1] if k is None else min(k, yp.shape[1])
        order = np.argsort(-yp, axis=1, kind="stable")[:, :kk]
        truth = yt.astype(bool)
        return np.take_along_axis(truth, order, axis=1), truth.sum(axis=1)
    pred_rows = _rows(y_pred)
    true_rows = _rows(y_true)
    if len(pred_rows) != len(true_rows):
        raise ValueError(f"y_true has {len(true_rows)} entities but y_pred has {len(pred_rows)}.")
    n = len(pred_rows)
    width = max((len(r) for r in pred_rows), default=0)
    if k is not None:
        width = min(width, k)
    width = max(width, 1)
    # encode (entity, item) pairs as integers and test membership vectorized
    p_ent = np.repeat(np.arange(n), [min(len(r), width) for r in pred_rows])
    p_pos = np.concatenate(
        [np.arange(min(len(r), width), dtype=np.int64) for r in pred_rows]
        or [np.zeros(0, dtype=np.int64)]
    )
    p_items = [v for r in pred_rows for v in r[:width]]
    t_sets = [list(dict.fromkeys(r)) for r in true_rows]
    t_ent = np.repeat(np.arange(n), [len(r) for r in t_sets])
    t_items = [v for r in t_sets for v in r]
    items = np.asarray([str(v) for v in p_items + t_items], dtype=object)
    _, codes = np.unique(items, return_inverse=True)
    num_items = int(codes.max()) + 1 if codes.size else 1
    p_key = p_ent * num_items + codes[: len(p_items)]
    t_key = t_ent * num_items + codes[len(p_items) :]
    hit = np.isin(p_key, t_key)
    hits = np.zeros((n, width), dtype=bool)
    hits[p_ent, p_pos] = hit
    # a repeated item in one ranked list counts once
    if p_key.size:
        first = np.zeros(p_key.size, dtype=bool)
        _, idx = np.unique(p_key, return_index=True)
        first[idx] = True
        hits[p_ent[~first], p_pos[~first]] = False
    return hits, np.asarray([len(r) for r in t_sets], dtype=np.int64)


def ranking_metric(name: str, k: int, y_true: Any, y_pred: Any) -> MetricValue:
    """One ranking metric at ``k`` (see the module docstring)."""
    hits, num_true = hits_matrix(y_true, y_pred, k)
    keep = num_true > 0
    if not keep.any():
        return None
    hits, num_true = hits[keep][:, :k].astype(np.float64), num_true[keep].astype(np.float64)
    n_hit = hits.sum(axis=1)
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    if name == "precision":
        return _f(np.mean(n_hit / k))
    if name == "recall":
        return _f(np.mean(n_hit / num_true))
    if name == "f1":
        prec, rec = n_hit / k, n_hit / num_true
        denom = prec + rec
        f1 = np.divide(2 * prec * rec, denom, out=np.zeros_like(denom), where=denom > 0)
        return _f(np.mean(f1))
    if name == "hit_ratio":
        return _f(np.mean(n_hit > 0))
    if name == "mrr":
        first = np.where(n_hit > 0, hits.argmax(axis=1) + 1.0, np.inf)
        return _f(np.mean(1.0 / first))
    if name == "map":
        prec_at = np.cumsum(hits, axis=1) / ranks
        return _f(np.mean((prec_at * hits).sum(axis=1) / np.minimum(num_true, k)))
    if name == "ndcg":
        disc = 1.0 / np.log2(ranks + 1.0)
        dcg = (hits * disc).sum(axis=1)
        cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])
        idcg = cum[np.minimum(num_true, k).astype(np.int64)]
        return _f(np.mean(dcg / idcg))
    raise PlanError(
        f"Unknown ranking metric {name!r}; allowed: {', '.join(RANKING_METRICS)} (with @k)."
    )


# --------------------------------------------------------------------------- dispatcher
def compute_metrics(
    task_type: TaskType | str, names: Sequence[str], y_true: Any, y_pred: Any
) -> dict[str, MetricValue]:
    """Compute ``names`` for ``task_type``: ``{name: value or None}`` (keys as given).

    Unknown names raise :class:`PlanError`; undefined values are ``None``.
    """
    task = _task(task_type)
    fam = _family(task)
    normalized = validate_metrics(task, names)
    out: dict[str, MetricValue] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for orig, name in zip(names, normalized):
            base, k = parse_metric(name)
            if fam == "binary":
                out[orig] = binary_metric(base, y_true, y_pred)
            elif fam == "multiclass":
                out[orig] = multiclass_metric(base, y_true, y_pred)
            elif fam == "multilabel":
                out[orig] = multilabel_metric(base, y_true, y_pred)
            elif fam == "regression":
                out[orig] = regression_metric(base, y_true, y_pred)
            else:
                assert k is not None
                out[orig] = ranking_metric(base, k, y_true, y_pred)
    return out


__all__ = [
    "BINARY_METRICS",
    "DEFAULT_TOP_K",
    "MULTICLASS_METRICS",
    "MULTILABEL_METRICS",
    "RANKING_METRICS",
    "REGRESSION_METRICS",
    "allowed_metrics",
    "binary_metric",
    "compute_metrics",
    "default_metrics",
    "default_tune_metric",
    "higher_is_better",
    "hits_matrix",
    "multiclass_metric",
    "multilabel_metric",
    "multilabel_per_label",
    "parse_metric",
    "ranking_metric",
    "regression_metric",
    "validate_metrics",
]
