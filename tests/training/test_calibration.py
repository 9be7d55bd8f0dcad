"""Validation recalibration of regression predictions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from relgraph.task import TaskType
from relgraph.training.calibration import ROUND_AT, fit_recalibration, fit_rounding
from relgraph.training.examples import TargetInfo, fit_target_info
from relgraph.training.losses import decode_outputs


@pytest.fixture
def target() -> np.ndarray:
    return np.random.default_rng(0).gamma(2.0, 10.0, 500)


def test_good_predictions_are_kept(target):
    noise = np.random.default_rng(1).normal(0, 1, len(target))
    assert fit_recalibration(target + noise, target) == (0.0, 1.0)


def test_level_shift_is_corrected(target):
    noise = np.random.default_rng(1).normal(0, 1, len(target))
    shift, scale = fit_recalibration(target - 7.0 + noise, target)
    assert scale == 1.0 and shift == pytest.approx(7.0, abs=0.3)


def test_useless_model_falls_back_to_the_validation_median(target):
    pred = np.random.default_rng(2).normal(100, 30, len(target))
    shift, scale = fit_recalibration(pred, target, "mae")
    assert scale == 0.0 and shift == pytest.approx(np.median(target))
    shift, scale = fit_recalibration(pred, target, "mse")
    assert scale == 0.0 and shift == pytest.approx(np.mean(target))


def test_too_few_rows_or_non_finite_values(target):
    assert fit_recalibration(target[:10] + 50, target[:10]) == (0.0, 1.0)
    pred = target - 7.0
    pred[::2] = np.nan
    assert fit_recalibration(pred, target)[0] == pytest.approx(7.0)


def test_rounding_is_kept_only_when_it_lowers_the_validation_error():
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.7, 400).astype(float)            # mostly 0 and 1
    near = counts + rng.uniform(-0.3, 0.3, 400)             # good but fractional estimates
    assert fit_rounding(near, counts, "mae") == 0.5     # symmetric errors: half-way
    assert fit_rounding(near, counts, "mse") == 0.5
    coin = np.tile([0.0, 1.0], 200)                          # half 0, half 1: every value
    assert fit_rounding(np.full(400, 0.5), coin, "mae") is None  # in [0, 1] is as good
    assert fit_rounding(near[:10], counts[:10]) is None      # too few rows


def test_rounding_fits_where_shrunk_predictions_should_round_up():
    """Predictions that stop short of the integer they estimate (here 35 % of the way
    past the lower one is already the upper one) round up from the fitted fraction: the
    validation and a fresh sample agree, and beat half-way rounding."""
    rng = np.random.default_rng(5)

    def sample(n):
        counts = rng.poisson(2.0, n).astype(float)
        frac = rng.uniform(0.0, 1.0, n)
        shrunk = np.where(counts > 0, counts - 1 + 0.35 + 0.65 * frac, 0.35 * frac)
        return shrunk, counts

    pred, counts = sample(2000)
    at = fit_rounding(pred, counts, "mae")
    assert at is not None and 0.3 <= at <= 0.4
    fresh, truth = sample(2000)

    def mae(value):
        return float(np.mean(np.abs(truth - value)))

    assert mae(np.floor(fresh + 1 - at)) < mae(np.round(fresh)) < mae(fresh)


def test_half_way_stays_unless_validation_reliably_prefers_another_fraction():
    """Counts with symmetric noise: half-way is right, and a small validation split's
    lowest-error fraction is mostly chance. It replaces half-way in few of 40 draws."""
    picked, lowest_elsewhere = 0, 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        counts = rng.poisson(3.0, 112).astype(float)
        pred = counts + rng.uniform(-0.45, 0.45, 112) + rng.normal(0.0, 0.6, 112)
        errors = [np.abs(counts - np.floor(pred + 1 - at)).mean() for at in ROUND_AT]
        lowest_elsewhere += ROUND_AT[int(np.argmin(errors))] != 0.5
        at = fit_rounding(pred, counts, "mae", seed=seed)
        picked += at is not None and at != 0.5
    assert lowest_elsewhere >= 20 and picked <= 5


def test_rounded_predictions_decode_as_integers():
    info = TargetInfo(TaskType.REGRESSION, mean=2.0, std=1.0, non_negative=True,
                      integer=True, round_at=0.5)
    out = torch.tensor([[-0.4], [0.6], [-3.0]])
    assert decode_outputs(info, out).tolist() == [2.0, 3.0, 0.0]
    assert TargetInfo.from_dict(info.to_dict()) == info
    early = replace(info, round_at=0.3)                      # 1.6 -> 2, 2.2 -> 2, 2.4 -> 3
    values = torch.tensor([[-0.4], [0.2], [0.4]])
    assert decode_outputs(early, values).tolist() == [2.0, 2.0, 3.0]
    assert TargetInfo.from_dict(early.to_dict()) == early
    saved = {k: v for k, v in info.to_dict().items() if k != "round_at"}
    assert TargetInfo.from_dict(dict(saved, rounded=True)).round_at == 0.5  # older models
    assert TargetInfo.from_dict(saved).round_at is None
    fitted = fit_target_info(TaskType.REGRESSION, pd.Series([0.0, 3.0, 7.0]))
    assert fitted.integer and not fit_target_info(TaskType.REGRESSION,
                                                  pd.Series([0.5, 3.0])).integer
