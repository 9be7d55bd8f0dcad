"""Validation recalibration of regression predictions.

A model trained on past anchors can be off in level or spread at later anchors (delays
that were high in summer, activity that grows over the years). After the trial is chosen,
relgraph fits ``prediction' = scale * prediction + shift`` on the validation split, the
anchors closest to the future: for each candidate ``scale`` the best ``shift`` is the
median residual (absolute-error metrics) or the mean residual (squared-error metrics).
``scale = 0`` is the constant predictor, so a model that does not beat a constant on
validation is replaced by the validation median. The identity is kept unless the fit
lowers the validation error by at least :data:`MIN_GAIN` (relative).

Integer targets (counts) can also be rounded: under an absolute error the expected loss is
linear between two integers, so a fractional prediction is never better than both of its
integer neighbours. :func:`fit_rounding` keeps rounding when it lowers the validation
error.
"""

from __future__ import annotations

import numpy as np

#: Candidate scales (0 = constant prediction, 1 = the model's own spread).
SCALES = (1.0, 0.0, 0.25, 0.5, 0.75, 0.9, 1.1, 1.25)
#: Smallest relative improvement of the validation error that is applied.
MIN_GAIN = 0.01
_SQUARED = {"mse", "rmse", "r2"}


def fit_recalibration(pred: np.ndarray, target: np.ndarray, metric: str = "mae",
                      ) -> tuple[float, float]:
    """``(shift, scale)`` for validation predictions ``pred`` and targets ``target``."""
    pred = np.asarray(pred, dtype=float).reshape(-1)
    target = np.asarray(target, dtype=float).reshape(-1)
    ok = np.isfinite(pred) & np.isfinite(target)
    pred, target = pred[ok], target[ok]
    if len(pred) < 20:  # too few rows to estimate anything reliably
        return 0.0, 1.0
    squared = metric in _SQUARED

    def error(shift: float, scale: float) -> float:
        r = target - (scale * pred + shift)
        return float(np.mean(r * r)) if squared else float(np.mean(np.abs(r)))

    base = error(0.0, 1.0)
    best = (base, 0.0, 1.0)
    for scale in SCALES:
        resid = target - scale * pred
        shift = float(np.mean(resid)) if squared else float(np.median(resid))
        err = error(shift, scale)
        if err < best[0]:
            best = (err, shift, scale)
    err, shift, scale = best
    if err > base * (1 - MIN_GAIN):
        return 0.0, 1.0
    return shift, scale


def fit_rounding(pred: np.ndarray, target: np.ndarray, metric: str = "mae") -> bool:
    """Whether rounding the (recalibrated) validation predictions lowers their error."""
    pred = np.asarray(pred, dtype=float).reshape(-1)
    target = np.asarray(target, dtype=float).reshape(-1)
    ok = np.isfinite(pred) & np.isfinite(target)
    pred, target = pred[ok], target[ok]
    if len(pred) < 20:
        return False
    power = 2 if metric in _SQUARED else 1
    base = float(np.mean(np.abs(target - pred) ** power))
    rounded = float(np.mean(np.abs(target - np.round(pred)) ** power))
    return rounded < base
