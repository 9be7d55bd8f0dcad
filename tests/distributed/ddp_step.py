"""Run by torchrun from test_ddp.py: one DDP optimizer step on each rank's own seeds, then
report every rank's parameters (rank 0 writes them to the JSON file given as argument)."""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from relgraph.distributed.context import init_from_env, shutdown
from relgraph.pquery import PredictiveQuery
from relgraph.store.from_graph import build_store
from relgraph.task import TaskType
from relgraph.testing.retail import RETAIL_CHURN, retail_graph
from relgraph.training.examples import fit_target_info, make_examples
from relgraph.training.features import fit_graph_features
from relgraph.training.fitting import GraphContext, make_sampler, model_spec
from relgraph.training.losses import compute_loss
from relgraph.training.settings import TrialSettings


def main(out_path: str) -> None:
    dctx = init_from_env("gloo")
    graph = retail_graph(4000)
    df = PredictiveQuery(graph, RETAIL_CHURN).generate_training_table().data_df()
    ctx = GraphContext(build_store(graph), fit_graph_features(graph, set(), None, None),
                       "customers", torch.device("cpu"),
                       {n: t.primary_key for n, t in graph.tables.items() if t.primary_key})
    info = fit_target_info(_binary_task(), df[df["SPLIT"] == "train"]["TARGET"], None)
    ex = make_examples(graph, "customers", df, info)
    settings = TrialSettings()
    torch.manual_seed(100 + dctx.rank)  # different init per rank: DDP must broadcast rank 0's
    model = ctx.model(model_spec(settings, info))
    net = dctx.wrap_model(model)
    start = dctx.params_vector(model)
    idx = dctx.shard(ex.index("train"))[:64]
    sampler = make_sampler(ctx, settings, torch.Generator().manual_seed(dctx.rank))
    out = ctx.forward(net, sampler, ex, idx)
    loss = compute_loss(info, settings.loss, out, ex.y[idx], None)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    end = dctx.params_vector(model)
    gathered: list = [None] * dctx.world_size
    torch.distributed.all_gather_object(
        gathered, {"start": start.tolist(), "end": end.tolist(), "loss": float(loss),
                   "seeds": idx[:5].tolist()})
    if dctx.is_main:
        ends = [np.asarray(g["end"]) for g in gathered]
        starts = [np.asarray(g["start"]) for g in gathered]
        result = {
            "world_size": dctx.world_size,
            "max_start_diff": max(float(np.abs(s - starts[0]).max()) for s in starts),
            "max_end_diff": max(float(np.abs(e - ends[0]).max()) for e in ends),
            "moved": float(np.abs(ends[0] - starts[0]).max()),
            "losses": [g["loss"] for g in gathered],
            "seeds": [g["seeds"] for g in gathered],
            "num_params": len(ends[0]),
        }
        with open(out_path, "w") as fh:
            json.dump(result, fh)
    shutdown()


def _binary_task() -> TaskType:

    return TaskType.BINARY_CLASSIFICATION


if __name__ == "__main__":
    main(sys.argv[1])
