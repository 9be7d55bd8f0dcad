"""Validation recalibration of regression predictions."""

from __future__ import annotations

import numpy as np
import pytest

from relgraph.trainer.calibration import fit_recalibration


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
