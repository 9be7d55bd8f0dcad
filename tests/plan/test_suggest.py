"""suggest_model_plan: documented run-mode defaults, task defaults, data-size scaling."""

from __future__ import annotations

from typing import Any

import pytest

from relgraph.errors import PlanError
from relgraph.plan.model_plan import (
    MISSING,
    GNNModelPlan,
    ModelPlan,
    PruningConfig,
    RunMode,
    is_missing,
)
from relgraph.plan.suggest import (
    DOCUMENTED_BASE_LR,
    default_metrics,
    default_tune_metric,
    suggest_model_plan,
)
from relgraph.task import QueryType, TaskType
from relgraph.training.automl import sample_trials

MODES = list(RunMode)
TASKS = list(TaskType)


def _query(task: TaskType) -> QueryType:
    return QueryType.STATIC if task is TaskType.STATIC_LINK_PREDICTION else QueryType.TEMPORAL


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _lst(value: object) -> list[Any]:
    assert isinstance(value, list)
    return value


def _no_missing(value: object) -> bool:
    if is_missing(value):
        return False
    if isinstance(value, list):
        return all(_no_missing(v) for v in value)
    return True


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [None, 300, 5_000, 100_000])
def test_fully_resolved_and_valid(task: TaskType, mode: RunMode, n: int | None) -> None:
    plan = suggest_model_plan(task, mode, num_train_examples=n)
    assert plan.missing_fields() == []
    assert all(_no_missing(v) for _, v, _ in plan.items())
    plan.validate_for(task, _query(task))
    # round trip and trial sampling work on every suggested plan
    assert ModelPlan.from_json(plan.as_json()) == plan
    trials = sample_trials(plan, _int(plan.training_job.num_experiments), seed=0)
    assert len(trials) >= 1


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (TaskType.BINARY_CLASSIFICATION, (2, 4, 8)),
        (TaskType.MULTICLASS_CLASSIFICATION, (2, 4, 8)),
        (TaskType.MULTILABEL_CLASSIFICATION, (2, 4, 8)),
        (TaskType.REGRESSION, (4, 8, 16)),
        (TaskType.FORECASTING, (4, 8, 16)),
        (TaskType.MULTILABEL_RANKING, (4, 8, 16)),
        (TaskType.TEMPORAL_LINK_PREDICTION, (4, 8, 16)),
        (TaskType.STATIC_LINK_PREDICTION, (4, 8, 16)),
    ],
)
def test_num_experiments(task: TaskType, expected: tuple[int, int, int]) -> None:
    got = tuple(
        suggest_model_plan(task, m).training_job.num_experiments
        for m in (RunMode.FAST, RunMode.NORMAL, RunMode.BEST)
    )
    assert got == expected
    assert suggest_model_plan(task, RunMode.DEBUG).training_job.num_experiments == 1


def test_documented_run_mode_values_without_sizes() -> None:
    for mode, epochs, steps in (
        (RunMode.FAST, 8, 1000),
        (RunMode.NORMAL, 12, 2000),
        (RunMode.BEST, 16, 2000),
    ):
        opt = suggest_model_plan("regression", mode).optimization
        assert opt.max_epochs == epochs
        assert opt.max_steps_per_epoch == steps
        assert opt.max_val_steps == steps
        assert opt.max_test_steps == steps
        assert opt.min_steps_per_epoch == 30
        assert opt.batch_size == [512, 1024]
        assert set(opt.base_lr) <= set(DOCUMENTED_BASE_LR)
        assert opt.base_lr[0] == (5e-3 if mode is RunMode.FAST else 1e-3)
        assert opt.optimizer == ["Adam"]
        arch = suggest_model_plan("regression", mode).model_architecture
        assert sorted(arch.num_pre_message_passing_layers) == (
            [0, 1] if mode is RunMode.FAST else [0, 1, 2])
        assert arch.normalization == ["layer_norm"]
    assert set(suggest_model_plan("regression", RunMode.BEST).optimization.base_lr) == set(
        DOCUMENTED_BASE_LR
    )


def test_default_run_mode_is_fast() -> None:
    assert suggest_model_plan("binary_classification") == suggest_model_plan(
        "binary_classification", RunMode.FAST
    )
    assert suggest_model_plan("regression", "normal").optimization.max_epochs == 12


def test_debug_plan_is_tiny() -> None:
    plan = suggest_model_plan("binary_classification", RunMode.DEBUG, num_train_examples=50_000)
    opt = plan.optimization
    assert plan.training_job.num_experiments == 1
    assert opt.max_epochs == 1
    assert _int(opt.max_steps_per_epoch) <= 5
    assert _int(opt.max_val_steps) <= 5 and _int(opt.max_test_steps) <= 5
    assert len(sample_trials(plan, 5, seed=0)) == 1  # a single point


@pytest.mark.parametrize(
    ("task", "loss", "tune", "first_metrics"),
    [
        (
            "binary_classification",
            "binary_cross_entropy",
            "auroc",
            ["acc", "auroc", "auprc", "ap", "precision", "recall", "f1"],
        ),
        (
            "multiclass_classification",
            "cross_entropy",
            "acc",
            ["acc", "precision", "recall", "f1", "mrr"],
        ),
        (
            "multilabel_classification",
            "binary_cross_entropy",
            "auroc_macro",
            ["auroc_macro", "auprc_macro", "ap_macro"],
        ),
        ("regression", "huber", "mae", ["mae", "mape", "mse", "rmse", "smape", "r2"]),
        ("forecasting", "huber", "mae", ["mae", "mape", "mse", "rmse", "smape", "r2"]),
        ("temporal_link_prediction", "cross_entropy", "map@10", ["map@1", "map@10", "map@100"]),
        ("static_link_prediction", "cross_entropy", "map@10", ["map@1", "map@10", "map@100"]),
        ("multilabel_ranking", "cross_entropy", "map@10", ["map@1", "map@10", "map@100"]),
    ],
)
def test_task_defaults(task: str, loss: str, tune: str, first_metrics: list[str]) -> None:
    plan = suggest_model_plan(task)
    assert plan.optimization.loss == [loss]
    assert plan.training_job.tune_metric == tune
    metrics = plan.training_job.metrics
    assert metrics[: len(first_metrics)] == first_metrics
    assert tune in metrics


def test_ranking_metrics_use_top_k() -> None:
    metrics = default_metrics("temporal_link_prediction", top_k=12)
    for name in ("map", "ndcg", "mrr", "precision", "recall", "f1", "hit_ratio"):
        for k in (1, 10, 12, 100):
            assert f"{name}@{k}" in metrics
    assert default_tune_metric("multilabel_ranking", top_k=12) == "map@12"
    assert default_tune_metric("static_link_prediction", top_k=5000) == "map@100"
    plan = suggest_model_plan("temporal_link_prediction", top_k=12)
    assert plan.training_job.tune_metric == "map@12"


def test_num_neighbors_by_mode() -> None:
    fast = suggest_model_plan("regression", "fast").neighbor_sampling.num_neighbors
    assert fast == [[16, 8]]
    normal = suggest_model_plan("regression", "normal").neighbor_sampling.num_neighbors
    assert [32, 16] in _lst(normal) and all(len(c) == 2 for c in _lst(normal))
    best = suggest_model_plan("regression", "best").neighbor_sampling.num_neighbors
    assert any(len(c) == 3 for c in _lst(best))
    for plan in (suggest_model_plan(t) for t in TASKS):
        assert plan.neighbor_sampling.sample_from_entity_table is True
        assert plan.neighbor_sampling.adaptive_sampling is False


def test_fast_candidates_are_robust() -> None:
    plan = suggest_model_plan("binary_classification", "fast", num_train_examples=20_000)
    opt, arch = plan.optimization, plan.model_architecture
    assert all(1e-3 <= lr <= 5e-3 for lr in _lst(opt.base_lr))
    gnn = _lst(arch.model)[0]
    assert isinstance(gnn, GNNModelPlan) and gnn.channels == [64]
    assert arch.normalization == ["layer_norm"]
    assert plan.training_job.pruning == PruningConfig()
    first = sample_trials(plan, 2, seed=123)[0]
    assert first.base_lr == 5e-3 and first.channels == 64 and first.num_layers == 2
    assert first.lr_scheduler is not None and first.lr_scheduler.name == "cosine_with_warmup"


def test_step_scaling_with_data_size() -> None:
    big = suggest_model_plan("binary_classification", "fast", num_train_examples=100_000)
    assert big.optimization.max_steps_per_epoch == 40
    assert big.optimization.max_val_steps == 10
    mid = suggest_model_plan("binary_classification", "fast", num_train_examples=20_000)
    assert mid.optimization.max_steps_per_epoch == 40  # one pass: ceil(20000 / 512)
    small = suggest_model_plan("binary_classification", "fast", num_train_examples=5_000)
    assert small.optimization.max_steps_per_epoch == 30
    assert small.optimization.min_steps_per_epoch == 30
    tiny = suggest_model_plan("binary_classification", "fast", num_train_examples=300)
    assert _lst(tiny.optimization.batch_size)[0] < 512
    assert _int(tiny.optimization.max_steps_per_epoch) <= 30
    normal = suggest_model_plan("regression", "normal", num_train_examples=1_000_000)
    assert normal.optimization.max_steps_per_epoch == 200
    for plan in (big, mid, small, tiny, normal):
        opt = plan.optimization
        assert _int(opt.min_steps_per_epoch) <= _int(opt.max_steps_per_epoch)


def test_weight_column_and_task_specific_fields() -> None:
    plan = suggest_model_plan("regression", has_weight_col=True)
    assert plan.optimization.weight_mode == ["weighted_loss"]
    plan.validate_for("regression", "temporal", has_weight_col=True)
    assert suggest_model_plan("forecasting", has_weight_col=True).optimization.weight_mode == [None]
    assert suggest_model_plan("regression").optimization.weight_mode == [None]
    assert suggest_model_plan("static_link_prediction").model_architecture.module == "shallow_rhs"
    assert suggest_model_plan("temporal_link_prediction").model_architecture.module == "context"
    assert suggest_model_plan("regression", "best").training_job.refit_trainval is True


@pytest.mark.parametrize(("mode", "rows", "refit"),
                         [("fast", 40_000, True), ("fast", 50_000, False), ("fast", None, False),
                          ("normal", 10**6, True), ("debug", 100, False)])
def test_fast_refits_on_train_and_val_where_it_is_cheap(mode: str, rows: int | None,
                                                       refit: bool) -> None:
    """FAST refits the chosen model on train+val below 50,000 training rows (a refit
    there costs little and learns the most recent labels); above, or when the size is
    unknown, it keeps the selected trial's model. NORMAL and BEST always refit."""
    plan = suggest_model_plan("regression", mode, num_train_examples=rows)
    assert plan.training_job.refit_trainval is refit
    assert plan.training_job.refit_full is False


def test_tiny_graph_channels_and_errors() -> None:
    plan = suggest_model_plan("regression", num_nodes=500)
    gnn = plan.model_architecture.model[0]
    assert isinstance(gnn, GNNModelPlan) and gnn.channels == [32, 64]
    with pytest.raises(PlanError):
        suggest_model_plan("nonsense")
    with pytest.raises(PlanError):
        suggest_model_plan("regression", "turbo")
    with pytest.raises(PlanError):
        suggest_model_plan("regression", num_train_examples=-1)


def test_suggested_plan_fills_a_user_plan() -> None:
    user = ModelPlan()
    user.optimization.max_epochs = 3
    filled = user.fill_missing(suggest_model_plan("binary_classification"))
    assert filled.optimization.max_epochs == 3
    assert filled.missing_fields() == []
    assert user.optimization.loss == MISSING
