"""Loss functions by the reference's names, and the output heads they imply.

Regression and forecasting outputs are ``[n, horizon, params]``, flattened to
``[n, horizon * params]`` by the model, where ``params`` depends on the loss:

* point losses (``mae``, ``mse``, ``huber``, ``wape``, ``quantile``): one value, the
  standardized target ``(y - mean) / std`` (huber's ``delta`` stays in target units);
* ``normal_distribution``: mean and scale of a normal on the standardized target;
* ``log_normal_distribution``: mean and scale of a normal on the standardized
  ``log1p(y)`` (targets must be >= 0); predictions are the distribution's median;
* ``negative_binomial_distribution``: log-mean (relative to the training mean) and
  dispersion of a negative binomial on the raw counts (targets must be >= 0);
* ``multi_quantile``: the :data:`QUANTILES` of the standardized target (pinball loss);
  predictions are the median, and prediction tables add one column per quantile.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from relgraph.errors import PlanError, TrainingError
from relgraph.nn.offset import OutputOffset
from relgraph.task import TaskType

if TYPE_CHECKING:
    from relgraph.training.examples import TargetInfo

#: Quantile levels of ``multi_quantile`` (27, from q_0.005 to q_0.995).
QUANTILES: tuple[float, ...] = (
    0.005, 0.01, 0.02, 0.025, 0.05,
    0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
    0.85, 0.9,
    0.95, 0.975, 0.98, 0.99, 0.995,
)
#: Regression losses that predict a distribution (two parameters per value).
DISTRIBUTION_LOSSES = frozenset(
    {"normal_distribution", "log_normal_distribution", "negative_binomial_distribution"})
#: Losses whose targets must be non-negative.
NON_NEGATIVE_LOSSES = frozenset({"log_normal_distribution", "negative_binomial_distribution"})
#: Point and quantile losses that fit ``log1p(target)`` when the training targets are
#: non-negative and heavy-tailed (``TargetInfo.skewed``). Quantiles commute with monotone
#: maps, so the decoded median / q-quantile is still the one these losses aim at, while
#: the network no longer has to produce outputs spread over several orders of magnitude.
LOG_SPACE_LOSSES = frozenset({"mae", "huber", "quantile", "multi_quantile"})
_MIN_SCALE = 1e-3


def loss_name(loss: Any) -> str:
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, dict):
        return str(loss["name"])
    value = getattr(loss, "value", None)  # LossType enum
    if isinstance(value, str):
        return value
    return str(getattr(loss, "name", loss))


def _option(loss: Any, key: str, default: float) -> float:
    value = loss.get(key) if isinstance(loss, dict) else getattr(loss, key, None)
    return default if value is None else float(value)


def default_loss(task_type: TaskType) -> str:
    if task_type in (TaskType.BINARY_CLASSIFICATION, TaskType.MULTILABEL_CLASSIFICATION):
        return "binary_cross_entropy"
    if task_type.is_link_pred or task_type is TaskType.MULTILABEL_RANKING:
        return "cross_entropy"
    if task_type.is_regression:
        return "huber"
    return "cross_entropy"


def head_name(task_type: TaskType, loss: Any) -> str:
    """The output head ``loss`` needs: a distribution, ``multi_quantile`` or ``""``."""
    name = loss_name(loss)
    if task_type.is_regression and (name in DISTRIBUTION_LOSSES or name == "multi_quantile"):
        return name
    return ""


def params_per_value(head: str) -> int:
    """Model outputs per predicted value for a regression head."""
    if head in DISTRIBUTION_LOSSES:
        return 2
    if head == "multi_quantile":
        return len(QUANTILES)
    return 1


def check_targets(info: TargetInfo, loss: Any, y: Tensor) -> None:
    """Fail early when ``loss`` cannot model these (standardized) regression targets."""
    name = loss_name(loss)
    if name in NON_NEGATIVE_LOSSES and y.numel():
        low = float(torch.nan_to_num(y, nan=math.inf).min()) * info.std + info.mean
        if low < -1e-6:
            raise TrainingError(
                f"Loss '{name}' models non-negative targets, but the training table has "
                f"TARGET values down to {low:g}. Use mae, mse, huber or normal_distribution "
                "instead, or shift the target.")


def _regression_params(info: TargetInfo, out: Tensor) -> Tensor:
    """``[n, horizon, params]`` view of regression outputs."""
    return out.reshape(out.shape[0], info.horizon, -1)


def _raw(info: TargetInfo, y: Tensor) -> Tensor:
    return y * info.std + info.mean


def _log_z(info: TargetInfo, y: Tensor) -> Tensor:
    """Standardized ``log1p`` of the raw (non-negative) target."""
    return (torch.log1p(_raw(info, y).clamp(min=0)) - info.log_mean) / info.log_std


def _from_log(info: TargetInfo, z: Tensor) -> Tensor:
    """Target-scale values of standardized ``log1p`` values (inverse of :func:`_log_z`)."""
    return torch.expm1((z * info.log_std + info.log_mean).clamp(max=80.0)).clamp(min=0)


def _to_target(info: TargetInfo, value: Tensor) -> Tensor:
    """Target-scale values of point/quantile outputs (log space or standardized)."""
    return _from_log(info, value) if info.log_space else _raw(info, value)


def _scale(raw: Tensor) -> Tensor:
    return F.softplus(raw) + _MIN_SCALE


def _nb_mean_dispersion(info: TargetInfo, p: Tensor) -> tuple[Tensor, Tensor]:
    log_base = math.log(max(info.mean, _MIN_SCALE))
    mu = torch.exp((p[..., 0] + log_base).clamp(max=30.0))
    return mu, _scale(p[..., 1])


def _regression_loss(info: TargetInfo, name: str, loss: Any, out: Tensor, y: Tensor) -> Tensor:
    """Per-example regression loss (mean over forecast windows)."""
    p = _regression_params(info, out)
    y = y.reshape(y.shape[0], info.horizon)
    if info.log_space:
        y = _log_z(info, y)
    if name in ("mae", "mse", "huber", "wape", "quantile"):
        pred = p[..., 0]
        if name == "mae":
            per = (pred - y).abs()
        elif name == "mse":
            per = (pred - y) ** 2
        elif name == "huber":
            # ``delta`` is in target units (the targets here are standardized), so for
            # wide targets huber is L1 beyond one unit of error, like the reference.
            # In log space: the log error of a delta-sized miss at zero.
            delta = _option(loss, "delta", 1.0)
            delta = math.log1p(delta) / info.log_std if info.log_space else delta / info.std
            per = F.huber_loss(pred, y, reduction="none", delta=delta) / min(delta, 1.0)
        elif name == "wape":
            per = (pred - y).abs() / _raw(info, y).abs().mean().clamp(min=1e-6) * info.std
        else:
            q = _option(loss, "q", 0.5)
            diff = y - pred
            per = torch.maximum(q * diff, (q - 1) * diff)
    elif name == "multi_quantile":
        levels = torch.tensor(QUANTILES, device=out.device, dtype=out.dtype)
        diff = y.unsqueeze(-1) - p
        per = torch.maximum(levels * diff, (levels - 1) * diff).mean(-1)
    elif name == "normal_distribution":
        mu, sigma = p[..., 0], _scale(p[..., 1])
        per = torch.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2
    elif name == "log_normal_distribution":
        mu, sigma = p[..., 0], _scale(p[..., 1])
        per = torch.log(sigma) + 0.5 * ((_log_z(info, y) - mu) / sigma) ** 2
    elif name == "negative_binomial_distribution":
        mu, alpha = _nb_mean_dispersion(info, p)
        k = _raw(info, y).clamp(min=0)
        r = 1.0 / alpha
        log_prob = (torch.lgamma(k + r) - torch.lgamma(r) - torch.lgamma(k + 1)
                    + r * torch.log(r / (r + mu)) + k * torch.log(mu / (r + mu) + 1e-12))
        per = -log_prob / max(info.std, 1.0)  # keep the loss scale comparable
    else:
        raise PlanError(f"Loss '{name}' does not apply to regression or forecasting; use mae, "
                        "mse, huber, wape, multi_quantile, quantile or a *_distribution loss.")
    return per.mean(dim=1)


def _ordinal_log_loss(out: Tensor, y: Tensor, alpha: float) -> Tensor:
    """Ordinal log loss (OLL-alpha): ``-sum_j log(1 - p_j) * |j - y| ** alpha``.

    Classes are taken in their sorted order; probability on a class far from the true
    one costs more than on a neighbouring class.
    """
    prob = torch.softmax(out, dim=-1)
    classes = torch.arange(out.shape[1], device=out.device)
    dist = (classes.unsqueeze(0) - y.unsqueeze(1)).abs().to(out.dtype) ** alpha
    return -(torch.log1p(-prob.clamp(max=1 - 1e-6)) * dist).sum(-1)


def compute_loss(info: TargetInfo, loss: Any, out: Tensor, y: Tensor,
                 weight: Tensor | None = None) -> Tensor:
    """The per-example loss averaged (``weight``-weighted when given)."""
    task_type = info.task_type
    name = loss_name(loss) or default_loss(task_type)
    if task_type is TaskType.BINARY_CLASSIFICATION:
        logits = out.view(-1)
        if name == "focal":
            per = _focal(logits, y, loss)
        elif name == "binary_cross_entropy":
            per = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        else:
            raise PlanError(f"Loss '{name}' does not apply to binary classification; use "
                            "binary_cross_entropy or focal.")
    elif task_type.is_regression:
        per = _regression_loss(info, name, loss, out, y)
    elif task_type is TaskType.MULTICLASS_CLASSIFICATION:
        if name == "cross_entropy":
            per = F.cross_entropy(out, y, reduction="none")
        elif name == "ordinal_log":
            per = _ordinal_log_loss(out, y, _option(loss, "alpha", 1.0))
        else:
            raise PlanError(f"Loss '{name}' does not apply to multiclass classification; use "
                            "cross_entropy or ordinal_log.")
    elif task_type.is_multilabel or task_type.is_link_pred:
        from relgraph.training.examples import multi_hot

        target = multi_hot(y, out.shape[1])
        if task_type is TaskType.MULTILABEL_CLASSIFICATION and name == "focal":
            per = _focal(out, target, loss).mean(dim=-1)
        elif name == "binary_cross_entropy" or task_type is TaskType.MULTILABEL_CLASSIFICATION:
            per = F.binary_cross_entropy_with_logits(out, target, reduction="none").mean(dim=-1)
        elif name in ("cross_entropy", "ordinal_log"):
            # Softmax over all items; every true item is a positive (mean over them).
            logp = torch.log_softmax(out, dim=-1)
            per = -(logp * target).sum(-1) / target.sum(-1).clamp(min=1)
        else:
            raise PlanError(f"Loss '{name}' does not apply to {task_type}; use cross_entropy "
                            "or binary_cross_entropy.")
    else:
        raise PlanError(f"No loss for task type '{task_type}'.")
    if weight is not None:
        return (per * weight).sum() / weight.sum().clamp(min=1e-12)
    return per.mean()


def _focal(logits: Tensor, y: Tensor, loss: Any) -> Tensor:
    alpha = _option(loss, "alpha", 0.25)
    gamma = _option(loss, "gamma", 2.0)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    a_t = alpha * y + (1 - alpha) * (1 - y)
    return a_t * (1 - p_t) ** gamma * ce


def decode_outputs(info: TargetInfo, out: Tensor, *, calibrated: bool = True) -> Tensor:
    """Model outputs as probabilities (classification) or target-scale values (regression:
    ``[n]``, or ``[n, horizon]`` for forecasting). ``calibrated=False`` leaves regression
    values before :func:`recalibrate` (to average an ensemble first)."""
    task_type = info.task_type
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return torch.sigmoid(out.view(-1))
    if task_type.is_regression:
        point = _point(info, _regression_params(info, out))
        if calibrated:
            point = recalibrate(info, point)
        return point if task_type is TaskType.FORECASTING else point[:, 0]
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        return torch.softmax(out, dim=-1)
    if task_type.is_ranking:
        return torch.softmax(out, dim=-1)
    return torch.sigmoid(out)


def output_offset(info: TargetInfo) -> OutputOffset | None:
    """How a decoded prediction becomes an offset of the outputs of a model with
    ``info``'s head (the inverse of :func:`decode_outputs` before recalibration), or
    ``None`` where the head has no point output to shift (distribution heads, ranking and
    multilabel tasks)."""
    task_type = info.task_type
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return OutputOffset("logit")
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        return OutputOffset("log_prob")
    if not task_type.is_regression or info.head not in ("", "multi_quantile"):
        return None
    if info.log_space:
        return OutputOffset("value", info.log_mean, info.log_std, log=True,
                            repeats=params_per_value(info.head))
    return OutputOffset("value", info.mean, info.std, repeats=params_per_value(info.head))


def _point(info: TargetInfo, p: Tensor) -> Tensor:
    head = info.head
    if head == "multi_quantile":
        median = QUANTILES.index(0.5)
        return _to_target(info, p.sort(dim=-1).values[..., median])
    if head == "log_normal_distribution":
        return _from_log(info, p[..., 0])
    if head == "negative_binomial_distribution":
        return _nb_mean_dispersion(info, p)[0]
    return _to_target(info, p[..., 0])


def decode_quantiles(info: TargetInfo, out: Tensor, *, calibrated: bool = True
                     ) -> Tensor | None:
    """:func:`_quantiles`, with the validation recalibration applied when ``calibrated``."""
    q = _quantiles(info, out)
    return recalibrate(info, q) if q is not None and calibrated else q


def recalibrate(info: TargetInfo, value: Tensor) -> Tensor:
    """Apply the validation recalibration and rounding (up from ``info.round_at`` of the
    way to the next integer). Predictions stay non-negative for non-negative heads and for
    targets that were never negative in training (counts, sums, prices)."""
    value = value * info.scale + info.shift
    if info.round_at is not None:
        value = torch.floor(value + (1.0 - info.round_at))
    keep_positive = info.head in NON_NEGATIVE_LOSSES or info.non_negative
    value = value.clamp(min=0) if keep_positive else value
    return value + 0.0  # -0.0 (a rounded or clamped small negative) prints as 0.0


def _quantiles(info: TargetInfo, out: Tensor) -> Tensor | None:
    """``[n, horizon, len(QUANTILES)]`` target-scale quantiles, for heads that have them
    (``multi_quantile``, normal and log-normal distributions); ``None`` otherwise."""
    if not info.task_type.is_regression:
        return None
    p = _regression_params(info, out)
    head = info.head
    if head == "multi_quantile":  # sorting removes quantile crossings
        return _to_target(info, p.sort(dim=-1).values)
    if head in ("normal_distribution", "log_normal_distribution"):
        z = torch.special.ndtri(torch.tensor(QUANTILES, dtype=out.dtype, device=out.device))
        q = p[..., :1] + _scale(p[..., 1:2]) * z
        if head == "normal_distribution":
            return _raw(info, q)
        return _from_log(info, q)
    return None


def quantile_column(q: float) -> str:
    """Prediction-table column of quantile ``q``: ``q_0.005`` ... ``q_0.995``."""
    return f"q_{q:g}"
