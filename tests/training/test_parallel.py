"""The ParallelStrategy seam: fit_training_job hands the caller's strategy to every trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import relgraph as rg
from relgraph import config
from relgraph.testing.graphs import make_data, make_plan
from relgraph.training import fitting, parallel, pipeline


class RecordingStrategy:
    """A one-process strategy that counts what a trial asked of it."""

    rank, world_size = 0, 1

    def __init__(self) -> None:
        self.calls: dict[str, int] = {"wrap_model": 0, "shard": 0, "evaluate": 0}

    @property
    def is_main(self) -> bool:
        return True

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        self.calls["wrap_model"] += 1
        return model

    def shard(self, idx: Tensor, *, pad: bool = True) -> Tensor:
        self.calls["shard"] += 1
        return idx

    def evaluate(self, *args: Any) -> tuple[dict[str, float | None], Tensor, Tensor]:
        self.calls["evaluate"] += 1
        return fitting.evaluate(*args)


def test_no_process_wide_strategy() -> None:
    assert "current" not in vars(parallel) and "set_current" not in vars(parallel)


def test_fit_training_job_passes_the_strategy_to_every_trial(tmp_path: Path) -> None:
    saved = config._settings
    try:
        rg.init(tmp_path, device="cpu")
        graph, table = make_data()
        plan = make_plan(2)
        plan.training_job.refit_trainval = True
        strategy = RecordingStrategy()
        dist: parallel.ParallelStrategy = strategy
        meta = pipeline.fit_training_job(graph, table, plan, tmp_path / "job", "job",
                                         verbose=False, dist=dist)
    finally:
        config._settings = saved
    trained = len(meta["trials"]) + len(meta["ensemble_trials"])  # trials, then refits
    assert meta["refit_splits"] == ["train", "val"]
    assert strategy.calls["wrap_model"] == strategy.calls["shard"] == trained
    assert strategy.calls["evaluate"] >= len(meta["trials"])
