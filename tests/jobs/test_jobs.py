"""Jobs: the SQLite store, blocking and worker-process execution, status, progress,
cancellation, dead workers, re-attaching and loading from other processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import relgraph as rg
from relgraph.connector.output import DuckDBOutput, OutputConfig, SQLiteOutput
from relgraph.errors import ArtifactError, JobError
from relgraph.integrity import write_manifest
from relgraph.jobs.handles import TrainingJob, job_for
from relgraph.jobs.store import JobStatus, JobStore, pid_alive
from relgraph.jobs.worker import wait_gone
from relgraph.testing.graphs import make_data, make_plan
from relgraph.trainer.baseline_trainer import BaselineTrainer
from relgraph.trainer.trainer import DeprecatedArgumentError, Trainer

WORKER_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("relgraph-home")
    rg.init(home=path, device="cpu")
    return path


@pytest.fixture(autouse=True)
def _use_home(home: Path) -> None:
    rg.init(home=home, device="cpu")


@pytest.fixture(scope="module")
def data(home: Path) -> tuple[rg.Graph, Any]:
    return make_data()


@pytest.fixture(scope="module")
def trained(home: Path, data: tuple[rg.Graph, Any]) -> str:
    """One blocking (inline) training job."""
    graph, table = data
    rg.init(home=home, device="cpu")
    result = Trainer(make_plan(2), verbose=False).fit(graph, table,
                                                     custom_tags={"team": "x", "run": "1"})
    return str(result.id)


def _wait_for_epochs(job: TrainingJob, n: int = 1, timeout: float = WORKER_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status().status
        assert not status.is_terminal, f"{job.id} ended early: {job.status()}"
        epochs = sum(t.num_epochs_completed for t in job.progress().trial_progress.values())
        if status is JobStatus.RUNNING and epochs >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"{job.id} did not reach {n} epochs: {job.status()}")


def _run_python(code: str, *args: str, timeout: float = WORKER_TIMEOUT) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# ---------------------------------------------------------------------- store
def test_store_is_wal_and_tags_search(home: Path) -> None:
    store = JobStore(home)
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a = store.create("training", {"x": 1}, tags={"k": "v", "n": "1"})
    b = store.create("training", {"x": 2}, tags={"k": "v"})
    assert store.search_by_tags({"k": "v"})[:2] == [b, a]
    assert store.search_by_tags({"k": "v", "n": "1"}) == [a]
    store.update_tags(a, {"n": None, "m": "2"})
    assert store.get(a).tags == {"k": "v", "m": "2"}
    assert store.request_cancel(b) is JobStatus.CANCELLED  # never started
    assert store.get(b).status is JobStatus.CANCELLED
    with pytest.raises(JobError, match="No job"):
        store.get("trainingjob-missing")


def test_dead_worker_is_reaped_from_pid(home: Path) -> None:
    store = JobStore(home)
    job_id = store.create("training", {})
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert store.mark_running(job_id, proc.pid, "worker")
    (store.folder(job_id) / ".staging").mkdir()
    (store.folder(job_id) / ".staging" / "model.pt").write_bytes(b"partial")
    rec = store.get(job_id)
    assert rec.status is JobStatus.FAILED
    assert "died without reporting" in (rec.error or "")
    assert not (store.folder(job_id) / ".staging").exists()


# ---------------------------------------------------------------------- blocking jobs
def test_blocking_fit_is_a_recorded_job(home: Path, trained: str) -> None:
    store = JobStore(home)
    rec = store.get(trained)
    assert rec.status is JobStatus.DONE and rec.runner == "inline"
    assert rec.started_at and rec.ended_at and rec.ended_at >= rec.started_at
    assert rec.metrics and "test" in rec.metrics
    stages = [e.stage for e in store.events(trained)]
    for stage in ("created", "running", "materialize_graph", "trial", "epoch", "done"):
        assert stage in stages
    job = TrainingJob(trained)
    assert job.done()
    progress = job.progress()
    assert progress.total_trials == 1 and progress.trial_progress[0].num_epochs_completed == 2
    config = job.load_config()
    assert config["plan"].optimization.max_epochs == 2
    assert set(config["graph"]["tables"]) == {"customers", "orders"}
    assert config["train_table"]["splits"] == {"train": 28, "val": 6, "test": 6}
    result = job.result()
    assert result.metrics()["test_acc"] is not None
    assert set(result.training_curves_by_trial()) == {0}
    assert (result.dir / "report.html").exists()
    assert len(result.training_table.data_df()) == 40
    assert not (result.dir / ".staging").exists()


def test_tags_and_loading(home: Path, trained: str) -> None:
    job = TrainingJob(trained)
    assert job.get_tags() == {"team": "x", "run": "1"}
    assert job.update_tags({"stage": "prod", "run": None}) == {"team": "x", "stage": "prod"}
    assert [j.id for j in TrainingJob.search_by_tags({"stage": "prod"})] == [trained]
    assert job.delete_tags(["stage"])
    assert TrainingJob.search_by_tags({"stage": "prod"}) == []
    trainer = Trainer.load_from_tags({"team": "x"})
    assert trainer.is_trained and trainer.model_plan.optimization.max_epochs == 2
    encoders = Trainer.get_encoders(trained)
    assert set(encoders) == {"customers", "orders"}
    assert isinstance(job_for(trained), TrainingJob)


def test_predict_to_database_outputs(home: Path, data: tuple[rg.Graph, Any], trained: str,
                                     tmp_path: Path) -> None:
    graph, table = data
    trainer = Trainer.load(trained)
    trainer.verbose = False
    duck = trainer.predict(graph, table, output_config=OutputConfig(
        output_types={"predictions", "embeddings"},
        output_connector=DuckDBOutput(tmp_path / "out.duckdb"), output_table_name="churn"))
    lite = trainer.predict(graph, table, OutputConfig(
        output_types={"predictions"}, output_connector=SQLiteOutput(tmp_path / "out.sqlite"),
        output_table_name="churn"))
    local = duck.predictions_df()
    assert list(local.columns) == ["ENTITY", "TARGET_PRED", "FALSE_PROB", "TRUE_PROB"]
    assert len(local) == 40 and duck.summary()["num_entities_predicted"] == 40
    from_duck = DuckDBOutput(tmp_path / "out.duckdb").read_table("churn_predictions")
    pd.testing.assert_frame_equal(from_duck, local, check_dtype=False)
    assert len(DuckDBOutput(tmp_path / "out.duckdb").read_table("churn_embeddings")) == 40
    from_lite = SQLiteOutput(tmp_path / "out.sqlite").read_table("churn_predictions")
    np.testing.assert_allclose(from_lite["TRUE_PROB"], local["TRUE_PROB"], rtol=1e-6)
    assert duck.predictions_urls()[0].startswith("duckdb://")
    assert lite.predictions_urls()[0].endswith("#churn_predictions")
    job = duck.export(OutputConfig(output_types={"embeddings"},
                                   output_connector=tmp_path / "folder",
                                   output_table_name="again"))  # non-blocking by default
    exported = job.result(timeout=60)
    assert exported.location.endswith("again_embeddings.parquet")
    assert len(pd.read_parquet(exported.location)) == 40
    again = duck.export(OutputConfig(output_types={"predictions"}, output_connector=tmp_path,
                                     output_table_name="again"), non_blocking=False)
    assert again.output_type == "predictions" and duck.summary().num_entities_predicted == 40
    with pytest.raises(DeprecatedArgumentError):
        trainer.predict(graph, table, output_types={"predictions"})


def test_tampered_model_gives_artifact_error(home: Path, data: tuple[rg.Graph, Any],
                                             trained: str) -> None:
    import torch

    graph, table = data
    src = JobStore(home).folder(trained)
    fake = src.parent / "trainingjob-tampered"
    shutil.copytree(src, fake)

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("echo pwned",))

    torch.save({"weight": Evil()}, fake / "model.pt")
    with pytest.raises(ArtifactError, match=r"model\.pt does not match its SHA-256"):
        Trainer.get_encoders("trainingjob-tampered")
    write_manifest(fake)  # a forged manifest: weights_only loading still refuses the pickle
    with pytest.raises(ArtifactError, match="cannot be loaded safely"):
        Trainer.get_encoders("trainingjob-tampered")
    with pytest.raises(ArtifactError, match="tampered"):
        Trainer(None, verbose=False).predict(graph, table,
                                             training_job_id="trainingjob-tampered")


def test_failed_job_records_error(home: Path, data: tuple[rg.Graph, Any],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from relgraph.training import pipeline

    def boom(*args: Any, **kwargs: Any) -> None:
        kwargs["events"]({"event": "stage", "stage": "materialize_graph"})
        (args[3] / "model.pt").write_bytes(b"half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "fit_training_job", boom)
    graph, table = data
    with pytest.raises(RuntimeError, match="disk on fire"):
        Trainer(make_plan(1), verbose=False).fit(graph, table, custom_tags={"t": "fail"})
    job = TrainingJob.search_by_tags({"t": "fail"})[0]
    status = job.status()
    assert status.status is JobStatus.FAILED and "disk on fire" in (status.error or "")
    assert not (job.folder / "model.pt").exists() and not (job.folder / ".staging").exists()
    with pytest.raises(JobError, match="disk on fire"):
        job.result()


def test_warm_start_and_baseline(home: Path, data: tuple[rg.Graph, Any], trained: str) -> None:
    graph, table = data
    result = Trainer(make_plan(1), verbose=False).fit(graph, table,
                                                      warm_start_job_id=trained)
    log = (result.dir / "worker.log").read_text()
    assert "warm start:" in log
    assert result.load_config()["warm_start_job_id"] == trained
    base = BaselineTrainer(["acc", "auroc"], verbose=False).run(graph, table)
    metrics = base.metrics()
    assert {"majority", "lightgbm_entity", "lightgbm_aggregated"} <= set(metrics)
    test, _val = metrics["lightgbm_aggregated"]
    assert [m.name for m in test] == ["acc", "auroc"]


# ---------------------------------------------------------------------- worker processes
SECOND_PROCESS = r"""
import json, sys, time
import relgraph as rg
from relgraph.jobs.handles import TrainingJob
home, job_id, out = sys.argv[1:4]
rg.init(home=home, device="cpu")
job = TrainingJob(job_id)
seen = {}
deadline = time.time() + 200
while time.time() < deadline:
    status = job.status().status.value
    epochs = sum(t.num_epochs_completed for t in job.progress().trial_progress.values())
    if status == "RUNNING" and epochs >= 1:
        seen = {"status": status, "epochs": epochs, "pid": job.status().worker_pid}
        break
    if status in ("DONE", "FAILED", "CANCELLED"):
        seen = {"status": status}
        break
    time.sleep(0.05)
import relgraph.training.pipeline  # noqa: F401  (load torch while the job trains)
result = job.attach(interval_s=0.2, verbose=False)
from relgraph.trainer import Trainer
from relgraph.jobs.worker import load_graph
graph = load_graph(home, job.load_config()["graph_snapshot"])
trainer = Trainer.load(job_id)
trainer.verbose = False
pred = trainer.predict(graph, result.training_table)
pred.predictions_df().to_parquet(out)
print(json.dumps({"seen": seen, "metrics": result.metrics().to_dict()}))
"""


@pytest.mark.slow
def test_non_blocking_fit_seen_from_other_processes(home: Path, data: tuple[rg.Graph, Any],
                                                    tmp_path: Path) -> None:
    graph, table = data
    t0 = time.monotonic()
    job = Trainer(make_plan(6, no_early_stop=True), verbose=False).fit(
        graph, table, non_blocking=True, custom_tags={"kind": "nb"})
    assert isinstance(job, TrainingJob)
    assert time.monotonic() - t0 < 10.0  # returns at once
    assert job.status().status in (JobStatus.QUEUED, JobStatus.RUNNING)
    out = tmp_path / "pred.parquet"
    report = json.loads(_run_python(SECOND_PROCESS, str(home), job.id, str(out))
                        .strip().splitlines()[-1])
    # the other process saw the job running, with progress, and re-attached to it
    assert report["seen"]["status"] == "RUNNING" and report["seen"]["epochs"] >= 1
    result = job.result(timeout=WORKER_TIMEOUT)
    assert report["metrics"] == result.metrics().to_dict()
    assert job.status().status is JobStatus.DONE
    assert not pid_alive(report["seen"]["pid"])
    # Trainer.load in another process predicts exactly what this process predicts
    trainer = Trainer.load(job.id)
    trainer.verbose = False
    here = trainer.predict(graph, table).predictions_df()
    pd.testing.assert_frame_equal(pd.read_parquet(out), here)
    fut = job.future()
    assert fut.result(timeout=30).id == job.id


@pytest.mark.slow
def test_cancel_and_sigkill_workers(home: Path, data: tuple[rg.Graph, Any]) -> None:
    graph, table = data
    plan = make_plan(10_000, no_early_stop=True)
    a = Trainer(plan, verbose=False).fit(graph, table, non_blocking=True)
    b = Trainer(plan, verbose=False).fit(graph, table, non_blocking=True)
    _wait_for_epochs(a)
    _wait_for_epochs(b)
    # cancel: CANCELLED, worker gone, nothing left behind
    pid_a = a.status().worker_pid
    assert pid_a is not None
    assert a.cancel(timeout=60)
    assert a.status().status is JobStatus.CANCELLED
    assert not pid_alive(pid_a)
    assert sorted(p.name for p in a.folder.iterdir()) == ["request", "worker.log"]
    with pytest.raises(JobError, match="cancelled"):
        a.result(timeout=5)
    # SIGKILL: FAILED with a reason, store intact, no partial outputs
    pid_b = b.status().worker_pid
    assert pid_b is not None
    os.kill(pid_b, signal.SIGKILL)
    assert wait_gone(pid_b, 30)
    status = b.status()
    assert status.status is JobStatus.FAILED
    assert "died without reporting" in (status.error or "")
    assert sorted(p.name for p in b.folder.iterdir()) == ["request", "worker.log"]
    with pytest.raises(JobError, match="failed"):
        b.result(timeout=5)
    store = JobStore(home)
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {a.id, b.id} <= {r.id for r in store.list_jobs(limit=None)}
    assert a.cancel()  # already cancelled
    assert not b.cancel()  # already failed


@pytest.mark.slow
def test_four_concurrent_jobs(home: Path, data: tuple[rg.Graph, Any]) -> None:
    graph, table = data
    jobs = [Trainer(make_plan(2), verbose=False).fit(graph, table, non_blocking=True,
                                                     custom_tags={"batch": "four"})
            for _ in range(4)]
    assert len({j.id for j in jobs}) == 4
    results = [j.result(timeout=600) for j in jobs]
    assert all(r.metrics()["test_acc"] is not None for r in results)
    store = JobStore(home)
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(store.search_by_tags({"batch": "four"}, limit=10)) == 4
    assert all(store.get(j.id).status is JobStatus.DONE for j in jobs)


@pytest.mark.slow
def test_sharded_non_blocking_prediction(home: Path, data: tuple[rg.Graph, Any],
                                         trained: str, tmp_path: Path) -> None:
    graph, table = data
    trainer = Trainer.load(trained)
    trainer.verbose = False
    job = trainer.predict(graph, table, OutputConfig(
        output_connector=tmp_path, output_table_name="churn", file_type="csv"),
        num_workers=2, non_blocking=True)
    result = job.result(timeout=600)
    assert result.summary()["num_entities_predicted"] == 40
    assert job.progress().completed_iterations == 2
    df = pd.read_csv(tmp_path / "churn_predictions.csv")
    assert sorted(df["ENTITY"]) == list(range(40))


def test_query_fit_and_inline_tables(home: Path, data: tuple[rg.Graph, Any]) -> None:
    from relgraph.jobs.store import JobKind
    from relgraph.pquery import PredictiveQuery

    graph, _ = data
    query = "PREDICT COUNT(orders.*, 0, 30, days) > 0 FOR EACH customers.customer_id"
    pq = PredictiveQuery(graph, query)
    trainer, result = pq.fit(model_plan=make_plan(1), verbose=False)
    store = JobStore(home)
    table_job = result.load_config()["training_table_job_id"]
    rec = store.get(table_job)
    assert rec.kind is JobKind.TRAINING_TABLE and rec.status is JobStatus.DONE
    assert (store.folder(table_job) / "table.parquet").exists()
    assert result.predictive_query.query == query
    loaded = PredictiveQuery.load_from_training_job(result.id)
    assert loaded.query == query and loaded.get_task_type() is pq.get_task_type()
    baseline = pq.generate_baseline(["auroc"], verbose=False)
    assert pq.train_table is not None  # generated for the baselines, then reused
    test, _val = baseline.metrics()["majority"]
    assert [(m.name, m.value) for m in test] == [("auroc", 0.5)]
    pred = trainer.predict(graph, output_config=OutputConfig())  # table generated inline
    assert pred.load_config()["prediction_table_job_id"]
    assert list(pred.predictions_df().columns)[:2] == ["ENTITY", "ANCHOR_TIMESTAMP"]


def test_reference_call_forms(home: Path, data: tuple[rg.Graph, Any], trained: str) -> None:
    """Kumo spellings: positional predict arguments, the summary object, the two
    non-terminal statuses a trainer or an unknown id reports."""
    from relgraph.trainer import BatchPredictionJobSummary

    graph, table = data
    trainer = Trainer.load(trained)
    trainer.verbose = False
    # graph, prediction_table, output_types, output_connector, output_table_name,
    # output_metadata_fields, output_config, training_job_id, threshold, num_classes,
    # num_workers, non_blocking, custom_tags
    job = trainer.predict(graph, table, None, None, None, None, OutputConfig(), trained, 0.5,
                          None, 1, True, {"via": "positional"})
    summary = job.result(timeout=WORKER_TIMEOUT).summary()
    assert summary == BatchPredictionJobSummary(num_entities_predicted=40)
    assert summary.num_entities_predicted == summary["num_entities_predicted"] == 40
    assert job.get_tags() == {"via": "positional"}
    assert Trainer(make_plan(1)).status() is JobStatus.UNTRAINED
    assert not Trainer(make_plan(1)).is_trained
    assert trainer.status() is JobStatus.DONE
    assert JobStore(home).status_of("trainingjob-20990101-000000-deadbeef") is JobStatus.MISSING
