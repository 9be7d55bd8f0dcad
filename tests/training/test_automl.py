"""Trial sampling and pruning."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle

import pytest

from relgraph.errors import PlanError
from relgraph.plan.model_plan import (
    EarlyStoppingConfig,
    FocalLossConfig,
    GNNModelPlan,
    GraphTransformerModelPlan,
    HopConfig,
    LRSchedulerConfig,
    ModelPlan,
    NumNeighborsConfig,
    OptimizerConfig,
    PruningConfig,
)
from relgraph.plan.suggest import suggest_model_plan
from relgraph.training.automl import Pruner, sample_trials, search_space_size
from relgraph.training.settings import HopSpec, LossSpec, LRSchedulerSpec, TrialSettings


def _plan() -> ModelPlan:
    return suggest_model_plan("regression", "best", num_train_examples=10_000)


def _key(t: TrialSettings) -> tuple[object, ...]:
    return tuple(
        getattr(t, f.name)
        for f in dataclasses.fields(t)
        if f.name not in ("trial_index", "seed", "choices")
    )


def test_deterministic_given_seed() -> None:
    plan = _plan()
    a = sample_trials(plan, 10, seed=42)
    b = sample_trials(plan, 10, seed=42)
    c = sample_trials(plan, 10, seed=7)
    assert a == b
    assert [_key(t) for t in a] != [_key(t) for t in c]
    assert _key(a[0]) == _key(c[0])  # trial 0 does not depend on the seed


def test_trials_are_distinct() -> None:
    plan = _plan()
    trials = sample_trials(plan, 16, seed=0)
    assert len(trials) == 16
    assert len({_key(t) for t in trials}) == 16
    assert [t.trial_index for t in trials] == list(range(16))


def test_first_trial_uses_first_candidates() -> None:
    plan = _plan()
    first = sample_trials(plan, 3, seed=1)[0]
    opt, arch = plan.optimization, plan.model_architecture
    gnn = arch.model[0]
    assert isinstance(gnn, GNNModelPlan)
    assert first.model == "GNN"
    assert first.channels == gnn.channels[0]
    assert first.aggr == tuple(gnn.aggregation[0])
    assert first.dropout == gnn.dropout[0]
    assert first.base_lr == opt.base_lr[0]
    assert first.weight_decay == opt.weight_decay[0]
    assert first.batch_size == opt.batch_size[0]
    assert first.optimizer == "Adam"
    assert first.activation == arch.activation[0]
    assert first.normalization == "layer_norm"
    assert first.num_pre_layers == arch.num_pre_message_passing_layers[0]
    assert first.num_post_layers == arch.num_post_message_passing_layers[0]
    assert first.num_neighbors_spec() == plan.neighbor_sampling.num_neighbors[0]
    assert first.loss == LossSpec("huber", delta=1.0)
    assert first.max_epochs == opt.max_epochs
    assert first.max_steps_per_epoch == opt.max_steps_per_epoch
    assert first.min_steps_per_epoch == opt.min_steps_per_epoch
    assert first.max_val_steps == opt.max_val_steps
    assert first.max_test_steps == opt.max_test_steps
    assert all(i == 0 for _, i in first.choices)


def test_fast_two_trials_include_default() -> None:
    plan = suggest_model_plan("binary_classification", "fast", num_train_examples=5_000)
    for seed in range(5):
        trials = sample_trials(plan, 2, seed=seed)
        assert len(trials) == 2
        assert trials[0].base_lr == 5e-3 and trials[0].channels == 64
        assert _key(trials[0]) != _key(trials[1])


def test_small_space_returns_all_points() -> None:
    plan = suggest_model_plan("regression", "fast")
    plan.optimization.base_lr = [1e-3, 1e-2]
    plan.optimization.batch_size = [256]
    plan.optimization.lr_scheduler = [None]
    plan.model_architecture.activation = ["relu"]
    plan.model_architecture.num_pre_message_passing_layers = [1]
    plan.model_architecture.num_post_message_passing_layers = [1]
    plan.model_architecture.model = [GNNModelPlan(channels=[64], aggregation=[["sum"]])]
    assert search_space_size(plan) == 2
    trials = sample_trials(plan, 10, seed=0)
    assert sorted(t.base_lr for t in trials) == [1e-3, 1e-2]
    with pytest.raises(PlanError):
        sample_trials(plan, 0)


def test_inapplicable_fields_do_not_multiply_the_space() -> None:
    plan = suggest_model_plan("regression", "fast")
    base = search_space_size(plan)
    plan.model_architecture.target_embedding_mode = ["lookup", "feature"]  # LP only
    plan.optimization.majority_sampling_ratio = [None, 2.0]  # binary only
    assert search_space_size(plan) == 4 * base
    assert search_space_size(plan, task_type="regression", query_type="temporal") == base
    trials = sample_trials(plan, 1000, seed=0, task_type="regression", query_type="temporal")
    assert {t.target_embedding_mode for t in trials} == {"lookup"}
    assert len(trials) == base


def test_missing_fields_are_reported() -> None:
    with pytest.raises(PlanError, match=r"optimization\.loss.*suggest_model_plan"):
        sample_trials(ModelPlan(), 2, seed=0)
    filled = ModelPlan().fill_missing(suggest_model_plan("binary_classification"))
    assert len(sample_trials(filled, 2, seed=0)) == 2


def test_resolved_specs() -> None:
    plan = suggest_model_plan("binary_classification", "fast")
    plan.optimization.loss = [FocalLossConfig(alpha=0.4, gamma=3.0)]
    plan.optimization.early_stopping = [EarlyStoppingConfig(min_delta=0.01, patience=2)]
    plan.optimization.lr_scheduler = [
        LRSchedulerConfig(
            name="cosine_with_warmup_restarts",
            kwargs={"num_restarts": 3, "warmup_ratio_or_steps": 50},
        )
    ]
    plan.optimization.lookup_optimization = [OptimizerConfig(optimizer="AdamW", base_lr=0.01)]
    plan.neighbor_sampling.num_neighbors = [
        NumNeighborsConfig(
            hop1=HopConfig(default=16, **{"a.x->b.y": 64, "b.y->a.x": "inferred"}),
            hop2=HopConfig(default=4),
        )
    ]
    t = sample_trials(plan, 1, seed=0)[0]
    assert t.loss == LossSpec("focal", alpha=0.4, gamma=3.0)
    assert t.early_stopping is not None and t.early_stopping.patience == 2
    assert t.lr_scheduler == LRSchedulerSpec(
        name="cosine_with_warmup_restarts",
        interval="step",
        warmup_ratio_or_steps=50.0,
        num_cycles=4,
    )
    assert t.lr_scheduler.warmup_steps(1000) == 50
    assert (t.lookup_optimizer, t.lookup_lr) == ("adamw", 0.01)
    assert t.num_neighbors == (
        HopSpec.of(16, {"a.x->b.y": 64, "b.y->a.x": 16}),
        HopSpec.of(4),
    )
    assert t.num_neighbors[0].default == 16 and t.num_neighbors[1].overrides == {}
    with pytest.raises(TypeError):
        t.num_neighbors[0]["default"] = 3
    # survives asdict / JSON as plain per-hop dicts
    assert list(dataclasses.asdict(t)["num_neighbors"]) == [
        {"default": 16, "a.x->b.y": 64, "b.y->a.x": 16},
        {"default": 4},
    ]
    assert json.loads(json.dumps(t.to_dict()))["num_neighbors"][1] == {"default": 4}
    assert t.lr_scheduler.kwargs == {
        "warmup_ratio_or_steps": 50.0,
        "num_cycles": 4,
        "gamma": 1.0,
    }
    assert dict(t.num_neighbors[0]) == {"default": 16, "a.x->b.y": 64, "b.y->a.x": 16}
    assert t.num_neighbors_spec() == [{"default": 16, "a.x->b.y": 64, "b.y->a.x": 16}, 4]
    assert t.num_layers == 2
    assert [dict(h) for h in t.num_neighbors] == t.to_dict()["num_neighbors"]
    assert "trial 0" in t.describe()
    hash(t)  # frozen and hashable
    assert pickle.loads(pickle.dumps(t)) == t
    assert copy.deepcopy(t) == t
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.base_lr = 1.0  # type: ignore[misc]


def test_scheduler_defaults() -> None:
    sched = LRSchedulerSpec("cosine_with_warmup", warmup_ratio_or_steps=0.1)
    assert sched.warmup_steps(200) == 20
    plan = suggest_model_plan("regression", "fast")
    plan.optimization.lr_scheduler = [LRSchedulerConfig(name="exponential", interval="epoch")]
    t = sample_trials(plan, 1)[0]
    assert t.lr_scheduler is not None and t.lr_scheduler.gamma == 0.95
    assert t.lr_scheduler.warmup_ratio_or_steps == 0.0


def test_graph_transformer_trials() -> None:
    plan = suggest_model_plan("regression", "normal")
    plan.model_architecture.model = [
        GraphTransformerModelPlan(channels=[64, 96], num_heads=[8, 5], num_layers=[2])
    ]
    trials = sample_trials(plan, 100, seed=3)
    assert trials and all(t.model == "GraphTransformer" for t in trials)
    assert all(t.num_heads is not None and t.channels % t.num_heads == 0 for t in trials)
    assert all(t.transformer_layers == 2 for t in trials)
    # deprecated architecture-level channels override the per-model lists
    plan.model_architecture.channels = [32]
    plan.model_architecture.model = [GNNModelPlan()]
    assert {t.channels for t in sample_trials(plan, 20, seed=0)} == {32}


def test_seeds_per_trial() -> None:
    plan = suggest_model_plan("regression", "normal")
    assert [t.seed for t in sample_trials(plan, 3, seed=10)] == [10, 11, 12]
    plan.training_job.manual_seed = 100
    assert [t.seed for t in sample_trials(plan, 2, seed=10)] == [100, 101]


def test_large_space_rejection_sampling() -> None:
    plan = suggest_model_plan("regression", "best")
    plan.optimization.base_lr = [10.0 ** (-i / 10) for i in range(1, 60)]
    plan.optimization.weight_decay = [i * 1e-6 for i in range(40)]
    assert search_space_size(plan) > 200_000
    a = sample_trials(plan, 20, seed=5)
    assert a == sample_trials(plan, 20, seed=5)
    assert len({_key(t) for t in a}) == 20


# ----------------------------------------------------------------------------------- pruner


def test_pruner_disabled() -> None:
    assert not Pruner(None).should_prune([0.1, 0.1, 0.1], [0.9, 0.9, 0.9])
    assert not Pruner(PruningConfig()).should_prune([0.1, 0.1, 0.1], [])


def test_pruner_min_epochs_and_patience() -> None:
    pruner = Pruner(PruningConfig(min_epochs=2, k=1, min_delta=0.0, patience=1))
    best = [0.7, 0.8, 0.85, 0.9]
    assert not pruner.should_prune([0.5], best)  # before min_epochs
    assert pruner.should_prune([0.5, 0.6], best)
    assert not pruner.should_prune([0.5, 0.8], best)  # on par with the best at epoch 2
    patient = Pruner(PruningConfig(min_epochs=1, k=1, min_delta=0.0, patience=3))
    assert not patient.should_prune([0.5, 0.6], best)
    assert not patient.should_prune([0.5, 0.9, 0.6], best)  # epoch 2 did not lag
    assert patient.should_prune([0.5, 0.6, 0.6], best)


def test_pruner_min_delta_and_window() -> None:
    best = [0.80, 0.80, 0.80]
    tolerant = Pruner(PruningConfig(min_epochs=1, k=1, min_delta=0.05, patience=1))
    assert not tolerant.should_prune([0.78], best)
    assert tolerant.should_prune([0.70], best)
    windowed = Pruner(PruningConfig(min_epochs=1, k=3, min_delta=0.0, patience=1))
    # a noisy dip is forgiven while the best of the last k epochs keeps up
    assert not windowed.should_prune([0.80, 0.60], best)
    assert windowed.should_prune([0.70, 0.60], best)


def test_pruner_lower_is_better_and_missing_values() -> None:
    pruner = Pruner(PruningConfig(min_epochs=1, k=1, patience=1), higher_is_better=False)
    best = [10.0, 8.0, 6.0]
    assert pruner.should_prune([12.0], best)
    assert not pruner.should_prune([9.0], best)
    assert pruner.should_prune([9.0, 9.0], best)
    assert pruner.should_prune([None], best)
    assert pruner.should_prune([math.nan], best)
    assert not pruner.should_prune([12.0], [None, math.nan])
    # the reference trial ran fewer epochs: compare with its overall best
    assert pruner.should_prune([9.0, 8.0, 7.0], [10.0, 6.5])
