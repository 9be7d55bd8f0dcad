"""Field types of the model plans and the one translation of pydantic's errors.

Plan fields are plain pydantic types with pydantic's own constraints
(``Annotated[Int, Field(ge=1, le=4000)]``); the plan enums parse case-insensitively
(``_StrEnum._missing_``); :data:`Tunable` turns a scalar into a one-element list
(``BeforeValidator``); :data:`Missable` / :data:`OrInferred` accept the ``"???"`` /
``"inferred"`` sentinels. A rule that is not a constraint raises :class:`Broken` from a
validator. :func:`plan_field_error` turns a ``ValidationError`` into a :class:`PlanFieldError`
that names the field path, the rule (from the declared type) and the value given. Also the
:class:`Metadata` of a field (tunable, hidden, which task types it applies to).
"""

from __future__ import annotations

import difflib
import numbers
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import annotated_types as at
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    ValidationError,
)
from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict

from relgraph.errors import PlanError
from relgraph.plan.enums import InferredType, MissingType, _is_inferred, is_missing
from relgraph.task import QueryType, TaskType

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class PlanFieldError(PlanError):
    """An invalid plan value; ``field`` is the dotted path, ``reason`` the broken rule.

    ``relative`` is the path below the plan that raised it (a plan built from a dict inside
    another plan raises too: its parent puts its own path in front).
    """

    def __init__(self, field: str, reason: str, value: Any, *, relative: str = "") -> None:
        self.field = field
        self.reason = reason
        self.value = value
        self.relative = relative or field
        super().__init__(f"Invalid value for '{field}': {reason} (got {_short(value)})")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Broken(ValueError):
    """A rule that is not a pydantic constraint, raised from a validator.

    ``at`` is the location below the validated object (``"kwargs", "gamma"``).
    """

    def __init__(self, reason: str, value: Any, *at: str | int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value
        self.at = at


@dataclass(frozen=True)
class Rule:
    """Annotation metadata: the reason shown for an invalid value here (instead of the
    one derived from the declared type)."""

    text: str


# ---------------------------------------------------------------------------------------
# Field types
# ---------------------------------------------------------------------------------------

T = TypeVar("T")


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or (
        type(v).__module__ == "numpy" and type(v).__name__ in ("bool", "bool_")
    )


def _integral(v: Any) -> Any:
    """Before-validator of integers: a Python int for numpy and integral float values, a
    Python bool for numpy bools (which strict validation then refuses)."""
    if _is_bool(v):
        return bool(v)
    if isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()):
        return int(v)
    return v


def _real(v: Any) -> Any:
    """Before-validator of numbers: a Python float for other real numbers (numpy too)."""
    if _is_bool(v):
        return bool(v)
    return float(v) if isinstance(v, numbers.Real) and not isinstance(v, float) else v


def _missing_tag(v: Any) -> str:
    return "???" if is_missing(v) else "value"


def _inferred_tag(v: Any) -> str:
    return "inferred" if _is_inferred(v) else "value"


#: An integer (integral floats and numpy integers too; not bools or strings).
Int = Annotated[int, BeforeValidator(_integral), Strict()]
#: A finite number (not a bool or a string).
Float = Annotated[float, BeforeValidator(_real), Strict(), AllowInfNan(False)]
#: ``True`` or ``False`` (numpy bools too).
Bool = Annotated[bool, BeforeValidator(lambda v: bool(v) if _is_bool(v) else v), Strict()]
#: A non-empty string, stripped.
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
#: A value or ``"???"`` (not set; :func:`suggest_model_plan` fills it).
Missable = Annotated[
    Union[Annotated[T, Tag("value")], Annotated[MissingType, Tag("???")]],  # noqa: UP007
    Discriminator(_missing_tag),
]
#: A value or ``"inferred"``.
OrInferred = Annotated[
    Union[Annotated[T, Tag("value")], Annotated[InferredType, Tag("inferred")]],  # noqa: UP007
    Discriminator(_inferred_tag),
]


class Candidates(BeforeValidator):
    """Wraps a single candidate into a list: a value that is not a list, or a list that
    ``is_one`` says is *one* candidate (``[16, 8]`` for ``num_neighbors``)."""

    def __init__(self, is_one: Callable[[Any], bool] | None = None) -> None:
        def wrap(v: Any) -> Any:
            one = not isinstance(v, (list, tuple)) or (is_one is not None and is_one(v))
            return [v] if one else v

        super().__init__(wrap)


#: A non-empty list of candidates that AutoML samples from; a scalar becomes ``[scalar]``.
Tunable = Annotated[list[T], Candidates(), Field(min_length=1)]
#: Before-validator of list fields that also take a single (string or enum) item.
OneAsList = BeforeValidator(lambda v: [v] if isinstance(v, (str, Enum)) else v)


def _unique(v: list[Any]) -> list[Any]:
    if len(set(v)) != len(v):
        raise Broken("must not contain duplicates", v)
    return v


#: After-validator of lists whose items must be distinct.
Unique = AfterValidator(_unique)


def supported(ok: Callable[[Any], bool], why: str) -> AfterValidator:
    """Refuse values relgraph cannot honour (``why`` says what it does instead)."""

    def check(v: Any) -> Any:
        if not ok(v):
            raise Broken(why, v)
        return v

    return AfterValidator(check)


# ---------------------------------------------------------------------------------------
# ValidationError -> PlanFieldError
# ---------------------------------------------------------------------------------------

_NONE = type(None)
_SHOWN_ALTERNATIVES = {"inferred": "'inferred'"}  # "???" is never offered


@dataclass
class _Spot:
    """What a pydantic error location points at: the path, the declared type there with
    its metadata, the alternatives enclosing unions accept, and the owning model."""

    path: str = ""
    tp: Any = None
    meta: list[Any] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    owner: Any = None


def _unannotate(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        meta.extend(tp.__metadata__)
        tp = tp.__origin__
    return tp, meta


def _members(tp: Any) -> list[Any] | None:
    return list(get_args(tp)) if get_origin(tp) in (Union, types.UnionType) else None


def _tag(tp: Any) -> str | None:
    return next((m.tag for m in _unannotate(tp)[1] if isinstance(m, Tag)), None)


def _fields(tp: Any) -> dict[str, Any] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: _declared(info) for name, info in tp.model_fields.items()}
    if is_typeddict(tp):
        return get_type_hints(tp, include_extras=True)
    return None


def _declared(info: FieldInfo) -> Any:
    return Annotated[tuple([info.annotation, *info.metadata])] if info.metadata else info.annotation


def _extra_type(tp: Any) -> Any:
    """The declared type of extra items of a model that allows them (else None)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp.model_config.get("extra") != "allow":
            return None
        extra = get_type_hints(tp, include_extras=True).get("__pydantic_extra__")
        args = get_args(_unannotate(extra)[0]) if extra is not None else ()
        return args[1] if len(args) == 2 else Any
    return None


def _locate(root: type, loc: Sequence[str | int]) -> _Spot:
    """Follow ``loc`` from ``root`` through the declared types (union tags are dropped)."""
    spot = _Spot(tp=root, owner=root)
    items = list(loc)
    while True:
        spot.tp, meta = _unannotate(spot.tp)
        spot.meta += meta
        members = _members(spot.tp)
        if members is not None:
            if _NONE in members:
                spot.alts.append("None")
                members = [m for m in members if m is not _NONE]
            tags = {_tag(m): m for m in members}
            if len(members) == 1:
                tag: str | None = next(iter(tags))
            elif items and items[0] in tags:
                tag = str(items.pop(0))
            elif items and "value" in tags:  # a path given by a validator has no tags
                tag = "value"
            else:
                return spot
            spot.alts += [_SHOWN_ALTERNATIVES[t] for t in tags if t in _SHOWN_ALTERNATIVES
                          and t != tag]
            spot.tp, spot.meta = tags[tag], []
            continue
        if not items:
            return spot
        item = items.pop(0)
        fields = _fields(spot.tp)
        tp: Any = Any
        if fields is not None:
            spot.owner = spot.tp
            extra = None if item in fields else _extra_type(spot.tp)
            if extra is None:
                spot.path += f".{item}" if spot.path else str(item)
                tp = fields.get(str(item), Any)
            else:
                spot.path += f"[{item!r}]"
                tp = extra
        elif item == "[key]":
            tp = (get_args(spot.tp) or (Any,))[0]
        elif isinstance(item, int):
            spot.path += f"[{item}]"
            tp = (get_args(spot.tp) or (Any,))[0]
        else:
            spot.path += f"[{item!r}]"
            args = get_args(spot.tp)
            tp = args[1] if len(args) == 2 else Any
        spot.tp, spot.meta, spot.alts = tp, [], []


def _bounds(meta: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in meta:
        for c in m.metadata if isinstance(m, FieldInfo) else [m]:
            for name in ("gt", "ge", "lt", "le", "multiple_of"):
                if isinstance(c, at.BaseMetadata) and hasattr(c, name):
                    out[name] = getattr(c, name)
    return out


def _int_rule(b: dict[str, Any]) -> str:
    lo = b.get("ge", b["gt"] + 1 if "gt" in b else None)
    hi = b.get("le", b["lt"] - 1 if "lt" in b else None)
    even = "even " if b.get("multiple_of") == 2 else ""
    if lo is not None and hi is not None:
        return f"an {even}integer in [{lo}, {hi}]"
    if lo is not None:
        return f"an {even}integer >= {lo}"
    return f"an {even}integer"


def _float_rule(b: dict[str, Any]) -> str:
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    bounds = [f"{op} {b[k]:g}" for k, op in ops.items() if k in b]
    return "a number" + (" " + " and ".join(bounds) if bounds else "")


def _model_names(tps: Sequence[Any]) -> str | None:
    if tps and all(isinstance(t, type) and issubclass(t, BaseModel) for t in tps):
        return f"a {' or '.join(t.__name__ for t in tps)} (or its dict form)"
    return None


def _custom_rule(spot: _Spot) -> str | None:
    return next((m.text for m in spot.meta if isinstance(m, Rule)), None)


def _rule(spot: _Spot, etype: str) -> str:
    """The rule of the declared type at ``spot``, as ``must ...``."""
    custom = _custom_rule(spot)
    if custom is not None:
        return custom
    tp, b = spot.tp, _bounds(spot.meta)
    if tp is int:
        return f"must be {_int_rule(b)}"
    if tp is float:
        return f"must be {_float_rule(b)}"
    if tp is bool:
        return "must be a boolean (true/false)"
    if tp is str:
        return "must be a non-empty string"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return f"must be one of {[m.value for m in tp]}"
    if get_origin(tp) is Literal:
        return "must be " + " or ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is list:
        if etype == "list_type":
            return "must be a list"
        tunable = any(isinstance(m, Candidates) for m in spot.meta)
        return "must be a non-empty list" + (" of candidates" if tunable else "")
    if get_origin(tp) is dict or is_typeddict(tp):
        return "must be a dict"
    members = _members(tp)
    models = _model_names([_unannotate(m)[0] for m in members or [tp]])
    return f"must be {models}" if models else ""


def _join(path: str, sub: str) -> str:
    if not path or not sub:
        return path or sub
    return path + sub if sub.startswith("[") else f"{path}.{sub}"


def plan_field_error(root: type, prefix: str, exc: ValidationError) -> PlanFieldError:
    """The first error of ``exc`` (raised validating ``root``) as a :class:`PlanFieldError`.

    The one place where pydantic's errors become plan errors: the path follows the error's
    location through the declared types, the reason is the rule of the declared type
    there (its bounds, its enum values, ...) or the reason a validator gave.
    """
    err = exc.errors()[0]
    loc: list[str | int] = list(err.get("loc", ()))
    etype, value = err["type"], err.get("input")
    inner = (err.get("ctx") or {}).get("error")
    sub = ""
    if isinstance(inner, Broken):
        loc += inner.at
    elif isinstance(inner, PlanFieldError):  # a plan built from a dict by its __init__
        sub = inner.relative
    spot = _locate(root, loc)
    if isinstance(inner, (Broken, PlanFieldError)):
        reason, value = inner.reason, inner.value
    elif isinstance(inner, Exception):
        reason = str(inner)
    elif etype == "extra_forbidden":
        valid = list(_fields(spot.owner) or [])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        reason = "unknown field" + (
            f"; did you mean '{close[0]}'?" if close else f"; valid fields: {valid}"
        )
    elif etype == "missing":
        reason, value = "required field is missing", None
    elif etype.startswith("union_tag") and isinstance(value, dict):
        tags = [_tag(m) for m in _members(spot.tp) or [] if _fields(_unannotate(m)[0])]
        reason = _custom_rule(spot) or f"'name' must be one of {tags}"
        value, sub = value.get("name"), "name"
    else:
        reason = _rule(spot, etype) or str(err.get("msg"))
        if _custom_rule(spot) is None:
            reason += "".join(f" or {alt}" for alt in spot.alts)
    relative = _join(spot.path, sub)
    return PlanFieldError(_join(prefix, relative), reason, value, relative=relative)


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
