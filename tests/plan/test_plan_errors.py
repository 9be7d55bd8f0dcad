"""The one translation of pydantic's errors into plan errors (``plan.checks``): paths
through unions, sentinels, extras and nested plans; rules derived from the constraints."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from relgraph.errors import PlanError
from relgraph.plan.checks import PlanFieldError
from relgraph.plan.model_plan import (
    HopConfig,
    LRSchedulerConfig,
    ModelPlan,
    NeighborSamplingPlan,
    OptimizationPlan,
    OptimizerType,
    TrainingJobPlan,
)

CASES: list[tuple[dict[str, Any], str, str]] = [
    # (plan dict, field path, whole message after the path)
    ({"optimization": {"max_epochs": "inferred"}}, "optimization.max_epochs",
     "must be an integer >= 1 (got 'inferred')"),
    ({"optimization": {"majority_sampling_ratio": [0]}},
     "optimization.majority_sampling_ratio[0]", "must be a number > 0 or None (got 0)"),
    ({"optimization": {"loss": [{"name": "focal", "alfa": 1}]}}, "optimization.loss[0].alfa",
     "unknown field; did you mean 'alpha'? (got 1)"),
    ({"optimization": {"loss": [{"name": "hubber"}]}}, "optimization.loss[0]",
     "or a loss config object (got 'hubber')"),
    ({"optimization": {"loss": [{"name": "hubber", "delta": 1}]}},
     "optimization.loss[0].name",
     "'name' must be one of ['focal', 'huber', 'quantile', 'ordinal_log'] for a loss config "
     "(got 'hubber')"),
    ({"optimization": {"lr_scheduler": [{"name": "exponential", "kwargs": {"gama": 1}}]}},
     "optimization.lr_scheduler[0].kwargs.gama",
     "unknown keyword for scheduler 'exponential'; allowed: ['gamma'] (got 'gama')"),
    ({"neighbor_sampling": {"num_neighbors": [{"hop1": {"default": 1, "A.x": 3}}]}},
     "neighbor_sampling.num_neighbors[0].hop1['A.x']",
     "override keys must look like 'SRC_TABLE.key->DST_TABLE.key' (got 'A.x')"),
    ({"neighbor_sampling": {"num_neighbors": [{"hop1": "x"}]}},
     "neighbor_sampling.num_neighbors[0].hop1", "must be a HopConfig, an int or a dict (got 'x')"),
    ({"neighbor_sampling": {"num_neighbors": ["x"]}}, "neighbor_sampling.num_neighbors[0]",
     "must be a list of per-hop ints (e.g. [16, 8]) or a NumNeighborsConfig (got 'x')"),
    ({"model_architecture": {"model": [3]}}, "model_architecture.model[0]",
     "must be a GNNModelPlan or GraphTransformerModelPlan (or its dict form) (got 3)"),
    ({"model_architecture": {"model": [{"name": "GNN", "channels": "???"}],
                             "channels": [3]}},
     "model_architecture.channels[0]", "must be an even integer in [2, 512] (got 3)"),
    ({"training_job": {"metrics": []}}, "training_job.metrics",
     "must be a non-empty list (got [])"),
    ({"training_job": {"pruning": {"k": 0}}}, "training_job.pruning.k",
     "must be an integer >= 1 (got 0)"),
]


@pytest.mark.parametrize(("data", "path", "message"), CASES, ids=[c[1] for c in CASES])
def test_error_names_path_rule_and_value(data: dict[str, Any], path: str,
                                         message: str) -> None:
    with pytest.raises(PlanFieldError) as info:
        ModelPlan.from_dict(data)
    assert info.value.field == path
    assert str(info.value).startswith(f"Invalid value for '{path}': ")
    assert str(info.value).endswith(message)


def test_numbers_and_bools_accept_numpy_values_only_of_their_kind() -> None:
    opt = OptimizationPlan(max_epochs=np.int64(3), base_lr=[np.float32(0.5)],
                           batch_size=[64.0])
    assert opt.max_epochs == 3 and type(opt.max_epochs) is int
    assert opt.base_lr == [0.5] and type(opt.base_lr[0]) is float
    assert opt.batch_size == [64] and type(opt.batch_size[0]) is int
    assert TrainingJobPlan(refit_full=np.True_).refit_full is True
    for bad in (True, np.True_, "3", 2.5):
        with pytest.raises(PlanError, match="must be an integer >= 1"):
            OptimizationPlan(max_epochs=bad)
    for bad in (True, "0.1", float("inf")):
        with pytest.raises(PlanError, match="must be a number > 0"):
            OptimizationPlan(base_lr=bad)
    with pytest.raises(PlanError, match="must be a boolean"):
        TrainingJobPlan(refit_full=1)


def test_enums_ignore_case_and_blanks() -> None:
    assert OptimizerType(" adamw ") is OptimizerType.ADAMW
    assert LRSchedulerConfig(name="EXPONENTIAL").name == "exponential"
    with pytest.raises(ValueError):
        OptimizerType("sgd")


def test_failed_assignment_keeps_the_old_value() -> None:
    hop = HopConfig(default=4, **{"A.x->B.y": 8})
    with pytest.raises(PlanError, match=r"\['A\.x->B\.y'\].*\[-1, 512\] or 'inferred'"):
        setattr(hop, "A.x->B.y", 1000)
    assert hop.overrides == {"A.x->B.y": 8}
    ns = NeighborSamplingPlan(num_neighbors=[[16, 8]], adaptive_sampling=True)
    with pytest.raises(PlanError, match=r"neighbor_sampling\.num_neighbors\[0\]"):
        ns.num_neighbors = [[-1]]
