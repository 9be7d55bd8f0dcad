"""Which AutoML trials are averaged: those validation cannot tell apart from the best one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from relgraph.task import TaskType
from relgraph.training.ensemble import comparable_trials
from relgraph.training.examples import fit_target_info
from relgraph.training.fitting import TrialResult
from relgraph.training.settings import LossSpec, TrialSettings

RNG = np.random.default_rng(0)
N = 400
TARGET = RNG.normal(10.0, 3.0, N)
INFO = fit_target_info(TaskType.REGRESSION, pd.Series(TARGET))


def trial(pred: np.ndarray, loss: str = "mae", pruned: bool = False,
          order: np.ndarray | None = None) -> TrialResult:
    """A finished regression trial whose best-epoch validation predictions are ``pred``."""
    pos = np.arange(N) if order is None else order
    raw = torch.tensor((pred[pos] - INFO.mean) / INFO.std, dtype=torch.float32)[:, None]
    return TrialResult(replace(TrialSettings(), loss=LossSpec(loss)), {}, 1, {}, [], pruned, 0.0,
                       torch.as_tensor(pos), raw)


ERRORS = RNG.normal(0.0, 1.0, N)


def noisy(scale: float, seed: int) -> np.ndarray:
    """Predictions whose errors are ``ERRORS`` shuffled (by ``seed``) and scaled: the same
    validation error for the same ``scale``, on different rows."""
    return TARGET + scale * np.random.default_rng(seed).permutation(ERRORS)


def select(results: list[TrialResult], best: int = 0, metric: str = "mae") -> list[int]:
    return comparable_trials(results, best, INFO, TARGET, metric, seed=0)


def test_equally_good_trials_are_averaged_and_a_clearly_worse_one_is_not():
    results = [trial(noisy(1.0, 1)), trial(noisy(1.0, 2)), trial(noisy(3.0, 3)),
               trial(noisy(1.0, 4))]
    chosen = select(results)
    assert chosen[0] == 0                    # the best trial always leads
    assert sorted(chosen) == [0, 1, 3]       # trial 2's errors are three times larger


def test_the_best_trial_leads_whatever_its_index():
    results = [trial(noisy(3.0, 3)), trial(noisy(1.0, 1)), trial(noisy(1.0, 2))]
    assert select(results, best=1)[0] == 1 and 0 not in select(results, best=1)


def test_other_heads_pruned_trials_and_missing_outputs_stay_out():
    same = noisy(1.0, 2)
    results = [trial(noisy(1.0, 1)), trial(same, loss="multi_quantile"),
               trial(same, pruned=True), replace(trial(same), val_raw=None), trial(same)]
    assert select(results) == [0, 4]


def test_trials_are_matched_by_validation_position():
    """Outputs are compared row by row even when trials list the rows in other orders."""
    good, bad = noisy(1.0, 1), noisy(3.0, 3)
    shuffled = np.random.default_rng(5).permutation(N)
    results = [trial(good), trial(bad, order=shuffled)]
    assert select(results) == [0]
    results = [trial(good), trial(good, order=shuffled)]
    assert select(results) == [0, 1]


def test_higher_is_better_metrics_are_oriented():
    """With r2 (higher is better) the clearly worse trial is still the one left out."""
    results = [trial(noisy(1.0, 1)), trial(noisy(3.0, 3)), trial(noisy(1.0, 2))]
    assert sorted(select(results, metric="r2")) == [0, 2]


def test_without_validation_outputs_the_best_trial_is_alone():
    results = [replace(trial(noisy(1.0, 1)), val_raw=None, val_pos=None), trial(noisy(1.0, 2))]
    assert select(results) == [0]
