"""The process torchrun starts on every rank: ``python -m relgraph.distributed.worker SPEC``.

Reads the spec written by :func:`relgraph.distributed.launch.write_spec`, joins the process
group, and runs the regular training job (:func:`relgraph.trainer.pipeline.fit_training_job`)
with :func:`relgraph.distributed.current` set, so every trial trains with DDP on this rank's
shard of the seeds. Rank 0 writes the artifacts; the other ranks write into a scratch folder
that is removed.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _load(spec: Path) -> tuple[dict[str, Any], Any, Any, Any]:
    config = json.loads((spec / "config.json").read_text())
    with open(spec / "graph.pkl", "rb") as fh:
        graph = pickle.load(fh)
    with open(spec / "table.pkl", "rb") as fh:
        table_d = pickle.load(fh)
    with open(spec / "plan.pkl", "rb") as fh:
        plan = pickle.load(fh)
    from relgraph.pquery import TrainingTable

    table = TrainingTable(table_d.pop("df"), task_type=table_d["task_type"],
                          query_type=table_d["query_type"],
                          entity_table=table_d["entity_table"],
                          target_table=table_d.get("target_table"), graph=graph,
                          top_k=table_d.get("top_k"),
                          num_forecasts=table_d.get("num_forecasts") or 1)
    if "excluded_columns" in table_d:
        table.excluded_columns = table_d["excluded_columns"]  # type: ignore[attr-defined]
    return config, graph, table, plan


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m relgraph.distributed.worker SPEC_DIR", file=sys.stderr)
        return 2
    spec = Path(args[0])
    from relgraph.config import init
    from relgraph.distributed.context import init_from_env, shutdown

    config = json.loads((spec / "config.json").read_text())
    dctx = init_from_env(config.get("backend"))
    settings = init(config["home"], device=str(dctx.device))
    t0 = time.perf_counter()
    _, graph, table, plan = _load(spec)
    from relgraph.store.from_graph import build_store
    from relgraph.trainer.pipeline import fit_training_job

    if dctx.is_main:  # build (or find) the store once; the other ranks memory-map it
        build_store(graph, cache_dir=settings.home / "stores")
    dctx.barrier()
    scratch = None
    if dctx.is_main:
        folder = Path(config["folder"])
    else:
        scratch = Path(tempfile.mkdtemp(prefix=f"relgraph-rank{dctx.rank}-"))
        folder = scratch
    folder.mkdir(parents=True, exist_ok=True)
    say = (lambda line: print(line, flush=True)) if dctx.is_main else (lambda line: None)
    try:
        meta = fit_training_job(graph, table, plan, folder, config["job_id"], verbose=False,
                                custom_tags=config.get("custom_tags") or None, log=say)
        dctx.barrier()
        if dctx.is_main:
            meta["distributed"] = {"world_size": dctx.world_size, "backend": dctx.backend,
                                   "device": str(dctx.device),
                                   "worker_seconds": time.perf_counter() - t0}
            from relgraph.trainer.artifacts import write_json_atomic

            write_json_atomic(meta, folder / "meta.json")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
