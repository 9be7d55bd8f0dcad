"""Running a job: in a worker process (``python -m relgraph.jobs.worker``) or inline.

Both paths go through :func:`run_job`: claim the job (``RUNNING``), start a heartbeat
thread, run the work into ``<job folder>/.staging`` (exports to temporaries beside their
destinations, see :mod:`relgraph.connector.exports`), write the staged artifacts' manifest,
then record the job's *commit point* and :func:`complete_commit`: move the artifacts into
the job folder, publish the exports and mark it ``DONE``. Failures before the commit point
mark ``FAILED`` with the error; cancellation (``SIGTERM`` to the worker, or the store's
cancel flag seen by the heartbeat) marks ``CANCELLED``. Either way the staging folder and
the export temporaries are removed, so no partial artifacts or outputs survive. A worker
killed outright is detected by :meth:`JobStore.reap` from its pid: before the commit point
the job is FAILED and cleaned up, after it the commit is completed.

A job's inputs are read back without pickle: the graph from a Parquet snapshot
(:mod:`relgraph.graph.snapshot`), tables and output configs from ``request/`` (Parquet
and JSON, checked against ``request/manifest.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.graph.graph import Graph
from relgraph.graph.snapshot import SnapshotError
from relgraph.integrity import (
    private_dir,
    read_verified,
    write_bytes_atomic,
    write_manifest,
)
from relgraph.jobs.memory import without_hugepage_advice
from relgraph.jobs.progress import ProgressState
from relgraph.jobs.store import (
    HEARTBEAT_S,
    STAGING,
    JobKind,
    JobStatus,
    JobStore,
    pid_alive,
)
from relgraph.pquery.snapshot import load_table

ProgressCallback = Callable[[dict[str, Any]], None]

# Popen objects of workers this process started (kept so they are reaped, not leaked).
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}
# The job running in this worker process (its SIGTERM handler consults it).
_ACTIVE: list[_Runner] = []


class JobCancelled(BaseException):
    """Raised inside a running job when it is cancelled (not an ``Exception``: nothing
    in the pipeline may swallow it)."""


# ---------------------------------------------------------------------- request objects
REQUEST = "request"


def save_request(folder: Path, objects: dict[str, Any], *, strict: bool) -> None:
    """Write a job's input objects into ``<folder>/request/`` and its manifest: tables as
    ``NAME.parquet`` + ``NAME.json``, output configs as ``NAME.json``.

    ``strict`` (worker jobs): an object that cannot be written raises; otherwise it is
    skipped (an inline job uses the live object).
    """
    from relgraph.connector.exports import output_to_json
    from relgraph.connector.output import OutputConfig
    from relgraph.pquery.snapshot import save_table
    from relgraph.training.features import excluded_target_columns

    req = private_dir(folder / REQUEST)
    for name, obj in objects.items():
        try:
            if isinstance(obj, OutputConfig):
                spec = output_to_json(obj)
                if strict and (spec["output_connector"] or {}).get("type") == "live":
                    raise SnapshotError(
                        f"The output connector {obj.output_connector!r} cannot be passed to a "
                        "worker process; predict with non_blocking=False, or write to a "
                        "folder or a SQLite, DuckDB or PostgreSQL database.")
                write_bytes_atomic(json.dumps(spec, indent=1).encode(), req / f"{name}.json")
            else:
                save_table(req, name, obj, excluded_target_columns(obj))
        except SnapshotError:
            if strict:
                raise
    write_manifest(req)


def load_request_table(folder: Path, name: str, graph: Any = None) -> Any:
    """A table saved by :func:`save_request` (checked against the request manifest)."""
    return load_table(folder / REQUEST, name, graph)


# Objects of jobs running inline in this process, by job id: used instead of the files.
_LIVE: dict[str, dict[str, Any]] = {}


def _table(run: _Runner, folder: Path, name: str) -> Any:
    live = _LIVE.get(run.job_id, {})
    return live[name] if name in live else load_request_table(folder, name)


def _output_config(run: _Runner, folder: Path) -> Any:
    from relgraph.connector.exports import output_from_json

    live = _LIVE.get(run.job_id, {})
    if "output_config" in live:
        return live["output_config"]
    return output_from_json(json.loads(read_verified(folder / REQUEST, "output_config.json")))


def _graph(run: _Runner, request: dict[str, Any]) -> Any:
    live = _LIVE.get(run.job_id, {})
    if "graph" in live:
        return live["graph"]
    if not request.get("graph_snapshot"):
        from relgraph.errors import JobError

        raise JobError(f"Job {run.job_id} has no graph snapshot to run from.")
    return load_graph(run.store.home, request["graph_snapshot"])


def snapshot_graph(store: JobStore, graph: Graph) -> dict[str, Any]:
    """Write ``graph`` as a Parquet snapshot under the home; returns its descriptor."""
    from relgraph.graph.snapshot import snapshot_graph as write

    return write(store.home, graph)


def load_graph(home: str | Path, descriptor: Any) -> Any:
    """The graph of a snapshot descriptor (every file checked against its SHA-256)."""
    from relgraph.graph.snapshot import load_graph as read

    return read(Path(home), descriptor)


@dataclass
class FrameTable:
    """A shard of a prediction table: just the rows."""

    df: pd.DataFrame
    entity_table: str

    def data_df(self) -> pd.DataFrame:
        return self.df.copy()


# ---------------------------------------------------------------------- launching
def launch(store: JobStore, job_id: str,
           env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a worker process for ``job_id``; it runs detached from the caller's session.

    ``env`` is added to the worker's environment (e.g. ``PGPASSWORD`` of an output
    connector: passed this way, never written to the job folder).
    """
    from relgraph.config import get_settings

    settings = get_settings()
    folder = store.folder(job_id)
    env = {**os.environ, **(env or {})}
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "relgraph.jobs.worker", "--home", str(store.home),
           "--device", settings.device, "--engine", settings.engine,
           "--duckdb-config", json.dumps(settings.duckdb_config()), job_id]
    with open(_log_fd(folder / "worker.log"), "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _CHILDREN[job_id] = proc
    # wait for it in the background, so a finished worker never stays a zombie
    threading.Thread(target=_reap_child, args=(job_id, proc), daemon=True,
                     name=f"relgraph-reap-{job_id}").start()
    store.mark_queued(job_id, proc.pid, "worker")
    return proc


def _reap_child(job_id: str, proc: subprocess.Popen[bytes]) -> None:
    proc.wait()
    _CHILDREN.pop(job_id, None)


def _log_fd(path: Path) -> int:
    """A file descriptor appending to ``path`` (created 0600)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` is gone; True if it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


# ---------------------------------------------------------------------- running
class _Runner:
    """State shared by the job's main thread and its heartbeat thread."""

    def __init__(self, store: JobStore, job_id: str, runner: str, kind: str,
                 tune_metric: str | None, on_progress: ProgressCallback | None) -> None:
        self.store = store
        self.job_id = job_id
        self.runner = runner
        self.state = ProgressState(kind, tune_metric)
        self.on_progress = on_progress
        self.cancelled = threading.Event()
        self.stop = threading.Event()
        self.finishing = False
        self.log_path = store.folder(job_id) / "worker.log"
        self._lock = threading.Lock()

    def log(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        if self.runner == "worker":
            print(f"{stamp} {line}", flush=True)
        else:
            with open(_log_fd(self.log_path), "a") as f:
                f.write(f"{stamp} {line}\n")

    def event(self, ev: dict[str, Any]) -> None:
        """The pipeline's ``events`` hook: progress, event log, cancellation point."""
        self.check_cancel()
        with self._lock:
            self.state.update(ev)
            snapshot = dict(self.state.data)
        detail = _describe(ev)
        if detail is not None:
            self.store.add_event(self.job_id, detail[0], detail[1])
        if self.store.heartbeat(self.job_id, snapshot):
            self.cancelled.set()
        if self.on_progress is not None:
            self.on_progress(snapshot)
        self.check_cancel()

    def check_cancel(self) -> None:
        if self.cancelled.is_set() and not self.finishing:
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            try:
                if self.store.heartbeat(self.job_id) and not self.cancelled.is_set():
                    self.cancelled.set()
                    if self.runner == "worker" and not self.finishing:
                        os.kill(os.getpid(), signal.SIGTERM)
            except Exception as exc:  # keep beating through transient store errors
                self.log(f"heartbeat failed: {exc}")


def _describe(ev: dict[str, Any]) -> tuple[str, str] | None:
    kind = ev.get("event")
    if kind == "stage":
        return str(ev.get("stage")), str(ev.get("detail", ""))
    if kind == "trial_start":
        return "trial", f"trial {int(ev['trial']) + 1}/{ev.get('total_trials')} started"
    if kind == "epoch":
        val = ", ".join(f"val_{k}={v:.4f}" for k, v in (ev.get("val") or {}).items()
                        if isinstance(v, float))
        return "epoch", (f"trial {int(ev['trial']) + 1} epoch {ev['epoch']}: "
                         f"train_loss={ev.get('train_loss', float('nan')):.4f} {val}").strip()
    if kind == "iteration":
        return "iteration", f"{ev.get('completed')}/{ev.get('total')}"
    return None


def run_job(store: JobStore, job_id: str, *, runner: str = "inline",
            on_progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Run job ``job_id`` to a terminal state in this process.

    Returns the job's ``meta.json`` content; raises the job's error (``JobError`` when it
    was cancelled) after recording it in the store.
    """
    from relgraph.errors import JobError

    rec = store.get(job_id, reap=False)
    tune_metric = None
    if rec.request.get("plan"):
        tune_metric = (rec.request["plan"].get("training_job") or {}).get("tune_metric")
    run = _Runner(store, job_id, runner, rec.kind.value, tune_metric, on_progress)
    if runner == "worker":
        _ACTIVE.append(run)
    if not store.mark_running(job_id, os.getpid(), runner):
        rec = store.get(job_id, reap=False)
        if rec.cancel_requested and not rec.status.is_terminal:
            store.finish(job_id, JobStatus.CANCELLED, detail="cancelled before it started")
        raise JobError(f"Job {job_id} cannot start: it is {store.get(job_id).status.value}.")
    beat = threading.Thread(target=run.beat, name=f"relgraph-heartbeat-{job_id}", daemon=True)
    beat.start()
    folder = store.folder(job_id)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        run.log(f"job {job_id} ({rec.kind.value}) started by {runner} pid {os.getpid()}")
        work = {JobKind.TRAINING: _run_training, JobKind.BATCH_PREDICTION: _run_prediction,
                JobKind.BASELINE: _run_baseline}.get(rec.kind)
        if work is None:
            raise JobError(f"Jobs of kind {rec.kind.value} do not run in workers.")
        with without_hugepage_advice():
            meta = work(store, rec.request, folder, staging, run)
        run.check_cancel()
        from relgraph.connector.exports import check_pending

        check_pending(store, folder)  # every export destination is still writable
        write_manifest(staging)
        run.finishing = True
        if not store.mark_committed(job_id):
            raise JobError(f"Job {job_id} ended ({store.get(job_id).status.value}) before "
                           "it could be committed; its outputs were discarded.")
        try:
            complete_commit(store, job_id, metrics=meta.get("metrics"),
                            detail=f"finished in {meta.get('seconds', 0.0):.1f}s")
        except BaseException as exc:
            store._force_fail(job_id, f"The job's commit failed: {type(exc).__name__}: {exc}")
            raise
        run.event({"event": "done"})
        run.log(f"job {job_id} done")
        return meta
    except (JobCancelled, KeyboardInterrupt) as exc:
        run.finishing = True
        run.log(f"job {job_id} cancelled ({type(exc).__name__})")
        store.finish(job_id, JobStatus.CANCELLED, detail="cancelled while running")
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise JobError(f"Job {job_id} was cancelled.") from None
    except BaseException as exc:
        run.finishing = True
        run.log(traceback.format_exc())
        message = f"{type(exc).__name__}: {exc}"
        store.finish(job_id, JobStatus.FAILED, error=message, detail=message)
        raise
    finally:
        run.stop.set()
        shutil.rmtree(staging, ignore_errors=True)


def complete_commit(store: JobStore, job_id: str, *, metrics: dict[str, Any] | None = None,
                    detail: str = "") -> bool:
    """Finish the commit of a job past its commit point (idempotent): move the staged
    artifacts into the job folder, publish its exports, mark it DONE."""
    from relgraph.connector.exports import publish_pending

    folder = store.folder(job_id)
    staging = folder / STAGING
    if staging.is_dir():
        for path in sorted(staging.iterdir()):
            dest = folder / path.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(path, dest)
        shutil.rmtree(staging, ignore_errors=True)
    publish_pending(store, job_id, folder)
    if metrics is None:
        metrics = json.loads(read_verified(folder, "meta.json")).get("metrics")
    return store.finish(job_id, JobStatus.DONE, metrics=metrics, detail=detail)


# ---------------------------------------------------------------------- the work
@contextlib.contextmanager
def _warm_start(state: dict[str, Any] | None, run: _Runner) -> Iterator[None]:
    """Initialise every model the pipeline builds from ``state`` where shapes match.

    (Scoped replacement of ``pipeline.GraphContext``; the pipeline has no init hook.)
    """
    if state is None:
        yield
        return
    from relgraph.training import pipeline
    from relgraph.training.fitting import GraphContext

    init_state: dict[str, Any] = state

    class WarmContext(GraphContext):
        def model(self, spec: Any) -> Any:
            model = super().model(spec)
            own = model.state_dict()
            match = {k: v for k, v in init_state.items() if k in own and own[k].shape == v.shape}
            model.load_state_dict(match, strict=False)
            run.log(f"warm start: {len(match)}/{len(own)} tensors initialised")
            return model

    original = pipeline.GraphContext
    pipeline.GraphContext = WarmContext  # type: ignore[misc]
    try:
        yield
    finally:
        pipeline.GraphContext = original  # type: ignore[misc]


def _run_training(store: JobStore, request: dict[str, Any], folder: Path, staging: Path,
                  run: _Runner) -> dict[str, Any]:
    from relgraph.plan.model_plan import ModelPlan
    from relgraph.training.pipeline import fit_training_job

    run.event({"event": "stage", "stage": "load_request"})
    graph = _graph(run, request)
    table = _table(run, folder, "train_table")
    excluded = {tuple(c) for c in request.get("excluded_columns") or []}
    if excluded:      # static targets: a loaded table no longer knows its query
        import copy

        table = copy.copy(table)  # an inline job's table is the caller's: not mutated
        table.excluded_columns = excluded | set(getattr(table, "excluded_columns", ()))
    plan = ModelPlan.from_json(_json(request["plan"])) if request.get("plan") else None
    warm = None
    if request.get("warm_start_job_id"):
        import torch

        warm = torch.load(io.BytesIO(read_verified(store.folder(request["warm_start_job_id"]),
                                                   "model.pt")),
                          weights_only=True, map_location="cpu")
    if request.get("distributed"):
        from relgraph import hooks

        run.event({"event": "stage", "stage": "distributed_training"})
        meta = hooks.call("launch_distributed", graph, table, plan, home=store.home,
                          folder=staging, job_id=run.job_id,
                          custom_tags=request.get("tags") or {}, verbose=False,
                          **request["distributed"])
    else:
        with _warm_start(warm, run):
            meta = fit_training_job(graph, table, plan, staging, run.job_id, verbose=False,
                                    custom_tags=request.get("tags") or {}, log=run.log,
                                    events=run.event)
    run.event({"event": "stage", "stage": "report"})
    try:
        from relgraph.jobs.report import write_report

        write_report(staging, run.job_id, request)
    except Exception:  # the report is a convenience: never fail a trained job for it
        run.log(f"report failed:\n{traceback.format_exc()}")
    return meta


def _run_baseline(store: JobStore, request: dict[str, Any], folder: Path, staging: Path,
                  run: _Runner) -> dict[str, Any]:
    from relgraph.baselines.run import run_baselines
    from relgraph.training.artifacts import write_json_atomic

    t0 = time.perf_counter()
    run.event({"event": "stage", "stage": "load_request"})
    graph = _graph(run, request)
    table = _table(run, folder, "train_table")
    run.event({"event": "stage", "stage": "baselines"})
    metrics = run_baselines(graph, table, metrics=request.get("metrics") or None)
    meta = {"job_id": run.job_id, "task_type": str(getattr(table.task_type, "value",
                                                               table.task_type)),
            "baselines": metrics, "metrics": metrics, "seconds": time.perf_counter() - t0}
    write_json_atomic(meta, staging / "meta.json")
    return meta


def _predict_shard(home: str, device: str, engine: str, graph: Any, shard: FrameTable,
                   training_job_id: str, output: Any, folder: str, threshold: float | None,
                   top: int | None, explain: bool = False, threads: int = 1) -> dict[str, Any]:
    """One shard of a batch prediction, in a pool process running ``threads`` torch threads
    (the shards share the cores instead of each spinning on all of them)."""
    import torch

    from relgraph.config import init
    from relgraph.training.pipeline import run_batch_prediction

    torch.set_num_threads(threads)
    init(home, device=device, engine=engine)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return run_batch_prediction(load_graph(home, graph), shard, training_job_id, output,
                                Path(folder), threshold=threshold, num_classes_to_return=top,
                                explain=explain)


def _num_cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_prediction(store: JobStore, request: dict[str, Any], folder: Path, staging: Path,
                    run: _Runner) -> dict[str, Any]:
    import numpy as np

    from relgraph.config import get_settings
    from relgraph.connector.exports import check_destination, plan_export, record_pending, stage
    from relgraph.connector.output import OutputConfig, write_frame_atomic
    from relgraph.training.artifacts import write_json_atomic

    t0 = time.perf_counter()
    run.event({"event": "stage", "stage": "load_request"})
    output: OutputConfig = _output_config(run, folder)
    table = _table(run, folder, "prediction_table")
    training_job_id = request["training_job_id"]
    internal = OutputConfig(output_types=set(output.output_types),
                            output_metadata_fields=list(output.output_metadata_fields),
                            output_table_name="output")
    df = table.data_df()
    n = max(1, min(int(request.get("num_workers") or 1), len(df)))
    threshold, top = request.get("threshold"), request.get("num_classes_to_return")
    explain = bool(request.get("explain"))
    kinds = sorted(output.output_types | ({"explanations"} if explain else set()))
    run.event({"event": "stage", "stage": "predict", "total": n})
    if n == 1:
        from relgraph.training.pipeline import run_batch_prediction

        graph = _graph(run, request)
        part = run_batch_prediction(graph, table, training_job_id, internal, staging,
                                    threshold=threshold, num_classes_to_return=top,
                                    explain=explain)
        metas = [part]
        run.event({"event": "iteration", "completed": 1, "total": 1})
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        settings = get_settings()
        parts = np.array_split(np.arange(len(df)), n)
        threads = max(1, _num_cpus() // n)  # torch threads per shard
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx)
        try:
            futures = {pool.submit(_predict_shard, str(store.home), settings.device,
                                   settings.engine, request["graph_snapshot"],
                                   FrameTable(df.iloc[idx].reset_index(drop=True),
                                              table.entity_table),
                                   training_job_id, internal, str(staging / f"shard{i}"),
                                   threshold, top, explain, threads): i
                       for i, idx in enumerate(parts)}
            results: dict[int, dict[str, Any]] = {}
            for done, fut in enumerate(as_completed(futures), start=1):
                results[futures[fut]] = fut.result()
                run.event({"event": "iteration", "completed": done, "total": n})
            pool.shutdown(wait=True)
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        metas = [results[i] for i in range(n)]
        for kind in kinds:
            frames = [pd.read_parquet(staging / f"shard{i}" / f"output_{kind}.parquet")
                      for i in range(n)]
            write_frame_atomic(pd.concat(frames, ignore_index=True),
                               staging / f"output_{kind}.parquet")
        for i in range(n):
            shutil.rmtree(staging / f"shard{i}", ignore_errors=True)
    outputs: dict[str, str] = {}
    exports: dict[str, str] = {}
    for kind in kinds:
        local = staging / f"output_{kind}.parquet"
        os.replace(local, staging / f"{kind}.parquet")
        outputs[kind] = f"{kind}.parquet"
    if output.output_connector is not None:
        # staged beside each destination; published when the job commits
        run.event({"event": "stage", "stage": "export"})
        token = hashlib.sha256(run.job_id.encode()).hexdigest()[:12]
        for kind in sorted(output.output_types):
            pending = plan_export(output, kind, token)
            check_destination(store, pending)
            record_pending(folder, pending)
            stage(pd.read_parquet(staging / f"{kind}.parquet"), output, pending)
            exports[kind] = pending.location
    meta = {"job_id": run.job_id, "training_job_id": training_job_id,
            "num_entities_predicted": int(sum(m["num_entities_predicted"] for m in metas)),
            "num_workers": n, "outputs": outputs, "exports": exports,
            "explain_seconds": sum(m.get("explain_seconds") or 0.0 for m in metas)
            if explain else None,
            "metrics": {"num_entities_predicted":
                        int(sum(m["num_entities_predicted"] for m in metas))},
            "seconds": time.perf_counter() - t0}
    write_json_atomic(meta, staging / "meta.json")
    return meta


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relgraph.jobs.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--duckdb-config", default="{}", help="JSON: relgraph.init's duckdb_*")
    parser.add_argument("job_id")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        if _ACTIVE and _ACTIVE[-1].finishing:
            return  # already finishing: let it complete
        raise JobCancelled(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    from relgraph.config import init

    duck = json.loads(args.duckdb_config)
    init(args.home, device=args.device, engine=args.engine,
         duckdb_memory_limit=duck.get("memory_limit"),
         duckdb_temp_directory=duck.get("temp_directory"), duckdb_threads=duck.get("threads"))
    store = JobStore(args.home)
    code = 0
    try:
        run_job(store, args.job_id, runner="worker")
    except BaseException as exc:  # recorded in the store by run_job
        print(f"worker exiting: {type(exc).__name__}: {exc}", flush=True)
        code = 1
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
