"""Field checks of the model plans: :class:`PlanFieldError` and the small checkers each
field is validated with (their messages name the rule and the value given), and the
:class:`Metadata` of a field (tunable, hidden, which task types it applies to)."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from relgraph.errors import PlanError
from relgraph.plan.enums import INFERRED, MISSING, _is_inferred, _StrEnum, is_missing
from relgraph.task import QueryType, TaskType

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
