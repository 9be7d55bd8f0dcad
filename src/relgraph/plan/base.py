"""The base classes of every plan and sub-plan: validation on construction and on
assignment, ``MISSING`` filling, JSON/YAML/dict round trips, printing."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from relgraph.errors import PlanError
from relgraph.plan.checks import (
    _DEFAULT_META,
    Metadata,
    PlanFieldError,
    is_valid_option,
    plan_field_error,
)
from relgraph.task import QueryType, TaskType

_P = TypeVar("_P", bound="_PlanBase")


def _lst(*items: Any) -> Callable[[], list[Any]]:
    """Default factory returning a fresh deep copy of ``list(items)``."""
    return lambda: copy.deepcopy(list(items))


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
            raise plan_field_error(type(self), self._prefix(), exc) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        if name not in type(self).model_fields and type(self).model_config.get("extra") != "allow":
            valid = list(type(self).model_fields)
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid fields: {valid}"
            prefix = self._prefix()
            raise PlanFieldError(f"{prefix}.{name}" if prefix else name, "unknown field" + hint,
                                 value)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise plan_field_error(type(self), self._prefix(), exc) from None

    @classmethod
    def _prefix(cls) -> str:
        return cls._path or cls.__name__

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
