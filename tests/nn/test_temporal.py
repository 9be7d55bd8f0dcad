"""RelativeTimeEncoder: the documented features (log1p of days, sines and cosines at periods
from one hour to about three years), negative ages clamped to zero, any leading shape."""

from __future__ import annotations

import math

import torch

from relgraph.nn.temporal import RelativeTimeEncoder


def test_matches_the_documented_features() -> None:
    torch.manual_seed(0)
    enc = RelativeTimeEncoder(channels=5, num_frequencies=4)
    ages = torch.tensor([0, 3600, 86400, 30 * 86400, 400 * 86400], dtype=torch.long)
    days = ages.double() / 86400
    periods = torch.logspace(math.log10(1 / 24), math.log10(1024), 4, dtype=torch.float64)
    angles = days[:, None] * (2 * math.pi / periods)
    feats = torch.cat([torch.log1p(days)[:, None], angles.sin(), angles.cos()], dim=1)
    expected = feats.float() @ enc.lin.weight.T + enc.lin.bias
    # float32 angles of a 400-day age at the 1-hour period carry ~1e-3 rad of rounding.
    torch.testing.assert_close(enc(ages), expected, atol=5e-3, rtol=1e-3)


def test_future_ages_count_as_zero() -> None:
    enc = RelativeTimeEncoder(channels=3)
    out = enc(torch.tensor([-86400, 0]))
    torch.testing.assert_close(out[0], out[1])


def test_keeps_leading_dimensions() -> None:
    enc = RelativeTimeEncoder(channels=6)
    assert enc(torch.zeros(2, 3, dtype=torch.long)).shape == (2, 3, 6)


def test_one_hour_period_repeats_hourly_in_its_own_features() -> None:
    """An age one hour later changes the 1-hour sine/cosine by nothing, and log1p(days)
    by a small amount only: nearby ages map to nearby vectors."""
    enc = RelativeTimeEncoder(channels=4)
    a, b, far = enc(torch.tensor([10 * 86400, 10 * 86400 + 3600, 300 * 86400]))
    assert (a - b).norm() < (a - far).norm()
