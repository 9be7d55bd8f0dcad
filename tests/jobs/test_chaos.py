"""Chaos: workers killed with SIGKILL at random moments (fit, predict, export) leave a
consistent job store, every job DONE or FAILED, and no partial or orphan output file."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import relgraph as rg
from relgraph.connector.output import OutputConfig
from relgraph.integrity import read_manifest, read_verified
from relgraph.jobs.results import BatchPredictionJobResult, TrainingJobResult
from relgraph.jobs.store import JobStatus, JobStore, pid_alive
from relgraph.testing.graphs import make_data, make_plan
from relgraph.trainer.trainer import Trainer

pytestmark = pytest.mark.slow

RUNS = 20
AT_ONCE = 4  # workers alive at a time
PHASES = ("fit", "predict", "export")
#: The kill comes shortly after one of these events of the job (None: it may finish).
TRIGGERS = {"fit": ("running", "load_request", "materialize_graph", "trial", "epoch", "report",
                    "commit", None),
            "predict": ("running", "load_request", "predict", "iteration", "commit", None),
            "export": ("export", "export", "commit")}


@dataclass
class Run:
    index: int
    phase: str
    job: Any
    out: Path | None
    trigger: str | None  # the event after which the worker is killed
    delay: float  # seconds after the event
    kill_at: float | None = None
    finished: bool = False
    killed: bool = False


def _start(i: int, rng: random.Random, graph: rg.Graph, table: Any, trained: str,
           root: Path) -> Run:
    phase = PHASES[i % len(PHASES)]
    trigger, delay = rng.choice(TRIGGERS[phase]), rng.uniform(0.0, 0.3)
    if phase == "fit":
        job = Trainer(make_plan(1), verbose=False).fit(graph, table, non_blocking=True)
        return Run(i, phase, job, None, trigger, delay)
    trainer = Trainer.load(trained)
    trainer.verbose = False
    out = root / f"out{i}"
    cfg = OutputConfig(output_types={"predictions", "embeddings"}, output_connector=out,
                       output_table_name=f"run{i}")
    job = trainer.predict(graph, table, output_config=cfg, non_blocking=True)
    return Run(i, phase, job, out, trigger, delay)


def _step(run: Run, store: JobStore) -> None:
    rec = store.get(run.job.id, reap=False)
    if rec.status.is_terminal:
        run.finished = True
        return
    now = time.monotonic()
    if run.kill_at is None and run.trigger is not None and \
            any(e.stage == run.trigger for e in store.events(run.job.id)):
        run.kill_at = now + run.delay
    if run.kill_at is not None and now >= run.kill_at and rec.worker_pid is not None:
        try:
            os.kill(rec.worker_pid, signal.SIGKILL)
            run.killed = True
        except ProcessLookupError:
            pass
        run.finished = True


def test_sigkilled_workers_leave_no_trace(tmp_path: Path, restore_settings: None) -> None:
    home = tmp_path / "home"
    rg.init(home=home, device="cpu")
    graph, table = make_data()
    trained = Trainer(make_plan(1), verbose=False).fit(graph, table).id
    store = JobStore(home)
    rng = random.Random(17)
    runs: list[Run] = []
    t0 = time.monotonic()
    pending = list(range(RUNS))
    active: list[Run] = []
    while pending or active:
        while pending and len(active) < AT_ONCE:
            active.append(_start(pending.pop(0), rng, graph, table, trained, tmp_path))
            runs.append(active[-1])
        for run in active:
            _step(run, store)
        active = [r for r in active if not r.finished]
        time.sleep(0.01)

    deadline = time.monotonic() + 120
    for run in runs:  # every job ends DONE or FAILED (a dead worker is reaped here)
        while not store.get(run.job.id).status.is_terminal:
            assert time.monotonic() < deadline, f"{run.job.id} never ended"
            time.sleep(0.05)
    seconds = time.monotonic() - t0
    statuses = {r.job.id: store.get(r.job.id).status for r in runs}
    summary = pd.DataFrame([{"phase": r.phase, "after": r.trigger or "-", "killed": r.killed,
                             "status": statuses[r.job.id].value} for r in runs])
    print(f"\n{RUNS} runs in {seconds:.0f}s\n"
          f"{summary.groupby(['phase', 'after', 'killed', 'status']).size().to_string()}")
    assert set(statuses.values()) <= {JobStatus.DONE, JobStatus.FAILED}
    assert sum(r.killed for r in runs) >= RUNS // 2  # most runs were really killed
    assert JobStatus.FAILED in statuses.values()

    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for run in runs:
        folder = store.folder(run.job.id)
        names = sorted(p.name for p in folder.iterdir())
        assert not run.job.status().worker_pid or not pid_alive(run.job.status().worker_pid)
        if statuses[run.job.id] is JobStatus.FAILED:
            assert set(names) <= {"request", "worker.log"}, (run, names)
            if run.out is not None and run.out.exists():
                assert not list(run.out.iterdir()), (run, list(run.out.iterdir()))
            continue
        for name in read_manifest(folder):  # a DONE job's artifacts are all complete
            read_verified(folder, name)
        if run.phase == "fit":
            assert TrainingJobResult(run.job.id).metrics().test_metrics
            continue
        result = BatchPredictionJobResult(run.job.id)
        assert run.out is not None
        assert sorted(p.name for p in run.out.iterdir()) == \
            [f"run{run.index}_embeddings.parquet", f"run{run.index}_predictions.parquet"]
        pd.testing.assert_frame_equal(
            pd.read_parquet(run.out / f"run{run.index}_predictions.parquet"),
            result.predictions_df())
    assert not list(tmp_path.glob("out*/.*")), "temporary files left behind"
