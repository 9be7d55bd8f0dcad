"""Learning-rate schedules of the reference (all with optional warmup), as LambdaLR factors."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from relgraph.errors import PlanError


def _get(config: Any, key: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(key, default)
    return getattr(config, key, default)


def make_scheduler(optimizer: Optimizer, config: Any, total_steps: int,
                   steps_per_epoch: int) -> LambdaLR | None:
    """A scheduler stepped once per optimizer step (``interval="epoch"`` is honoured)."""
    if config is None:
        return None
    name = str(_get(config, "name"))
    kwargs = dict(_get(config, "kwargs", {}) or {})
    per_epoch = str(_get(config, "interval", "step")) == "epoch"
    warm = float(kwargs.get("warmup_ratio_or_steps", 0.1))
    warmup = int(warm * total_steps) if warm < 1 else int(warm)
    total = max(1, total_steps)
    restarts = int(kwargs.get("num_cycles", kwargs.get("num_restarts", 2)) or 2)
    gamma = float(kwargs.get("gamma", 0.95))

    def factor(step: int) -> float:
        if per_epoch:
            step = (step // max(1, steps_per_epoch)) * steps_per_epoch
        if name == "exponential":
            return gamma ** (step / max(1, steps_per_epoch))
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        progress = min(1.0, progress)
        if name == "constant_with_warmup":
            return 1.0
        if name == "linear_with_warmup":
            return max(0.0, 1.0 - progress)
        if name == "cosine_with_warmup":
            return 0.5 * (1 + math.cos(math.pi * progress))
        if name == "cosine_with_warmup_restarts":
            return 0.5 * (1 + math.cos(math.pi * ((progress * restarts) % 1.0)))
        raise PlanError(f"Unknown lr_scheduler {name!r}; choose constant_with_warmup, "
                        "linear_with_warmup, exponential, cosine_with_warmup or "
                        "cosine_with_warmup_restarts.")

    factor(0)
    return LambdaLR(optimizer, factor)
