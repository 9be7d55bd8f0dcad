"""Safety of the home and of outputs: nothing read back runs code, every artifact is
checksummed, output names stay in their folder, user files survive, no zombie workers."""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psutil
import pytest

import relgraph as rg
from relgraph.connector.output import DuckDBOutput, OutputConfig, write_output
from relgraph.errors import ArtifactError, JobError, OutputExistsError, OutputNameError
from relgraph.integrity import MANIFEST, read_manifest, read_verified
from relgraph.jobs.results import BatchPredictionJobResult, TrainingJobResult
from relgraph.jobs.store import JobStatus, JobStore
from relgraph.pquery import PredictiveQuery
from relgraph.testing.graphs import make_data, make_plan
from relgraph.trainer.trainer import Trainer
from relgraph.training.artifacts import load_gbdt, load_member_states

QUERY = "PREDICT COUNT(orders.*, 0, 30, days) > 0 FOR EACH customers.customer_id"
TIMEOUT = 240.0


class Evil:
    """Unpickling this creates the file ``path``: proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safety") / "home"
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
    """A blocking training job on the PQL query (with a training-table job)."""
    graph, _ = data
    rg.init(home=home, device="cpu")
    _, result = PredictiveQuery(graph, QUERY).fit(model_plan=make_plan(1), verbose=False)
    return str(result.id)


@pytest.fixture(scope="module")
def predicted(home: Path, data: tuple[rg.Graph, Any], trained: str) -> str:
    graph, _ = data
    rg.init(home=home, device="cpu")
    trainer = Trainer.load(trained)
    trainer.verbose = False
    return str(trainer.predict(graph, output_config=OutputConfig()).id)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------- no code runs
@pytest.mark.slow
def test_planted_pickles_run_nothing(home: Path, data: tuple[rg.Graph, Any], trained: str,
                                     tmp_path: Path) -> None:
    graph, table = data
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Evil(marker))
    # where the old code looked (a snapshot trusted by its name, pickled requests), and a
    # pickle in every folder of the home
    planted = [home / "snapshots" / f"graph-{graph.fingerprint()}.pkl",
               home / "jobs" / trained / "request" / "train_table.pkl",
               home / "jobs" / trained / "request" / "prediction_table.pkl"]
    planted += [d / "evil.pkl" for d in [home, *(p for p in home.rglob("*") if p.is_dir())]]
    for path in planted:
        path.write_bytes(payload)

    fit = Trainer(make_plan(1), verbose=False).fit(graph, table, non_blocking=True)
    result = fit.attach(interval_s=0.1, verbose=False)  # attach
    assert result is not None and fit.status().status is JobStatus.DONE
    loaded = Trainer.load(trained)  # Trainer.load
    loaded.verbose = False
    pq = PredictiveQuery.load_from_training_job(trained)  # the job's graph snapshot
    assert pq.query == QUERY
    pred = loaded.predict(pq.graph, non_blocking=True)  # predict in a worker
    assert len(pred.result(timeout=TIMEOUT).predictions_df()) == 40
    assert len(TrainingJobResult(trained).training_table.data_df()) > 0
    out = tmp_path / "cli-out"
    proc = subprocess.run(  # CLI predict in a new process, from the snapshot
        [sys.executable, "-m", "relgraph.cli.main", "predict", trained, "--home", str(home),
         "--output", str(out), "--table-name", "cli"],
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(Path(rg.__file__).parents[1])})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "cli_predictions.parquet").is_file()
    assert not marker.exists(), "a planted pickle ran"

    # replace each of the job's artifacts by the pickle: refused, still nothing runs
    attempts = [lambda: TrainingJobResult(trained).training_table,
                lambda: Trainer.get_encoders(trained),
                lambda: TrainingJobResult(trained).holdout_df(),
                lambda: TrainingJobResult(trained).model_plan,
                lambda: TrainingJobResult(trained).report_path(),
                lambda: load_member_states(home / "jobs" / trained)]
    folder = home / "jobs" / trained
    for path in _files(folder):
        if path.name == "worker.log" or path.suffix == ".pkl":
            continue
        saved = path.read_bytes()
        path.write_bytes(payload)
        refused = 0
        try:
            for attempt in attempts:
                try:
                    attempt()
                except (ArtifactError, JobError):
                    refused += 1
        finally:
            path.write_bytes(saved)
        assert refused, f"{path} replaced by a pickle was not refused"
    assert not marker.exists(), "a planted pickle ran"
    for path in planted:
        path.unlink()


# ---------------------------------------------------------------------- checksums
def _loaders(home: Path, trained: str, predicted: str) -> dict[str, Any]:
    """For each artifact (relative to the home), a call that reads it."""
    job, pred = home / "jobs" / trained, home / "jobs" / predicted

    def output_config() -> Any:
        return json.loads(read_verified(pred / "request", "output_config.json"))

    calls: dict[str, Any] = {}
    for name in read_manifest(job):
        calls[f"jobs/{trained}/{name}"] = {
            "meta.json": lambda: TrainingJobResult(trained),
            "plan.json": lambda: TrainingJobResult(trained).model_plan,
            "holdout.parquet": lambda: TrainingJobResult(trained).holdout_df(),
            "report.html": lambda: TrainingJobResult(trained).report_path(),
            "ensemble.pt": lambda: load_member_states(job),
            "explanations.json": lambda: TrainingJobResult(trained).explanations(),
        }.get(name, (lambda: load_gbdt(job)) if name.startswith("gbdt")
              else (lambda: Trainer.get_encoders(trained)))
    for name in read_manifest(job / "request"):
        calls[f"jobs/{trained}/request/{name}"] = lambda: TrainingJobResult(trained) \
            .training_table
    for name in read_manifest(pred):
        calls[f"jobs/{predicted}/{name}"] = lambda: BatchPredictionJobResult(predicted) \
            .predictions_df()
    for name in read_manifest(pred / "request"):
        calls[f"jobs/{predicted}/request/{name}"] = output_config \
            if name == "output_config.json" \
            else (lambda: BatchPredictionJobResult(predicted).prediction_table)
    for path in (home / "snapshots").glob("*.parquet"):
        calls[f"snapshots/{path.name}"] = lambda: PredictiveQuery.load_from_training_job(
            trained)
    calls[f"jobs/{trained}/{MANIFEST}"] = lambda: TrainingJobResult(trained)
    calls[f"jobs/{trained}/request/{MANIFEST}"] = lambda: TrainingJobResult(trained) \
        .training_table
    return calls


def test_flipped_byte_in_any_artifact_raises(home: Path, trained: str, predicted: str) -> None:
    calls = _loaders(home, trained, predicted)
    names = {Path(k).name for k in calls}
    assert {"model.pt", "encoders.pt", "model.json", "meta.json", "plan.json",
            "holdout.parquet", "report.html", "train_table.parquet", "train_table.json",
            "predictions.parquet", "prediction_table.parquet", "output_config.json",
            MANIFEST} <= names
    for rel, call in calls.items():
        call()  # reads fine
        path = home / rel
        data = bytearray(path.read_bytes())
        i = len(data) // 2
        data[i] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            with pytest.raises(ArtifactError) as err:
                call()
            assert path.name in str(err.value), (rel, str(err.value))
        finally:
            data[i] ^= 0x01
            path.write_bytes(bytes(data))
        call()  # restored


def test_home_is_private(home: Path, trained: str, predicted: str) -> None:
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in [home / "jobs.db", *_files(home / "jobs"), *_files(home / "snapshots")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    for path in [home / "jobs", home / "snapshots", home / "stores", home / "jobs" / trained]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_job_ids_cannot_name_other_folders(home: Path) -> None:
    for bad in ("../../x", "/etc", "a/b", "..", ""):
        with pytest.raises(JobError, match="not a job id"):
            TrainingJobResult(bad)
        with pytest.raises(JobError, match="not a job id"):
            BatchPredictionJobResult(bad)


# ---------------------------------------------------------------------- output names
@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b", "..", "x y", "x;drop"])
def test_output_names_outside_their_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputNameError):
        OutputConfig(output_connector=tmp_path / "out", output_table_name=name)
    cfg = OutputConfig(output_connector=tmp_path / "out", output_table_name="ok")
    cfg.output_table_name = name  # changed after validation: checked again at the write
    with pytest.raises(OutputNameError):
        write_output(pd.DataFrame({"ENTITY": [1]}), cfg, "predictions")
    assert not (tmp_path / "x").exists() and not [*(tmp_path / "out").glob("*")]


def test_cli_refuses_table_name_outside_output(home: Path, trained: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from relgraph.cli.main import main

    out = tmp_path / "out"
    code = main(["predict", trained, "--home", str(home), "--output", str(out),
                 "--table-name", "../escaped"])
    assert code == 2 and "not a plain SQL identifier" in capsys.readouterr().err
    assert not list(tmp_path.glob("escaped*")) and not list(out.glob("*"))


# ---------------------------------------------------------------------- user files
def test_user_files_beside_and_at_outputs_survive(home: Path, data: tuple[rg.Graph, Any],
                                                  trained: str, tmp_path: Path) -> None:
    graph, table = data
    trainer = Trainer.load(trained)
    trainer.verbose = False
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "clash_predictions.parquet").write_bytes(b"my own file")
    cfg = OutputConfig(output_types={"predictions"}, output_connector=out,
                       output_table_name="churn")
    first = trainer.predict(graph, table, output_config=cfg)
    second = trainer.predict(graph, table, output_config=cfg)  # replaces its own output
    assert second.predictions_urls() == [str(out / "churn_predictions.parquet")]
    assert len(pd.read_parquet(out / "churn_predictions.parquet")) == 40
    assert first.id != second.id
    # a user's file at an output path: the job fails (after staging its embeddings), the
    # file and folder are untouched
    both = OutputConfig(output_types={"predictions", "embeddings"}, output_connector=out,
                        output_table_name="clash")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OutputExistsError, match=r"clash_predictions\.parquet"):
        trainer.predict(graph, table, output_config=both)
    job = trainer.predict(graph, table, output_config=both, non_blocking=True)
    with pytest.raises(JobError, match="was not written by relgraph"):
        job.result(timeout=TIMEOUT)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no new file either
    # a user's table in a database file
    db = tmp_path / "user.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE churn_predictions AS SELECT 42 AS mine")
    with pytest.raises(OutputExistsError):
        trainer.predict(graph, table, output_config=OutputConfig(
            output_connector=DuckDBOutput(db), output_table_name="churn"))
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT * FROM churn_predictions").fetchall() == [(42,)]
        assert [r[0] for r in con.execute("SHOW TABLES").fetchall()] == ["churn_predictions"]


def test_table_folders_never_delete_user_paths(home: Path, data: tuple[rg.Graph, Any],
                                               tmp_path: Path) -> None:
    from relgraph.pquery.export import read_table, write_training_table

    graph, _ = data
    pq = PredictiveQuery(graph, QUERY)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("a\n1\n")
    with pytest.raises(OutputExistsError):
        write_training_table(pq, mine)
    assert (mine / "data.csv").read_text() == "a\n1\n"
    ours = write_training_table(pq, tmp_path / "ours")
    n = len(read_table(ours))
    assert len(read_table(write_training_table(pq, ours))) == n  # its own folder: replaced
    (ours / "added-by-user.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="added-by-user"):
        write_training_table(pq, ours)
    assert (ours / "added-by-user.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "ours"]  # no temporaries


# ---------------------------------------------------------------------- processes
@pytest.mark.slow
def test_no_zombie_after_non_blocking_jobs(home: Path, data: tuple[rg.Graph, Any],
                                           trained: str) -> None:
    graph, table = data
    trainer = Trainer.load(trained)
    trainer.verbose = False
    jobs = [trainer.predict(graph, table, non_blocking=True) for _ in range(3)]
    pids = set()
    for job in jobs:
        job.result(timeout=TIMEOUT)
        pids.add(job.status().worker_pid)
    me = psutil.Process()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        zombies = [c.pid for c in me.children() if c.pid in pids
                   and c.status() == psutil.STATUS_ZOMBIE]
        if not zombies and not ({c.pid for c in me.children()} & pids):
            break
        time.sleep(0.1)
    assert not ({c.pid for c in me.children()} & pids), "workers left as zombies"


# ---------------------------------------------------------------------- gc
def test_gc_keeps_what_kept_jobs_need(tmp_path: Path, restore_settings: None,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from relgraph.cli.main import main

    home = tmp_path / "gc-home"
    rg.init(home=home, device="cpu")
    graph, table = make_data(0)
    other, other_table = make_data(1)  # different data: its own snapshot and store
    a = Trainer(make_plan(1), verbose=False).fit(graph, table)
    trainer = Trainer.load(a.id)
    trainer.verbose = False
    p = trainer.predict(graph, table)
    b = Trainer(make_plan(1), verbose=False).fit(other, other_table)
    store = JobStore(home)
    stores_before = sorted(x.name for x in (home / "stores").iterdir())
    assert len(stores_before) == 2

    dry = rg.gc(keep_last=1, dry_run=True)
    assert dry.removed_jobs == [p.id, a.id] and dry.total_bytes > 0
    assert all(i.size > 0 for i in dry.items)
    assert {i.kind for i in dry.items} == {"job", "snapshot", "store"}
    assert store.exists(a.id) and all(i.path.exists() for i in dry.items)  # nothing removed
    assert main(["gc", "--keep-last", "1", "--dry-run", "--home", str(home)]) == 0
    assert "would remove" in capsys.readouterr().out

    kept = rg.gc(keep_last=2)  # keeps b and p, and a because p predicted with it
    assert kept.items == [] and sorted(kept.kept_jobs) == sorted([a.id, p.id, b.id])
    done = rg.gc(keep_last=1)
    assert sorted(done.removed_jobs) == sorted([a.id, p.id])
    assert not store.exists(a.id) and not (home / "jobs" / a.id).exists()
    assert [x.name for x in (home / "stores").iterdir()] == [other.fingerprint()]
    snapshot = b.load_config()["graph_snapshot"]
    assert {x.name for x in (home / "snapshots").iterdir()} == \
        {t["file"] for t in snapshot["tables"].values()}
    assert len(Trainer.load(b.id).predict(other, other_table).predictions_df()) == 40
    with pytest.raises(rg.ConfigError, match="older_than"):
        rg.gc(older_than="soon")
