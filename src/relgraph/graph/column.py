"""A column of a table: name, semantic type and data type."""

from __future__ import annotations

from dataclasses import dataclass

from relgraph.errors import GraphError
from relgraph.types import ALLOWED_DTYPES, Dtype, Stype


@dataclass
class Column:
    """A table column. ``stype`` and ``dtype`` accept enum members or strings."""

    name: str
    stype: Stype | None = None
    dtype: Dtype | None = None
    timestamp_format: str | None = None

    def __post_init__(self) -> None:
        self.stype = _coerce(Stype, self.stype, self.name)  # type: ignore[assignment]
        self.dtype = _coerce(Dtype, self.dtype, self.name)  # type: ignore[assignment]

    def __setattr__(self, key: str, value: object) -> None:
        if key == "stype":
            value = _coerce(Stype, value, getattr(self, "name", "?"))
        elif key == "dtype":
            value = _coerce(Dtype, value, getattr(self, "name", "?"))
        super().__setattr__(key, value)

    def update(self, other: Column, override: bool = True) -> Column:
        """Copy stype/dtype/timestamp_format from ``other`` (only unset ones unless override)."""
        for attr in ("stype", "dtype", "timestamp_format"):
            value = getattr(other, attr)
            if value is not None and (override or getattr(self, attr) is None):
                setattr(self, attr, value)
        return self

    def check(self, table: str) -> None:
        """Raise :class:`GraphError` if the stype cannot hold the dtype."""
        if self.stype is None or self.dtype is None:
            raise GraphError(
                f"Column '{table}.{self.name}' has no "
                f"{'stype' if self.stype is None else 'dtype'}. Call table.infer_metadata() or "
                f"set it, e.g. table['{self.name}'].stype = 'numerical'."
            )
        assert isinstance(self.stype, Stype) and isinstance(self.dtype, Dtype)
        if self.dtype not in ALLOWED_DTYPES[self.stype]:
            allowed = sorted(s.value for s, d in ALLOWED_DTYPES.items() if self.dtype in d)
            raise GraphError(
                f"Column '{table}.{self.name}' has dtype '{self.dtype}', which stype "
                f"'{self.stype}' cannot hold. Use one of these stypes: {allowed}."
            )


def _coerce(enum: type, value: object, name: str) -> object:
    if value is None or isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        choices = [m.value for m in enum]  # type: ignore[attr-defined]
        raise GraphError(
            f"Invalid {enum.__name__.lower()} {value!r} for column '{name}'; "
            f"choose one of {choices}."
        ) from None
