"""DDP training launched with torchrun (2 CPU processes, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from relgraph.distributed import launch, launch_prediction, shard_indices, torchrun_command
from relgraph.pquery import PredictiveQuery
from relgraph.testing.retail import RETAIL_CHURN, retail_graph

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_shards_cover_all_seeds_with_equal_lengths() -> None:
    idx = torch.arange(11)
    shards = [shard_indices(idx, r, 3, pad=True) for r in range(3)]
    assert {len(s) for s in shards} == {4}
    assert set(torch.cat(shards).tolist()) == set(range(11))
    plain = [shard_indices(idx, r, 3, pad=False) for r in range(3)]
    assert sorted(torch.cat(plain).tolist()) == list(range(11))


def test_torchrun_command_shapes() -> None:
    one = torchrun_command("/spec", nproc_per_node=4)
    assert "--standalone" in one and one[-2:] == ["relgraph.distributed.worker", "/spec"]
    two = torchrun_command("/spec", nproc_per_node=8, nnodes=2, node_rank=1,
                           master_addr="10.0.0.1", master_port=29400)
    assert two[two.index("--node-rank"):two.index("--node-rank") + 2] == ["--node-rank", "1"]
    assert "10.0.0.1" in two and "--standalone" not in two


@pytest.mark.distributed
def test_parameters_identical_across_ranks_after_a_step(tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc-per-node", "2", str(HERE / "ddp_step.py"), str(out)]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["world_size"] == 2 and res["num_params"] > 1000
    assert res["seeds"][0] != res["seeds"][1]          # each rank trained on its own seeds
    assert res["losses"][0] != res["losses"][1]        # ... so local gradients differed
    assert res["max_start_diff"] == 0.0                # DDP broadcast rank 0's weights
    assert res["moved"] > 0.0                          # the step changed the weights
    assert res["max_end_diff"] == 0.0                  # gradients were all-reduced


@pytest.mark.distributed
@pytest.mark.slow
def test_two_process_training_matches_single_process(tmp_path: Path) -> None:
    import relgraph
    from relgraph import config
    from relgraph.plan.suggest import suggest_model_plan
    from relgraph.training.pipeline import fit_training_job

    saved = config._settings
    try:
        relgraph.init(tmp_path / "home", device="cpu")
        graph = retail_graph(12_000)
        table = PredictiveQuery(graph, RETAIL_CHURN).generate_training_table()
        plan = suggest_model_plan("binary_classification", "debug", num_train_examples=1000)
        opt = plan.optimization
        opt.max_epochs, opt.min_steps_per_epoch, opt.max_steps_per_epoch = 3, 1, 12
        opt.max_val_steps, opt.max_test_steps, opt.batch_size = 20, 100, [64]
        single = fit_training_job(graph, table, plan, tmp_path / "single", "single",
                                  verbose=False)
        meta = launch(graph, table, plan, nproc_per_node=2, home=tmp_path / "home",
                      job_id="ddp", verbose=False, env={"OMP_NUM_THREADS": "1"},
                      timeout=600)
        # sharded batch prediction with the model rank 0 wrote
        ptable = PredictiveQuery(graph, RETAIL_CHURN).generate_prediction_table()
        pmeta = launch_prediction(graph, ptable, "ddp", tmp_path / "pred", nproc_per_node=2,
                                  home=tmp_path / "home", verbose=False, timeout=600)
    finally:
        config._settings = saved
    assert meta["distributed"]["world_size"] == 2
    assert meta["distributed"]["backend"] == "gloo"
    job = tmp_path / "home" / "jobs" / "ddp"
    assert (job / "meta.json").exists() and (job / "model.pt").exists()
    assert pmeta["num_entities_predicted"] == len(ptable)
    preds = pd.concat(pd.read_parquet(f) for f in sorted((tmp_path / "pred").glob(
        "part-*/*predictions.parquet")))
    assert sorted(preds["ENTITY"]) == sorted(ptable.data_df()["ENTITY"])
    a, b = single["metrics"]["test"]["auroc"], meta["metrics"]["test"]["auroc"]
    print(f"test AUROC single={a:.4f} ddp(2)={b:.4f}")
    assert a > 0.58 and b > 0.58   # both learn (chance = 0.5)
    assert abs(a - b) < 0.1      # and agree within noise
