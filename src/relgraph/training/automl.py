"""AutoML trial sampling and pruning.

:func:`sample_trials` turns a resolved :class:`~relgraph.plan.model_plan.ModelPlan` into
concrete :class:`~relgraph.training.settings.TrialSettings` by sampling distinct points of
the cartesian product of its tunable candidate lists, without replacement (the reference's
"random sampling w/o replacement from the search space"). Trial 0 is always the "most default"
point: the first candidate of every list (suggested plans put their most robust choice
first). :class:`Pruner` implements ``PruningConfig`` (early-kill of trials that lag the
best trial so far).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from relgraph.errors import PlanError
from relgraph.plan.model_plan import (
    INFERRED,
    EarlyStoppingConfig,
    GNNModelPlan,
    GraphTransformerModelPlan,
    HopConfig,
    LRSchedulerConfig,
    Metadata,
    ModelPlan,
    NumNeighborsConfig,
    OptimizerConfig,
    PruningConfig,
    is_missing,
    is_valid_option,
)
from relgraph.task import QueryType, TaskType
from relgraph.training.settings import (
    DEFAULT_AGGR,
    EarlyStoppingSpec,
    HopSpec,
    LossSpec,
    LRSchedulerSpec,
    TrialSettings,
)

__all__ = [
    "Pruner",
    "sample_trials",
    "search_space_size",
]


# ---------------------------------------------------------------------------------------
# Resolution helpers
# ---------------------------------------------------------------------------------------

# Documented values used when a field that does not drive training is still MISSING.
_FALLBACK: dict[str, Any] = {
    "neighbor_sampling.sample_from_entity_table": True,
    "neighbor_sampling.max_target_neighbors_per_entity": [INFERRED],
    "optimization.lookup_optimization": [INFERRED],
    "optimization.weight_mode": [None],
    "optimization.target_fraction": [1.0],
    "optimization.overlap_ratio": [1.0],
    "optimization.majority_sampling_ratio": [None],
    "model_architecture.module": "context",
}

_GLOBAL_DIMS: tuple[str, ...] = (
    "neighbor_sampling.num_neighbors",
    "neighbor_sampling.max_target_neighbors_per_entity",
    "optimization.loss",
    "optimization.optimizer",
    "optimization.base_lr",
    "optimization.weight_decay",
    "optimization.batch_size",
    "optimization.lookup_optimization",
    "optimization.early_stopping",
    "optimization.lr_scheduler",
    "optimization.majority_sampling_ratio",
    "optimization.weight_mode",
    "optimization.target_fraction",
    "optimization.overlap_ratio",
    "model_architecture.num_pre_message_passing_layers",
    "model_architecture.num_post_message_passing_layers",
    "model_architecture.activation",
    "model_architecture.normalization",
    "model_architecture.target_embedding_mode",
    "model_architecture.output_embedding_dim",
    "model_architecture.ranking_embedding_loss_coeff",
    "model_architecture.embedding_norm_reg_coeff",
    "model_architecture.distance_measure",
    "model_architecture.use_seq_id",
    "model_architecture.prediction_time_encodings",
    "model_architecture.past_encoder",
)
_SCALARS: tuple[str, ...] = (
    "neighbor_sampling.sample_from_entity_table",
    "neighbor_sampling.adaptive_sampling",
    "optimization.max_epochs",
    "optimization.min_steps_per_epoch",
    "optimization.max_steps_per_epoch",
    "optimization.max_val_steps",
    "optimization.max_test_steps",
    "model_architecture.module",
    "model_architecture.handle_new_target_entities",
    "model_architecture.handle_new_entities",
)
_GNN_DIMS = ("channels", "aggregation", "dropout")
_GT_DIMS = ("channels", "num_layers", "num_heads", "dropout", "positional_encodings")


def _get(plan: ModelPlan, path: str) -> tuple[Any, Metadata]:
    section, name = path.split(".", 1)
    sec = getattr(plan, section)
    return getattr(sec, name), type(sec)._meta.get(name, Metadata())


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@dataclass
class _Space:
    """The search space: global dims plus one block of dims per model candidate."""

    global_dims: list[tuple[str, list[Any]]]
    models: list[tuple[Any, list[tuple[str, list[Any]]]]]
    scalars: dict[str, Any]

    def block_size(self, m: int) -> int:
        size = math.prod(len(c) for _, c in self.global_dims)
        return size * math.prod(len(c) for _, c in self.models[m][1])

    def all_valid(self) -> bool:
        """Whether every point is valid (GraphTransformer channels divisible by heads)."""
        for model, dims in self.models:
            if isinstance(model, GraphTransformerModelPlan):
                cands = dict(dims)
                if any(c % h for c in cands["model.channels"] for h in cands["model.num_heads"]):
                    return False
        return True

    @property
    def size(self) -> int:
        return sum(self.block_size(m) for m in range(len(self.models)))

    def decode(self, index: int) -> tuple[int, dict[str, int]]:
        """Model position and candidate index per dim of the ``index``-th point."""
        m = 0
        while index >= self.block_size(m):
            index -= self.block_size(m)
            m += 1
        picks: dict[str, int] = {}
        for name, cands in [*self.global_dims, *self.models[m][1]]:
            index, picks[name] = divmod(index, len(cands))
        return m, picks


def _build_space(
    plan: ModelPlan,
    task_type: TaskType | None,
    query_type: QueryType | None,
    has_weight_col: bool,
) -> _Space:
    missing: list[str] = []

    def value_of(path: str) -> Any:
        value, _ = _get(plan, path)
        if is_missing(value):
            if path in _FALLBACK:
                return _FALLBACK[path]
            missing.append(path)
            return None
        return value

    def applies(path: str) -> bool:
        if task_type is None:
            return True
        _, meta = _get(plan, path)
        query = query_type or QueryType.TEMPORAL
        return is_valid_option(path, meta, task_type, query, has_weight_col)

    global_dims: list[tuple[str, list[Any]]] = []
    for path in _GLOBAL_DIMS:
        cands = value_of(path)
        if cands is None:
            continue
        cands = list(cands)
        if not applies(path):
            cands = cands[:1]  # does not change training: do not multiply the space
        global_dims.append((path, cands))
    scalars = {path: value_of(path) for path in _SCALARS}

    arch = plan.model_architecture
    models_value = value_of("model_architecture.model")
    models: list[tuple[Any, list[tuple[str, list[Any]]]]] = []
    for model in models_value or []:
        dims: list[tuple[str, list[Any]]] = []
        names = _GNN_DIMS if isinstance(model, GNNModelPlan) else _GT_DIMS
        for name in names:
            cands = list(getattr(model, name))
            if name == "channels" and arch.channels is not None:
                cands = list(arch.channels)  # deprecated architecture-level override
            if name == "aggregation" and arch.aggregation is not None:
                cands = [list(a) for a in arch.aggregation]
            dims.append((f"model.{name}", cands))
        models.append((model, dims))
    if missing:
        raise PlanError(
            "Cannot sample trials: these plan fields are still '???': "
            + ", ".join(missing)
            + ". Start from suggest_model_plan(...) or call plan.fill_missing(suggested)."
        )
    return _Space(global_dims, models, scalars)


def _hop_specs(scheme: Any) -> tuple[HopSpec, ...]:
    if isinstance(scheme, NumNeighborsConfig):
        hops: list[HopSpec] = []
        for hop in scheme.hops:
            assert isinstance(hop, HopConfig)
            over = {k: hop.default if v == INFERRED else int(v) for k, v in hop.overrides.items()}
            hops.append(HopSpec.of(hop.default, over))
        return tuple(hops)
    return tuple(HopSpec.of(int(k)) for k in scheme)


def _loss_spec(loss: Any) -> LossSpec:
    name = _plain(loss) if isinstance(loss, str) else loss.name
    if isinstance(loss, str):
        if name == "focal":
            return LossSpec("focal", alpha=0.25, gamma=2.0)
        if name == "huber":
            return LossSpec("huber", delta=1.0)
        if name == "ordinal_log":
            return LossSpec("ordinal_log", alpha=1.0)
        return LossSpec(str(name))
    if name == "focal":
        return LossSpec("focal", alpha=loss.alpha, gamma=loss.gamma)
    if name == "huber":
        return LossSpec("huber", delta=loss.delta)
    if name == "quantile":
        return LossSpec("quantile", q=loss.q)
    return LossSpec("ordinal_log", alpha=loss.alpha)


def _sched_spec(cfg: LRSchedulerConfig | None) -> LRSchedulerSpec | None:
    if cfg is None:
        return None
    name = str(_plain(cfg.name))
    interval = str(_plain(cfg.interval))
    kw = cfg.kwargs
    warm_default = 0.1 if "warmup" in name else 0.0
    cycles = int(kw.get("num_cycles", kw["num_restarts"] + 1 if "num_restarts" in kw else 2))
    gamma = float(kw.get("gamma", 0.95))
    return LRSchedulerSpec(
        name=name,
        interval=interval,
        warmup_ratio_or_steps=float(kw.get("warmup_ratio_or_steps", warm_default)),
        num_cycles=cycles if name == "cosine_with_warmup_restarts" else 1,
        gamma=gamma if name == "exponential" else 1.0,
    )


def _early_spec(cfg: EarlyStoppingConfig | None) -> EarlyStoppingSpec | None:
    return None if cfg is None else EarlyStoppingSpec(cfg.min_delta, cfg.patience)


def _make_trial(space: _Space, index: int, trial_index: int, seed: int) -> TrialSettings:
    m, picks = space.decode(index)
    model, model_dims = space.models[m]
    vals: dict[str, Any] = {}
    for name, cands in [*space.global_dims, *model_dims]:
        vals[name] = cands[picks[name]]
    s = space.scalars
    is_gnn = isinstance(model, GNNModelPlan)
    lookup = vals["optimization.lookup_optimization"]
    pos = vals.get("model.positional_encodings")

    def opt_plain(v: Any) -> Any:
        return None if v is None else str(_plain(v))

    # the cap on other rows of the entity table: "inferred" = none; 0 without that table
    max_tn = vals["neighbor_sampling.max_target_neighbors_per_entity"]
    cap = int(max_tn) if max_tn != INFERRED and int(max_tn) >= 0 else None
    if not s["neighbor_sampling.sample_from_entity_table"]:
        cap = 0
    aggr = tuple(str(_plain(a)) for a in vals["model.aggregation"]) if is_gnn else ()
    base = TrialSettings()
    return TrialSettings(
        trial_index=trial_index,
        seed=seed,
        model="GNN" if is_gnn else "GraphTransformer",
        channels=int(vals["model.channels"]),
        transformer_layers=base.transformer_layers if is_gnn else int(vals["model.num_layers"]),
        num_heads=base.num_heads if is_gnn else int(vals["model.num_heads"]),
        positional_encodings=tuple(str(_plain(p)) for p in pos) if pos else (),
        aggr=aggr or DEFAULT_AGGR,
        dropout=float(vals["model.dropout"]),
        num_pre_layers=int(vals["model_architecture.num_pre_message_passing_layers"]),
        num_post_layers=int(vals["model_architecture.num_post_message_passing_layers"]),
        activation=str(_plain(vals["model_architecture.activation"])),
        normalization=opt_plain(vals["model_architecture.normalization"]),
        prediction_time_encodings=bool(vals["model_architecture.prediction_time_encodings"]),
        past_encoder=opt_plain(vals["model_architecture.past_encoder"]),
        num_neighbors=_hop_specs(vals["neighbor_sampling.num_neighbors"]),
        adaptive_sampling=bool(s["neighbor_sampling.adaptive_sampling"]),
        max_target_neighbors_per_entity=cap,
        loss=_loss_spec(vals["optimization.loss"]),
        optimizer=str(_plain(vals["optimization.optimizer"])),
        base_lr=float(vals["optimization.base_lr"]),
        weight_decay=float(vals["optimization.weight_decay"]),
        batch_size=int(vals["optimization.batch_size"]),
        lr_scheduler=_sched_spec(vals["optimization.lr_scheduler"]),
        early_stopping=_early_spec(vals["optimization.early_stopping"]),
        majority_sampling_ratio=vals["optimization.majority_sampling_ratio"],
        weight_mode=opt_plain(vals["optimization.weight_mode"]),
        max_epochs=int(s["optimization.max_epochs"]),
        min_steps_per_epoch=int(s["optimization.min_steps_per_epoch"]),
        max_steps_per_epoch=int(s["optimization.max_steps_per_epoch"]),
        max_val_steps=int(s["optimization.max_val_steps"]),
        max_test_steps=int(s["optimization.max_test_steps"]),
        handle_new_target_entities=bool(s["model_architecture.handle_new_target_entities"]),
        target_fraction=float(vals["optimization.target_fraction"]),
        lp_module=str(_plain(s["model_architecture.module"])),
        target_embedding_mode=str(_plain(vals["model_architecture.target_embedding_mode"])),
        output_embedding_dim=int(vals["model_architecture.output_embedding_dim"]),
        distance_measure=str(_plain(vals["model_architecture.distance_measure"])),
        ranking_embedding_loss_coeff=float(vals["model_architecture.ranking_embedding_loss_coeff"]),
        embedding_norm_reg_coeff=float(vals["model_architecture.embedding_norm_reg_coeff"]),
        lookup_optimizer=(str(_plain(lookup.optimizer)).lower()
                          if isinstance(lookup, OptimizerConfig) else None),
        lookup_lr=float(lookup.base_lr) if isinstance(lookup, OptimizerConfig) else None,
        choices=(*sorted(picks.items()), ("model_architecture.model", m)),
    )


def _valid_point(space: _Space, index: int) -> bool:
    """GraphTransformer points need ``channels`` divisible by ``num_heads``."""
    m, picks = space.decode(index)
    model, dims = space.models[m]
    if isinstance(model, GraphTransformerModelPlan):
        cands = dict(dims)
        return (
            cands["model.channels"][picks["model.channels"]]
            % (cands["model.num_heads"][picks["model.num_heads"]])
            == 0
        )
    return True


_ENUMERATE_LIMIT = 20_000


def _sample_checked(space: _Space, total: int, want: int, rng: random.Random) -> list[int]:
    """Like the plain path, but skipping invalid (GraphTransformer head) points."""
    limit = min(total, _ENUMERATE_LIMIT)
    first = next((i for i in range(limit) if _valid_point(space, i)), None)
    if first is None:
        raise PlanError(
            "The search space has no valid point (GraphTransformer channels must be "
            "divisible by num_heads)."
        )
    chosen = [first]
    if want <= 0:
        return chosen
    if total <= _ENUMERATE_LIMIT:
        rest = [i for i in range(total) if i != first and _valid_point(space, i)]
        return chosen + rng.sample(rest, min(want, len(rest)))
    seen = {first}
    attempts = 0
    while len(chosen) < want + 1 and attempts < 100 * (want + 1):
        attempts += 1
        i = rng.randrange(total)
        if i in seen:
            continue
        seen.add(i)
        if _valid_point(space, i):
            chosen.append(i)
    return chosen


def search_space_size(
    plan: ModelPlan,
    *,
    task_type: TaskType | str | None = None,
    query_type: QueryType | str | None = None,
    has_weight_col: bool = False,
) -> int:
    """Number of points of the plan's search space (before the GT head check)."""
    task = TaskType(task_type) if task_type is not None else None
    query = QueryType(query_type) if query_type is not None else None
    return _build_space(plan, task, query, has_weight_col).size


def sample_trials(
    plan: ModelPlan,
    num_trials: int,
    seed: int | None = None,
    *,
    task_type: TaskType | str | None = None,
    query_type: QueryType | str | None = None,
    has_weight_col: bool = False,
) -> list[TrialSettings]:
    """Sample ``num_trials`` distinct trials from the plan's search space.

    * Trial 0 is the first candidate of every tunable list (first model candidate first).
    * The others are drawn uniformly without replacement from the remaining points;
      the result is deterministic for a given ``seed`` (``None`` = nondeterministic).
    * Fewer trials are returned when the space has fewer (valid) points.
    * With ``task_type`` (and ``query_type``), lists of fields that do not apply to the
      task are cut to their first candidate so they do not create duplicate trials.
    * GraphTransformer points whose ``channels`` is not divisible by ``num_heads`` are
      skipped.
    * ``TrialSettings.seed`` = ``training_job.manual_seed`` (else ``seed``, else 0) plus the
      trial index.

    Raises:
        PlanError: when ``num_trials < 1`` or a field that drives training is still MISSING.
    """
    if isinstance(num_trials, bool) or not isinstance(num_trials, int) or num_trials < 1:
        raise PlanError(f"num_trials must be an integer >= 1 (got {num_trials!r})")
    task = TaskType(task_type) if task_type is not None else None
    query = QueryType(query_type) if query_type is not None else None
    space = _build_space(plan, task, query, has_weight_col)
    total = space.size
    rng = random.Random(seed)

    if total == 0:
        raise PlanError("The search space is empty (no model candidates).")
    want = num_trials - 1
    if space.all_valid():
        chosen = [0] + [i + 1 for i in rng.sample(range(total - 1), min(want, total - 1))]
    else:
        chosen = _sample_checked(space, total, want, rng)
    manual = plan.training_job.manual_seed
    base_seed = manual if manual is not None else (seed if seed is not None else 0)
    return [
        _make_trial(space, index, trial_index=t, seed=base_seed + t)
        for t, index in enumerate(chosen)
    ]


# ---------------------------------------------------------------------------------------
# Pruning
# ---------------------------------------------------------------------------------------


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


class Pruner:
    """Decide whether a running trial lags the best trial so far (``PruningConfig``).

    Both histories hold the validation tune metric after each epoch (index 0 = epoch 1);
    ``None``/NaN entries count as "no result". With ``higher_is_better`` (``False`` for
    losses / errors such as ``mae``):

    * the trial's *score* at epoch ``e`` is its best value over its last ``k`` epochs
      (``k`` smooths noisy validation curves);
    * the *reference* at epoch ``e`` is the best value the best trial had reached by its
      epoch ``e`` (its overall best when it ran fewer epochs);
    * epoch ``e`` *lags* when the score is worse than the reference by more than
      ``min_delta`` (or the trial has no valid score yet);
    * a trial is pruned once it has run at least ``min_epochs`` epochs and its last
      ``patience`` epochs all lag. Without a best history, or with ``config=None``,
      nothing is pruned.
    """

    def __init__(self, config: PruningConfig | None, higher_is_better: bool = True) -> None:
        self.config = config
        self.higher_is_better = higher_is_better

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b

    def _best(self, values: Sequence[float | None]) -> float | None:
        best: float | None = None
        for v in values:
            if _finite(v) and (best is None or self._better(float(v), best)):  # type: ignore[arg-type]
                best = float(v)  # type: ignore[arg-type]
        return best

    def lags(
        self,
        trial_history: Sequence[float | None],
        best_history: Sequence[float | None],
        epoch: int,
    ) -> bool:
        """Whether the trial lags the reference at ``epoch`` (1-based)."""
        cfg = self.config or PruningConfig()
        ref = self._best(best_history[: max(1, min(epoch, len(best_history)))])
        if ref is None:
            return False
        score = self._best(trial_history[max(0, epoch - cfg.k) : epoch])
        if score is None:
            return True
        if self.higher_is_better:
            return score < ref - cfg.min_delta
        return score > ref + cfg.min_delta

    def should_prune(
        self, trial_history: Sequence[float | None], best_history: Sequence[float | None]
    ) -> bool:
        """Whether to stop the trial now (see the class docstring)."""
        cfg = self.config
        if cfg is None or not best_history or self._best(best_history) is None:
            return False
        epochs = len(trial_history)
        if epochs < cfg.min_epochs or epochs < cfg.patience:
            return False
        return all(
            self.lags(trial_history, best_history, e)
            for e in range(epochs - cfg.patience + 1, epochs + 1)
        )
