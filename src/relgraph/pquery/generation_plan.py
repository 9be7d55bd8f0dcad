"""Training- and prediction-table generation plans (reference §1.7, §1.8).

Fields left at ``"???"`` (MISSING) or ``"inferred"`` are filled when the table is generated.
Fields are validated on construction and on assignment (``plan.timeframe_step = 7``), as
the model plans are (:mod:`relgraph.plan.checks`).
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Optional, TypeVar, Union

import pandas as pd
from pydantic import AfterValidator, Discriminator, Field, Strict, Tag
from typing_extensions import TypeIs

from relgraph.errors import PlanError
from relgraph.plan.base import _PlanBase
from relgraph.plan.checks import Bool, Broken, Int, Rule
from relgraph.plan.enums import (
    INFERRED,
    MISSING,
    InferredType,
    MissingType,
    _is_inferred,
    is_missing,
)

__all__ = ["INFERRED", "MISSING", "PredictionTableGenerationPlan",
           "TrainingTableGenerationPlan", "is_set"]

T = TypeVar("T")


def is_set(value: T | MissingType | InferredType | None) -> TypeIs[T]:
    """Whether a plan field holds a real value (not MISSING / inferred / None)."""
    return value is not None and not is_missing(value) and not _is_inferred(value)


def _unset_tag(v: Any) -> str:
    return "???" if is_missing(v) else "inferred" if _is_inferred(v) else "value"


#: A value, or left to table generation: ``"???"``, ``"inferred"`` or ``None``.
Auto = Optional[  # noqa: UP045
    Annotated[
        Union[  # noqa: UP007
            Annotated[T, Tag("value")],
            Annotated[MissingType, Tag("???")],
            Annotated[InferredType, Tag("inferred")],
        ],
        Discriminator(_unset_tag),
    ]
]


def _time(value: Any) -> Any:
    """A timestamp, or an integer <= 0 (days before the latest usable anchor)."""
    if not is_set(value):
        return value
    if isinstance(value, bool):
        raise Broken("must be a timestamp or an integer <= 0", value)
    if isinstance(value, int):
        if value > 0:
            raise Broken("as an integer counts days back from the latest data and must be "
                         "<= 0", value)
        return value
    if isinstance(value, (_dt.datetime, _dt.date, pd.Timestamp)):
        return value
    if isinstance(value, str):
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise Broken("must be a timestamp such as '2011-06-01'", value) from None
        return value
    raise Broken("must be a timestamp or an integer <= 0", value)


def _split(value: str) -> str:
    if is_set(value):
        from relgraph.pquery.planner import parse_split

        parse_split(value)
    return value


def _table_column(value: str) -> str:
    if value.count(".") != 1:
        raise Broken("must be 'table.column'", value)
    return value


def _anchor(value: Any) -> Any:
    if is_set(value):
        try:
            anchor_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise Broken("must be 'inferred', a datetime or ns since the epoch",
                         value) from None
    return value


Time = Annotated[Any, AfterValidator(_time)]


class TrainingTableGenerationPlan(_PlanBase):
    """How a training table is generated from a predictive query.

    Args:
        split: split strategy, e.g. ``"ApproxDateOffsetSplit([0.8, 0.1, 0.1])"``,
            ``"DateOffsetSplit([-30, 0])"``, ``"TemporalSplit([0.8, 0.1, 0.1])"``,
            ``"RandomSplit([0.8, 0.1, 0.1])"``,
            ``"TimeRangeSplit([['2010-01-01', '2011-01-01'], [...], [...]])"``
            (see :mod:`relgraph.pquery.planner`).
        train_start_offset / train_end_offset: anchors lie within these many target-window
            units before the latest data (start: earliest, end: latest).
        start_time / end_time: earliest / latest anchor time (timestamp, or an integer <= 0 =
            days before the latest usable anchor).
        timeframe_step: spacing of anchor times, in the target window's unit.
        forecast_length: number of consecutive windows to forecast (temporal regression).
        lag_timesteps: number of past target values added as ``LAG_1..LAG_k`` columns.
        year_over_year: accepted for compatibility; not used.
        weight_col: ``"table.column"``, a numerical column giving each row's ``WEIGHT``.
    """

    split: Annotated[
        str,
        Strict(),
        Rule("must be a string such as 'ApproxDateOffsetSplit([0.8, 0.1, 0.1])'"),
        AfterValidator(_split),
    ] = INFERRED
    train_start_offset: Auto[Annotated[Int, Field(ge=0)]] = MISSING
    train_end_offset: Auto[Annotated[Int, Field(ge=0)]] = MISSING
    start_time: Time = MISSING
    end_time: Time = MISSING
    timeframe_step: Auto[Annotated[Int, Field(ge=1)]] = MISSING
    forecast_length: Auto[Annotated[Int, Field(ge=1)]] = MISSING
    lag_timesteps: Auto[Annotated[Int, Field(ge=0)]] = MISSING
    year_over_year: Auto[Bool] = MISSING
    weight_col: Optional[  # noqa: UP045
        Annotated[str, Strict(), Rule("must be 'table.column'"), AfterValidator(_table_column)]
    ] = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (times as ISO strings)."""
        out = super().to_dict()
        for key in ("start_time", "end_time"):
            if isinstance(out[key], (_dt.datetime, _dt.date)):
                out[key] = pd.Timestamp(out[key]).isoformat()
        return out


class PredictionTableGenerationPlan(_PlanBase):
    """How a prediction table is generated.

    Args:
        anchor_time: the prediction time: ``"inferred"`` (latest timestamp in the target
            table), a datetime / timestamp string, or an integer (ns since the epoch).
        forecast_length / lag_timesteps / year_over_year: must match the training values.
    """

    anchor_time: Annotated[Any, AfterValidator(_anchor)] = INFERRED
    forecast_length: Auto[Annotated[Int, Field(ge=1)]] = MISSING
    lag_timesteps: Auto[Annotated[Int, Field(ge=0)]] = MISSING
    year_over_year: Auto[Bool] = MISSING

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (the anchor time as an ISO string)."""
        out = super().to_dict()
        if is_set(out["anchor_time"]):
            out["anchor_time"] = anchor_timestamp(out["anchor_time"]).isoformat()
        return out


def anchor_timestamp(value: Any) -> pd.Timestamp:
    """A naive UTC :class:`pandas.Timestamp` from ns-since-epoch, a datetime or a string."""
    hint = ("give a datetime, a date string such as '2024-01-31 12:00' or nanoseconds "
            f"since the epoch (got {value!r})")
    if isinstance(value, bool):
        raise PlanError(f"An anchor time cannot be a bool; {hint}")
    try:
        ts = pd.Timestamp(value, unit="ns") if isinstance(value, int) else pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PlanError(f"Not a time: {exc}; {hint}") from None
    if ts is pd.NaT:
        raise PlanError(f"An anchor time cannot be missing (NaT); {hint}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts
