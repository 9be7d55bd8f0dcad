"""The optimization sub-plan (``plan.optimization``) and its building blocks: early
stopping, pruning, learning-rate schedulers, optimizers and loss configs."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator
from typing_extensions import TypedDict

from relgraph.plan.base import _lst, _PlanBase, _SectionBase
from relgraph.plan.checks import (
    _TUNABLE,
    LP_TASKS,
    Broken,
    Float,
    Int,
    Metadata,
    Missable,
    OrInferred,
    Rule,
    Tunable,
    supported,
)
from relgraph.plan.enums import (
    MISSING,
    LossType,
    LRSchedulerType,
    OptimizerType,
    SchedulerInterval,
    WeightMode,
)
from relgraph.task import TaskType

# ---------------------------------------------------------------------------------------
# Small config objects
# ---------------------------------------------------------------------------------------


class PruningConfig(_PlanBase):
    """Early-kill of unpromising AutoML trials; see :class:`relgraph.training.automl.Pruner`."""

    min_epochs: Annotated[Int, Field(ge=1)] = 2
    k: Annotated[Int, Field(ge=1)] = 3
    min_delta: Annotated[Float, Field(ge=0.0)] = 0.0
    patience: Annotated[Int, Field(ge=1)] = 1


class EarlyStoppingConfig(_PlanBase):
    """Stop a trial after ``patience`` epochs without a ``min_delta`` improvement."""

    min_delta: Annotated[Float, Field(ge=0.0)] = 0.0
    patience: Annotated[Int, Field(ge=1)] = 3


_SCHED_KWARGS: dict[str, set[str]] = {
    "constant_with_warmup": {"warmup_ratio_or_steps"},
    "linear_with_warmup": {"warmup_ratio_or_steps"},
    "cosine_with_warmup": {"warmup_ratio_or_steps"},
    "cosine_with_warmup_restarts": {"warmup_ratio_or_steps", "num_cycles", "num_restarts"},
    "exponential": {"gamma"},
}


class SchedulerKwargs(TypedDict, total=False):
    """Keyword arguments of the learning-rate schedules (which apply: ``_SCHED_KWARGS``)."""

    warmup_ratio_or_steps: Annotated[Float, Field(ge=0.0)]
    num_cycles: Annotated[Int, Field(ge=1)]
    num_restarts: Annotated[Int, Field(ge=1)]
    gamma: Annotated[Float, Field(gt=0.0, le=1.0)]


SchedulerKwargs.__pydantic_config__ = {"extra": "allow"}  # type: ignore[attr-defined]


class LRSchedulerConfig(_PlanBase):
    """Learning-rate schedule.

    kwargs: ``warmup_ratio_or_steps`` (float < 1 = fraction of all steps, >= 1 = number of
    steps) for the ``*_with_warmup*`` schedules, ``num_cycles`` (or ``num_restarts``, int >= 1)
    for ``cosine_with_warmup_restarts``, ``gamma`` (0 < gamma <= 1) for ``exponential``.
    """

    name: LRSchedulerType
    interval: SchedulerInterval = SchedulerInterval.STEP
    kwargs: Annotated[
        SchedulerKwargs,
        BeforeValidator(lambda v: {} if v is None else v),
        Rule("must be a dict of keyword arguments"),
    ] = Field(default_factory=SchedulerKwargs)

    @model_validator(mode="after")
    def _check_kwargs(self) -> LRSchedulerConfig:
        allowed = _SCHED_KWARGS[str(self.name)]
        for key in self.kwargs:
            if key not in allowed:
                raise Broken(
                    f"unknown keyword for scheduler '{self.name}'; allowed: {sorted(allowed)}",
                    key,
                    "kwargs",
                    key,
                )
        return self


class OptimizerConfig(_PlanBase):
    """Optimizer for link-prediction lookup embeddings."""

    optimizer: OptimizerType
    base_lr: Annotated[Float, Field(gt=0.0)]


class FocalLossConfig(_PlanBase):
    """Focal loss (binary / multilabel classification)."""

    name: Literal["focal"] = "focal"
    alpha: Annotated[Float, Field(gt=0.0, lt=1.0)] = 0.25
    gamma: Annotated[Float, Field(ge=1.0)] = 2.0


class HuberLossConfig(_PlanBase):
    """Huber loss (regression / forecasting)."""

    name: Literal["huber"] = "huber"
    delta: Annotated[Float, Field(gt=0.0)] = 1.0


class QuantileLossConfig(_PlanBase):
    """Single-quantile (pinball) loss (regression / forecasting)."""

    name: Literal["quantile"] = "quantile"
    q: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.5


class OrdinalLogLossConfig(_PlanBase):
    """Ordinal log loss (multiclass classification / multilabel ranking)."""

    name: Literal["ordinal_log"] = "ordinal_log"
    alpha: Annotated[Float, Field(ge=0.0)] = 1.0


LossConfig = Union[  # noqa: UP007
    FocalLossConfig, HuberLossConfig, QuantileLossConfig, OrdinalLogLossConfig
]
_LOSS_CONFIGS: dict[str, type[_PlanBase]] = {
    "focal": FocalLossConfig,
    "huber": HuberLossConfig,
    "quantile": QuantileLossConfig,
    "ordinal_log": OrdinalLogLossConfig,
}


def _loss_name_only(v: Any) -> Any:
    """``{"name": "mae"}`` is the loss ``"mae"``; ``"quantile"`` needs its ``q``."""
    if isinstance(v, dict) and set(v) == {"name"} and v["name"] not in _LOSS_CONFIGS:
        return v["name"]
    if isinstance(v, str) and v.strip().lower() == "quantile":
        raise Broken("use QuantileLossConfig(q=...) for the quantile loss", v)
    return v


def _loss_tag(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("name")
    configs = (FocalLossConfig, HuberLossConfig, QuantileLossConfig, OrdinalLogLossConfig)
    return v.name if isinstance(v, configs) else "loss"


#: A loss: a :class:`LossType` name or a loss config (or its dict form).
LossCandidate = Annotated[
    Union[  # noqa: UP007
        Annotated[
            LossType,
            Tag("loss"),
            Rule(f"must be one of {LossType.values()} or a loss config object"),
        ],
        Annotated[FocalLossConfig, Tag("focal")],
        Annotated[HuberLossConfig, Tag("huber")],
        Annotated[QuantileLossConfig, Tag("quantile")],
        Annotated[OrdinalLogLossConfig, Tag("ordinal_log")],
    ],
    Discriminator(_loss_tag),
    BeforeValidator(_loss_name_only),
    Rule(f"'name' must be one of {list(_LOSS_CONFIGS)} for a loss config"),
]


def _loss_key(loss: Any) -> str:
    """The loss name of a loss entry (``LossType`` or config)."""
    if isinstance(loss, Enum):
        return str(loss.value)
    return str(getattr(loss, "name", loss))


def _scheduler_by_name(v: Any) -> Any:
    return {"name": v} if isinstance(v, (str, Enum)) else v


def _default_lr_schedulers() -> list[LRSchedulerConfig | None]:
    return [
        LRSchedulerConfig(name=n, interval=SchedulerInterval.STEP)
        for n in (
            LRSchedulerType.COSINE_WITH_WARMUP_RESTARTS,
            LRSchedulerType.CONSTANT_WITH_WARMUP,
            LRSchedulerType.LINEAR_WITH_WARMUP,
            LRSchedulerType.COSINE_WITH_WARMUP,
        )
    ]


class OptimizationPlan(_SectionBase):
    """Optimization settings (``model_plan.optimization``).

    ``max_epochs``, ``min_steps_per_epoch``, ``max_steps_per_epoch``, ``max_val_steps``
    and ``max_test_steps`` are scalars; every other field is a tunable list.
    """

    _path: ClassVar[str] = "optimization"

    max_epochs: Missable[Annotated[Int, Field(ge=1)]] = MISSING
    min_steps_per_epoch: Missable[Annotated[Int, Field(ge=1, le=4000)]] = MISSING
    max_steps_per_epoch: Missable[Annotated[Int, Field(ge=1)]] = MISSING
    max_val_steps: Missable[Annotated[Int, Field(ge=1, le=8000)]] = MISSING
    max_test_steps: Missable[Annotated[Int, Field(ge=1, le=8000)]] = MISSING
    loss: Missable[Tunable[LossCandidate]] = MISSING
    optimizer: Missable[Tunable[OptimizerType]] = Field(
        default_factory=_lst(OptimizerType.ADAM)
    )
    base_lr: Missable[Tunable[Annotated[Float, Field(gt=0.0)]]] = Field(
        default_factory=_lst(1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2)
    )
    weight_decay: Missable[Tunable[Annotated[Float, Field(ge=0.0)]]] = Field(
        default_factory=_lst(0.0, 5e-8, 5e-7, 5e-6)
    )
    batch_size: Missable[Tunable[Annotated[Int, Field(ge=1, le=2048)]]] = Field(
        default_factory=_lst(512, 1024)
    )
    lookup_optimization: Missable[Tunable[OrInferred[OptimizerConfig]]] = MISSING
    early_stopping: Missable[Tunable[Optional[EarlyStoppingConfig]]] = Field(  # noqa: UP045
        default_factory=_lst(EarlyStoppingConfig(min_delta=0.0, patience=3))
    )
    lr_scheduler: Missable[
        Tunable[Optional[Annotated[LRSchedulerConfig, BeforeValidator(_scheduler_by_name)]]]  # noqa: UP045
    ] = Field(default_factory=_default_lr_schedulers)
    majority_sampling_ratio: Missable[
        Tunable[Optional[Annotated[Float, Field(gt=0.0)]]]  # noqa: UP045
    ] = Field(default_factory=_lst(None))
    weight_mode: Missable[Tunable[Optional[WeightMode]]] = MISSING  # noqa: UP045
    target_fraction: Missable[Tunable[Annotated[Float, Field(ge=0.0, le=1.0)]]] = MISSING
    overlap_ratio: Missable[
        Tunable[
            Annotated[
                Float,
                Field(ge=0.0, le=1.0),
                supported(
                    lambda v: v == 1.0,
                    "must be 1.0: relgraph always passes messages over every supervision "
                    "edge of a static link-prediction task (full overlap)",
                ),
            ]
        ]
    ] = MISSING

    _meta: ClassVar[dict[str, Metadata]] = {
        "loss": _TUNABLE,
        "optimizer": _TUNABLE,
        "base_lr": _TUNABLE,
        "weight_decay": _TUNABLE,
        "batch_size": _TUNABLE,
        "lookup_optimization": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "early_stopping": _TUNABLE,
        "lr_scheduler": _TUNABLE,
        "majority_sampling_ratio": Metadata(
            tunable=True, valid_task_types=(TaskType.BINARY_CLASSIFICATION,)
        ),
        "weight_mode": Metadata(
            tunable=True,
            valid_task_types=tuple(t for t in TaskType if t is not TaskType.FORECASTING),
        ),
        "target_fraction": Metadata(
            tunable=True, valid_task_types=(TaskType.STATIC_LINK_PREDICTION,)
        ),
        "overlap_ratio": Metadata(
            tunable=True, valid_task_types=(TaskType.STATIC_LINK_PREDICTION,)
        ),
    }
