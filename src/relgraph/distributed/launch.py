"""Start a DDP training job with torchrun and collect rank 0's result.

``launch(graph, train_table, plan, nproc_per_node=N)`` writes the job's inputs (graph,
training table, plan) to a spec folder, runs ``torchrun ... -m relgraph.distributed.worker
SPEC`` and returns the job's ``meta.json`` (written by rank 0 with the model artifacts).

Several nodes: call :func:`write_spec` once on shared storage, then run the command from
:func:`torchrun_command` (``nnodes``, ``node_rank``, ``master_addr``) on every node.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from relgraph.errors import TrainingError

__all__ = ["launch", "launch_prediction", "torchrun_command", "write_spec"]

#: What a rebuilt TrainingTable needs besides its rows.
_TABLE_ATTRS = ("task_type", "query_type", "entity_table", "target_table", "top_k",
                "num_forecasts")


def write_spec(graph: Any, train_table: Any, plan: Any, folder: str | Path, *,
               home: str | Path, job_id: str, spec_dir: str | Path | None = None,
               backend: str | None = None, custom_tags: dict[str, str] | None = None,
               mode: str = "train", extra: dict[str, Any] | None = None) -> Path:
    """Write the inputs every rank reads; returns the spec folder."""
    spec = Path(spec_dir) if spec_dir is not None else Path(home) / "distributed" / job_id
    spec.mkdir(parents=True, exist_ok=True)
    with open(spec / "graph.pkl", "wb") as fh:
        pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
    table = {"df": train_table.data_df(), "kind": type(train_table).__name__,
             **{a: getattr(train_table, a, None) for a in _TABLE_ATTRS}}
    excluded = getattr(train_table, "excluded_columns", None)
    if excluded:
        table["excluded_columns"] = set(excluded)
    with open(spec / "table.pkl", "wb") as fh:
        pickle.dump(table, fh, protocol=pickle.HIGHEST_PROTOCOL)
    with open(spec / "plan.pkl", "wb") as fh:
        pickle.dump(plan, fh, protocol=pickle.HIGHEST_PROTOCOL)
    config = {"home": str(Path(home).resolve()), "job_id": job_id,
              "folder": str(Path(folder).resolve()), "backend": backend,
              "custom_tags": custom_tags or {}, "mode": mode, **(extra or {})}
    (spec / "config.json").write_text(json.dumps(config, indent=2))
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
           timeout: float | None = None, verbose: bool = True,
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
    _run(cmd, timeout, verbose, env)
    return _finish(out, t0)


def _run(cmd: list[str], timeout: float | None, verbose: bool,
         env: dict[str, str] | None) -> None:
    run_env = {**os.environ, **(env or {})}
    src = str(Path(__file__).resolve().parents[2])
    run_env["PYTHONPATH"] = os.pathsep.join(p for p in (src, run_env.get("PYTHONPATH")) if p)
    proc = subprocess.run(cmd, env=run_env, timeout=timeout,
                          stdout=None if verbose else subprocess.PIPE,
                          stderr=None if verbose else subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout or "")[-4000:]
        raise TrainingError(f"Distributed job failed (torchrun exit {proc.returncode})"
                            + (f":\n{tail}" if tail else ""))


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
                      timeout: float | None = None, verbose: bool = True,
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
    _run(cmd, timeout, verbose, env)
    return _finish(out, t0)
