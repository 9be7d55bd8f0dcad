"""The column-processing sub-plan (``plan.column_processing``): encoder overrides and
per-stype NA strategies."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Optional

from pydantic import AfterValidator

from relgraph.plan.base import _SectionBase
from relgraph.plan.checks import Broken, Rule

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


def _encoder_overrides(v: dict[Any, Any]) -> dict[str, Any]:
    for key, enc in v.items():
        if not isinstance(key, str) or "." not in key.strip(".") or key != key.strip():
            raise Broken("keys must be 'table.column'", key, key)
        if enc is None or (isinstance(enc, str) and not enc.strip()):
            raise Broken("must be an encoder object or its string form", enc, key)
    return v


def _na_strategy(v: dict[Any, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, strat in v.items():
        k = _enum_value(key)
        stype = _STYPE_LOOKUP.get(str(k).lower()) if isinstance(k, str) else None
        if stype is None:
            raise Broken(f"keys must be stypes {list(_STYPE_NA)}", key, key)
        s = _enum_value(strat)
        allowed = _STYPE_NA[stype]
        if not isinstance(s, str) or s.lower() not in allowed:
            raise Broken(
                f"NA strategy for stype '{stype}' must be one of {sorted(allowed)}", strat, stype
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

    encoder_overrides: Optional[  # noqa: UP045
        Annotated[
            dict[Any, Any],
            Rule("must be a dict {'table.column': encoder}"),
            AfterValidator(_encoder_overrides),
        ]
    ] = None
    na_strategy: Optional[  # noqa: UP045
        Annotated[
            dict[Any, Any],
            Rule("must be a dict {stype: na_strategy}"),
            AfterValidator(_na_strategy),
        ]
    ] = None
