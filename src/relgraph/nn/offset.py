"""A base prediction as the starting point of a model's outputs (residual models).

A residual model predicts ``offset(base) + head(embedding)``: ``base`` is another
learner's decoded prediction for the seed (a probability, class probabilities or a target
value) and the head, initialized to zero, learns the correction. :class:`OutputOffset`
maps the decoded prediction into the model's output space: logits, centered log
probabilities, or the standardized (optionally ``log1p``) target of a point head,
repeated for every output of a forecast step (multi-quantile heads).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

#: Probabilities are clipped to [EPS, 1 - EPS] before the logarithm.
EPS = 1e-4
KINDS = ("logit", "log_prob", "value")


@dataclass(frozen=True)
class OutputOffset:
    """How a decoded base prediction ``[B, C]`` becomes an additive output offset.

    Attributes:
        kind: ``logit`` (binary probability), ``log_prob`` (class probabilities) or
            ``value`` (target values, one per forecast step).
        center: subtracted from the (log) value.
        scale: the (log) value is divided by it.
        log: ``value`` only: ``log1p`` of the value first (log-space heads).
        repeats: outputs per value (``value`` only; multi-quantile heads).
    """

    kind: str
    center: float = 0.0
    scale: float = 1.0
    log: bool = False
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"OutputOffset kind must be one of {KINDS} (got {self.kind!r})")
        if not self.scale > 0:
            raise ValueError(f"OutputOffset scale must be positive (got {self.scale})")

    def __call__(self, base: Tensor) -> Tensor:
        x = base.reshape(base.shape[0], -1).to(torch.float32)
        if self.kind == "logit":
            p = x.clamp(EPS, 1 - EPS)
            out = torch.log(p) - torch.log1p(-p)
        elif self.kind == "log_prob":
            out = torch.log(x.clamp(min=EPS))
            out = out - out.mean(dim=1, keepdim=True)
        else:
            if self.log:
                x = torch.log1p(x.clamp(min=0))
            out = ((x - self.center) / self.scale).repeat_interleave(self.repeats, dim=1)
        return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


__all__ = ["OutputOffset"]
