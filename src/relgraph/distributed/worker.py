"""The process torchrun starts on every rank: ``python -m relgraph.distributed.worker SPEC``.

Reads the spec written by :func:`relgraph.distributed.launch.write_spec` (Parquet and JSON,
every file checked against the spec's manifest; nothing is unpickled), joins the process
group, and runs the regular training job (:func:`relgraph.training.pipeline.fit_training_job`)
with this rank's :class:`~relgraph.distributed.context.DistContext`, so every trial trains
with DDP on this rank's shard of the seeds. Rank 0 writes the artifacts; the other ranks
write into a scratch folder that is removed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _config(spec: Path) -> dict[str, Any]:
    from relgraph.integrity import read_verified

    config: dict[str, Any] = json.loads(read_verified(spec, "config.json"))
    return config


def _load(spec: Path) -> tuple[dict[str, Any], Any, Any, Any]:
    from relgraph.graph.snapshot import load_graph
    from relgraph.pquery.snapshot import load_table

    config = _config(spec)
    graph = load_graph(spec, config["graph"])
    plan = None
    if config.get("plan") is not None:
        from relgraph.plan.model_plan import ModelPlan

        plan = ModelPlan.from_json(json.dumps(config["plan"]))
    table = load_table(spec, "table", graph)
    if config.get("mode") == "predict":
        return config, graph, _Frame(table.data_df(), table.entity_table), plan
    return config, graph, table, plan


class _Frame:
    """The rows of a prediction table (what ``run_batch_prediction`` reads)."""

    def __init__(self, df: Any, entity_table: str) -> None:
        self.df = df
        self.entity_table = entity_table

    def data_df(self) -> Any:
        return self.df.copy()


def _predict(dctx: Any, config: dict[str, Any], graph: Any, table: _Frame) -> None:
    """Rank r predicts the r-th contiguous slice into ``folder/part-r``."""
    import numpy as np

    from relgraph.connector.output import OutputConfig
    from relgraph.training.artifacts import write_json_atomic
    from relgraph.training.pipeline import run_batch_prediction

    folder = Path(config["folder"])
    part = folder / f"part-{dctx.rank:05d}"
    part.mkdir(parents=True, exist_ok=True)
    rows = np.array_split(np.arange(len(table.df)), dctx.world_size)[dctx.rank]
    shard = _Frame(table.df.iloc[rows].reset_index(drop=True), table.entity_table)
    output = OutputConfig(output_types={"predictions"}, output_table_name="output")
    meta = run_batch_prediction(graph, shard, config["training_job_id"], output, part,
                                threshold=config.get("threshold"),
                                num_classes_to_return=config.get("num_classes_to_return"))
    gathered: list[Any] = [None] * dctx.world_size
    import torch

    torch.distributed.all_gather_object(gathered, meta)
    if dctx.is_main:
        write_json_atomic({"training_job_id": config["training_job_id"],
                           "num_entities_predicted": sum(m["num_entities_predicted"]
                                                         for m in gathered),
                           "parts": gathered,
                           "distributed": {"world_size": dctx.world_size,
                                           "backend": dctx.backend}},
                          folder / "meta.json")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m relgraph.distributed.worker SPEC_DIR", file=sys.stderr)
        return 2
    spec = Path(args[0])
    from relgraph.distributed.launch import die_with_parent

    die_with_parent()  # a rank never outlives torchrun (it runs in a session of its own)
    from relgraph.config import init
    from relgraph.distributed.context import init_from_env, shutdown

    config = _config(spec)
    dctx = init_from_env(config.get("backend"))
    settings = init(config["home"], device=str(dctx.device))
    t0 = time.perf_counter()
    _, graph, table, plan = _load(spec)
    if config.get("mode") == "predict":
        from relgraph.store.from_graph import build_store

        if dctx.is_main:
            build_store(graph, cache_dir=settings.home / "stores")
        dctx.barrier()
        try:
            _predict(dctx, config, graph, table)
            dctx.barrier()
        finally:
            shutdown()
        return 0
    from relgraph.store.from_graph import build_store
    from relgraph.training.pipeline import fit_training_job

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
                                custom_tags=config.get("custom_tags") or None, log=say,
                                dist=dctx)
        dctx.barrier()
        if dctx.is_main:
            meta["distributed"] = {"world_size": dctx.world_size, "backend": dctx.backend,
                                   "device": str(dctx.device),
                                   "worker_seconds": time.perf_counter() - t0}
            from relgraph.training.artifacts import write_json_atomic

            write_json_atomic(meta, folder / "meta.json")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
