"""Start a DDP training job with torchrun and collect rank 0's result.

``launch(graph, train_table, plan, nproc_per_node=N)`` writes the job's inputs to a spec
folder without pickle (the graph as a Parquet snapshot, the table as Parquet + JSON, the
plan and settings as JSON, all listed with their SHA-256 in the spec's ``manifest.json``),
runs ``torchrun ... -m relgraph.distributed.worker SPEC`` and returns the job's
``meta.json`` (written by rank 0 with the model artifacts).

torchrun and its ranks never outlive the launch: torchrun runs with a parent-death signal
(it is killed with the process that launched it), every rank with one too (killed with
torchrun), and a cancelled, failed or timed-out launch kills the whole process tree
(:data:`DEFAULT_TIMEOUT_S` unless ``timeout=`` says otherwise).

Several nodes: call :func:`write_spec` once on shared storage, then run the command from
:func:`torchrun_command` (``nnodes``, ``node_rank``, ``master_addr``) on every node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from relgraph.errors import TrainingError

__all__ = ["DEFAULT_TIMEOUT_S", "launch", "launch_prediction", "torchrun_command",
           "write_spec"]

#: A distributed launch that runs longer than this is stopped (``timeout=None``: no limit).
DEFAULT_TIMEOUT_S = 24 * 3600.0
#: Seconds torchrun gets to stop its ranks after SIGTERM before everything is killed.
_GRACE_S = 10.0


def write_spec(graph: Any, train_table: Any, plan: Any, folder: str | Path, *,
               home: str | Path, job_id: str, spec_dir: str | Path | None = None,
               backend: str | None = None, custom_tags: dict[str, str] | None = None,
               mode: str = "train", extra: dict[str, Any] | None = None) -> Path:
    """Write the inputs every rank reads (Parquet and JSON); returns the spec folder."""
    from relgraph.graph.snapshot import snapshot_graph
    from relgraph.integrity import private_dir, write_bytes_atomic, write_manifest
    from relgraph.pquery.snapshot import save_table
    from relgraph.training.features import excluded_target_columns

    spec = Path(spec_dir) if spec_dir is not None else Path(home) / "distributed" / job_id
    private_dir(spec)
    save_table(spec, "table", train_table, excluded_target_columns(train_table))
    config = {"home": str(Path(home).resolve()), "job_id": job_id,
              "folder": str(Path(folder).resolve()), "backend": backend,
              "custom_tags": custom_tags or {}, "mode": mode,
              "graph": snapshot_graph(spec, graph),
              "plan": json.loads(plan.as_json()) if plan is not None else None,
              **(extra or {})}
    write_bytes_atomic(json.dumps(config, indent=2).encode(), spec / "config.json")
    write_manifest(spec)
    return spec


def torchrun_command(spec: str | Path, *, nproc_per_node: int = 1, nnodes: int = 1,
                     node_rank: int = 0, master_addr: str = "127.0.0.1",
                     master_port: int = 29500, python: str | None = None) -> list[str]:
    """The torchrun command line that runs the worker of ``spec`` (one process per GPU, or
    ``nproc_per_node`` CPU processes). Single node: ``--standalone`` (a free port)."""
    cmd = [python or sys.executable, "-m", "torch.distributed.run",
           "--nproc-per-node", str(nproc_per_node)]
    if nnodes == 1:
        cmd += ["--standalone", "--nnodes", "1"]
    else:
        cmd += ["--nnodes", str(nnodes), "--node-rank", str(node_rank),
                "--master-addr", master_addr, "--master-port", str(master_port)]
    return [*cmd, "-m", "relgraph.distributed.worker", str(spec)]


def launch(graph: Any, train_table: Any, plan: Any = None, *, nproc_per_node: int = 2,
           nnodes: int = 1, node_rank: int = 0, master_addr: str = "127.0.0.1",
           master_port: int = 29500, backend: str | None = None,
           home: str | Path | None = None, folder: str | Path | None = None,
           job_id: str | None = None, custom_tags: dict[str, str] | None = None,
           timeout: float | None = DEFAULT_TIMEOUT_S, verbose: bool = True,
           env: dict[str, str] | None = None) -> dict[str, Any]:
    """Train ``train_table`` on ``graph`` with DDP in ``nproc_per_node`` processes (torchrun).

    Each rank loads the graph, memory-maps the graph store (rank 0 builds it first), takes
    its own shard of the training seeds, and runs the same AutoML trials as a
    single-process job with gradients all-reduced (gloo on CPU, NCCL on GPUs); validation
    metrics are computed over all ranks' predictions. Rank 0 writes the artifacts
    (``model.pt``, ``meta.json``, ``plan.json``, ``holdout.parquet``) into ``folder``
    (default ``HOME/jobs/JOB_ID``) and this returns ``meta.json``'s content.
    """
    from relgraph.config import get_settings

    home_path = Path(home) if home is not None else get_settings().home
    job_id = job_id or f"ddp-{uuid.uuid4().hex[:10]}"
    out = Path(folder) if folder is not None else home_path / "jobs" / job_id
    out.mkdir(parents=True, exist_ok=True)
    spec = write_spec(graph, train_table, plan, out, home=home_path, job_id=job_id,
                      backend=backend, custom_tags=custom_tags)
    cmd = torchrun_command(spec, nproc_per_node=nproc_per_node, nnodes=nnodes,
                           node_rank=node_rank, master_addr=master_addr,
                           master_port=master_port)
    t0 = time.perf_counter()
    _run(cmd, timeout, verbose, env, spec / "torchrun.log")
    meta = _finish(out, t0)
    if folder is None:  # a job folder of its own: make it loadable (checksummed)
        from relgraph.integrity import write_manifest

        write_manifest(out)
    return meta


#: Run as ``python -c _EXEC PARENT_PID CMD...``: die with the parent, then exec CMD.
_EXEC = ("import ctypes, os, signal, sys\n"
         "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"  # PR_SET_PDEATHSIG
         "os._exit(1) if os.getppid() != int(sys.argv[1]) else None\n"
         "os.execvp(sys.argv[2], sys.argv[2:])")


def die_with_parent() -> None:
    """Linux: get SIGKILL when the parent process dies (torchrun's ranks call this)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent or parent == 1:  # the parent already died
        os._exit(1)


def _run(cmd: list[str], timeout: float | None, verbose: bool,
         env: dict[str, str] | None, log_path: Path) -> None:
    run_env = {**os.environ, **(env or {})}
    src = str(Path(__file__).resolve().parents[2])
    run_env["PYTHONPATH"] = os.pathsep.join(p for p in (src, run_env.get("PYTHONPATH")) if p)
    if sys.platform.startswith("linux"):
        cmd = [sys.executable, "-c", _EXEC, str(os.getpid()), *cmd]
    log = None if verbose else open(log_path, "wb")  # noqa: SIM115 (closed below)
    try:
        proc = subprocess.Popen(cmd, env=run_env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT if log else None)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_tree(proc)
            raise TrainingError(
                f"The distributed job ran longer than its timeout of {timeout:.0f}s and was "
                "stopped (torchrun and every rank). Pass a longer timeout, e.g. "
                "distributed={'nproc_per_node': 2, 'timeout': 172800} (None: no limit)."
            ) from None
        except BaseException:  # cancelled (SIGTERM -> JobCancelled), Ctrl+C, ...
            stop_tree(proc)
            raise
    finally:
        if log is not None:
            log.close()
    if code != 0:
        tail = log_path.read_text(errors="replace")[-4000:] if log is not None else ""
        raise TrainingError(f"Distributed job failed (torchrun exit {code})"
                            + (f":\n{tail}" if tail else ""))


def stop_tree(proc: subprocess.Popen[Any], grace: float = _GRACE_S) -> None:
    """Stop torchrun and all its descendants (ranks run in sessions of their own, so a
    process group does not reach them): SIGTERM, then SIGKILL after ``grace`` seconds."""
    from relgraph.jobs.store import process_tree, signal_procs, wait_procs_gone

    tree = process_tree(proc.pid)
    signal_procs(tree, signal.SIGTERM)
    if not wait_procs_gone(tree, grace):
        signal_procs([*tree, *process_tree(proc.pid)[1:]], signal.SIGKILL)
        wait_procs_gone(tree, grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def _finish(out: Path, t0: float) -> dict[str, Any]:
    meta_path = out / "meta.json"
    if not meta_path.exists():
        raise TrainingError(f"Distributed training wrote no {meta_path}")
    meta: dict[str, Any] = json.loads(meta_path.read_text())
    meta.setdefault("distributed", {})["launch_seconds"] = time.perf_counter() - t0
    return meta


def launch_prediction(graph: Any, prediction_table: Any, training_job_id: str,
                      output_dir: str | Path, *, nproc_per_node: int = 2,
                      home: str | Path | None = None, backend: str | None = None,
                      threshold: float | None = None, num_classes_to_return: int | None = None,
                      timeout: float | None = DEFAULT_TIMEOUT_S, verbose: bool = True,
                      env: dict[str, str] | None = None) -> dict[str, Any]:
    """Batch prediction sharded over ``nproc_per_node`` torchrun processes (one GPU each
    on CUDA machines): rank ``r`` predicts the ``r``-th contiguous slice of the prediction
    table with the model of ``training_job_id`` and writes ``output_dir/part-r/``; rank 0
    writes ``output_dir/meta.json`` listing every part."""
    from relgraph.config import get_settings

    home_path = Path(home) if home is not None else get_settings().home
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    job_id = f"ddp-predict-{uuid.uuid4().hex[:10]}"
    spec = write_spec(graph, prediction_table, None, out, home=home_path, job_id=job_id,
                      backend=backend, mode="predict",
                      extra={"training_job_id": training_job_id, "threshold": threshold,
                             "num_classes_to_return": num_classes_to_return})
    cmd = torchrun_command(spec, nproc_per_node=nproc_per_node)
    t0 = time.perf_counter()
    _run(cmd, timeout, verbose, env, spec / "torchrun.log")
    return _finish(out, t0)
