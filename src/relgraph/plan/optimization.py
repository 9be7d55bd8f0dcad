"""The optimization sub-plan (``plan.optimization``) and its building blocks: early
stopping, pruning, learning-rate schedulers, optimizers and loss configs."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, model_validator

from relgraph.plan.base import _lst, _PlanBase, _SectionBase, _sub
from relgraph.plan.checks import (
    _TUNABLE,
    _V,
    LP_TASKS,
    Metadata,
    _Checker,
    _custom,
    _enum,
    _FieldError,
    _float,
    _int,
    _m,
    _opt,
    _or_inferred,
    _supported,
    _tunable,
)
from relgraph.plan.enums import (
    MISSING,
    LossType,
    LRSchedulerType,
    MissingType,
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

    min_epochs: Annotated[int, _V(_int(1))] = 2
    k: Annotated[int, _V(_int(1))] = 3
    min_delta: Annotated[float, _V(_float(ge=0.0))] = 0.0
    patience: Annotated[int, _V(_int(1))] = 1


class EarlyStoppingConfig(_PlanBase):
    """Stop a trial after ``patience`` epochs without a ``min_delta`` improvement."""

    min_delta: Annotated[float, _V(_float(ge=0.0))] = 0.0
    patience: Annotated[int, _V(_int(1))] = 3


_SCHED_KWARGS: dict[str, set[str]] = {
    "constant_with_warmup": {"warmup_ratio_or_steps"},
    "linear_with_warmup": {"warmup_ratio_or_steps"},
    "cosine_with_warmup": {"warmup_ratio_or_steps"},
    "cosine_with_warmup_restarts": {"warmup_ratio_or_steps", "num_cycles", "num_restarts"},
    "exponential": {"gamma"},
}


def _sched_kwargs(v: Any) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise _FieldError("must be a dict of keyword arguments", v)
    return dict(v)


class LRSchedulerConfig(_PlanBase):
    """Learning-rate schedule.

    kwargs: ``warmup_ratio_or_steps`` (float < 1 = fraction of all steps, >= 1 = number of
    steps) for the ``*_with_warmup*`` schedules, ``num_cycles`` (or ``num_restarts``, int >= 1)
    for ``cosine_with_warmup_restarts``, ``gamma`` (0 < gamma <= 1) for ``exponential``.
    """

    name: Annotated[str, _V(_enum(LRSchedulerType))]
    interval: Annotated[str, _V(_enum(SchedulerInterval))] = SchedulerInterval.STEP
    kwargs: Annotated[dict[str, Any], _V(_sched_kwargs)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_kwargs(self) -> LRSchedulerConfig:
        allowed = _SCHED_KWARGS[str(self.name)]
        for key, val in self.kwargs.items():
            sub = f".kwargs.{key}"
            if key not in allowed:
                raise _custom(
                    f"unknown keyword for scheduler '{self.name}'; allowed: {sorted(allowed)}",
                    key,
                    sub,
                )
            try:
                if key == "warmup_ratio_or_steps":
                    _float(ge=0.0)(val)
                elif key in ("num_cycles", "num_restarts"):
                    _int(1)(val)
                elif key == "gamma":
                    _float(gt=0.0, le=1.0)(val)
            except _FieldError as e:
                raise _custom(e.reason, val, sub) from None
        return self


class OptimizerConfig(_PlanBase):
    """Optimizer for link-prediction lookup embeddings."""

    optimizer: Annotated[str, _V(_enum(OptimizerType))]
    base_lr: Annotated[float, _V(_float(gt=0.0))]


def _fixed_name(name: str) -> _Checker:
    def check(v: Any) -> str:
        if v != name:
            raise _FieldError(f"must be '{name}'", v)
        return name

    return check


class FocalLossConfig(_PlanBase):
    """Focal loss (binary / multilabel classification)."""

    name: Annotated[Literal["focal"], _V(_fixed_name("focal"))] = "focal"
    alpha: Annotated[float, _V(_float(gt=0.0, lt=1.0))] = 0.25
    gamma: Annotated[float, _V(_float(ge=1.0))] = 2.0


class HuberLossConfig(_PlanBase):
    """Huber loss (regression / forecasting)."""

    name: Annotated[Literal["huber"], _V(_fixed_name("huber"))] = "huber"
    delta: Annotated[float, _V(_float(gt=0.0))] = 1.0


class QuantileLossConfig(_PlanBase):
    """Single-quantile (pinball) loss (regression / forecasting)."""

    name: Annotated[Literal["quantile"], _V(_fixed_name("quantile"))] = "quantile"
    q: Annotated[float, _V(_float(ge=0.0, le=1.0))] = 0.5


class OrdinalLogLossConfig(_PlanBase):
    """Ordinal log loss (multiclass classification / multilabel ranking)."""

    name: Annotated[Literal["ordinal_log"], _V(_fixed_name("ordinal_log"))] = "ordinal_log"
    alpha: Annotated[float, _V(_float(ge=0.0))] = 1.0


LossConfig = Union[  # noqa: UP007
    FocalLossConfig, HuberLossConfig, QuantileLossConfig, OrdinalLogLossConfig
]
LossCandidate = Union[str, LossConfig]  # noqa: UP007
_LOSS_CONFIGS: dict[str, type[_PlanBase]] = {
    "focal": FocalLossConfig,
    "huber": HuberLossConfig,
    "quantile": QuantileLossConfig,
    "ordinal_log": OrdinalLogLossConfig,
}
_loss_name = _enum(LossType)


def _loss(v: Any) -> Any:
    if isinstance(v, (FocalLossConfig, HuberLossConfig, QuantileLossConfig, OrdinalLogLossConfig)):
        return v
    if isinstance(v, dict):
        name = v.get("name")
        if name in _LOSS_CONFIGS:
            return _LOSS_CONFIGS[name]._parse(v)
        if set(v) == {"name"}:
            return _loss_name(name)
        raise _FieldError(
            f"'name' must be one of {list(_LOSS_CONFIGS)} for a loss config", name, ".name"
        )
    if isinstance(v, str) and v.strip().lower() == "quantile":
        raise _FieldError("use QuantileLossConfig(q=...) for the quantile loss", v)
    try:
        return _loss_name(v)
    except _FieldError as e:
        e.reason += " or a loss config object"
        raise


def _loss_key(loss: Any) -> str:
    """The loss name of a loss entry (``LossType`` or config)."""
    if isinstance(loss, Enum):
        return str(loss.value)
    return str(getattr(loss, "name", loss))



def _early_stop(v: Any) -> Any:
    return _opt(_sub(EarlyStoppingConfig))(v)


def _lr_sched(v: Any) -> Any:
    if isinstance(v, (str, Enum)):
        return LRSchedulerConfig(name=_enum(LRSchedulerType)(v))
    return _opt(_sub(LRSchedulerConfig))(v)


def _lookup_opt(v: Any) -> Any:
    return _or_inferred(_sub(OptimizerConfig))(v)


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

    max_epochs: Annotated[int | MissingType, _V(_m(_int(1)))] = MISSING
    min_steps_per_epoch: Annotated[int | MissingType, _V(_m(_int(1, 4000)))] = MISSING
    max_steps_per_epoch: Annotated[int | MissingType, _V(_m(_int(1)))] = MISSING
    max_val_steps: Annotated[int | MissingType, _V(_m(_int(1, 8000)))] = MISSING
    max_test_steps: Annotated[int | MissingType, _V(_m(_int(1, 8000)))] = MISSING
    loss: Annotated[list[LossCandidate] | MissingType, _V(_tunable(_loss))] = MISSING
    optimizer: Annotated[list[str] | MissingType, _V(_tunable(_enum(OptimizerType)))] = Field(
        default_factory=_lst(OptimizerType.ADAM)
    )
    base_lr: Annotated[list[float] | MissingType, _V(_tunable(_float(gt=0.0)))] = Field(
        default_factory=_lst(1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2)
    )
    weight_decay: Annotated[list[float] | MissingType, _V(_tunable(_float(ge=0.0)))] = Field(
        default_factory=_lst(0.0, 5e-8, 5e-7, 5e-6)
    )
    batch_size: Annotated[list[int] | MissingType, _V(_tunable(_int(1, 2048)))] = Field(
        default_factory=_lst(512, 1024)
    )
    lookup_optimization: Annotated[
        list[OptimizerConfig | str] | MissingType, _V(_tunable(_lookup_opt))
    ] = MISSING
    early_stopping: Annotated[
        list[EarlyStoppingConfig | None] | MissingType, _V(_tunable(_early_stop))
    ] = Field(default_factory=_lst(EarlyStoppingConfig(min_delta=0.0, patience=3)))
    lr_scheduler: Annotated[
        list[LRSchedulerConfig | None] | MissingType, _V(_tunable(_lr_sched))
    ] = Field(default_factory=_default_lr_schedulers)
    majority_sampling_ratio: Annotated[
        list[float | None] | MissingType, _V(_tunable(_opt(_float(gt=0.0))))
    ] = Field(default_factory=_lst(None))
    weight_mode: Annotated[
        list[str | None] | MissingType, _V(_tunable(_opt(_enum(WeightMode))))
    ] = MISSING
    target_fraction: Annotated[list[float] | MissingType, _V(_tunable(_float(ge=0.0, le=1.0)))] = (
        MISSING
    )
    overlap_ratio: Annotated[list[float] | MissingType, _V(_tunable(_supported(
        _float(ge=0.0, le=1.0), lambda v: v == 1.0,
        "must be 1.0: relgraph always passes messages over every supervision edge of a "
        "static link-prediction task (full overlap)")))] = (
        MISSING
    )

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
