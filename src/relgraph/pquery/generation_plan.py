"""Training- and prediction-table generation plans (reference §1.7, §1.8).

Fields left at ``"???"`` (MISSING) or ``"inferred"`` are filled when the table is generated.
Fields are validated on construction and on assignment (``plan.timeframe_step = 7``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, fields
from typing import Any

import pandas as pd

from relgraph.errors import PlanError

__all__ = ["INFERRED", "MISSING", "PredictionTableGenerationPlan",
           "TrainingTableGenerationPlan", "is_set"]

MISSING = "???"
INFERRED = "inferred"


def is_set(value: object) -> bool:
    """Whether a plan field holds a real value (not MISSING / inferred / None)."""
    return value is not None and not (isinstance(value, str) and value in (MISSING, INFERRED))


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not is_set(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError(f"{name} must be an integer >= {minimum} (got {value!r})")


def _check_time(name: str, value: Any) -> None:
    if not is_set(value):
        return
    if isinstance(value, bool):
        raise PlanError(f"{name} must be a timestamp or an integer <= 0 (got {value!r})")
    if isinstance(value, int):
        if value > 0:
            raise PlanError(f"{name} as an integer counts days back from the latest data and "
                            f"must be <= 0 (got {value})")
        return
    if isinstance(value, (_dt.datetime, _dt.date, pd.Timestamp)):
        return
    if isinstance(value, str):
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise PlanError(f"{name} must be a timestamp such as '2011-06-01' "
                            f"(got {value!r})") from None
        return
    raise PlanError(f"{name} must be a timestamp or an integer <= 0 (got {value!r})")


@dataclass
class TrainingTableGenerationPlan:
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

    split: str = INFERRED
    train_start_offset: int | str = MISSING
    train_end_offset: int | str = MISSING
    start_time: Any = MISSING
    end_time: Any = MISSING
    timeframe_step: int | str = MISSING
    forecast_length: int | str = MISSING
    lag_timesteps: int | str = MISSING
    year_over_year: bool | str = MISSING
    weight_col: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            self._validate(f.name, getattr(self, f.name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in {f.name for f in fields(self)}:
            self._validate(name, value)
        super().__setattr__(name, value)

    @staticmethod
    def _validate(name: str, value: Any) -> None:
        if name in ("train_start_offset", "train_end_offset", "lag_timesteps"):
            _check_int(name, value, 0)
        elif name in ("timeframe_step", "forecast_length"):
            _check_int(name, value, 1)
        elif name in ("start_time", "end_time"):
            _check_time(name, value)
        elif name == "split":
            if not isinstance(value, str):
                raise PlanError(f"split must be a string such as "
                                f"'ApproxDateOffsetSplit([0.8, 0.1, 0.1])' (got {value!r})")
            if is_set(value):
                from relgraph.pquery.planner import parse_split

                parse_split(value)
        elif name == "weight_col":
            if value is not None and (not isinstance(value, str) or value.count(".") != 1):
                raise PlanError(f"weight_col must be 'table.column' (got {value!r})")
        elif name == "year_over_year" and is_set(value) and not isinstance(value, bool):
            raise PlanError(f"year_over_year must be a bool (got {value!r})")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("start_time", "end_time"):
            if isinstance(out[key], (_dt.datetime, _dt.date)):
                out[key] = pd.Timestamp(out[key]).isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingTableGenerationPlan:
        return cls(**data)


@dataclass
class PredictionTableGenerationPlan:
    """How a prediction table is generated.

    Args:
        anchor_time: the prediction time: ``"inferred"`` (latest timestamp in the target
            table), a datetime / timestamp string, or an integer (ns since the epoch).
        forecast_length / lag_timesteps / year_over_year: must match the training values.
    """

    anchor_time: Any = INFERRED
    forecast_length: int | str = MISSING
    lag_timesteps: int | str = MISSING
    year_over_year: bool | str = MISSING

    def __post_init__(self) -> None:
        for f in fields(self):
            self._validate(f.name, getattr(self, f.name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in {f.name for f in fields(self)}:
            self._validate(name, value)
        super().__setattr__(name, value)

    @staticmethod
    def _validate(name: str, value: Any) -> None:
        if name == "anchor_time" and is_set(value):
            try:
                anchor_timestamp(value)
            except (ValueError, TypeError, OverflowError):
                raise PlanError(f"anchor_time must be 'inferred', a datetime or ns since the "
                                f"epoch (got {value!r})") from None
        elif name == "forecast_length":
            _check_int(name, value, 1)
        elif name == "lag_timesteps":
            _check_int(name, value, 0)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if is_set(out["anchor_time"]):
            out["anchor_time"] = anchor_timestamp(out["anchor_time"]).isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictionTableGenerationPlan:
        return cls(**data)


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
