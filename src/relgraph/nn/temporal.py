"""Encoding of how long before the anchor time a row happened."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class RelativeTimeEncoder(nn.Module):
    """Maps ``anchor - row_time`` (seconds, ≥ 0) to a ``channels``-wide vector.

    Features: ``log1p(days)`` plus sines/cosines of the age in days at periods from
    one hour to about three years, followed by a linear layer.
    """

    def __init__(self, channels: int, num_frequencies: int = 8) -> None:
        super().__init__()
        periods = torch.logspace(math.log10(1 / 24), math.log10(1024), num_frequencies)
        self.register_buffer("freq", 2 * math.pi / periods, persistent=False)
        self.lin = nn.Linear(2 * num_frequencies + 1, channels)

    def forward(self, age_seconds: Tensor) -> Tensor:
        days = age_seconds.clamp(min=0).to(torch.float32) / 86400.0
        freq: Tensor = self.freq  # type: ignore[assignment]
        angles = days.unsqueeze(-1) * freq
        feats = torch.cat([torch.log1p(days).unsqueeze(-1), angles.sin(), angles.cos()], dim=-1)
        return self.lin(feats)
