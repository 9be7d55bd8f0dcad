"""Encoders of an entity's own past targets (``ModelArchitecturePlan.past_encoder``).

The past targets of a seed are the query's target evaluated at earlier anchors whose
windows ended by the seed's anchor (``[B, K]``, most recent first, ``NaN`` where unknown),
already standardized like the target. Each encoder maps them to a ``channels``-wide
vector added to the seed's embedding:

* ``decomposed``: level (mean), last value, trend (most recent minus oldest known, per
  step), spread (std) and the share known: a trend/level decomposition, through an MLP;
* ``normalized``: the sequence divided by its mean absolute value (its shape, scale-free)
  and the log of that scale, through an MLP;
* ``mlp``: the raw sequence and its known-mask through an MLP;
* ``transformer``: one token per past step (value + step embedding, unknown steps
  masked), a one-layer transformer encoder, mean-pooled.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from relgraph.errors import PlanError

KINDS = ("decomposed", "normalized", "mlp", "transformer")


class PastTargetEncoder(nn.Module):
    """``[B, K]`` past targets -> ``[B, channels]`` (see the module docstring)."""

    def __init__(self, kind: str, num_steps: int, channels: int) -> None:
        super().__init__()
        if kind not in KINDS:
            raise PlanError(f"Unknown past_encoder {kind!r}; choose one of {list(KINDS)} "
                            "or None.")
        self.kind = kind
        self.num_steps = num_steps
        if kind == "transformer":
            self.value = nn.Linear(1, channels)
            self.step = nn.Embedding(num_steps, channels)
            self.encoder = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(channels, nhead=4 if channels % 4 == 0 else 1,
                                           dim_feedforward=2 * channels, dropout=0.0,
                                           batch_first=True), num_layers=1,
                enable_nested_tensor=False)
            self.out = nn.Linear(channels, channels)
            return
        width = {"decomposed": 5, "normalized": num_steps + 2, "mlp": 2 * num_steps}[kind]
        self.mlp = nn.Sequential(nn.Linear(width, channels), nn.ReLU(),
                                 nn.Linear(channels, channels))

    def forward(self, past: Tensor) -> Tensor:
        known = ~torch.isnan(past)
        x = torch.where(known, past, torch.zeros_like(past))
        k = known.float()
        if self.kind == "transformer":
            tokens = self.value(x.unsqueeze(-1)) + self.step.weight.unsqueeze(0)
            pad = ~known
            pad = pad & ~(pad.all(dim=1, keepdim=True))  # a row with nothing known attends
            h = self.encoder(tokens, src_key_padding_mask=pad)
            pooled = (h * k.unsqueeze(-1)).sum(1) / k.sum(1, keepdim=True).clamp(min=1)
            return self.out(pooled)
        if self.kind == "mlp":
            return self.mlp(torch.cat([x, k], dim=1))
        count = k.sum(1, keepdim=True)
        mean = x.sum(1, keepdim=True) / count.clamp(min=1)
        if self.kind == "normalized":
            scale = (x.abs().sum(1, keepdim=True) / count.clamp(min=1)).clamp(min=1e-3)
            return self.mlp(torch.cat([x / scale, torch.log(scale), count / self.num_steps],
                                      dim=1))
        var = ((x - mean) ** 2 * k).sum(1, keepdim=True) / count.clamp(min=1)
        steps = torch.arange(self.num_steps, device=past.device).expand_as(x)
        last_known = torch.where(known, steps, torch.full_like(steps, self.num_steps)) \
            .min(1, keepdim=True).values.clamp(max=self.num_steps - 1)
        first_known = torch.where(known, steps, torch.full_like(steps, -1)) \
            .max(1, keepdim=True).values.clamp(min=0)
        recent = x.gather(1, last_known)
        oldest = x.gather(1, first_known)
        trend = (recent - oldest) / (first_known - last_known).clamp(min=1)
        feats = torch.cat([mean, recent, trend, var.sqrt(), count / self.num_steps], dim=1)
        return self.mlp(feats)
