"""Helpers shared by the encoder modules: stype names, value keys, numeric coercion."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import PlanError

#: Canonical stype names (values of ``relgraph.graph.Stype``).
STYPES: tuple[str, ...] = (
    "numerical",
    "categorical",
    "multicategorical",
    "ID",
    "text",
    "timestamp",
    "sequence",
    "image",
    "unsupported",
)
_STYPE_BY_LOWER = {s.lower(): s for s in STYPES}


def stype_name(stype: Any) -> str:
    """Return the canonical stype string of ``stype`` (a string or a str-Enum member).

    Matching is case-insensitive (``"id"`` -> ``"ID"``); unknown names raise
    :class:`~relgraph.errors.PlanError`.
    """
    raw = str(stype.value if hasattr(stype, "value") else stype)
    name = _STYPE_BY_LOWER.get(raw.lower())
    if name is None:
        raise PlanError(f"Unknown stype {raw!r}; expected one of {', '.join(STYPES)}.")
    return name


def key_of(value: Any) -> str:
    """Canonical category key of one (non-null) value.

    Integral floats map to their integer text (``1.0`` -> ``"1"``) so that a column
    read once as int and once as float (because of nulls) yields the same keys.
    """
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if np.isfinite(f) and f.is_integer():
            return str(int(f))
        return repr(f)
    if isinstance(value, (np.integer,)):
        return str(int(value))
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def factorize_keys(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Factorize ``values``: per-row codes (``-1`` for null) and the key of each unique.

    Work is vectorized over rows; :func:`key_of` runs once per unique value.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), _keys_of_uniques(uniques)


def _keys_of_uniques(uniques: Any) -> list[str]:
    """Vectorized :func:`key_of` for the common dtypes; a Python loop otherwise."""
    arr = np.asarray(uniques)
    if arr.dtype.kind in "iu":
        return [str(v) for v in arr.astype(np.int64).tolist()]
    if arr.dtype.kind == "f":
        integral = np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) < 2**62)
        if integral.all():
            return [str(v) for v in arr.astype(np.int64).tolist()]
    obj = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(obj, skipna=False) == "string":
        return [str(v) for v in obj.tolist()]
    return [key_of(u) for u in obj]


def to_float(values: pd.Series) -> np.ndarray:
    """Numeric view of a column as float64 with NaN for null, non-numeric and +-inf."""
    if pd.api.types.is_timedelta64_dtype(values.dtype):
        out = values.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_bool_dtype(values.dtype):
        out = values.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        num = pd.to_numeric(values, errors="coerce")
        out = np.asarray(pd.Series(num).to_numpy(dtype=np.float64, na_value=np.nan))
    out = np.array(out, dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def to_epoch_seconds(values: pd.Series) -> np.ndarray:
    """Timestamps as float64 seconds since the epoch (naive read as UTC), NaN for null.

    Integer/float columns are read as epoch seconds; strings are parsed by pandas.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return to_float(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ts = pd.Series(pd.to_datetime(values, utc=True))
    else:
        try:  # one inferred format (fast path)
            ts = pd.Series(pd.to_datetime(values, utc=True))
        except (ValueError, TypeError, OverflowError):
            ts = pd.Series(pd.to_datetime(values, errors="coerce", utc=True, format="mixed"))
    ns = ts.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
    mask = np.isnat(ns)
    out = ns.astype(np.int64).astype(np.float64) / 1e9
    out[mask] = np.nan
    return out
