"""A distributed job stops as a whole: cancelling it (or killing its worker) leaves no
torchrun and no rank process running."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import relgraph as rg
from relgraph.jobs.store import JobStatus, pid_alive, process_tree, wait_procs_gone
from relgraph.plan.model_plan import EarlyStoppingConfig
from relgraph.task import TaskType
from relgraph.testing.graphs import CHURN, make_activity_db, small_plan

pytestmark = pytest.mark.distributed


def _start(tmp_path: Path) -> Any:
    rg.init(home=tmp_path / "home", device="cpu")
    graph = make_activity_db(num_users=80, days=120)
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=10_000)
    plan.optimization.early_stopping = [EarlyStoppingConfig(min_delta=0.0, patience=10_000)]
    return rg.Trainer(plan, verbose=False).fit(
        graph, table, non_blocking=True,
        distributed={"nproc_per_node": 2, "env": {"OMP_NUM_THREADS": "1"}})


def _ranks_running(job: Any, timeout: float = 240.0) -> tuple[int, list[psutil.Process]]:
    """The worker pid and the torchrun + rank processes under it, once both ranks train."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = job.status()
        assert not rec.status.is_terminal, f"{job.id} ended early: {rec}"
        if rec.worker_pid is not None:
            tree = process_tree(rec.worker_pid)[1:]
            ranks = [p for p in tree if "relgraph.distributed.worker" in " ".join(_cmd(p))
                     and "torch.distributed.run" not in " ".join(_cmd(p))]
            events = [e.stage_name for e in rec.event_log]
            if len(ranks) == 2 and "distributed_training" in events:
                time.sleep(3.0)  # let the ranks get into their training loops
                return rec.worker_pid, process_tree(rec.worker_pid)[1:]
        time.sleep(0.2)
    raise AssertionError(f"{job.id} never ran two ranks: {job.status()}")


def _cmd(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


@pytest.mark.slow
def test_cancel_stops_every_rank(tmp_path: Path, restore_settings: None) -> None:
    job = _start(tmp_path)
    worker, tree = _ranks_running(job)
    assert len(tree) >= 3  # torchrun (behind its parent-death wrapper) and two ranks
    assert job.cancel(timeout=60)
    assert job.status().status is JobStatus.CANCELLED
    assert not pid_alive(worker)
    assert wait_procs_gone(tree, 15.0), [(p.pid, _cmd(p)) for p in tree if p.is_running()]
    assert sorted(p.name for p in job.folder.iterdir()) == ["request", "worker.log"]


@pytest.mark.slow
def test_killed_worker_takes_its_ranks_along(tmp_path: Path, restore_settings: None) -> None:
    job = _start(tmp_path)
    worker, tree = _ranks_running(job)
    os.kill(worker, signal.SIGKILL)  # no cleanup code runs: parent-death signals only
    assert wait_procs_gone(tree, 30.0), [(p.pid, _cmd(p)) for p in tree if p.is_running()]
    deadline = time.monotonic() + 30
    while job.status().status is not JobStatus.FAILED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "died without reporting" in (job.status().error or "")


@pytest.mark.slow
def test_timeout_stops_torchrun_and_its_ranks(tmp_path: Path, restore_settings: None) -> None:
    from relgraph.distributed import launch
    from relgraph.errors import TrainingError

    rg.init(home=tmp_path / "home", device="cpu")
    graph = make_activity_db(num_users=80, days=120)
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=10_000)
    plan.optimization.early_stopping = [EarlyStoppingConfig(min_delta=0.0, patience=10_000)]
    with pytest.raises(TrainingError, match="longer than its timeout of 20s"):
        launch(graph, table, plan, nproc_per_node=2, job_id="slow-ddp", timeout=20,
               verbose=False, env={"OMP_NUM_THREADS": "1"})
    spec = str(tmp_path / "home" / "distributed" / "slow-ddp")
    left = [p for p in psutil.process_iter(["cmdline"]) if spec in " ".join(
        p.info["cmdline"] or []) and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [p.info["cmdline"] for p in left]
