"""Every ModelPlan field changes what is trained (issue 5), and bad values name field, bound, value.

How the field tests work: each case trains twice through the real training pipeline
(``fit_training_job``: plan resolution and validation, trial sampling, ``train_trial``,
refit, evaluation) on a tiny graph, with two plans that differ in exactly one field.
Spies (wrappers that call the real functions) record what training actually used: the
model built, the optimizer and its learning rate at every step, the example order of each
epoch, every training batch and its sampled subgraph, the loss values, validation and test
batches. A case passes when its probe of that record differs between the two plans (and,
where given, equals the expected values). Runs are cached per plan, so the base plan of a
task trains once. Fields that cannot change training are listed with the reason in
``BY_DESIGN`` (and are checked to be accepted and ignored), fields covered by another test
file in ``OTHER_WORK`` (with that file), fields that should but do not yet reach training in
``KNOWN_NO_EFFECT`` (strict xfail); :func:`test_every_plan_field_is_accounted_for` keeps the
lists complete.

Tasks: ``binary`` / ``regression`` / ``weighted`` are temporal node tasks on the activity
graph below, ``static`` a static binary task on it (``PREDICT users.age > 50``), ``link`` a
temporal and ``static_link`` a static link-prediction task on a small purchase graph
(``make_purchase_db``).
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.nn.aggr import MultiAggregation

import relgraph as rg
from relgraph.errors import PlanError
from relgraph.integrity import write_manifest
from relgraph.jobs.results import TrainingJobResult
from relgraph.nn import model as nn_model
from relgraph.nn.model import calendar_features
from relgraph.plan.model_plan import (
    INFERRED,
    ColumnProcessingPlan,
    EarlyStoppingConfig,
    FocalLossConfig,
    GNNModelPlan,
    GraphTransformerModelPlan,
    HuberLossConfig,
    LRSchedulerConfig,
    ModelArchitecturePlan,
    ModelPlan,
    NeighborSamplingPlan,
    OptimizationPlan,
    OptimizerConfig,
    PlanFieldError,
    PruningConfig,
    RunMode,
    TrainingJobPlan,
)
from relgraph.plan.suggest import suggest_model_plan
from relgraph.sampling import NeighborSampler
from relgraph.task import QueryType, TaskType
from relgraph.testing.graphs import CHURN, SPEND, make_activity_db, make_purchase_db
from relgraph.training import fitting, pipeline
from relgraph.training.automl import sample_trials
from relgraph.training.examples import TargetInfo
from relgraph.training.fitting import model_spec
from relgraph.training.settings import TrialSettings

# ------------------------------------------------------------------------------ data

NUM_TRAIN = 480      # training rows of the temporal node tables (80 users x 6 anchors)
BATCH = 32
STATIC = "PREDICT users.age > 50 FOR EACH users.user_id"        # 48 training rows
LINK = "PREDICT LIST_DISTINCT(buys.item_id, 0, 14, days) RANK TOP 5 FOR EACH users.user_id"
STATIC_LINK = "PREDICT LIST_DISTINCT(buys.item_id) RANK TOP 5 FOR EACH users.user_id"


def make_graph() -> rg.Graph:
    """The activity database of test_trainer plus a numeric column with NaNs (users.age)
    and a ``tiers`` table (users.tier -> tiers.tier), so that adaptive sampling has a hop
    with spare neighbors after a short one (users -> events is short for light users)."""
    base = make_activity_db(num_users=80, days=120)
    users = base["users"].data.copy()
    age = np.random.default_rng(1).integers(18, 80, len(users)).astype(float)
    age[::4] = np.nan
    users["age"] = age
    tiers = pd.DataFrame({"tier": ["gold", "silver", "bronze"], "discount": [0.2, 0.1, 0.0]})
    return rg.Graph(
        tables={"users": rg.Table.from_dataframe(users, "users", primary_key="user_id"),
                "events": base["events"],
                "tiers": rg.Table.from_dataframe(tiers, "tiers", primary_key="tier")},
        edges=[rg.Edge("events", "user_id", "users"), rg.Edge("users", "tier", "tiers")],
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Any]:
    """Graphs and training tables per task key, and a home whose ``jobs`` folder holds the
    job outputs (so that ``TrainingJobResult`` can open them)."""
    root = tmp_path_factory.mktemp("plan_fields")
    rg.init(home=root / "home")
    graph = make_graph()
    purchases = make_purchase_db(num_users=60, num_items=20, days=90)
    churn = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    spend = rg.PredictiveQuery(graph, SPEND).generate_training_table()
    static = rg.PredictiveQuery(graph, STATIC).generate_training_table()
    link = rg.PredictiveQuery(purchases, LINK).generate_training_table()
    static_link = rg.PredictiveQuery(purchases, STATIC_LINK).generate_training_table()
    df = churn.data_df()
    weighted = rg.TrainingTable.from_dataframe(
        df.assign(W=(df["ENTITY"] % 2).astype(float)), graph, entity_table="users",
        entity_column="ENTITY", anchor_time_column="ANCHOR_TIMESTAMP", target_column="TARGET",
        split_column="SPLIT", weight_column="W", task_type="binary_classification")
    _RUNS.clear()
    return {"graphs": {"binary": graph, "regression": graph, "weighted": graph,
                       "static": graph, "link": purchases, "static_link": purchases},
            "jobs": root / "home" / "jobs",
            "tables": {"binary": churn, "regression": spend, "weighted": weighted,
                       "static": static, "link": link, "static_link": static_link}}


TASKS = {"binary": TaskType.BINARY_CLASSIFICATION, "regression": TaskType.REGRESSION,
         "weighted": TaskType.BINARY_CLASSIFICATION, "static": TaskType.BINARY_CLASSIFICATION,
         "link": TaskType.TEMPORAL_LINK_PREDICTION,
         "static_link": TaskType.STATIC_LINK_PREDICTION}
METRIC = {"regression": "mae", "link": "map@10", "static_link": "map@10"}   # others: auroc
TEMPORAL = {"binary", "regression", "weighted", "link"}


def base_plan(task: str) -> ModelPlan:
    """A small, fully resolved plan whose every tunable list has one candidate."""
    plan = suggest_model_plan(TASKS[task], RunMode.FAST, num_train_examples=NUM_TRAIN,
                              has_weight_col=task == "weighted", is_temporal=task in TEMPORAL)
    job = plan.training_job
    job.num_experiments = 1
    job.manual_seed = 0
    job.metrics = [METRIC.get(task, "auroc")]
    job.tune_metric = METRIC.get(task, "auroc")
    job.pruning = None
    job.refit_trainval = False
    job.refit_full = False
    opt = plan.optimization
    opt.max_epochs = 1
    opt.min_steps_per_epoch = 1
    opt.max_steps_per_epoch = 2
    opt.max_val_steps = 1
    opt.max_test_steps = 1
    opt.batch_size = [BATCH]
    opt.base_lr = [1e-2]
    opt.weight_decay = [0.0]
    opt.lr_scheduler = [None]
    opt.weight_mode = [None]
    arch = plan.model_architecture
    arch.model = [GNNModelPlan(channels=[16], aggregation=[["sum", "mean"]], dropout=[0.0])]
    arch.num_pre_message_passing_layers = [0]
    arch.num_post_message_passing_layers = [1]
    arch.activation = ["relu"]
    arch.normalization = ["layer_norm"]
    plan.neighbor_sampling.num_neighbors = [[4, 2]]
    return plan


# ------------------------------------------------------------------- the recorded run


@dataclass
class Trial:
    """What one ``train_trial`` call used."""

    call: dict[str, Any]
    model: Any = None
    sampler: Any = None
    optimizer: dict[str, Any] = field(default_factory=dict)
    lrs: list[float] = field(default_factory=list)          # lr at each training step
    batches: list[int] = field(default_factory=list)        # rows of each training step
    losses: list[float] = field(default_factory=list)
    weighted: list[bool] = field(default_factory=list)      # loss got per-example weights
    orders: list[dict[str, Any]] = field(default_factory=list)   # per epoch order stats
    subgraphs: list[dict[str, int]] = field(default_factory=list)  # nodes per training batch
    val_batches: list[int] = field(default_factory=list)    # rows of each validation batch
    labels: list[torch.Tensor] = field(default_factory=list)   # y given to the loss per step
    aux: list[float] = field(default_factory=list)          # link prediction extra loss terms
    lookup: dict[str, Any] | None = None   # separate optimizer of the lookup embeddings
    anchors: list[torch.Tensor] = field(default_factory=list)    # per training batch
    calendar: list[torch.Tensor] = field(default_factory=list)   # anchor times encoded
    _optimizer: Any = None
    _evals: int = 0
    _in_aux: bool = False


@dataclass
class Run:
    meta: dict[str, Any]
    holdout: pd.DataFrame
    trials: list[Trial]
    features: dict[str, Any]
    job_id: str
    folder: Path

    @property
    def first(self) -> Trial:
        return self.trials[0]


_RUNS: dict[tuple[Any, ...], Run] = {}
_JOB_NUMBERS = itertools.count()     # a failed run leaves its folder behind


def fit(data: dict[str, Any], task: str, plan: ModelPlan,
        val_script: tuple[float, ...] | None = None) -> Run:
    """Run the training pipeline on ``plan`` with spies; cached per (task, plan, script).

    ``val_script`` replaces the tune metric of the i-th validation of a trial by
    ``val_script[i]`` (to give early stopping a known validation curve).
    """
    key = (task, plan.as_json(), val_script)
    if key in _RUNS:
        return _RUNS[key]
    trials: list[Trial] = []
    cur: list[Trial | None] = [None]
    last_sub: list[Any] = [None]
    features: dict[str, Any] = {}
    tune = str(plan.training_job.tune_metric)

    real_train_trial = fitting.train_trial
    real_make_scheduler = fitting.make_scheduler
    real_compute_loss = fitting.compute_loss
    real_epoch_order = fitting._epoch_order
    real_evaluate = fitting.evaluate
    real_model = fitting.GraphContext.model
    real_forward = fitting.GraphContext.forward
    real_sample = NeighborSampler.sample
    real_optimizers = fitting._optimizers
    real_auxiliary_loss = fitting._auxiliary_loss
    real_calendar = nn_model.calendar_features

    def train_trial(ctx, ex, settings, info, metrics, tune_metric, **kw):
        trial = Trial(call={"settings": settings, "metrics": list(metrics),
                            "tune_metric": tune_metric, **kw})
        trials.append(trial)
        features.update(ctx.features)
        cur[0] = trial
        try:
            return real_train_trial(ctx, ex, settings, info, metrics, tune_metric, **kw)
        finally:
            cur[0] = None

    def make_scheduler(optimizer, config, total_steps, steps_per_epoch):
        group = optimizer.param_groups[0]
        t = cur[0]
        assert t is not None
        t._optimizer = optimizer
        t.optimizer = {"class": type(optimizer).__name__, "lr": group["lr"],
                       "weight_decay": group["weight_decay"], "total_steps": total_steps,
                       "steps_per_epoch": steps_per_epoch}
        return real_make_scheduler(optimizer, config, total_steps, steps_per_epoch)

    def compute_loss(task_type, loss, out, y, weight=None):
        value = real_compute_loss(task_type, loss, out, y, weight)
        t = cur[0]
        if t is not None and not t._in_aux:     # not the embedding-only ranking loss
            t.labels.append(y.detach().cpu().clone())
            t.batches.append(len(y))
            t.losses.append(float(value.detach()))
            t.weighted.append(weight is not None)
            t.lrs.append(float(t._optimizer.param_groups[0]["lr"]))
        return value

    def epoch_order(ex, idx, settings, info, gen):
        order = real_epoch_order(ex, idx, settings, info, gen)
        t = cur[0]
        if t is not None:
            stats = {"size": len(order), "positives": float(ex.y[order].float().mean())}
            if ex.weight is not None:
                stats["zero_weight"] = float((ex.weight[order] == 0).float().mean())
            t.orders.append(stats)
        return order

    def evaluate(ctx, model, sampler, ex, idx, settings, info, metrics, max_steps):
        res, pos, pred = real_evaluate(ctx, model, sampler, ex, idx, settings, info, metrics,
                                       max_steps)
        t = cur[0]
        if val_script is not None and t is not None:
            res = {**res, tune: val_script[t._evals]}
            t._evals += 1
        return res, pos, pred

    def model(self, spec):
        built = real_model(self, spec)
        if cur[0] is not None and cur[0].model is None:
            cur[0].model = built
        return built

    def forward(self, model, sampler, seeds, pos, *, embed=False, **kw):
        out = real_forward(self, model, sampler, seeds, pos, embed=embed, **kw)
        t = cur[0]
        if t is not None:
            t.sampler = sampler
            if model.training:
                # sampled here, or ahead of time (``inputs``: prefetched model inputs)
                inputs = kw.get("inputs")
                nodes = last_sub[0].node_dict if inputs is None else inputs.node_dict
                t.subgraphs.append({k: int(v.numel()) for k, v in nodes.items()})
                t.anchors.append(seeds.time[pos].detach().cpu().clone())
            else:
                t.val_batches.append(len(pos))
        return out

    def sample(self, *args, **kwargs):
        sub = real_sample(self, *args, **kwargs)
        last_sub[0] = sub
        return sub

    def optimizers(net, settings):
        opt, lookup_opt = real_optimizers(net, settings)
        t = cur[0]
        if t is not None and lookup_opt is not None:
            t.lookup = {"class": type(lookup_opt).__name__,
                        "lr": lookup_opt.param_groups[0]["lr"]}
        return opt, lookup_opt

    def auxiliary_loss(net, settings, info, y, weight):
        t = cur[0]
        if t is None:
            return real_auxiliary_loss(net, settings, info, y, weight)
        t._in_aux = True
        try:
            value = real_auxiliary_loss(net, settings, info, y, weight)
        finally:
            t._in_aux = False
        t.aux.append(float(value.detach()))
        return value

    def calendar(seed_time):
        t = cur[0]
        if t is not None:
            t.calendar.append(seed_time.detach().cpu().clone())
        return real_calendar(seed_time)

    job_id = f"plan{next(_JOB_NUMBERS)}"
    folder = data["jobs"] / job_id
    folder.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "train_trial", train_trial)
        mp.setattr(fitting, "make_scheduler", make_scheduler)
        mp.setattr(fitting, "compute_loss", compute_loss)
        mp.setattr(fitting, "_epoch_order", epoch_order)
        mp.setattr(fitting, "evaluate", evaluate)
        mp.setattr(fitting.GraphContext, "model", model)
        mp.setattr(fitting.GraphContext, "forward", forward)
        mp.setattr(NeighborSampler, "sample", sample)
        mp.setattr(fitting, "_optimizers", optimizers)
        mp.setattr(fitting, "_auxiliary_loss", auxiliary_loss)
        mp.setattr(nn_model, "calendar_features", calendar)
        meta = pipeline.fit_training_job(data["graphs"][task], data["tables"][task], plan,
                                         folder, job_id, verbose=False)
    write_manifest(folder)  # what a job's commit does: TrainingJobResult checks it
    run = Run(meta, pd.read_parquet(Path(folder) / "holdout.parquet"), trials, features,
              job_id, Path(folder))
    _RUNS[key] = run
    return run


# ------------------------------------------------------------------------ the cases

Mutation = Callable[[ModelPlan], None]


@dataclass(frozen=True)
class Case:
    """Two plans that differ in ``path`` only; ``probe`` of their runs must differ."""

    id: str
    path: str              # "section.field" or "model_architecture.model[0].field"
    a: Any
    b: Any
    probe: Callable[[Run], Any]
    expect: tuple[Any, Any] | None = None
    setup: Mutation | None = None
    task: str = "binary"
    val_script: tuple[float, ...] | None = None


def owner_and_name(plan: ModelPlan, path: str) -> tuple[Any, str]:
    section, rest = path.split(".", 1)
    obj = getattr(plan, section)
    if rest.startswith("model[0]."):
        obj, rest = obj.model[0], rest[len("model[0]."):]
    return obj, rest


def make_plan(case: Case, value: Any) -> ModelPlan:
    plan = base_plan(case.task)
    if case.setup is not None:
        case.setup(plan)
    obj, name = owner_and_name(plan, case.path)
    setattr(obj, name, copy.deepcopy(value))
    return plan


def setting(**changes: Any) -> Mutation:
    """A setup that assigns ``{"section__field": value}`` on the base plan."""

    def apply(plan: ModelPlan) -> None:
        for key, value in changes.items():
            section, name = key.split("__")
            setattr(getattr(plan, section), name, copy.deepcopy(value))

    return apply


def use_transformer(plan: ModelPlan) -> None:
    plan.model_architecture.model = [GraphTransformerModelPlan(
        channels=[16], num_layers=[1], num_heads=[2], dropout=[0.0],
        positional_encodings=[None])]


# probes -----------------------------------------------------------------------------

def model(run: Run) -> Any:
    return run.first.model


def num_params(run: Run) -> int:
    return sum(p.numel() for p in model(run).parameters())


def modules_with_params(run: Run) -> set[str]:
    """Top-level modules of the model that hold parameters ("id_emb", "target_tower", ...)."""
    return {name.split(".")[0] for name, _ in model(run).named_parameters()}


def settings_of(run: Run) -> TrialSettings:
    return run.first.call["settings"]


def aux_loss_on(run: Run) -> bool:
    """Whether the link-prediction extra loss terms added anything at the first step."""
    return bool(run.first.aux) and run.first.aux[0] > 0


def target_vector_shape(run: Run) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(model(run).target_vectors().shape)


def conv(run: Run) -> Any:
    first = model(run).gnn.convs[0]
    return first[next(iter(first.keys()))]


def aggregations(run: Run) -> list[str]:
    """The names of the first convolution's neighbor aggregations, in order."""
    module = conv(run).aggr_module
    parts = module.aggrs if isinstance(module, MultiAggregation) else [module]
    return [type(p).__name__.removesuffix("Aggregation").lower() for p in parts]


def n_linear(module: Any) -> int:
    return sum(isinstance(m, torch.nn.Linear) for m in module.modules())


def first_loss(run: Run) -> tuple[float, ...]:
    """The first three training steps' losses: a residual trial starts at the GBDT
    learner's prediction whatever its inputs, so its first step alone cannot tell them."""
    return tuple(round(x, 6) for x in run.first.losses[:3])


def epochs_run(run: Run) -> int:
    return len(run.meta["trials"][0]["history"])


def lr_curve(run: Run) -> tuple[float, ...]:
    return tuple(round(x, 8) for x in run.first.lrs)


def searched_trials(run: Run) -> list[Trial]:
    return [t for t in run.trials if t.call.get("val_split", "val") is not None]


def users_in_first_batch(run: Run) -> int:
    return run.first.subgraphs[0]["users"]


def prune_hook(run: Run) -> Any:
    """None without pruning, else whether trial 1 is stopped after one hopeless epoch."""
    hook = searched_trials(run)[1].call["should_prune"]
    return None if hook is None else hook([-math.inf])


def sched(name: str, **kwargs: Any) -> LRSchedulerConfig:
    return LRSchedulerConfig(name=name, kwargs=kwargs)


REV = ("users", "rev_user_id", "events")     # users -> events message edge of the sampler
SCHED_SETUP = setting(optimization__max_epochs=2, optimization__max_steps_per_epoch=4)
TWO_TRIALS = setting(training_job__num_experiments=2, optimization__base_lr=[1e-2, 1e-3])
FLAT = (0.5, 0.5, 0.5, 0.5)                  # validation never improves
RISING = (0.50, 0.51, 0.52, 0.53)            # improves by 0.01 per epoch

CASES: list[Case] = [
    # --- training_job ---------------------------------------------------------------
    Case("num_experiments", "training_job.num_experiments", 1, 2,
         lambda r: len(searched_trials(r)), (1, 2),
         setup=setting(optimization__base_lr=[1e-2, 1e-3])),
    Case("metrics", "training_job.metrics", ["auroc", "acc"], ["auroc", "f1", "ap"],
         lambda r: (sorted(r.meta["metrics"]["test"]), sorted(r.first.call["metrics"])),
         ((["acc", "auroc"], ["acc", "auroc"]), (["ap", "auroc", "f1"], ["ap", "auroc", "f1"]))),
    Case("tune_metric", "training_job.tune_metric", "auroc", "acc",
         lambda r: (r.first.call["tune_metric"], r.meta["tune_metric"]),
         (("auroc", "auroc"), ("acc", "acc")),
         setup=setting(training_job__metrics=["auroc", "acc"])),
    Case("pruning", "training_job.pruning", None,
         PruningConfig(min_epochs=1, k=1, min_delta=0.0, patience=1), prune_hook, (None, True),
         setup=TWO_TRIALS),
    Case("pruning.min_epochs", "training_job.pruning",
         PruningConfig(min_epochs=1, k=1, patience=1), PruningConfig(min_epochs=3, k=1, patience=1),
         prune_hook, (True, False), setup=TWO_TRIALS),
    Case("refit_trainval", "training_job.refit_trainval", False, True,
         lambda r: (r.meta["refit_splits"], r.trials[-1].call.get("train_splits")),
         ((["train"], None), (["train", "val"], ("train", "val")))),
    Case("refit_full", "training_job.refit_full", False, True,
         lambda r: (r.meta["refit_splits"], r.trials[-1].call.get("train_splits")),
         ((["train"], None), (["train", "val", "test"], ("train", "val", "test")))),
    Case("manual_seed", "training_job.manual_seed", 0, 5,
         lambda r: r.first.call["seed"], (0, 5)),
    Case("manual_seed.init", "training_job.manual_seed", 0, 5, first_loss),
    Case("enable_baselines", "training_job.enable_baselines", False, True,
         lambda r: sorted(r.meta.get("baselines", {})),
         ([], ["lightgbm_aggregated", "lightgbm_entity", "majority"])),
    Case("hybrid", "training_job.hybrid", False, True,
         lambda r: (r.meta.get("gbdt") is not None, (r.folder / "gbdt.json").is_file(),
                    model(r).spec.seed_features > 0),
         ((False, False, False), (True, True, True))),
    Case("disable_explain", "training_job.disable_explain", False, True,
         lambda r: (r.meta.get("explanations") is not None,
                    (r.folder / "explanations.json").is_file()),
         ((True, True), (False, False))),
    # --- column_processing ----------------------------------------------------------
    Case("encoder_overrides.null", "column_processing.encoder_overrides", None,
         {"events.amount": "Null()"}, lambda r: (r.features["events"].columns, num_params(r))),
    Case("encoder_overrides.scaler", "column_processing.encoder_overrides", None,
         {"events.amount": 'Numerical(scaler="minmax")'},
         lambda r: round(float(r.features["events"].tensors["amount"].max()), 4)),
    Case("na_strategy", "column_processing.na_strategy", None, {"numerical": "zero"},
         lambda r: round(float(r.features["users"].tensors["age"][0, 0]), 4)),   # age[0] is NaN
    # --- neighbor_sampling ----------------------------------------------------------
    Case("num_neighbors.hops", "neighbor_sampling.num_neighbors", [[4, 2]], [[4, 2, 2]],
         lambda r: (r.first.sampler.num_hops, model(r).gnn.num_layers), ((2, 2), (3, 3))),
    Case("num_neighbors.fanout", "neighbor_sampling.num_neighbors", [[4, 2]], [[8, 2]],
         lambda r: r.first.sampler.num_neighbors[0][REV], (4, 8)),
    Case("num_neighbors.fanout_sampled", "neighbor_sampling.num_neighbors", [[4, 2]], [[8, 2]],
         lambda r: r.first.subgraphs[0]["events"]),
    Case("num_neighbors.override", "neighbor_sampling.num_neighbors", [[4, 2]],
         [{"hop1": {"default": 4, "users.user_id->events.user_id": 1}, "hop2": {"default": 2}}],
         lambda r: (r.first.sampler.num_neighbors[0][REV],
                    r.first.sampler.num_neighbors[0][("users", "tier", "tiers")]),
         ((4, 4), (1, 4))),
    Case("adaptive_sampling", "neighbor_sampling.adaptive_sampling", False, True,
         lambda r: (r.first.sampler.adaptive, sum(r.first.subgraphs[0].values())),
         setup=setting(neighbor_sampling__num_neighbors=[[4, 8]])),
    Case("max_target_neighbors_per_entity", "neighbor_sampling.max_target_neighbors_per_entity",
         ["inferred"], [0],
         lambda r: (r.first.sampler.max_target_neighbors_per_entity,
                    users_in_first_batch(r) == BATCH),
         ((None, False), (0, True))),
    Case("sample_from_entity_table", "neighbor_sampling.sample_from_entity_table", True, False,
         lambda r: (settings_of(r).max_target_neighbors_per_entity,
                    r.first.sampler.max_target_neighbors_per_entity,
                    users_in_first_batch(r) == BATCH),
         ((None, None, False), (0, 0, True)), task="static"),
    # --- optimization ---------------------------------------------------------------
    Case("max_epochs", "optimization.max_epochs", 1, 2,
         lambda r: (epochs_run(r), len(r.first.batches)), ((1, 2), (2, 4))),
    Case("min_steps_per_epoch", "optimization.min_steps_per_epoch", 1, 3,
         lambda r: len(r.first.batches), (1, 3),
         setup=setting(optimization__batch_size=[512], optimization__max_steps_per_epoch=5)),
    Case("max_steps_per_epoch", "optimization.max_steps_per_epoch", 2, 3,
         lambda r: len(r.first.batches), (2, 3)),
    Case("max_val_steps", "optimization.max_val_steps", 1, 2,
         lambda r: r.first.val_batches, ([BATCH], [BATCH, BATCH])),
    Case("max_test_steps", "optimization.max_test_steps", 1, 2,
         lambda r: len(r.holdout), (BATCH, 2 * BATCH)),
    Case("batch_size", "optimization.batch_size", [BATCH], [64],
         lambda r: r.first.batches, ([BATCH, BATCH], [64, 64])),
    Case("optimizer.adamw", "optimization.optimizer", ["Adam"], ["AdamW"],
         lambda r: r.first.optimizer["class"], ("Adam", "AdamW")),
    Case("optimizer.adagrad", "optimization.optimizer", ["Adam"], ["Adagrad"],
         lambda r: r.first.optimizer["class"], ("Adam", "Adagrad")),
    Case("base_lr", "optimization.base_lr", [1e-2], [1e-3],
         lambda r: (r.first.optimizer["lr"], r.first.lrs[0]), ((1e-2, 1e-2), (1e-3, 1e-3))),
    Case("weight_decay", "optimization.weight_decay", [0.0], [0.01],
         lambda r: r.first.optimizer["weight_decay"], (0.0, 0.01)),
    Case("lr_scheduler.constant_with_warmup", "optimization.lr_scheduler", [None],
         [sched("constant_with_warmup", warmup_ratio_or_steps=4)], lr_curve,
         setup=SCHED_SETUP),
    Case("lr_scheduler.linear_with_warmup", "optimization.lr_scheduler", [None],
         ["linear_with_warmup"], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.cosine_with_warmup", "optimization.lr_scheduler",
         ["linear_with_warmup"], ["cosine_with_warmup"], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.cosine_with_warmup_restarts", "optimization.lr_scheduler",
         ["cosine_with_warmup"], ["cosine_with_warmup_restarts"], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.exponential", "optimization.lr_scheduler", [None],
         [sched("exponential", gamma=0.5)], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.gamma", "optimization.lr_scheduler", [sched("exponential", gamma=0.5)],
         [sched("exponential", gamma=0.9)], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.warmup", "optimization.lr_scheduler",
         [sched("linear_with_warmup", warmup_ratio_or_steps=0.0)],
         [sched("linear_with_warmup", warmup_ratio_or_steps=0.5)], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.num_cycles", "optimization.lr_scheduler",
         [sched("cosine_with_warmup_restarts", num_cycles=1)],
         [sched("cosine_with_warmup_restarts", num_cycles=3)], lr_curve, setup=SCHED_SETUP),
    Case("lr_scheduler.interval", "optimization.lr_scheduler",
         [LRSchedulerConfig(name="linear_with_warmup", interval="step")],
         [LRSchedulerConfig(name="linear_with_warmup", interval="epoch")], lr_curve,
         setup=SCHED_SETUP),
    Case("early_stopping", "optimization.early_stopping", [None],
         [EarlyStoppingConfig(patience=1)], epochs_run, (4, 2),
         setup=setting(optimization__max_epochs=4), val_script=FLAT),
    Case("early_stopping.patience", "optimization.early_stopping",
         [EarlyStoppingConfig(patience=1)], [EarlyStoppingConfig(patience=2)], epochs_run, (2, 3),
         setup=setting(optimization__max_epochs=4), val_script=FLAT),
    Case("early_stopping.min_delta", "optimization.early_stopping",
         [EarlyStoppingConfig(patience=1, min_delta=0.0)],
         [EarlyStoppingConfig(patience=1, min_delta=0.05)], epochs_run, (4, 2),
         setup=setting(optimization__max_epochs=4), val_script=RISING),
    Case("majority_sampling_ratio", "optimization.majority_sampling_ratio", [None], [1.0],
         lambda r: (r.first.orders[0]["size"] == NUM_TRAIN, r.first.orders[0]["positives"]
                    == 0.5), ((True, False), (False, True))),
    Case("weight_mode.weighted_loss", "optimization.weight_mode", [None], ["weighted_loss"],
         lambda r: r.first.weighted, ([False, False], [True, True]), task="weighted"),
    Case("weight_mode.sample", "optimization.weight_mode", [None], ["sample"],
         lambda r: r.first.orders[0]["zero_weight"] > 0, (True, False), task="weighted"),
    Case("loss.focal", "optimization.loss", ["binary_cross_entropy"], ["focal"], first_loss),
    Case("loss.focal_alpha", "optimization.loss", [FocalLossConfig(alpha=0.25)],
         [FocalLossConfig(alpha=0.75)], first_loss),
    Case("loss.focal_gamma", "optimization.loss", [FocalLossConfig(gamma=2.0)],
         [FocalLossConfig(gamma=4.0)], first_loss),
    Case("loss.mae", "optimization.loss", ["huber"], ["mae"], first_loss, task="regression"),
    Case("loss.mse", "optimization.loss", ["huber"], ["mse"], first_loss, task="regression"),
    Case("loss.wape", "optimization.loss", ["mae"], ["wape"], first_loss, task="regression"),
    Case("loss.huber_delta", "optimization.loss", [HuberLossConfig(delta=1.0)],
         [HuberLossConfig(delta=0.1)], first_loss, task="regression"),
    # (distribution, quantile and ordinal losses and forecasting: tests/trainer/test_losses.py)
    Case("target_fraction", "optimization.target_fraction", [1.0], [0.5],
         lambda r: (settings_of(r).target_fraction, int((r.first.labels[0] >= 0).sum())),
         task="static_link"),
    Case("lookup_optimization", "optimization.lookup_optimization", [INFERRED],
         [OptimizerConfig(optimizer="adagrad", base_lr=0.05)],
         lambda r: r.first.lookup and (r.first.lookup["class"], r.first.lookup["lr"]),
         (None, ("Adagrad", 0.05)), task="link"),
    # --- model_architecture ---------------------------------------------------------
    Case("model", "model_architecture.model",
         [GNNModelPlan(channels=[16], aggregation=[["sum", "mean"]])],
         [GraphTransformerModelPlan(channels=[16], num_layers=[1], num_heads=[2])],
         lambda r: type(model(r).transformer).__name__, ("NoneType", "SubgraphTransformer")),
    Case("channels(deprecated)", "model_architecture.channels", None, [32],
         lambda r: model(r).spec.channels, (16, 32)),
    Case("aggregation(deprecated)", "model_architecture.aggregation", None, [["max"]],
         aggregations, (["sum", "mean"], ["max"])),
    Case("num_pre_message_passing_layers", "model_architecture.num_pre_message_passing_layers",
         [0], [2], lambda r: 0 if model(r).pre is None else n_linear(model(r).pre["t_users"]),
         (0, 2)),
    Case("num_post_message_passing_layers",
         "model_architecture.num_post_message_passing_layers", [1], [3],
         lambda r: n_linear(model(r).head), (1, 3)),
    *[Case(f"activation.{act}", "model_architecture.activation", ["relu"], [act],
           lambda r: type(model(r).gnn.act).__name__, ("ReLU", cls))
      for act, cls in [("gelu", "GELU"), ("leaky_relu", "LeakyReLU"), ("elu", "ELU")]],
    *[Case(f"normalization.{norm}", "model_architecture.normalization", ["layer_norm"], [norm],
           lambda r: type(model(r).gnn.norms[0]["t_users"]).__name__, ("LayerNorm", cls))
      for norm, cls in [("batch_norm", "BatchNorm1d"), (None, "Identity")]],
    Case("prediction_time_encodings", "model_architecture.prediction_time_encodings",
         [False], [True],
         lambda r: (settings_of(r).prediction_time_encodings,
                    type(model(r).anchor_encoder).__name__, bool(r.first.calendar)),
         ((False, "NoneType", False), (True, "Linear", True))),
    Case("prediction_time_encodings.output", "model_architecture.prediction_time_encodings",
         [False], [True], first_loss),
    *[Case(f"past_encoder.{kind}", "model_architecture.past_encoder", [None], [kind],
           lambda r: (model(r).spec.past_encoder, model(r).spec.past_steps > 0,
                      type(model(r).past_encoder).__name__),
           ((None, False, "NoneType"), (kind, True, "PastTargetEncoder")), task="regression")
      for kind in ("decomposed", "normalized", "mlp", "transformer")],
    *[Case(f"past_encoder.{kind}.loss", "model_architecture.past_encoder", [None], [kind],
           first_loss, task="regression")
      for kind in ("decomposed", "normalized", "mlp", "transformer")],
    Case("prediction_time_encodings.transformer",
         "model_architecture.prediction_time_encodings", [False], [True],
         lambda r: (type(model(r).anchor_encoder).__name__, bool(r.first.calendar)),
         (("NoneType", False), ("Linear", True)), setup=use_transformer),
    # --- model_architecture, link prediction ----------------------------------------
    Case("module", "model_architecture.module", "context", "shallow_rhs",
         lambda r: (model(r).spec.lp_module, "context_weight" in modules_with_params(r)),
         (("context", True), ("shallow_rhs", False)), task="link"),
    Case("handle_new_target_entities", "model_architecture.handle_new_target_entities",
         False, True,
         lambda r: (settings_of(r).handle_new_target_entities,
                    model(r).spec.target_embedding_mode,
                    "target_tower" in modules_with_params(r)),
         ((False, "lookup", False), (True, "fusion", True)), task="link"),
    Case("target_embedding_mode", "model_architecture.target_embedding_mode", ["lookup"],
         ["feature"],
         lambda r: (model(r).spec.target_embedding_mode,
                    sorted({"id_emb", "target_tower"} & modules_with_params(r))),
         (("lookup", ["id_emb"]), ("feature", ["target_tower"])), task="link"),
    Case("output_embedding_dim", "model_architecture.output_embedding_dim", [32], [8],
         target_vector_shape, ((20, 32), (20, 8)), task="link"),
    Case("distance_measure", "model_architecture.distance_measure", ["dot_product"],
         ["cosine"],
         lambda r: (model(r).spec.distance_measure, "cosine_scale" in modules_with_params(r)),
         (("dot_product", False), ("cosine", True)), task="link"),
    Case("ranking_embedding_loss_coeff", "model_architecture.ranking_embedding_loss_coeff",
         [0.0], [0.5], aux_loss_on, (False, True), task="link"),
    Case("embedding_norm_reg_coeff", "model_architecture.embedding_norm_reg_coeff",
         [0.0], [0.01], aux_loss_on, (False, True), task="link"),
    # --- GNNModelPlan ---------------------------------------------------------------
    Case("gnn.channels", "model_architecture.model[0].channels", [16], [32],
         lambda r: (model(r).spec.channels, conv(r).out_channels), ((16, 16), (32, 32))),
    Case("gnn.aggregation", "model_architecture.model[0].aggregation", [["sum", "mean"]],
         [["max", "min", "std"]], aggregations,
         (["sum", "mean"], ["max", "min", "std"])),
    Case("gnn.dropout", "model_architecture.model[0].dropout", [0.0], [0.3],
         lambda r: model(r).gnn.dropout.p, (0.0, 0.3)),
    # --- GraphTransformerModelPlan --------------------------------------------------
    Case("gt.channels", "model_architecture.model[0].channels", [16], [32],
         lambda r: model(r).transformer.norm.normalized_shape, ((16,), (32,)),
         setup=use_transformer),
    Case("gt.num_layers", "model_architecture.model[0].num_layers", [1], [2],
         lambda r: len(model(r).transformer.encoder.layers), (1, 2), setup=use_transformer),
    Case("gt.num_heads", "model_architecture.model[0].num_heads", [2], [4],
         lambda r: model(r).transformer.encoder.layers[0].self_attn.num_heads, (2, 4),
         setup=use_transformer),
    Case("gt.dropout", "model_architecture.model[0].dropout", [0.0], [0.2],
         lambda r: model(r).transformer.encoder.layers[0].dropout.p, (0.0, 0.2),
         setup=use_transformer),
    Case("gt.positional_encodings", "model_architecture.model[0].positional_encodings",
         [None], [["hop", "random_gnn"]], lambda r: model(r).gnn.num_layers, (0, 1),
         setup=use_transformer),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_field_changes_what_is_trained(data, case: Case) -> None:
    run_a = fit(data, case.task, make_plan(case, case.a), case.val_script)
    run_b = fit(data, case.task, make_plan(case, case.b), case.val_script)
    got_a, got_b = case.probe(run_a), case.probe(run_b)
    assert got_a != got_b, f"{case.path}: {case.a!r} and {case.b!r} trained the same ({got_a!r})"
    if case.expect is not None:
        assert (got_a, got_b) == case.expect


@pytest.mark.parametrize("tune", ["auroc", "acc"])
def test_tune_metric_selects_the_epoch_and_the_trial(data, tune: str) -> None:
    """Best epoch of each trial and best trial both maximise the tune metric on validation."""
    plan = base_plan("binary")
    TWO_TRIALS(plan)
    plan.training_job.metrics = ["auroc", "acc"]
    plan.training_job.tune_metric = tune
    plan.optimization.max_epochs = 3
    run = fit(data, "binary", plan)
    trials = run.meta["trials"]
    for trial in trials:
        scores = [rec["val"][tune] for rec in trial["history"]]
        assert trial["best_epoch"] == 1 + int(np.argmax(scores))
        assert trial["val_metrics"][tune] == max(scores)
    best = int(np.argmax([t["val_metrics"][tune] for t in trials]))
    assert run.meta["best_settings"] == trials[best]["settings"]


def test_tune_metric_outside_metrics_is_computed(data) -> None:
    """A tune_metric missing from ``metrics`` is computed anyway (appended to the metric
    list): every epoch has a validation score, and the best epoch maximises it."""
    plan = base_plan("binary")
    plan.training_job.metrics = ["auroc"]
    plan.training_job.tune_metric = "acc"
    plan.optimization.max_epochs = 3
    run = fit(data, "binary", plan)
    assert run.first.call["metrics"] == ["auroc", "acc"]
    assert plan.training_job.metrics == ["auroc"]           # the plan itself is unchanged
    trial = run.meta["trials"][0]
    scores = [rec["val"]["acc"] for rec in trial["history"]]
    assert len(scores) == 3 and all(math.isfinite(s) for s in scores)
    assert trial["best_epoch"] == 1 + int(np.argmax(scores))
    assert run.meta["metrics"]["validation"]["acc"] == max(scores)
    assert run.meta["metrics"]["test"].get("acc") is not None


def test_lr_scheduler_curves_have_their_documented_shape(data) -> None:
    """8 steps (2 epochs x 4) at base_lr 1e-2: the curves the cases above compare."""
    def curve(value: Any) -> np.ndarray:
        case = Case("s", "optimization.lr_scheduler", None, value, lr_curve, setup=SCHED_SETUP)
        return np.array(lr_curve(fit(data, "binary", make_plan(case, value))))

    assert np.allclose(curve([None]), 1e-2)
    warm = curve([sched("constant_with_warmup", warmup_ratio_or_steps=4)])
    assert np.allclose(warm, [2.5e-3, 5e-3, 7.5e-3, 1e-2, 1e-2, 1e-2, 1e-2, 1e-2])
    linear = curve([sched("linear_with_warmup", warmup_ratio_or_steps=0.0)])
    assert np.all(np.diff(linear) < 0) and linear[0] == pytest.approx(1e-2)
    expo = curve([sched("exponential", gamma=0.5)])
    assert expo[4] == pytest.approx(5e-3)                       # one epoch = one factor 0.5
    per_epoch = curve([LRSchedulerConfig(name="linear_with_warmup", interval="epoch")])
    assert len(set(per_epoch[:4])) == 1 and len(set(per_epoch[4:])) == 1



def test_enable_baselines_reports_baseline_metrics(data) -> None:
    """``enable_baselines=True``: majority and LightGBM baselines on the same splits and
    metrics as the model, in ``TrainingJobResult.baseline_metrics()`` (empty without)."""
    case = next(c for c in CASES if c.id == "enable_baselines")
    off = TrainingJobResult(fit(data, case.task, make_plan(case, False)).job_id)
    on = TrainingJobResult(fit(data, case.task, make_plan(case, True)).job_id)
    assert off.baseline_metrics() == {}
    baselines = on.baseline_metrics()
    assert sorted(baselines) == ["lightgbm_aggregated", "lightgbm_entity", "majority"]
    assert baselines["majority"]["test_auroc"] == pytest.approx(0.5)   # a constant score
    for name in ("lightgbm_entity", "lightgbm_aggregated"):
        for key in ("test_auroc", "val_auroc"):
            value = baselines[name][key]
            assert value is not None and 0.0 <= value <= 1.0, (name, key)


def test_target_fraction_keeps_a_random_subset_of_each_label_list(data) -> None:
    """``target_fraction=0.5``: the loss sees a subset of every row's target items, at least
    one per row that has any (same first batch: the order is drawn before subsampling)."""
    case = next(c for c in CASES if c.id == "target_fraction")
    full = fit(data, case.task, make_plan(case, [1.0])).first.labels[0]
    half = fit(data, case.task, make_plan(case, [0.5])).first.labels[0]
    assert full.shape == half.shape and full.dim() == 2
    kept = half >= 0
    assert torch.equal(half[kept], full[kept])              # kept items are unchanged
    assert torch.equal(kept.any(dim=1), (full >= 0).any(dim=1))
    assert 0 < int(kept.sum()) < int((full >= 0).sum())


def test_handle_new_target_entities_only_replaces_lookup_vectors() -> None:
    """The switch turns ID-only target vectors into fusion (ID + columns), so that targets
    unseen in training get a vector; modes that already read columns are kept."""
    info = TargetInfo(TaskType.TEMPORAL_LINK_PREDICTION, classes=list(range(20)))
    for mode, expected in [("lookup", "fusion"), ("feature", "feature"),
                           ("shallow_feature", "shallow_feature"), ("fusion", "fusion")]:
        settings = TrialSettings(handle_new_target_entities=True, target_embedding_mode=mode)
        assert model_spec(settings, info, "items").target_embedding_mode == expected
        settings = TrialSettings(handle_new_target_entities=False, target_embedding_mode=mode)
        assert model_spec(settings, info, "items").target_embedding_mode == mode


def test_prediction_time_encodings_encode_each_seeds_anchor(data) -> None:
    """The calendar encoding reads the anchor time of every seed of the batch."""
    case = next(c for c in CASES if c.id == "prediction_time_encodings")
    trial = fit(data, "binary", make_plan(case, [True])).first
    anchors = trial.anchors[0]
    assert torch.equal(trial.calendar[0], anchors)          # first call: first training batch
    assert len(set(anchors.tolist())) > 1
    codes = calendar_features(anchors)
    assert codes.shape == (len(anchors), 6)
    assert len({tuple(row) for row in codes.tolist()}) == len(set(anchors.tolist()))
    hours_6, day_3 = 6 * 3600, 3 * 86_400
    got = calendar_features(torch.tensor([0, hours_6, day_3, 2**62]))
    assert torch.allclose(got[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]), atol=1e-6)
    assert got[1, :2].tolist() == pytest.approx([1.0, 0.0], abs=1e-6)   # quarter day
    assert got[2, :2].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)   # whole days
    assert got[2, 2] == pytest.approx(math.sin(2 * math.pi * 3 / 7), abs=1e-6)
    assert torch.all(got[3] == 0)                           # static anchor: no calendar


# ------------------------------------------------------- fields without a training effect

#: Fields that cannot change what is trained, by design (with the reason).
BY_DESIGN: dict[str, str] = {
    "GNNModelPlan.name": "fixed discriminator 'GNN' (choosing the class is the `model` case)",
    "GraphTransformerModelPlan.name": "fixed discriminator 'GraphTransformer' (`model` case)",
    "ModelArchitecturePlan.forecast_type": "hidden, deprecated in the reference; "
                                           "forecasting always trains one output per window",
}

#: Fields accepted only at the value relgraph implements: any other value is refused with
#: a PlanFieldError naming the field (a value that cannot be honoured is never ignored).
#: Each entry: the implemented value and one refused value.
REJECTED: dict[str, tuple[Any, Any]] = {
    "TrainingJobPlan.disable_compilation": (True, False),
    "ModelArchitecturePlan.use_seq_id": ([False], [True]),
    "OptimizationPlan.overlap_ratio": ([1.0], [0.5]),
    "ModelArchitecturePlan.handle_new_entities": (True, False),
}

#: BY_DESIGN fields that the plan accepts: for each, a task type and query type the field
#: applies to and two values that must give the same ``TrialSettings`` (all that
#: ``train_trial`` gets from the plan). Wiring one of them fails
#: :func:`test_by_design_fields_are_accepted_and_ignored`: then give it a Case instead.
IGNORED_VALUES: dict[str, tuple[TaskType, QueryType, Any, Any]] = {
    "ModelArchitecturePlan.forecast_type": (
        TaskType.FORECASTING, QueryType.TEMPORAL, None, ["direct"]),
}

#: Fields whose effect on training is tested in another file: field -> "path: what".
OTHER_WORK: dict[str, str] = {}

#: Fields that are validated but never reach training (strict xfail below): each entry, a
#: task type and query type the field applies to, and two values.
KNOWN_NO_EFFECT: dict[str, tuple[TaskType, QueryType, Any, Any]] = {}

_SECTION_OF = {"TrainingJobPlan": "training_job", "NeighborSamplingPlan": "neighbor_sampling",
               "OptimizationPlan": "optimization",
               "ModelArchitecturePlan": "model_architecture"}


def _trial_settings(task: TaskType, query: QueryType, cls_field: str, value: Any) -> Any:
    plan = suggest_model_plan(task, RunMode.FAST, num_train_examples=NUM_TRAIN,
                              is_temporal=query is QueryType.TEMPORAL)
    cls, name = cls_field.split(".")
    setattr(getattr(plan, _SECTION_OF[cls]), name, copy.deepcopy(value))
    plan.validate_for(task, query)
    return sample_trials(plan, 1, 0, task_type=task, query_type=query)[0]


@pytest.mark.parametrize("cls_field", sorted(IGNORED_VALUES))
def test_by_design_fields_are_accepted_and_ignored(cls_field: str) -> None:
    """Both values validate for their task, and training gets the same settings."""
    task, query, a, b = IGNORED_VALUES[cls_field]
    assert _trial_settings(task, query, cls_field, a) == _trial_settings(task, query,
                                                                         cls_field, b)


@pytest.mark.parametrize("cls_field", sorted(REJECTED))
def test_rejected_values_name_the_field(cls_field: str) -> None:
    """A value relgraph cannot honour is refused, naming the field; the implemented
    value is accepted."""
    cls_name, name = cls_field.split(".")
    section = getattr(ModelPlan(), _SECTION_OF[cls_name])
    good, bad = REJECTED[cls_field]
    setattr(section, name, good)
    with pytest.raises(PlanFieldError, match=name):
        setattr(section, name, bad)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="plan field never reaches training (see KNOWN_NO_EFFECT)")
@pytest.mark.parametrize("cls_field", sorted(KNOWN_NO_EFFECT))
def test_known_no_effect_fields_reach_the_trial_settings(cls_field: str) -> None:
    """Everything ``train_trial`` gets from the plan is its ``TrialSettings``; these fields
    leave it unchanged. Remove a field from KNOWN_NO_EFFECT (and add a Case) once it works."""
    task, query, a, b = KNOWN_NO_EFFECT[cls_field]
    assert _trial_settings(task, query, cls_field, a) != _trial_settings(task, query,
                                                                         cls_field, b)


def test_graph_transformer_hop_encoding_is_always_on(data) -> None:
    """``positional_encodings=[None]`` and ``[["hop"]]`` train the same model: relgraph
    always adds the hop embedding (``ModelSpec``: '"hop" (always on)'); only "random_gnn"
    changes the model (case gt.positional_encodings)."""
    case = Case("hop", "model_architecture.model[0].positional_encodings", None, None,
                first_loss, setup=use_transformer)
    none = fit(data, "binary", make_plan(case, [None]))
    hop = fit(data, "binary", make_plan(case, [["hop"]]))
    assert none.first.losses == hop.first.losses
    assert str(model(none)) == str(model(hop))



@pytest.mark.parametrize(("key", "named"), [("events.amont", "amont"),
                                             ("evnts.amount", "evnts")])
def test_encoder_override_for_unknown_column_is_an_error(data, key: str, named: str) -> None:
    """A typo in a table or column name of ``encoder_overrides`` is an error naming it (it
    used to be silently ignored)."""
    case = Case("typo", "column_processing.encoder_overrides", None, None, first_loss)
    with pytest.raises(PlanError, match=f"encoder_overrides.*{named}"):
        fit(data, "binary", make_plan(case, {key: "Null()"}))


PLAN_CLASSES = (TrainingJobPlan, ColumnProcessingPlan, NeighborSamplingPlan, OptimizationPlan,
                ModelArchitecturePlan, GNNModelPlan, GraphTransformerModelPlan)
TESTS = Path(__file__).resolve().parents[1]


def test_every_plan_field_is_accounted_for() -> None:
    """Each field of the seven plan classes has a Case, or is listed once with its reason:
    BY_DESIGN (accepted values checked above), OTHER_WORK (a test file that names the
    field), KNOWN_NO_EFFECT (strict xfail)."""
    covered = set()
    for case in CASES:
        plan = base_plan(case.task)
        if case.setup is not None:
            case.setup(plan)
        obj, name = owner_and_name(plan, case.path)
        covered.add(f"{type(obj).__name__}.{name}")
    lists = [covered, set(BY_DESIGN), set(OTHER_WORK), set(KNOWN_NO_EFFECT), set(REJECTED)]
    listed = set().union(*lists)
    every = {f"{cls.__name__}.{name}" for cls in PLAN_CLASSES for name in cls.model_fields}
    assert every - listed == set()
    assert listed - every == set()
    assert sum(map(len, lists)) == len(listed), "a field is listed twice"
    assert set(IGNORED_VALUES) <= set(BY_DESIGN)
    assert all(reason.strip() for reason in BY_DESIGN.values())
    for cls_field, where in OTHER_WORK.items():
        path, _, why = where.partition(": ")
        assert why and (TESTS.parent / path).is_file(), (cls_field, where)
        assert cls_field.split(".")[1] in (TESTS.parent / path).read_text(), (cls_field, where)


# ------------------------------------------------------------------ invalid values
# test_plan.py checks field path and rule for most fields (BAD_VALUES); these add the
# fields it leaves out and check that the message also shows the value given.

def _gt(**kw: Any) -> dict[str, Any]:
    return {"model": [{"name": "GraphTransformer", **kw}]}


BAD: list[tuple[str, dict[str, Any], str, str, str]] = [
    # (section, section dict, field path, rule fragment, value as shown)
    ("training_job", {"refit_full": "no"}, "training_job.refit_full", "boolean", "'no'"),
    ("training_job", {"disable_compilation": 1}, "training_job.disable_compilation",
     "boolean", "1"),
    ("training_job", {"disable_explain": "false"}, "training_job.disable_explain", "boolean",
     "'false'"),
    ("training_job", {"enable_baselines": None}, "training_job.enable_baselines", "boolean",
     "None"),
    ("training_job", {"pruning": {"min_epochs": 0}}, "training_job.pruning.min_epochs",
     ">= 1", "0"),
    ("training_job", {"pruning": {"k": 0}}, "training_job.pruning.k", ">= 1", "0"),
    ("training_job", {"manual_seed": 1.5}, "training_job.manual_seed", "integer", "1.5"),
    ("column_processing", {"na_strategy": {"text": "mean"}},
     "column_processing.na_strategy['text']", "['raise', 'zero']", "'mean'"),
    ("column_processing", {"encoder_overrides": {"users.age": " "}},
     "column_processing.encoder_overrides['users.age']", "encoder object or its string form",
     "' '"),
    ("neighbor_sampling", {"adaptive_sampling": "yes"}, "neighbor_sampling.adaptive_sampling",
     "boolean", "'yes'"),
    ("neighbor_sampling", {"num_neighbors": [{"hop1": {"default": 200}}]},
     "neighbor_sampling.num_neighbors[0].hop1.default", "[-1, 128]", "200"),
    ("neighbor_sampling", {"max_target_neighbors_per_entity": ["many"]},
     "neighbor_sampling.max_target_neighbors_per_entity[0]", "[-1, 512] or 'inferred'",
     "'many'"),
    ("optimization", {"batch_size": [64, 4096]}, "optimization.batch_size[1]", "[1, 2048]",
     "4096"),
    ("optimization", {"weight_decay": [float("nan")]}, "optimization.weight_decay[0]", ">= 0",
     "nan"),
    ("optimization", {"early_stopping": [{"min_delta": -0.5}]},
     "optimization.early_stopping[0].min_delta", ">= 0", "-0.5"),
    ("optimization", {"lr_scheduler": [{"name": "linear_with_warmup", "interval": "hour"}]},
     "optimization.lr_scheduler[0].interval", "['step', 'epoch']", "'hour'"),
    ("optimization",
     {"lr_scheduler": [{"name": "cosine_with_warmup", "kwargs": {"warmup_ratio_or_steps": -1}}]},
     "optimization.lr_scheduler[0].kwargs.warmup_ratio_or_steps", ">= 0", "-1"),
    ("optimization", {"loss": [{"name": "huber", "delta": 0}]}, "optimization.loss[0].delta",
     "> 0", "0"),
    ("optimization", {"majority_sampling_ratio": [None, -2.0]},
     "optimization.majority_sampling_ratio[1]", "> 0", "-2.0"),
    ("model_architecture", {"handle_new_target_entities": "true"},
     "model_architecture.handle_new_target_entities", "boolean", "'true'"),
    ("model_architecture", {"prediction_time_encodings": [1]},
     "model_architecture.prediction_time_encodings[0]", "boolean", "1"),
    ("model_architecture", {"channels": [1024]}, "model_architecture.channels[0]",
     "[2, 512]", "1024"),
    ("model_architecture", {"num_pre_message_passing_layers": [-1]},
     "model_architecture.num_pre_message_passing_layers[0]", "[0, 4]", "-1"),
    ("model_architecture", {"model": [{"name": "GNN", "channels": [514]}]},
     "model_architecture.model[0].channels[0]", "[2, 512]", "514"),
    ("model_architecture", {"model": [{"name": "GNN", "aggregation": [["sum", "median"]]}]},
     "model_architecture.model[0].aggregation[0][1]", "'var'", "'median'"),
    ("model_architecture", {"model": [{"name": "GNN", "dropout": [1.5]}]},
     "model_architecture.model[0].dropout[0]", "< 1", "1.5"),
    ("model_architecture", {"model": [{"name": "MLP"}]}, "model_architecture.model[0].name",
     "['GNN', 'GraphTransformer']", "'MLP'"),
    ("model_architecture", _gt(channels=[0]), "model_architecture.model[0].channels[0]",
     "[2, 512]", "0"),
    ("model_architecture", _gt(num_layers=[0]), "model_architecture.model[0].num_layers[0]",
     "[1, 12]", "0"),
    ("model_architecture", _gt(num_heads=[64]), "model_architecture.model[0].num_heads[0]",
     "[1, 32]", "64"),
    ("model_architecture", _gt(dropout=[-0.1]), "model_architecture.model[0].dropout[0]",
     ">= 0", "-0.1"),
    ("model_architecture", _gt(positional_encodings=[["hop", "rope"]]),
     "model_architecture.model[0].positional_encodings[0][1]", "['hop', 'random_gnn']",
     "'rope'"),
]


@pytest.mark.parametrize(("section", "value", "path", "rule", "shown"), BAD,
                         ids=[b[2] for b in BAD])
def test_invalid_value_names_field_bound_and_value(section: str, value: dict[str, Any],
                                                   path: str, rule: str, shown: str) -> None:
    with pytest.raises(PlanError) as info:
        ModelPlan.from_dict({section: value})
    err = info.value
    assert isinstance(err, PlanFieldError)
    msg = str(err)
    assert err.field == path, msg
    assert f"'{path}'" in msg and rule in msg and f"(got {shown})" in msg, msg


#: the cases whose error is about the assigned field itself (not a nested value)
WHOLE_FIELD = [b for b in BAD if b[2] == f"{b[0]}.{next(iter(b[1]))}"]


@pytest.mark.parametrize(("section", "value", "path", "rule", "shown"), WHOLE_FIELD,
                         ids=[b[2] for b in WHOLE_FIELD])
def test_invalid_assignment_names_field_bound_and_value(section: str, value: dict[str, Any],
                                                        path: str, rule: str,
                                                        shown: str) -> None:
    plan = ModelPlan()
    ((name, bad),) = value.items()
    pattern = ".*".join(re.escape(x) for x in (f"'{path}'", rule, f"(got {shown})"))
    with pytest.raises(PlanError, match=pattern):
        setattr(getattr(plan, section), name, bad)


def test_invalid_trial_combination_names_fields(data) -> None:
    """Bounds that span fields are checked before training starts, naming both fields."""
    plan = base_plan("binary")
    plan.optimization.min_steps_per_epoch = 9
    plan.optimization.max_steps_per_epoch = 4
    with pytest.raises(PlanError, match=r"optimization\.min_steps_per_epoch.*"
                                        r"max_steps_per_epoch \(4\).*got 9"):
        fit(data, "binary", plan)


def test_cases_compare_distinct_values() -> None:
    """Guard against a case that compares a value with itself."""
    for case in CASES:
        assert repr(case.a) != repr(case.b), case.id
    assert len({c.id for c in CASES}) == len(CASES)
