"""Validation recalibration of regression predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from relgraph.task import TaskType
from relgraph.training.calibration import fit_recalibration, fit_rounding
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
    assert fit_rounding(near, counts, "mae")
    assert fit_rounding(near, counts, "mse")
    coin = np.tile([0.0, 1.0], 200)                          # half 0, half 1: every value
    assert not fit_rounding(np.full(400, 0.5), coin, "mae")  # in [0, 1] is as good
    assert not fit_rounding(near[:10], counts[:10])          # too few rows


def test_rounded_predictions_decode_as_integers():
    info = TargetInfo(TaskType.REGRESSION, mean=2.0, std=1.0, non_negative=True,
                      integer=True, rounded=True)
    out = torch.tensor([[-0.4], [0.6], [-3.0]])
    assert decode_outputs(info, out).tolist() == [2.0, 3.0, 0.0]
    assert TargetInfo.from_dict(info.to_dict()) == info
    fitted = fit_target_info(TaskType.REGRESSION, pd.Series([0.0, 3.0, 7.0]))
    assert fitted.integer and not fit_target_info(TaskType.REGRESSION,
                                                  pd.Series([0.5, 3.0])).integer
