"""The settings one training trial runs with: :class:`TrialSettings`, one point of the plan's
search space made concrete (sampled by :func:`relgraph.training.automl.sample_trials`, saved
with a model in ``model.json``), and the frozen value types of its fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

__all__ = ["DEFAULT_AGGR", "EarlyStoppingSpec", "HopSpec", "LRSchedulerSpec", "LossSpec",
           "TrialSettings"]

#: GNN aggregations when a trial names none (GraphTransformer trials).
DEFAULT_AGGR: tuple[str, ...] = ("sum", "mean", "max")


class HopSpec(dict[str, int]):
    """One sampled hop: a read-only dict ``{"default": 16, "A.x->B.y": 128}``.

    The form :func:`relgraph.sampling.num_neighbors.resolve_num_neighbors` accepts; it
    survives ``dataclasses.asdict`` and JSON as a plain dict. ``default`` is the count per
    edge type, the other keys are per-edge overrides (``"inferred"`` overrides in the plan
    resolve to the hop default). Build one with :meth:`of`.
    """

    @classmethod
    def of(cls, default: int, overrides: Mapping[str, int] | None = None) -> HopSpec:
        return cls({"default": int(default), **{k: int(v) for k, v in (overrides or {}).items()}})

    @property
    def default(self) -> int:
        return int(self["default"])

    @property
    def overrides(self) -> dict[str, int]:
        return {k: v for k, v in self.items() if k != "default"}

    def to_plain(self) -> int | dict[str, int]:
        """``default`` alone when there are no overrides, else the dict form."""
        return self.default if len(self) == 1 and "default" in self else dict(self)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("HopSpec is read-only")

    __setitem__ = _readonly  # type: ignore[assignment]
    __delitem__ = _readonly  # type: ignore[assignment]
    clear = _readonly  # type: ignore[assignment]
    pop = _readonly  # type: ignore[assignment]
    popitem = _readonly  # type: ignore[assignment]
    setdefault = _readonly  # type: ignore[assignment]
    update = _readonly  # type: ignore[assignment]


@dataclass(frozen=True)
class LossSpec:
    """A resolved loss: ``name`` plus the parameters its config defines.

    ``focal``: ``alpha``, ``gamma``; ``huber``: ``delta``; ``quantile``: ``q``;
    ``ordinal_log``: ``alpha``. Other losses have no parameters (all ``None``).
    """

    name: str
    alpha: float | None = None
    gamma: float | None = None
    delta: float | None = None
    q: float | None = None


@dataclass(frozen=True)
class EarlyStoppingSpec:
    """Stop after ``patience`` epochs without an improvement of more than ``min_delta``."""

    min_delta: float
    patience: int


@dataclass(frozen=True)
class LRSchedulerSpec:
    """A resolved learning-rate schedule.

    ``warmup_ratio_or_steps``: < 1 = fraction of the total steps, >= 1 = number of steps
    (default 0.1 for the ``*_with_warmup*`` schedules, 0 otherwise); ``num_cycles`` for
    ``cosine_with_warmup_restarts`` (``num_restarts`` r in the plan means r + 1 cycles;
    default 2); ``gamma`` for ``exponential`` (decay factor per epoch, default 0.95).
    :attr:`kwargs` gives the same values in the plan's ``LRSchedulerConfig.kwargs`` form.
    """

    name: str
    interval: str = "step"
    warmup_ratio_or_steps: float = 0.0
    num_cycles: int = 1
    gamma: float = 1.0

    @property
    def kwargs(self) -> dict[str, Any]:
        """``{"warmup_ratio_or_steps", "num_cycles", "gamma"}`` as in ``LRSchedulerConfig``."""
        return {
            "warmup_ratio_or_steps": self.warmup_ratio_or_steps,
            "num_cycles": self.num_cycles,
            "gamma": self.gamma,
        }

    def warmup_steps(self, total_steps: int) -> int:
        """Warmup length in scheduler intervals for ``total_steps`` intervals in all."""
        w = self.warmup_ratio_or_steps
        steps = round(w * total_steps) if w < 1 else int(w)
        return max(0, min(steps, total_steps))


_Spec = TypeVar("_Spec", LossSpec, EarlyStoppingSpec, LRSchedulerSpec)


def _spec(cls: type[_Spec], saved: Mapping[str, Any] | None) -> _Spec | None:
    """A spec from its saved dict (unknown keys ignored)."""
    if saved is None:
        return None
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in saved.items() if k in names})


def _hop(saved: int | Mapping[str, int]) -> HopSpec:
    return HopSpec.of(saved) if isinstance(saved, int) else HopSpec(saved)


@dataclass(frozen=True)
class TrialSettings:
    """Concrete values of one trial: which AutoML trial it is (``trial_index``, ``seed``,
    the candidate picked per tunable list in ``choices``) and everything training reads.

    The defaults are a plain GNN trial (tests and tools build one with a few overrides);
    plan trials fill every field from the plan. Enum values are plain strings.
    """

    trial_index: int = 0
    seed: int = 0
    # model
    model: str = "GNN"                     # "GNN" or "GraphTransformer"
    channels: int = 64
    transformer_layers: int = 4            # GraphTransformer only
    num_heads: int = 8                     # GraphTransformer only
    positional_encodings: tuple[str, ...] = ()
    aggr: tuple[str, ...] = DEFAULT_AGGR   # GNN only
    dropout: float = 0.0
    num_pre_layers: int = 0
    num_post_layers: int = 1
    activation: str = "relu"
    normalization: str | None = "layer_norm"
    prediction_time_encodings: bool = False  # calendar features of the anchor time
    past_encoder: str | None = None          # encoder of the seed's past targets
    residual: bool = False                   # corrects the GBDT learner (hybrid models)
    # sampling
    num_neighbors: tuple[HopSpec, ...] = (HopSpec.of(16), HopSpec.of(16))
    sampling_strategy: str = "uniform"
    adaptive_sampling: bool = False
    max_target_neighbors_per_entity: int | None = None  # None: no cap
    # optimization
    loss: LossSpec | None = None
    optimizer: str = "adam"
    base_lr: float = 5e-3
    weight_decay: float = 0.0
    batch_size: int = 512
    lr_scheduler: LRSchedulerSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    majority_sampling_ratio: float | None = None
    weight_mode: str | None = None
    max_epochs: int = 8
    min_steps_per_epoch: int = 1
    max_steps_per_epoch: int = 1000
    max_val_steps: int = 1000
    max_test_steps: int = 1000
    # link prediction
    handle_new_target_entities: bool = False
    target_fraction: float = 1.0
    lp_module: str = "context"
    target_embedding_mode: str = "lookup"
    output_embedding_dim: int = 32
    distance_measure: str = "dot_product"
    ranking_embedding_loss_coeff: float = 0.0
    embedding_norm_reg_coeff: float = 0.0
    lookup_optimizer: str | None = None      # None: the lookup embeddings use `optimizer`
    lookup_lr: float | None = None
    # which candidate of every tunable list was picked ("optimization.base_lr" -> index)
    choices: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    @property
    def num_layers(self) -> int:
        """GNN layers: one per hop."""
        return len(self.num_neighbors)

    def num_neighbors_spec(self) -> list[int | dict[str, int]]:
        """Plain per-hop form: ``[16, 8]`` or ``[{"default": 16, "A.x->B.y": 128}, ...]``."""
        return [h.to_plain() for h in self.num_neighbors]

    def describe(self) -> str:
        """One-line summary of the main hyper-parameters."""
        hops = "x".join(str(h.get("default", 0)) for h in self.num_neighbors)
        sched = self.lr_scheduler.name if self.lr_scheduler else "none"
        loss = self.loss.name if self.loss else "default"
        return (f"trial {self.trial_index}: {self.model}(channels={self.channels}, "
                f"hops={hops}, pre={self.num_pre_layers}, post={self.num_post_layers}, "
                f"act={self.activation}, norm={self.normalization}) loss={loss} "
                f"{self.optimizer}(lr={self.base_lr:g}, wd={self.weight_decay:g}) "
                f"batch={self.batch_size} sched={sched}"
                + (" residual" if self.residual else ""))

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> TrialSettings:
        """Settings saved with a model (``model.json``, :meth:`to_dict`); unknown keys are
        ignored and missing ones take their default, so older models still load."""
        values = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        for key in ("aggr", "positional_encodings"):
            if key in values:
                values[key] = tuple(values[key])
        if "num_neighbors" in values:
            values["num_neighbors"] = tuple(_hop(h) for h in values["num_neighbors"])
        if "choices" in values:
            values["choices"] = tuple((str(k), int(v)) for k, v in dict(values["choices"]).items())
        if "loss" in values:
            loss = values["loss"]
            values["loss"] = LossSpec(loss) if isinstance(loss, str) else _spec(LossSpec, loss)
        if "early_stopping" in values:
            values["early_stopping"] = _spec(EarlyStoppingSpec, values["early_stopping"])
        if "lr_scheduler" in values:
            values["lr_scheduler"] = _spec(LRSchedulerSpec, values["lr_scheduler"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (``model.json``, the job's ``meta.json``)."""
        out = asdict(self)
        out["num_neighbors"] = [dict(h) for h in self.num_neighbors]
        out["choices"] = dict(self.choices)
        for key in ("aggr", "positional_encodings"):
            out[key] = list(out[key])
        return out
