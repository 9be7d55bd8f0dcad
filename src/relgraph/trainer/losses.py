"""Loss functions by the reference's names, for each task type."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from relgraph.errors import PlanError
from relgraph.task import TaskType


def loss_name(loss: Any) -> str:
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, dict):
        return str(loss["name"])
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


def compute_loss(task_type: TaskType, loss: Any, out: Tensor, y: Tensor,
                 weight: Tensor | None = None) -> Tensor:
    """The per-example loss averaged (``weight``-weighted when given)."""
    name = loss_name(loss) or default_loss(task_type)
    if task_type is TaskType.BINARY_CLASSIFICATION:
        logits = out.view(-1)
        if name == "focal":
            alpha = float(_option(loss, "alpha", 0.25))
            gamma = float(_option(loss, "gamma", 2.0))
            p = torch.sigmoid(logits)
            ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
            p_t = p * y + (1 - p) * (1 - y)
            a_t = alpha * y + (1 - alpha) * (1 - y)
            per = a_t * (1 - p_t) ** gamma * ce
        elif name == "binary_cross_entropy":
            per = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        else:
            raise PlanError(f"Loss '{name}' does not apply to binary classification; use "
                            "binary_cross_entropy or focal.")
    elif task_type.is_regression:
        pred = out.view(-1)
        if name == "mae":
            per = (pred - y).abs()
        elif name == "mse":
            per = (pred - y) ** 2
        elif name == "huber":
            per = F.huber_loss(pred, y, reduction="none", delta=float(_option(loss, "delta", 1.0)))
        elif name == "wape":
            per = (pred - y).abs() / y.abs().mean().clamp(min=1e-6)
        else:
            raise PlanError(f"Loss '{name}' is not available for regression here; use mae, "
                            "mse, huber or wape.")
    elif task_type is TaskType.MULTICLASS_CLASSIFICATION:
        if name not in ("cross_entropy", "ordinal_log"):
            raise PlanError(f"Loss '{name}' does not apply to multiclass classification.")
        per = F.cross_entropy(out, y, reduction="none")
    elif task_type.is_multilabel or task_type.is_link_pred:
        from relgraph.trainer.examples import multi_hot

        target = multi_hot(y, out.shape[1])
        if name == "binary_cross_entropy" or task_type is TaskType.MULTILABEL_CLASSIFICATION:
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


def decode_outputs(task_type: TaskType, out: Tensor, mean: float = 0.0,
                   std: float = 1.0) -> Tensor:
    """Model outputs as probabilities (classification) or target-scale values (regression)."""
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return torch.sigmoid(out.view(-1))
    if task_type.is_regression:
        return out.view(-1) * std + mean
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        return torch.softmax(out, dim=-1)
    if task_type.is_ranking:
        return torch.softmax(out, dim=-1)
    return torch.sigmoid(out)
