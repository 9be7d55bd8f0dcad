"""Model plans: the AutoML search space and training settings of a trainer.

Mirrors ``kumoapi.model_plan`` (REFERENCE_API §0/§1): a :class:`ModelPlan` holds five
sections (``training_job``, ``column_processing``, ``neighbor_sampling``,
``optimization``, ``model_architecture``). Fields left at :data:`MISSING` (``"???"``) are
filled by :func:`relgraph.plan.suggest.suggest_model_plan` (run-mode / task-type
dependent). *Tunable* fields hold a list of candidates that AutoML samples from; a scalar
assigned to a tunable field is wrapped into a one-element list.

Every plan validates on construction and on attribute assignment; invalid values raise
:class:`PlanFieldError` (a :class:`relgraph.errors.PlanError`) whose message names the field
path (``optimization.base_lr[0]``), the rule that was broken and the value given.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import numbers
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Optional, TypeVar, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from relgraph.errors import PlanError
from relgraph.task import QueryType, TaskType

__all__ = [
    "INFERRED",
    "MISSING",
    "ActivationType",
    "AggregationType",
    "ColumnProcessingPlan",
    "DistanceMeasure",
    "EarlyStoppingConfig",
    "FocalLossConfig",
    "GNNModelPlan",
    "GraphTransformerModelPlan",
    "HopConfig",
    "HuberLossConfig",
    "InferredType",
    "LRSchedulerConfig",
    "LRSchedulerType",
    "LossType",
    "Metadata",
    "MissingType",
    "ModelArchitecturePlan",
    "ModelPlan",
    "ModuleType",
    "NeighborSamplingPlan",
    "NormalizationType",
    "NumNeighborsConfig",
    "OptimizationPlan",
    "OptimizerConfig",
    "OptimizerType",
    "OrdinalLogLossConfig",
    "PastEncoderType",
    "PlanFieldError",
    "PositionalEncodingType",
    "PruningConfig",
    "QuantileLossConfig",
    "RunMode",
    "SchedulerInterval",
    "TargetEmbeddingMode",
    "TrainingJobPlan",
    "WeightMode",
    "is_missing",
    "is_valid_option",
    "valid_losses",
    "valid_metric",
]


# ---------------------------------------------------------------------------------------
# Enums and sentinels
# ---------------------------------------------------------------------------------------


class _StrEnum(str, Enum):
    """String enum whose ``str()`` is its value."""

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def values(cls) -> list[str]:
        """All values, in declaration order."""
        return [str(m.value) for m in cls]


class RunMode(_StrEnum):
    """Search budget: FAST ≈ 4x faster than NORMAL, BEST ≈ 4x slower; DEBUG = smoke test."""

    FAST = "fast"
    NORMAL = "normal"
    BEST = "best"
    DEBUG = "debug"


class MissingType(_StrEnum):
    """``"???"``: the field is not set; :func:`suggest_model_plan` fills it."""

    VALUE = "???"


class InferredType(_StrEnum):
    """``"inferred"``: explicitly let relgraph infer the value."""

    VALUE = "inferred"


MISSING = MissingType.VALUE
INFERRED = InferredType.VALUE


class LossType(_StrEnum):
    """Loss names accepted in ``optimization.loss``."""

    BINARY_CROSS_ENTROPY = "binary_cross_entropy"
    CROSS_ENTROPY = "cross_entropy"
    FOCAL = "focal"
    ORDINAL_LOG = "ordinal_log"
    MAE = "mae"
    MSE = "mse"
    HUBER = "huber"
    NORMAL_DISTRIBUTION = "normal_distribution"
    NEGATIVE_BINOMIAL_DISTRIBUTION = "negative_binomial_distribution"
    LOG_NORMAL_DISTRIBUTION = "log_normal_distribution"
    MULTI_QUANTILE = "multi_quantile"
    WAPE = "wape"


class OptimizerType(_StrEnum):
    ADAM = "Adam"
    ADAMW = "AdamW"
    ADAGRAD = "Adagrad"


class LRSchedulerType(_StrEnum):
    CONSTANT_WITH_WARMUP = "constant_with_warmup"
    LINEAR_WITH_WARMUP = "linear_with_warmup"
    EXPONENTIAL = "exponential"
    COSINE_WITH_WARMUP = "cosine_with_warmup"
    COSINE_WITH_WARMUP_RESTARTS = "cosine_with_warmup_restarts"


class SchedulerInterval(_StrEnum):
    STEP = "step"
    EPOCH = "epoch"


class WeightMode(_StrEnum):
    SAMPLE = "sample"
    WEIGHTED_LOSS = "weighted_loss"


class AggregationType(_StrEnum):
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    STD = "std"
    VAR = "var"


class ActivationType(_StrEnum):
    RELU = "relu"
    LEAKY_RELU = "leaky_relu"
    ELU = "elu"
    GELU = "gelu"


class NormalizationType(_StrEnum):
    LAYER_NORM = "layer_norm"
    BATCH_NORM = "batch_norm"


class ModuleType(_StrEnum):
    SHALLOW_RHS = "shallow_rhs"
    CONTEXT = "context"
    TWO_TOWER = "two_tower"
    PAIRWISE = "pairwise"
    RANKING = "ranking"  # deprecated: shallow_rhs (static) / context (temporal)
    EMBEDDING = "embedding"  # deprecated: two_tower / shallow_rhs


class TargetEmbeddingMode(_StrEnum):
    LOOKUP = "lookup"
    FEATURE = "feature"
    SHALLOW_FEATURE = "shallow_feature"
    FUSION = "fusion"


class DistanceMeasure(_StrEnum):
    DOT_PRODUCT = "dot_product"
    COSINE = "cosine"


class PastEncoderType(_StrEnum):
    DECOMPOSED = "decomposed"
    NORMALIZED = "normalized"
    MLP = "mlp"
    TRANSFORMER = "transformer"


class PositionalEncodingType(_StrEnum):
    HOP = "hop"
    RANDOM_GNN = "random_gnn"


def is_missing(value: Any) -> bool:
    """Whether ``value`` is the ``"???"`` sentinel."""
    return isinstance(value, str) and value == MISSING.value


def _is_inferred(value: Any) -> bool:
    return isinstance(value, str) and value == INFERRED.value


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class PlanFieldError(PlanError):
    """An invalid plan value; ``field`` is the dotted path, ``reason`` the broken rule."""

    def __init__(self, field: str, reason: str, value: Any, *, relative: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        self.relative = field if relative is None else relative
        super().__init__(f"Invalid value for '{field}': {reason} (got {_short(value)})")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _FieldError(Exception):
    """Raised by checkers; ``sub`` is the path below the field (``[0].alpha``)."""

    def __init__(self, reason: str, value: Any, sub: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value
        self.sub = sub

    def under(self, part: str) -> _FieldError:
        self.sub = part + self.sub
        return self


def _custom(reason: str, value: Any, sub: str = "") -> PydanticCustomError:
    return PydanticCustomError(
        "relgraph_plan", "{reason}", {"reason": reason, "sub": sub, "value": value}
    )


def _join(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and (p.startswith("[") or p.startswith(".")):
            out += p
        elif out:
            out += f".{p}"
        else:
            out = str(p)
    return out


def _first_error(exc: ValidationError, cls: type[BaseModel] | None) -> tuple[str, str, Any]:
    """``(relative path, reason, value)`` of the first error of ``exc``."""
    err = exc.errors()[0]
    loc = list(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    etype = err.get("type")
    if etype == "relgraph_plan":
        path = _join([*loc, ctx.get("sub", "")]) if ctx.get("sub") else _join(loc)
        return path, str(ctx.get("reason")), ctx.get("value")
    inner = ctx.get("error")
    if etype == "value_error" and isinstance(inner, PlanFieldError):
        return _join([*loc, _as_sub(inner.relative)]), inner.reason, inner.value
    if etype == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        reason = "unknown field"
        if cls is not None:
            valid = list(cls.model_fields)
            close = difflib.get_close_matches(name, valid, n=1)
            reason += f"; did you mean '{close[0]}'?" if close else f"; valid fields: {valid}"
        return _join(loc), reason, err.get("input")
    if etype == "missing":
        return _join(loc), "required field is missing", None
    return _join(loc), str(err.get("msg")), err.get("input")


def _as_sub(rel: str) -> str:
    return "." + rel if rel and rel[0] not in "[." else rel


def _full(prefix: str, rel: str) -> str:
    if not prefix:
        return rel
    if not rel:
        return prefix
    return prefix + rel if rel[0] in "[." else f"{prefix}.{rel}"


# ---------------------------------------------------------------------------------------
# Value checkers (return the normalised value or raise _FieldError)
# ---------------------------------------------------------------------------------------

_Checker = Callable[[Any], Any]
_E = TypeVar("_E", bound=_StrEnum)


def _V(chk: _Checker) -> PlainValidator:
    """Wrap a checker as a pydantic validator with structured errors."""

    def run(value: Any) -> Any:
        try:
            return chk(value)
        except _FieldError as e:
            raise _custom(e.reason, e.value, e.sub) from None

    return PlainValidator(run)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _int(lo: int | None = None, hi: int | None = None, even: bool = False) -> _Checker:
    if lo is not None and hi is not None:
        rule = f"an integer in [{lo}, {hi}]"
    elif lo is not None:
        rule = f"an integer >= {lo}"
    else:
        rule = "an integer"
    if even:
        rule = "an even " + rule[3:]

    def check(v: Any) -> int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise _FieldError(f"must be {rule}", v)
        v = int(v)
        if (lo is not None and v < lo) or (hi is not None and v > hi) or (even and v % 2):
            raise _FieldError(f"must be {rule}", v)
        return v

    return check


def _float(
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> _Checker:
    bounds = []
    if gt is not None:
        bounds.append(f"> {gt:g}")
    if ge is not None:
        bounds.append(f">= {ge:g}")
    if lt is not None:
        bounds.append(f"< {lt:g}")
    if le is not None:
        bounds.append(f"<= {le:g}")
    rule = "a number" + (" " + " and ".join(bounds) if bounds else "")

    def check(v: Any) -> float:
        if not _is_num(v) or not math.isfinite(float(v)):
            raise _FieldError(f"must be {rule}", v)
        f = float(v)
        if (
            (gt is not None and not f > gt)
            or (ge is not None and not f >= ge)
            or (lt is not None and not f < lt)
            or (le is not None and not f <= le)
        ):
            raise _FieldError(f"must be {rule}", v)
        return f

    return check


def _bool(v: Any) -> bool:
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return bool(v)
    raise _FieldError("must be a boolean (true/false)", v)


def _supported(chk: _Checker, ok: Callable[[Any], bool], why: str) -> _Checker:
    """``chk``, then refuse values relgraph cannot honour (``why`` says what it does)."""

    def check(v: Any) -> Any:
        out = chk(v)
        if not ok(out):
            raise _FieldError(why, v)
        return out

    return check


def _str(v: Any) -> str:
    if isinstance(v, str) and v.strip():
        return v.strip()
    raise _FieldError("must be a non-empty string", v)


def _enum(cls: type[_E]) -> Callable[[Any], _E]:
    lookup = {m.value.lower(): m for m in cls}

    def check(v: Any) -> _E:
        if isinstance(v, cls):
            return v
        if isinstance(v, str) and v.strip().lower() in lookup:
            return lookup[v.strip().lower()]
        raise _FieldError(f"must be one of {cls.values()}", v)

    return check


def _opt(chk: _Checker, what: str = "None") -> _Checker:
    def check(v: Any) -> Any:
        if v is None:
            return None
        try:
            return chk(v)
        except _FieldError as e:
            if not e.sub:
                e.reason += f" or {what}"
            raise

    return check


def _or_inferred(chk: _Checker) -> _Checker:
    def check(v: Any) -> Any:
        if _is_inferred(v):
            return INFERRED
        try:
            return chk(v)
        except _FieldError as e:
            if not e.sub:
                e.reason += " or 'inferred'"
            raise

    return check


def _m(chk: _Checker) -> _Checker:
    """Allow the MISSING sentinel."""

    def check(v: Any) -> Any:
        if is_missing(v):
            return MISSING
        return chk(v)

    return check


def _tunable(elem: _Checker, is_candidate: Callable[[Any], bool] | None = None) -> _Checker:
    """A non-empty list of candidates; a single candidate is wrapped into a list.

    ``is_candidate(v)`` says whether a list/tuple value is itself *one* candidate (for
    fields whose candidates are lists, e.g. ``[16, 8]`` for ``num_neighbors``).
    """

    def check(v: Any) -> Any:
        if is_missing(v):
            return MISSING
        if not isinstance(v, (list, tuple)) or (is_candidate is not None and is_candidate(v)):
            v = [v]
        if len(v) == 0:
            raise _FieldError("must be a non-empty list of candidates", v)
        out = []
        for i, item in enumerate(v):
            try:
                out.append(elem(item))
            except _FieldError as e:
                raise e.under(f"[{i}]") from None
        return out

    return check


def _list_of(elem: _Checker, *, non_empty: bool = True, unique: bool = False) -> _Checker:
    def check(v: Any) -> list[Any]:
        if not isinstance(v, (list, tuple)):
            raise _FieldError("must be a list", v)
        if non_empty and not v:
            raise _FieldError("must be a non-empty list", v)
        out = []
        for i, item in enumerate(v):
            try:
                out.append(elem(item))
            except _FieldError as e:
                raise e.under(f"[{i}]") from None
        if unique and len(set(out)) != len(out):
            raise _FieldError("must not contain duplicates", v)
        return out

    return check


_P = TypeVar("_P", bound="_PlanBase")


def _lst(*items: Any) -> Callable[[], list[Any]]:
    """Default factory returning a fresh deep copy of ``list(items)``."""
    return lambda: copy.deepcopy(list(items))


def _sub(cls: type[_P], *, by_name: dict[str, type[_PlanBase]] | None = None) -> _Checker:
    """Accept an instance of ``cls`` (or of ``by_name`` classes) or its dict form."""
    classes: tuple[type[_PlanBase], ...] = (cls, *(by_name or {}).values())

    def check(v: Any) -> Any:
        if isinstance(v, classes):
            return v
        if isinstance(v, dict):
            target: type[_PlanBase] = cls
            if by_name is not None:
                name = v.get("name")
                if name not in by_name:
                    raise _FieldError(f"'name' must be one of {list(by_name)}", name, ".name")
                target = by_name[name]
            return target._parse(v)
        names = " or ".join(c.__name__ for c in classes)
        raise _FieldError(f"must be a {names} (or its dict form)", v)

    return check


# ---------------------------------------------------------------------------------------
# Metadata and applicability
# ---------------------------------------------------------------------------------------

ALL_TASKS: tuple[TaskType, ...] = tuple(TaskType)
ALL_QUERIES: tuple[QueryType, ...] = tuple(QueryType)
NODE_TASKS: tuple[TaskType, ...] = tuple(t for t in TaskType if t.is_node_pred)
LP_TASKS: tuple[TaskType, ...] = (
    TaskType.TEMPORAL_LINK_PREDICTION,
    TaskType.STATIC_LINK_PREDICTION,
)


@dataclass(frozen=True)
class Metadata:
    """Per-field metadata: AutoML-tunable, hidden, and where the field applies."""

    tunable: bool = False
    hidden: bool = False
    valid_task_types: tuple[TaskType, ...] = ALL_TASKS
    valid_query_types: tuple[QueryType, ...] = ALL_QUERIES


_DEFAULT_META = Metadata()
_TUNABLE = Metadata(tunable=True)


def is_valid_option(
    name: str,
    metadata: Metadata,
    task_type: TaskType | str,
    query_type: QueryType | str,
    has_train_table_weight_col: bool = False,
) -> bool:
    """Whether the plan field ``name`` applies to a task (REFERENCE_API §0).

    ``name`` may be dotted (``optimization.weight_mode``); two fields have rules that are
    not a plain product of task and query types: ``weight_mode`` (binary classification,
    or any task but forecasting when the training table has a weight column) and
    ``max_target_neighbors_per_entity`` (temporal queries and static link prediction).
    """
    task = TaskType(task_type)
    query = QueryType(query_type)
    short = name.rsplit(".", 1)[-1]
    if short == "weight_mode":
        if task is TaskType.FORECASTING:
            return False
        return task is TaskType.BINARY_CLASSIFICATION or has_train_table_weight_col
    if short == "max_target_neighbors_per_entity":
        return query is QueryType.TEMPORAL or task is TaskType.STATIC_LINK_PREDICTION
    return task in metadata.valid_task_types and query in metadata.valid_query_types


# ---------------------------------------------------------------------------------------
# Base class
# ---------------------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    """Python-level dict form: plans → dicts, enums → values, other objects kept."""
    if isinstance(value, _PlanBase):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {(k.value if isinstance(k, Enum) else k): _dump(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    """Turn objects that JSON/YAML cannot hold (encoder objects) into their string form."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    text = repr(value)
    return text if re.match(r"^[A-Za-z_]\w*\(", text) else str(value)


def _fmt(value: Any) -> str:
    """Compact one-line rendering used by plan ``__str__``."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, _PlanBase):
        return value._compact()
    return str(value) if isinstance(value, (int, float, str)) else repr(value)


class _PlanBase(BaseModel):
    """Validated-on-assignment plan object with structured errors and dict round trip."""

    model_config = ConfigDict(
        validate_assignment=True, extra="forbid", arbitrary_types_allowed=True
    )

    _path: ClassVar[str] = ""
    _meta: ClassVar[dict[str, Metadata]] = {}

    def __init__(self, *args: Any, **data: Any) -> None:
        names = list(type(self).model_fields)
        if len(args) > len(names):
            raise PlanError(f"{type(self).__name__} takes at most {len(names)} positional args")
        for name, value in zip(names, args):
            if name in data:
                raise PlanError(f"{type(self).__name__} got multiple values for '{name}'")
            data[name] = value
        try:
            super().__init__(**data)
        except ValidationError as exc:
            rel, reason, value = _first_error(exc, type(self))
            full = _full(self._prefix(), rel)
            raise PlanFieldError(full, reason, value, relative=rel) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        if name not in type(self).model_fields and type(self).model_config.get("extra") != "allow":
            valid = list(type(self).model_fields)
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid fields: {valid}"
            raise PlanFieldError(_full(self._prefix(), name), "unknown field" + hint, value)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            rel, reason, bad = _first_error(exc, type(self))
            rel = rel or name
            raise PlanFieldError(_full(self._prefix(), rel), reason, bad) from None

    @classmethod
    def _prefix(cls) -> str:
        return cls._path or cls.__name__

    @classmethod
    def _parse(cls: type[_P], data: dict[str, Any]) -> _P:
        """Build from a dict inside a checker (errors become ``_FieldError``)."""
        try:
            return cls.model_validate(data)
        except PlanFieldError as exc:
            raise _FieldError(exc.reason, exc.value, _as_sub(exc.relative)) from None
        except ValidationError as exc:
            rel, reason, value = _first_error(exc, cls)
            raise _FieldError(reason, value, _as_sub(rel)) from None

    @classmethod
    def from_dict(cls: type[_P], data: dict[str, Any]) -> _P:
        """Build from the dict form produced by :meth:`to_dict`."""
        if not isinstance(data, dict):
            raise PlanError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (``"???"`` for MISSING, config objects as dicts)."""
        return {name: _dump(getattr(self, name)) for name in type(self).model_fields}

    def copy(self: _P) -> _P:  # type: ignore[override]
        """Deep copy."""
        return self.model_copy(deep=True)

    def items(self) -> Iterator[tuple[str, Any, Metadata]]:
        """Yield ``(name, value, Metadata)`` for every field."""
        for name in type(self).model_fields:
            yield name, getattr(self, name), type(self)._meta.get(name, _DEFAULT_META)

    def is_valid_option(
        self,
        name: str,
        metadata: Metadata,
        task_type: TaskType | str,
        query_type: QueryType | str,
        has_train_table_weight_col: bool = False,
    ) -> bool:
        """See module-level :func:`is_valid_option`."""
        return is_valid_option(name, metadata, task_type, query_type, has_train_table_weight_col)

    def _compact(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({args})"

    def __repr__(self) -> str:
        return self._compact()

    def __str__(self) -> str:
        return self._compact()


class _SectionBase(_PlanBase):
    """A top-level section of :class:`ModelPlan` (multi-line printing)."""

    def _lines(self, indent: str = "  ") -> list[str]:
        lines = []
        for name, value, meta in self.items():
            if meta.hidden and value == type(self).model_fields[name].get_default(
                call_default_factory=True
            ):
                continue
            lines.append(f"{indent}{name}: {_fmt(value)}")
        return lines

    def __str__(self) -> str:
        return "\n".join([f"{type(self).__name__}:", *self._lines()])

    def __repr__(self) -> str:
        return self.__str__()


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


# ---------------------------------------------------------------------------------------
# Neighbor sampling
# ---------------------------------------------------------------------------------------

_EDGE_KEY = re.compile(r"^[^.>\s][^>]*\.[^>]+->[^.]+\..+$")


class HopConfig(_PlanBase):
    """Neighbors sampled in one hop: ``default`` per edge type plus per-edge overrides.

    Override keys have the form ``"SRC_TABLE.key->DST_TABLE.key"`` (direction-specific)
    and take an int in [-1, 512] or ``"inferred"``: ``HopConfig(default=16,
    **{"USERS.USER_ID->TRANSACTIONS.USER_ID": 128})``. ``-1`` = all neighbors, ``0`` = none.
    """

    model_config = ConfigDict(validate_assignment=True, extra="allow", arbitrary_types_allowed=True)

    default: Annotated[int, _V(_int(-1, 128))]

    @model_validator(mode="after")
    def _check_overrides(self) -> HopConfig:
        extra = self.__pydantic_extra__ or {}
        for key, val in list(extra.items()):
            sub = f"[{key!r}]"
            if "->" not in key:
                raise _custom(
                    "override keys must look like 'SRC_TABLE.key->DST_TABLE.key'", key, sub
                )
            try:
                extra[key] = _or_inferred(_int(-1, 512))(val)
            except _FieldError as e:
                raise _custom(e.reason, val, sub) from None
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        before = dict(self.__pydantic_extra__ or {})
        try:
            super().__setattr__(name, value)
        except PlanError:
            if self.__pydantic_extra__ is not None:
                self.__pydantic_extra__.clear()
                self.__pydantic_extra__.update(before)
            raise

    @property
    def overrides(self) -> dict[str, int | str]:
        """Per-edge overrides ``{"A.x->B.y": count}``."""
        return dict(self.__pydantic_extra__ or {})

    def __getitem__(self, key: str) -> int | str:
        if key == "default":
            return self.default
        return self.overrides[key]

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, **_dump(self.overrides)}


def _hop(v: Any) -> Any:
    if v is None or isinstance(v, HopConfig):
        return v
    if _is_int(v):
        return HopConfig(default=_int(-1, 128)(v))
    if isinstance(v, dict):
        return HopConfig._parse(v)
    raise _FieldError("must be a HopConfig, an int or a dict", v)


_HOP = Annotated[Optional[HopConfig], _V(_hop)]  # noqa: UP045


class NumNeighborsConfig(_PlanBase):
    """Rich per-hop sampling scheme (``hop1`` .. ``hop6``, consecutive from ``hop1``)."""

    hop1: _HOP = None
    hop2: _HOP = None
    hop3: _HOP = None
    hop4: _HOP = None
    hop5: _HOP = None
    hop6: _HOP = None

    @model_validator(mode="after")
    def _check_consecutive(self) -> NumNeighborsConfig:
        hops = [getattr(self, f"hop{i}") for i in range(1, 7)]
        if hops[0] is None:
            raise _custom("hop1 must be set", None, ".hop1")
        seen_gap = False
        for i, h in enumerate(hops, start=1):
            if h is None:
                seen_gap = True
            elif seen_gap:
                raise _custom("hops must be consecutive (hop1, hop2, ...)", h.default, f".hop{i}")
        return self

    @property
    def hops(self) -> list[HopConfig]:
        """The set hops in order."""
        return [h for h in (getattr(self, f"hop{i}") for i in range(1, 7)) if h is not None]

    @property
    def num_hops(self) -> int:
        return len(self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {f"hop{i}": h.to_dict() for i, h in enumerate(self.hops, start=1)}


_simple_hop = _int(-1, 128)


def _num_neighbors_elem(v: Any) -> Any:
    if isinstance(v, NumNeighborsConfig):
        return v
    if isinstance(v, dict):
        return NumNeighborsConfig._parse(v)
    if isinstance(v, (list, tuple)):
        if not 1 <= len(v) <= 6:
            raise _FieldError("must list 1 to 6 hops", v)
        out = []
        for i, x in enumerate(v):
            try:
                out.append(_simple_hop(x))
            except _FieldError as e:
                raise e.under(f"[{i}]") from None
        return out
    raise _FieldError("must be a list of per-hop ints (e.g. [16, 8]) or a NumNeighborsConfig", v)


def _nn_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(_is_int(x) for x in v)


def _hop_counts(scheme: Any) -> list[int | str]:
    """All counts (defaults and overrides) of one num_neighbors candidate."""
    if isinstance(scheme, NumNeighborsConfig):
        out: list[int | str] = []
        for h in scheme.hops:
            out.append(h.default)
            out.extend(h.overrides.values())
        return out
    return list(scheme)


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------


def _metric_list(v: Any) -> list[str]:
    if isinstance(v, str):
        v = [v]
    out = _list_of(_str, unique=True)(v)
    return [m.lower() for m in out]


def _metric(v: Any) -> str:
    return _str(v).lower()


class TrainingJobPlan(_SectionBase):
    """AutoML budget, metrics and refit policy (``model_plan.training_job``)."""

    _path: ClassVar[str] = "training_job"

    num_experiments: Annotated[int | MissingType, _V(_m(_int(1)))] = MISSING
    metrics: Annotated[list[str] | MissingType, _V(_m(_metric_list))] = MISSING
    tune_metric: Annotated[str | MissingType, _V(_m(_metric))] = MISSING
    pruning: Annotated[PruningConfig | MissingType | None, _V(_m(_opt(_sub(PruningConfig))))] = (
        MISSING
    )
    refit_trainval: Annotated[bool, _V(_bool)] = True
    refit_full: Annotated[bool, _V(_bool)] = False
    disable_compilation: Annotated[bool, _V(_supported(
        _bool, bool, "must be True: relgraph trains eager PyTorch models and compiles nothing"))
    ] = True
    disable_explain: Annotated[bool, _V(_bool)] = False
    manual_seed: Annotated[int | None, _V(_opt(_int()))] = None
    enable_baselines: Annotated[bool, _V(_bool)] = False
    #: relgraph: synthesize relational features (relgraph.aggregates), give them to the GNN
    #: as seed inputs, and blend the GNN with a LightGBM learner on them (chosen on
    #: validation). Binary, multiclass, regression and forecasting tasks.
    hybrid: Annotated[bool, _V(_bool)] = True

    _meta: ClassVar[dict[str, Metadata]] = {
        "disable_compilation": Metadata(hidden=True),
        "disable_explain": Metadata(hidden=True),
        "manual_seed": Metadata(hidden=True),
        "enable_baselines": Metadata(hidden=True),
    }


_STYPE_NA: dict[str, set[str]] = {
    "numerical": {"zero", "mean", "separate", "raise"},
    "categorical": {"zero", "separate", "most_frequent", "raise"},
    "ID": {"zero", "separate", "most_frequent", "raise"},
    "multicategorical": {"zero", "separate", "most_frequent", "raise"},
    "text": {"zero", "raise"},
    "timestamp": {"zero", "raise"},
    "sequence": {"zero", "raise"},
}
_STYPE_LOOKUP = {k.lower(): k for k in _STYPE_NA}


def _enum_value(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def _encoder_overrides(v: Any) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise _FieldError("must be a dict {'table.column': encoder}", v)
    out: dict[str, Any] = {}
    for key, enc in v.items():
        if not isinstance(key, str) or "." not in key.strip(".") or key != key.strip():
            raise _FieldError("keys must be 'table.column'", key, f"[{key!r}]")
        if enc is None or (isinstance(enc, str) and not enc.strip()):
            raise _FieldError("must be an encoder object or its string form", enc, f"[{key!r}]")
        out[key] = enc
    return out


def _na_strategy(v: Any) -> dict[str, str] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise _FieldError("must be a dict {stype: na_strategy}", v)
    out: dict[str, str] = {}
    for key, strat in v.items():
        k = _enum_value(key)
        stype = _STYPE_LOOKUP.get(str(k).lower()) if isinstance(k, str) else None
        if stype is None:
            raise _FieldError(f"keys must be stypes {list(_STYPE_NA)}", key, f"[{key!r}]")
        s = _enum_value(strat)
        allowed = _STYPE_NA[stype]
        if not isinstance(s, str) or s.lower() not in allowed:
            raise _FieldError(
                f"NA strategy for stype '{stype}' must be one of {sorted(allowed)}",
                strat,
                f"[{stype!r}]",
            )
        out[stype] = s.lower()
    return out


class ColumnProcessingPlan(_SectionBase):
    """Encoder overrides and NA handling (``model_plan.column_processing``).

    ``encoder_overrides`` values are stored as given (an encoder object of
    :mod:`relgraph.encoder` or its string form such as ``'Numerical(scaler="minmax")'``);
    the trainer parses them. JSON/YAML hold the string form.
    """

    _path: ClassVar[str] = "column_processing"

    encoder_overrides: Annotated[dict[str, Any] | None, _V(_encoder_overrides)] = None
    na_strategy: Annotated[dict[str, str] | None, _V(_na_strategy)] = None


NumNeighbors = Union[NumNeighborsConfig, list[int]]  # noqa: UP007


class NeighborSamplingPlan(_SectionBase):
    """Subgraph sampling (``model_plan.neighbor_sampling``).

    ``num_neighbors`` candidates are either simple per-hop lists (``[[16, 8]]``: ints in
    [-1, 128], at most 6 hops) or :class:`NumNeighborsConfig` objects.
    """

    _path: ClassVar[str] = "neighbor_sampling"

    num_neighbors: Annotated[
        list[NumNeighbors] | MissingType, _V(_tunable(_num_neighbors_elem, _nn_is_candidate))
    ] = MISSING
    sample_from_entity_table: Annotated[bool | MissingType, _V(_m(_bool))] = MISSING
    adaptive_sampling: Annotated[bool, _V(_bool)] = False
    max_target_neighbors_per_entity: Annotated[
        list[int | str] | MissingType, _V(_tunable(_or_inferred(_int(-1, 512))))
    ] = MISSING

    _meta: ClassVar[dict[str, Metadata]] = {
        "num_neighbors": _TUNABLE,
        "sample_from_entity_table": Metadata(
            valid_task_types=NODE_TASKS, valid_query_types=(QueryType.STATIC,)
        ),
        "max_target_neighbors_per_entity": Metadata(tunable=True, hidden=True),
    }

    @model_validator(mode="after")
    def _check_adaptive(self) -> NeighborSamplingPlan:
        if self.adaptive_sampling and isinstance(self.num_neighbors, list):
            for i, scheme in enumerate(self.num_neighbors):
                if any(isinstance(c, int) and c < 0 for c in _hop_counts(scheme)):
                    raise _custom(
                        "adaptive_sampling needs non-negative neighbor counts",
                        scheme if isinstance(scheme, list) else _dump(scheme),
                        f"num_neighbors[{i}]",
                    )
        return self


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


def _aggregation(v: Any) -> list[AggregationType]:
    if isinstance(v, (str, Enum)):
        v = [v]
    return _list_of(_enum(AggregationType), unique=True)(v)


def _agg_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(isinstance(x, (str, Enum)) for x in v)


def _pos_enc(v: Any) -> list[PositionalEncodingType] | None:
    if v is None:
        return None
    if isinstance(v, (str, Enum)):
        v = [v]
    return _list_of(_enum(PositionalEncodingType), unique=True)(v)


_channels = _int(2, 512, even=True)


class GNNModelPlan(_PlanBase):
    """Heterogeneous message-passing GNN (one layer per sampled hop)."""

    name: Annotated[Literal["GNN"], _V(_fixed_name("GNN"))] = "GNN"
    channels: Annotated[list[int], _V(_tunable(_channels))] = Field(
        default_factory=_lst(64, 128, 256)
    )
    aggregation: Annotated[list[list[str]], _V(_tunable(_aggregation, _agg_is_candidate))] = Field(
        default_factory=_lst(
            [AggregationType.SUM, AggregationType.MEAN, AggregationType.MAX],
            [
                AggregationType.SUM,
                AggregationType.MEAN,
                AggregationType.MIN,
                AggregationType.MAX,
                AggregationType.STD,
            ],
        )
    )
    dropout: Annotated[list[float], _V(_tunable(_float(ge=0.0, lt=1.0)))] = Field(
        default_factory=_lst(0.0)
    )

    _meta: ClassVar[dict[str, Metadata]] = {
        "channels": _TUNABLE,
        "aggregation": _TUNABLE,
        "dropout": _TUNABLE,
    }


class GraphTransformerModelPlan(_PlanBase):
    """Graph transformer over the sampled subgraph (node prediction only)."""

    name: Annotated[Literal["GraphTransformer"], _V(_fixed_name("GraphTransformer"))] = (
        "GraphTransformer"
    )
    channels: Annotated[list[int], _V(_tunable(_channels))] = Field(default_factory=_lst(64, 128))
    num_layers: Annotated[list[int], _V(_tunable(_int(1, 12)))] = Field(
        default_factory=_lst(4, 6, 8)
    )
    num_heads: Annotated[list[int], _V(_tunable(_int(1, 32)))] = Field(default_factory=_lst(8, 16))
    dropout: Annotated[list[float], _V(_tunable(_float(ge=0.0, lt=1.0)))] = Field(
        default_factory=_lst(0.1, 0.5)
    )
    positional_encodings: Annotated[
        list[list[str] | None], _V(_tunable(_pos_enc, _agg_is_candidate))
    ] = Field(default_factory=_lst(None))

    _meta: ClassVar[dict[str, Metadata]] = {
        "channels": _TUNABLE,
        "num_layers": _TUNABLE,
        "num_heads": _TUNABLE,
        "dropout": _TUNABLE,
        "positional_encodings": _TUNABLE,
    }


_MODELS: dict[str, type[_PlanBase]] = {
    "GNN": GNNModelPlan,
    "GraphTransformer": GraphTransformerModelPlan,
}


def _model_elem(v: Any) -> Any:
    if isinstance(v, str) and v in _MODELS:
        return _MODELS[v]()
    return _sub(GNNModelPlan, by_name=_MODELS)(v)


ModelSpec = Union[GNNModelPlan, GraphTransformerModelPlan]  # noqa: UP007


def _tunable_field(chk: _Checker) -> Any:
    return _V(_tunable(chk))


class ModelArchitecturePlan(_SectionBase):
    """Model architecture search space (``model_plan.model_architecture``).

    ``channels`` and ``aggregation`` here are deprecated (use the per-model fields); they
    default to ``None`` = "use the per-model values" and, when set, override them.
    """

    _path: ClassVar[str] = "model_architecture"

    model: Annotated[list[ModelSpec] | MissingType, _V(_tunable(_model_elem))] = Field(
        default_factory=_lst(GNNModelPlan())
    )
    channels: Annotated[list[int] | None, _V(_opt(_tunable(_channels)))] = None
    num_pre_message_passing_layers: Annotated[
        list[int] | MissingType, _tunable_field(_int(0, 4))
    ] = Field(default_factory=_lst(0, 1, 2))
    num_post_message_passing_layers: Annotated[
        list[int] | MissingType, _tunable_field(_int(1, 8))
    ] = Field(default_factory=_lst(1, 2))
    aggregation: Annotated[
        list[list[str]] | None,
        _V(_opt(_tunable(_aggregation, _agg_is_candidate))),
    ] = None
    activation: Annotated[list[str] | MissingType, _tunable_field(_enum(ActivationType))] = Field(
        default_factory=_lst(*ActivationType)
    )
    normalization: Annotated[
        list[str | None] | MissingType,
        _tunable_field(_opt(_enum(NormalizationType))),
    ] = Field(default_factory=_lst(NormalizationType.LAYER_NORM))
    module: Annotated[str, _V(_m(_enum(ModuleType)))] = MISSING
    handle_new_target_entities: Annotated[bool, _V(_bool)] = False
    target_embedding_mode: Annotated[
        list[str] | MissingType, _tunable_field(_enum(TargetEmbeddingMode))
    ] = Field(default_factory=_lst(TargetEmbeddingMode.LOOKUP))
    output_embedding_dim: Annotated[list[int] | MissingType, _tunable_field(_int(1, 256))] = Field(
        default_factory=_lst(32)
    )
    ranking_embedding_loss_coeff: Annotated[
        list[float] | MissingType, _tunable_field(_float(ge=0.0))
    ] = Field(default_factory=_lst(0.0))
    embedding_norm_reg_coeff: Annotated[
        list[float] | MissingType, _tunable_field(_float(ge=0.0))
    ] = Field(default_factory=_lst(0.0))
    distance_measure: Annotated[list[str] | MissingType, _tunable_field(_enum(DistanceMeasure))] = (
        Field(default_factory=_lst(DistanceMeasure.DOT_PRODUCT))
    )
    use_seq_id: Annotated[list[bool] | MissingType, _tunable_field(_supported(
        _bool, lambda v: not v, "must be False: sequence-id features (a preview of the "
        "reference) are not implemented"))] = Field(
        default_factory=_lst(False)
    )
    prediction_time_encodings: Annotated[list[bool] | MissingType, _tunable_field(_bool)] = Field(
        default_factory=_lst(False)
    )
    past_encoder: Annotated[
        list[str | None] | MissingType, _tunable_field(_opt(_enum(PastEncoderType)))
    ] = Field(default_factory=_lst(PastEncoderType.DECOMPOSED))
    handle_new_entities: Annotated[bool, _V(_supported(
        _bool, bool, "must be True: relgraph has no entity-specific heads; every entity, "
        "seen in training or not, is embedded from its columns and neighbors"))] = True
    forecast_type: Annotated[list[str] | None, _V(_opt(_tunable(_str)))] = None

    _meta: ClassVar[dict[str, Metadata]] = {
        "model": _TUNABLE,
        "channels": Metadata(tunable=True, hidden=True),
        "num_pre_message_passing_layers": _TUNABLE,
        "num_post_message_passing_layers": _TUNABLE,
        "aggregation": Metadata(tunable=True, hidden=True),
        "activation": _TUNABLE,
        "normalization": _TUNABLE,
        "module": Metadata(valid_task_types=LP_TASKS),
        "handle_new_target_entities": Metadata(valid_task_types=LP_TASKS),
        "target_embedding_mode": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "output_embedding_dim": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "ranking_embedding_loss_coeff": Metadata(
            tunable=True, valid_task_types=(TaskType.TEMPORAL_LINK_PREDICTION,)
        ),
        "embedding_norm_reg_coeff": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "distance_measure": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "use_seq_id": _TUNABLE,
        "prediction_time_encodings": Metadata(
            tunable=True, valid_task_types=NODE_TASKS, valid_query_types=(QueryType.TEMPORAL,)
        ),
        "past_encoder": Metadata(
            tunable=True,
            valid_task_types=(TaskType.REGRESSION, TaskType.FORECASTING,
                              TaskType.BINARY_CLASSIFICATION),
            valid_query_types=(QueryType.TEMPORAL,),
        ),
        "handle_new_entities": Metadata(valid_task_types=(TaskType.FORECASTING,)),
        "forecast_type": Metadata(
            tunable=True, hidden=True, valid_task_types=(TaskType.FORECASTING,)
        ),
    }


# ---------------------------------------------------------------------------------------
# Task-dependent rules
# ---------------------------------------------------------------------------------------

_REGRESSION_LOSSES = frozenset(
    {
        "mae",
        "mse",
        "huber",
        "wape",
        "multi_quantile",
        "quantile",
        "normal_distribution",
        "negative_binomial_distribution",
        "log_normal_distribution",
    }
)
_LOSSES: dict[TaskType, frozenset[str]] = {
    TaskType.BINARY_CLASSIFICATION: frozenset({"binary_cross_entropy", "focal"}),
    TaskType.MULTILABEL_CLASSIFICATION: frozenset({"binary_cross_entropy", "focal"}),
    TaskType.MULTICLASS_CLASSIFICATION: frozenset({"cross_entropy", "ordinal_log"}),
    TaskType.MULTILABEL_RANKING: frozenset({"cross_entropy", "ordinal_log"}),
    TaskType.REGRESSION: _REGRESSION_LOSSES,
    TaskType.FORECASTING: _REGRESSION_LOSSES,
    TaskType.TEMPORAL_LINK_PREDICTION: frozenset({"cross_entropy", "binary_cross_entropy"}),
    TaskType.STATIC_LINK_PREDICTION: frozenset({"cross_entropy", "binary_cross_entropy"}),
}


def valid_losses(task_type: TaskType | str) -> frozenset[str]:
    """Loss names (``LossType`` values and ``"quantile"``) allowed for a task type."""
    return _LOSSES[TaskType(task_type)]


_BINARY_METRICS = frozenset({"acc", "auroc", "auprc", "ap", "precision", "recall", "f1"})
_MULTICLASS_METRICS = frozenset({"acc", "precision", "recall", "f1", "mrr"})
_MULTILABEL_METRICS = frozenset(
    {
        f"{m}_{avg}"
        for m in ("auroc", "auprc", "ap", "precision", "recall", "f1")
        for avg in ("macro", "micro")
    }
    | {"acc", "auroc", "auprc", "ap", "precision", "recall", "f1"}
)
_REGRESSION_METRICS = frozenset({"mae", "mape", "mse", "rmse", "smape", "r2"})
RANKING_METRIC_NAMES: tuple[str, ...] = (
    "map",
    "ndcg",
    "mrr",
    "precision",
    "recall",
    "f1",
    "hit_ratio",
)
_AT_K = re.compile(r"^([a-z_0-9]+)@(\d+)$")


def valid_metric(task_type: TaskType | str, name: str) -> bool:
    """Whether ``name`` is a metric relgraph computes for ``task_type``.

    Ranking tasks use ``<metric>@<k>`` (``map@10``) with k in [1, 1000]; multilabel
    classification uses ``<metric>_macro`` / ``<metric>_micro`` (plain names = macro).
    """
    task = TaskType(task_type)
    name = name.lower()
    if task.is_ranking:
        m = _AT_K.match(name)
        if m is None:
            return False
        return m.group(1) in RANKING_METRIC_NAMES and 1 <= int(m.group(2)) <= 1000
    if task is TaskType.BINARY_CLASSIFICATION:
        return name in _BINARY_METRICS
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        return name in _MULTICLASS_METRICS
    if task is TaskType.MULTILABEL_CLASSIFICATION:
        return name in _MULTILABEL_METRICS
    return name in _REGRESSION_METRICS


# Values that count as "not set" for a field that does not apply to a task (the field
# default, MISSING, and what suggest_model_plan writes into inapplicable fields).
_NEUTRAL: dict[str, list[Any]] = {
    "neighbor_sampling.sample_from_entity_table": [True],
    "neighbor_sampling.max_target_neighbors_per_entity": [["inferred"]],
    "optimization.lookup_optimization": [["inferred"]],
    "optimization.majority_sampling_ratio": [[None]],
    "optimization.weight_mode": [[None]],
    "optimization.target_fraction": [[1.0]],
    "optimization.overlap_ratio": [[1.0]],
    "model_architecture.module": ["context", "shallow_rhs"],
    "model_architecture.forecast_type": [None],
}


# ---------------------------------------------------------------------------------------
# ModelPlan
# ---------------------------------------------------------------------------------------

SECTIONS: tuple[str, ...] = (
    "training_job",
    "column_processing",
    "neighbor_sampling",
    "optimization",
    "model_architecture",
)


class ModelPlan(_PlanBase):
    """The full model plan: five sections, each validated on assignment.

    ``ModelPlan.from_json(plan.as_json()) == plan`` (also for YAML and dicts). ``print(plan)``
    shows every section; :meth:`items` yields dotted field names with their metadata.
    """

    training_job: Annotated[TrainingJobPlan, _V(_sub(TrainingJobPlan))] = Field(
        default_factory=TrainingJobPlan
    )
    column_processing: Annotated[ColumnProcessingPlan, _V(_sub(ColumnProcessingPlan))] = Field(
        default_factory=ColumnProcessingPlan
    )
    neighbor_sampling: Annotated[NeighborSamplingPlan, _V(_sub(NeighborSamplingPlan))] = Field(
        default_factory=NeighborSamplingPlan
    )
    optimization: Annotated[OptimizationPlan, _V(_sub(OptimizationPlan))] = Field(
        default_factory=OptimizationPlan
    )
    model_architecture: Annotated[ModelArchitecturePlan, _V(_sub(ModelArchitecturePlan))] = Field(
        default_factory=ModelArchitecturePlan
    )

    @classmethod
    def _prefix(cls) -> str:
        return ""

    # -- serialisation ------------------------------------------------------------------

    def as_json(self, indent: int | None = 2) -> str:
        """JSON text; encoder objects are written in their string form."""
        return json.dumps(_jsonable(self.to_dict()), indent=indent)

    to_json = as_json

    @classmethod
    def from_json(cls, text: str) -> ModelPlan:
        """Inverse of :meth:`as_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PlanError(f"Model plan is not valid JSON: {e}") from None
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """YAML text (same structure as :meth:`to_dict`)."""
        return yaml.safe_dump(_jsonable(self.to_dict()), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ModelPlan:
        """Inverse of :meth:`to_yaml`; also accepts hand-written YAML with any subset."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PlanError(f"Model plan is not valid YAML: {e}") from None
        return cls.from_dict(data or {})

    # -- introspection ------------------------------------------------------------------

    def items(self) -> Iterator[tuple[str, Any, Metadata]]:
        """Yield ``("section.field", value, Metadata)`` for every field of every section."""
        for section in SECTIONS:
            for name, value, meta in getattr(self, section).items():
                yield f"{section}.{name}", value, meta

    def missing_fields(self) -> list[str]:
        """Dotted names of fields still at MISSING."""
        return [name for name, value, _ in self.items() if is_missing(value)]

    def fill_missing(self, defaults: ModelPlan, *, replace_defaults: bool = False) -> ModelPlan:
        """A copy where every MISSING field takes its value from ``defaults``.

        With ``replace_defaults=True`` fields still equal to their class default (i.e. not
        changed by the user) are taken from ``defaults`` too — use it to overlay a
        hand-built ``ModelPlan()`` on a suggested plan.
        """
        out = self.copy()
        for section in SECTIONS:
            mine = getattr(out, section)
            theirs = getattr(defaults, section)
            for name, info in type(mine).model_fields.items():
                value = getattr(mine, name)
                if is_missing(value) or (
                    replace_defaults and value == info.get_default(call_default_factory=True)
                ):
                    setattr(mine, name, copy.deepcopy(getattr(theirs, name)))
        return out

    def __str__(self) -> str:
        lines = ["ModelPlan:"]
        for section in SECTIONS:
            lines.append(f"  {section}:")
            lines.extend(getattr(self, section)._lines("    "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()

    # -- task checks --------------------------------------------------------------------

    def validate_for(
        self,
        task_type: TaskType | str,
        query_type: QueryType | str,
        has_weight_col: bool = False,
    ) -> None:
        """Raise :class:`PlanError` when the plan does not fit the task.

        Rejects fields set (to something other than MISSING, their default or a neutral
        value) where they do not apply, losses / metrics that do not fit the task type,
        a GraphTransformer for link prediction, and ``min_steps_per_epoch >
        max_steps_per_epoch``.
        """
        task = TaskType(task_type)
        query = QueryType(query_type)
        for section in SECTIONS:
            sec = getattr(self, section)
            for name, value, meta in sec.items():
                if is_valid_option(name, meta, task, query, has_weight_col):
                    continue
                path = f"{section}.{name}"
                default = type(sec).model_fields[name].get_default(call_default_factory=True)
                if is_missing(value) or value == default or value in _NEUTRAL.get(path, []):
                    continue
                raise PlanFieldError(path, _not_applicable(name, meta, task, query), value)

        opt = self.optimization
        if not is_missing(opt.loss):
            allowed = valid_losses(task)
            for i, loss in enumerate(opt.loss):
                if _loss_key(loss) not in allowed:
                    raise PlanFieldError(
                        f"optimization.loss[{i}]",
                        f"loss '{_loss_key(loss)}' does not fit {task.value}; "
                        f"use one of {sorted(allowed)}",
                        loss,
                    )
        job = self.training_job
        if not is_missing(job.metrics):
            for i, metric in enumerate(job.metrics):
                if not valid_metric(task, metric):
                    raise PlanFieldError(
                        f"training_job.metrics[{i}]",
                        f"metric '{metric}' is not available for {task.value}",
                        metric,
                    )
        if not is_missing(job.tune_metric) and not valid_metric(task, job.tune_metric):
            raise PlanFieldError(
                "training_job.tune_metric",
                f"metric '{job.tune_metric}' is not available for {task.value}",
                job.tune_metric,
            )
        if task.is_link_pred and not is_missing(self.model_architecture.model):
            for i, model in enumerate(self.model_architecture.model):
                if isinstance(model, GraphTransformerModelPlan):
                    raise PlanFieldError(
                        f"model_architecture.model[{i}]",
                        "GraphTransformer supports node prediction only; use GNN for "
                        "link prediction",
                        model.name,
                    )
        lo, hi = opt.min_steps_per_epoch, opt.max_steps_per_epoch
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            raise PlanFieldError(
                "optimization.min_steps_per_epoch",
                f"must be <= optimization.max_steps_per_epoch ({hi})",
                lo,
            )


def _not_applicable(name: str, meta: Metadata, task: TaskType, query: QueryType) -> str:
    if name == "weight_mode":
        where = "binary classification, or tasks other than forecasting with a weight column"
    elif name == "max_target_neighbors_per_entity":
        where = "temporal queries and static link prediction"
    else:
        tasks = ", ".join(t.value for t in meta.valid_task_types)
        where = tasks
        if meta.valid_query_types != ALL_QUERIES:
            where += " with " + "/".join(q.value for q in meta.valid_query_types) + " queries"
    return (
        f"does not apply to {task.value} ({query.value}) tasks; it applies to {where}. "
        "Remove it or set it back to '???'"
    )
