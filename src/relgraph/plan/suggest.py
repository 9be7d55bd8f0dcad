"""Run-mode and task-type dependent default model plans (``suggest_model_plan``).

Kumo computes these server-side; relgraph picks the documented run-mode values
(REFERENCE_API §1.1) and, where the reference leaves the choice open, candidates that
are robust on small CPU machines:

* **Search budget** — ``num_experiments`` 2/4/8 (FAST/NORMAL/BEST) for classification,
  4/8/16 otherwise, 1 for DEBUG; ``max_epochs`` 8/12/16 (DEBUG 1).
* **Steps** — without data sizes: the documented ``max_steps_per_epoch`` /
  ``max_val_steps`` of 1000/2000/2000 and ``min_steps_per_epoch`` 30. With
  ``num_train_examples`` an epoch is at most one pass over the training rows (so tiny
  tables do not run 1000 steps per epoch) and at most 50/200/500 steps (FAST/NORMAL/BEST,
  so FAST fits a few CPU minutes); validation is capped at 40/100/200 steps.
  ``max_test_steps`` keeps the documented value so test metrics cover the holdout.
* **Candidate order** — AutoML's first trial uses the first candidate of every list
  (:func:`relgraph.training.automl.sample_trials`), so lists start with the robust choice:
  ``base_lr`` 1e-3 first, GNN ``channels`` 64/128, ``layer_norm``, ``relu``, cosine
  schedule with 10 % warmup, two hops.
"""

from __future__ import annotations

import math

from relgraph.errors import PlanError
from relgraph.plan.metric_names import default_metrics, default_tune_metric
from relgraph.plan.model_plan import (
    INFERRED,
    ActivationType,
    AggregationType,
    DistanceMeasure,
    EarlyStoppingConfig,
    GNNModelPlan,
    LossCandidate,
    LossType,
    LRSchedulerConfig,
    LRSchedulerType,
    ModelArchitecturePlan,
    ModelPlan,
    ModuleType,
    NeighborSamplingPlan,
    NormalizationType,
    NumNeighbors,
    OptimizationPlan,
    OptimizerType,
    PastEncoderType,
    PruningConfig,
    RunMode,
    SchedulerKwargs,
    TargetEmbeddingMode,
    TrainingJobPlan,
    WeightMode,
)
from relgraph.task import QueryType, TaskType

__all__ = [
    "default_loss",
    "default_metrics",
    "default_num_experiments",
    "default_num_neighbors",
    "default_tune_metric",
    "suggest_model_plan",
]

_NUM_EXPERIMENTS_CLASSIFICATION = {
    RunMode.FAST: 2,
    RunMode.NORMAL: 4,
    RunMode.BEST: 8,
    RunMode.DEBUG: 1,
}
_NUM_EXPERIMENTS_OTHER = {RunMode.FAST: 4, RunMode.NORMAL: 8, RunMode.BEST: 16, RunMode.DEBUG: 1}
_MAX_EPOCHS = {RunMode.FAST: 8, RunMode.NORMAL: 12, RunMode.BEST: 16, RunMode.DEBUG: 1}
_MAX_STEPS = {RunMode.FAST: 1000, RunMode.NORMAL: 2000, RunMode.BEST: 2000, RunMode.DEBUG: 4}
_MAX_VAL_STEPS = {RunMode.FAST: 1000, RunMode.NORMAL: 2000, RunMode.BEST: 2000, RunMode.DEBUG: 2}
_MIN_STEPS = 30
# Caps applied when the training-set size is known (local CPU budget).
_EPOCH_STEP_CAP = {RunMode.FAST: 40, RunMode.NORMAL: 200, RunMode.BEST: 500, RunMode.DEBUG: 4}
_VAL_STEP_CAP = {RunMode.FAST: 10, RunMode.NORMAL: 100, RunMode.BEST: 200, RunMode.DEBUG: 2}
#: FAST refits the chosen model on train+val (the most recent labels before the test period)
#: below this many training rows, where the refit costs seconds to a minute; above it a
#: refit would nearly double FAST's time, and the selected trial's model is kept.
_FAST_REFIT_ROWS = 50_000

_NUM_NEIGHBORS: dict[RunMode, list[list[int]]] = {
    RunMode.FAST: [[16, 8]],
    RunMode.NORMAL: [[32, 16], [16, 16]],
    RunMode.BEST: [[32, 32], [64, 32], [32, 16, 8]],
    RunMode.DEBUG: [[8, 4]],
}
#: The documented base_lr candidates; NORMAL/BEST use (a robust-first reordering of) them.
DOCUMENTED_BASE_LR: tuple[float, ...] = (1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2)
_BASE_LR: dict[RunMode, list[float]] = {
    RunMode.FAST: [5e-3, 1e-3],
    RunMode.NORMAL: [1e-3, 5e-3, 5e-4, 1e-2, 1e-4],
    RunMode.BEST: [1e-3, 5e-3, 5e-4, 1e-2, 1e-4, 5e-2],
    RunMode.DEBUG: [1e-3],
}
_WEIGHT_DECAY: dict[RunMode, list[float]] = {
    RunMode.FAST: [0.0],
    RunMode.NORMAL: [0.0, 5e-8, 5e-7, 5e-6],
    RunMode.BEST: [0.0, 5e-8, 5e-7, 5e-6],
    RunMode.DEBUG: [0.0],
}
_WARMUP: SchedulerKwargs = {"warmup_ratio_or_steps": 0.1}


def _schedulers(mode: RunMode) -> list[LRSchedulerConfig | None]:
    cosine = LRSchedulerConfig(name=LRSchedulerType.COSINE_WITH_WARMUP, kwargs={**_WARMUP})
    if mode is RunMode.DEBUG:
        return [cosine]
    if mode is RunMode.FAST:
        constant = LRSchedulerConfig(
            name=LRSchedulerType.CONSTANT_WITH_WARMUP, kwargs={**_WARMUP}
        )
        return [cosine, constant]
    return [
        cosine,
        LRSchedulerConfig(name=LRSchedulerType.CONSTANT_WITH_WARMUP, kwargs={**_WARMUP}),
        LRSchedulerConfig(name=LRSchedulerType.LINEAR_WITH_WARMUP, kwargs={**_WARMUP}),
        LRSchedulerConfig(
            name=LRSchedulerType.COSINE_WITH_WARMUP_RESTARTS, kwargs={**_WARMUP, "num_cycles": 2}
        ),
    ]


def default_num_experiments(task_type: TaskType | str, run_mode: RunMode | str) -> int:
    """2/4/8 trials for classification, 4/8/16 otherwise (FAST/NORMAL/BEST); DEBUG 1."""
    task, mode = TaskType(task_type), RunMode(run_mode)
    table = _NUM_EXPERIMENTS_CLASSIFICATION if task.is_classification else _NUM_EXPERIMENTS_OTHER
    return table[mode]


def default_loss(task_type: TaskType | str) -> list[LossCandidate]:
    """The documented default loss of a task type (one candidate)."""
    task = TaskType(task_type)
    if task in (TaskType.BINARY_CLASSIFICATION, TaskType.MULTILABEL_CLASSIFICATION):
        return [LossType.BINARY_CROSS_ENTROPY]
    if task.is_regression:
        return [LossType.HUBER]
    return [LossType.CROSS_ENTROPY]


def default_num_neighbors(run_mode: RunMode | str) -> list[NumNeighbors]:
    """Per-hop neighbor counts: FAST [[16, 8]], NORMAL [[32, 16], [16, 16]],
    BEST [[32, 32], [64, 32], [32, 16, 8]], DEBUG [[8, 4]]."""
    return [list(c) for c in _NUM_NEIGHBORS[RunMode(run_mode)]]


def _pow2_floor(x: float) -> int:
    return 1 << max(0, math.floor(math.log2(max(x, 1.0))))


def _batch_sizes(mode: RunMode, n: int | None) -> list[int]:
    """[512, 1024] (documented); smaller powers of two when the table is tiny."""
    if mode is RunMode.DEBUG:
        return [64]
    if n is None:
        return [512, 1024]
    if n >= 8 * 512:
        # FAST keeps to 512: a 1024 batch doubles the step cost, and FAST's budget is
        # about three minutes of training on two CPU cores.
        return [512] if mode is RunMode.FAST else [512, 1024]
    small = max(32, min(512, _pow2_floor(n / 8)))
    return [small, min(2 * small, 1024)]


def suggest_model_plan(
    task_type: TaskType | str,
    run_mode: RunMode | str = RunMode.FAST,
    *,
    num_train_examples: int | None = None,
    num_nodes: int | None = None,
    is_temporal: bool = True,
    has_weight_col: bool = False,
    top_k: int | None = None,
) -> ModelPlan:
    """A fully resolved :class:`ModelPlan` (no field left at MISSING).

    Args:
        task_type: the task of the predictive query.
        run_mode: FAST (default, as in the Kumo SDK), NORMAL, BEST or DEBUG.
        num_train_examples: rows in the training split, when known; scales batch sizes
            and steps per epoch (see module docstring), and FAST refits on train+val
            below :data:`_FAST_REFIT_ROWS` of them.
        num_nodes: total nodes of the graph, when known; graphs under 2,000 nodes get
            smaller GNN channels (32/64).
        is_temporal: whether the query has a time window (``QueryType.TEMPORAL``).
        has_weight_col: the training table has a ``WEIGHT`` column; ``weight_mode``
            becomes ``["weighted_loss"]`` (except for forecasting).
        top_k: K of ``RANK TOP K`` for ranking tasks (tune metric ``map@K``).
    """
    try:
        task = TaskType(task_type)
        mode = RunMode(run_mode)
    except ValueError as e:
        raise PlanError(f"suggest_model_plan: {e}") from None
    if num_train_examples is not None and num_train_examples < 0:
        raise PlanError(f"num_train_examples must be >= 0, got {num_train_examples}")
    if task is TaskType.STATIC_LINK_PREDICTION:
        is_temporal = False
    elif task in (TaskType.TEMPORAL_LINK_PREDICTION, TaskType.FORECASTING):
        is_temporal = True
    query = QueryType.TEMPORAL if is_temporal else QueryType.STATIC
    n = num_train_examples

    batch_sizes = _batch_sizes(mode, n)
    max_steps = _MAX_STEPS[mode]
    max_val = _MAX_VAL_STEPS[mode]
    min_steps = min(_MIN_STEPS, max_steps)
    if n is not None:
        # One pass over the rows per epoch (at least min_steps), capped per run mode.
        cap = _EPOCH_STEP_CAP[mode]
        steps_per_pass = max(1, math.ceil(n / batch_sizes[0]))
        max_steps = min(max_steps, cap, max(steps_per_pass, min_steps))
        min_steps = min(min_steps, max_steps)
        max_val = min(max_val, _VAL_STEP_CAP[mode])
    max_test = _MAX_VAL_STEPS[mode]

    training_job = TrainingJobPlan(
        num_experiments=default_num_experiments(task, mode),
        metrics=default_metrics(task, top_k),
        tune_metric=default_tune_metric(task, top_k),
        pruning=None if mode is RunMode.DEBUG else PruningConfig(),
        refit_trainval=mode in (RunMode.NORMAL, RunMode.BEST) or (
            mode is RunMode.FAST and n is not None and n < _FAST_REFIT_ROWS),
        refit_full=False,
    )

    use_weights = has_weight_col and task is not TaskType.FORECASTING
    optimization = OptimizationPlan(
        max_epochs=_MAX_EPOCHS[mode],
        min_steps_per_epoch=min_steps,
        max_steps_per_epoch=max_steps,
        max_val_steps=max_val,
        max_test_steps=max_test,
        loss=default_loss(task),
        optimizer=[OptimizerType.ADAM],
        base_lr=list(_BASE_LR[mode]),
        weight_decay=list(_WEIGHT_DECAY[mode]),
        batch_size=batch_sizes,
        lookup_optimization=[INFERRED],
        early_stopping=[EarlyStoppingConfig(min_delta=0.0, patience=3)],
        lr_scheduler=_schedulers(mode),
        majority_sampling_ratio=[None],
        weight_mode=[WeightMode.WEIGHTED_LOSS if use_weights else None],
        target_fraction=[1.0],
        overlap_ratio=[1.0],
    )

    neighbor_sampling = NeighborSamplingPlan(
        num_neighbors=default_num_neighbors(mode),
        sample_from_entity_table=True,
        adaptive_sampling=False,
        max_target_neighbors_per_entity=[INFERRED],
    )

    tiny_graph = num_nodes is not None and num_nodes < 2000
    if mode is RunMode.DEBUG:
        channels = [32]
    elif tiny_graph:
        channels = [32, 64]
    elif mode is RunMode.BEST:
        channels = [128, 64, 256]
    elif mode is RunMode.FAST and num_train_examples is not None:
        channels = [64]
    else:
        channels = [64, 128]
    small_agg = [AggregationType.SUM, AggregationType.MEAN, AggregationType.MAX]
    rich_agg = [
        AggregationType.SUM,
        AggregationType.MEAN,
        AggregationType.MIN,
        AggregationType.MAX,
        AggregationType.STD,
    ]
    aggregation = [small_agg] if mode in (RunMode.FAST, RunMode.DEBUG) else [small_agg, rich_agg]
    dropout = [0.0, 0.1] if mode is RunMode.BEST else [0.0]
    activation: list[ActivationType]
    if mode is RunMode.DEBUG:
        activation, pre_layers, post_layers = [ActivationType.RELU], [1], [1]
    elif mode is RunMode.FAST:
        activation = [ActivationType.RELU, ActivationType.GELU]
        pre_layers, post_layers = [0, 1], [1, 2]
    else:
        activation = [
            ActivationType.RELU,
            ActivationType.GELU,
            ActivationType.LEAKY_RELU,
            ActivationType.ELU,
        ]
        pre_layers, post_layers = [1, 0, 2], [1, 2]

    model_architecture = ModelArchitecturePlan(
        model=[GNNModelPlan(channels=channels, aggregation=aggregation, dropout=dropout)],
        num_pre_message_passing_layers=pre_layers,
        num_post_message_passing_layers=post_layers,
        activation=activation,
        normalization=[NormalizationType.LAYER_NORM],
        module=ModuleType.CONTEXT if query is QueryType.TEMPORAL else ModuleType.SHALLOW_RHS,
        handle_new_target_entities=False,
        target_embedding_mode=[TargetEmbeddingMode.LOOKUP],
        output_embedding_dim=[32],
        ranking_embedding_loss_coeff=[0.0],
        embedding_norm_reg_coeff=[0.0],
        distance_measure=[DistanceMeasure.DOT_PRODUCT],
        use_seq_id=[False],
        prediction_time_encodings=[False],
        past_encoder=[PastEncoderType.DECOMPOSED],
        handle_new_entities=True,
    )

    plan = ModelPlan(
        training_job=training_job,
        neighbor_sampling=neighbor_sampling,
        optimization=optimization,
        model_architecture=model_architecture,
    )
    plan.validate_for(task, query, has_weight_col)
    return plan
