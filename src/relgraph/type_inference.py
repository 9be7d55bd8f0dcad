"""Metadata inference: dtypes, stypes, primary keys and time columns from data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from relgraph.types import Dtype, Stype

_MULTI_SEPARATORS = ("|", ";", ",")
_TIME_NAME = re.compile(r"(date|time|_at$|_ts$|^ts$|timestamp|created|updated)", re.I)
_ID_NAME = re.compile(r"(^id$|_id$|^id_|Id$|ID$|_key$|^key$|_code$|^code$|_no$|num$)")


_KEY_DTYPES = {Dtype.int, Dtype.byte, Dtype.int16, Dtype.int32, Dtype.int64, Dtype.float,
               Dtype.float32, Dtype.float64, Dtype.string}


def infer_dtype(series: pd.Series) -> Dtype:
    """The :class:`Dtype` of a pandas column."""
    dt = series.dtype
    if ptypes.is_bool_dtype(dt):
        return Dtype.bool
    if ptypes.is_integer_dtype(dt):
        return Dtype.int64 if dt.itemsize == 8 else {1: Dtype.byte, 2: Dtype.int16,
                                                      4: Dtype.int32}.get(dt.itemsize, Dtype.int)
    if ptypes.is_float_dtype(dt):
        return Dtype.float32 if dt.itemsize == 4 else Dtype.float64
    if ptypes.is_datetime64_any_dtype(dt):
        return Dtype.date
    if ptypes.is_timedelta64_dtype(dt):
        return Dtype.timedelta
    if ptypes.is_string_dtype(dt) or ptypes.is_object_dtype(dt):
        sample = series.dropna().head(100)
        if len(sample) == 0:
            return Dtype.string
        first = sample.iloc[0]
        if isinstance(first, bytes):
            return Dtype.binary
        if isinstance(first, (list, tuple, np.ndarray)):
            items = [x for v in sample for x in v]
            if items and all(isinstance(x, str) for x in items):
                return Dtype.stringlist
            if items and all(isinstance(x, (int, np.integer)) for x in items):
                return Dtype.intlist
            return Dtype.floatlist
        if all(isinstance(v, str) for v in sample):
            return Dtype.string
        if hasattr(first, "year") and hasattr(first, "month"):
            return Dtype.date
        return Dtype.unsupported
    if isinstance(dt, pd.CategoricalDtype):
        return Dtype.string
    return Dtype.unsupported


def looks_like_time(series: pd.Series, name: str) -> bool:
    """Whether a string column parses as timestamps (checked on a sample)."""
    sample = series.dropna().astype(str).head(200)
    if len(sample) == 0 or (not _TIME_NAME.search(name) and not sample.str.match(
        r"^\d{4}-\d{2}-\d{2}").all()):
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.95)


def infer_stype(series: pd.Series, dtype: Dtype, name: str, *, is_key: bool = False) -> Stype:
    """A sensible :class:`Stype` for a column from its values, dtype and name."""
    if is_key:
        return Stype.ID
    n = int(series.notna().sum())
    if dtype.is_temporal:
        return Stype.timestamp
    if dtype is Dtype.bool:
        return Stype.categorical
    if dtype is Dtype.stringlist:
        return Stype.multicategorical
    if dtype in (Dtype.floatlist, Dtype.intlist):
        return Stype.sequence
    if dtype is Dtype.timedelta:
        return Stype.numerical
    if dtype.is_int and _TIME_NAME.search(name) and not _ID_NAME.search(name) \
            and _looks_like_epoch(series):
        return Stype.timestamp
    if dtype.is_numeric:
        if _ID_NAME.search(name) and (dtype.is_int or _is_integral(series)):
            return Stype.ID
        nunique = series.nunique(dropna=True)
        if dtype.is_int and nunique <= 2 and n > 10:
            return Stype.categorical
        return Stype.numerical
    if dtype is Dtype.string:
        if looks_like_time(series, name):
            return Stype.timestamp
        values = series.dropna().astype(str)
        if len(values) == 0:
            return Stype.categorical
        sample = values.sample(min(len(values), 5000), random_state=0) \
            if len(values) > 5000 else values
        nunique = values.nunique()
        if _ID_NAME.search(name) and nunique > 0.5 * len(values):
            return Stype.ID
        for sep in _MULTI_SEPARATORS:
            has_sep = sample.str.contains(sep, regex=False).mean()
            if (has_sep > 0.2 and sep != ",") or has_sep > 0.5:
                parts = sample.str.split(sep, regex=False).explode().str.strip()
                if parts.nunique() < max(50, 0.05 * len(parts)) and parts.str.len().mean() < 30:
                    return Stype.multicategorical
        mean_len = float(sample.str.len().mean())
        n_words = float(sample.str.count(" ").mean()) + 1
        if nunique <= max(50, 0.05 * len(values)) or (mean_len < 30 and n_words < 4
                                                     and nunique <= 0.5 * len(values)):
            return Stype.categorical
        if n_words >= 3 or mean_len >= 30:
            return Stype.text
        return Stype.categorical if nunique < 0.5 * len(values) else Stype.ID
    if dtype is Dtype.binary:
        return Stype.categorical
    return Stype.unsupported


def _looks_like_epoch(series: pd.Series) -> bool:
    values = series.dropna()
    if len(values) == 0:
        return False
    lo, hi = float(values.min()), float(values.max())
    return any(1e8 * f <= lo and hi <= 4.2e9 * f for f in (1, 1e3, 1e6, 1e9))


def _is_integral(series: pd.Series) -> bool:
    values = series.dropna()
    return bool(len(values) > 0 and np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))


def preferred_key_names(table_name: str) -> list[str]:
    """Lower-case key names that say "the id of this table" (``orders`` -> ``order_id``)."""
    name = table_name.lower()
    singular = name[:-1] if name.endswith("s") else name
    return ["id", f"{name}_id", f"{singular}_id", f"{name}id", f"{singular}id"]


def infer_primary_key(df: pd.DataFrame, table_name: str) -> str | None:
    """Propose a primary key: a unique, non-null column whose name looks like a key."""
    preferred = preferred_key_names(table_name)
    candidates = []
    for col in df.columns:
        series = df[col]
        if ptypes.is_float_dtype(series.dtype) and not _is_integral(series):
            continue
        if ptypes.is_datetime64_any_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype):
            continue
        if infer_dtype(series) not in _KEY_DTYPES:  # lists, bytes, mixed objects
            continue
        if series.isna().any() or not series.is_unique:
            continue
        candidates.append(str(col))
    for name in candidates:
        if name.lower() in preferred:
            return name
    for name in candidates:
        if _ID_NAME.search(name):
            return name
    first = str(df.columns[0]) if len(df.columns) else None
    if first in candidates and not ptypes.is_float_dtype(df[first].dtype):
        return first
    return None


def infer_time_column(df: pd.DataFrame, stypes: dict[str, Stype]) -> str | None:
    """Propose a time column: a timestamp column, preferring names that look like event times."""
    cands = [c for c, s in stypes.items() if s is Stype.timestamp
             and not re.search(r"last_update|updated|modified", c, re.I)]
    if not cands:
        return None
    ranked = sorted(cands, key=lambda c: (
        bool(re.search(r"update|modified|end|return|last", c, re.I)),
        not bool(_TIME_NAME.search(c)),
        float(df[c].isna().mean()),
    ))
    return ranked[0]


#: Integer units a column's ``timestamp_format`` may name (the default is inferred).
EPOCH_UNITS = ("s", "ms", "us", "ns")
#: Anchor times and windows are computed as pandas timestamps (nanoseconds): the range of
#: instants a time column may hold, in epoch seconds (1677-09-22 .. 2262-04-11).
MIN_SECONDS = int(pd.Timestamp.min.ceil("s").value // 1_000_000_000)
MAX_SECONDS = int(pd.Timestamp.max.floor("s").value // 1_000_000_000)


def to_epoch_seconds(series: pd.Series, column: str, table: str,
                     timestamp_format: str | None = None) -> np.ndarray:
    """Convert a time column to int64 epoch seconds (UTC); nulls become ``INT64_MIN``.

    Integers are epoch seconds (or ms/us/ns by magnitude, or the unit ``timestamp_format``
    names); a ``timestamp_format`` such as ``"%Y"`` parses the values as text. Raises
    :class:`GraphError` naming the column when values cannot be parsed, and
    :class:`TimeColumnError` for integers that look like years.
    """
    from relgraph.errors import GraphError, TimeColumnError

    s = series
    fmt = timestamp_format
    if fmt is not None and fmt not in EPOCH_UNITS:
        raw = s.astype("string")
        dt = pd.to_datetime(raw, errors="coerce", utc=True, format=fmt)
        bad = dt.isna() & raw.notna() & (raw.str.strip() != "")
        if bool(bad.any()):
            raise GraphError(
                f"Time column '{table}.{column}' has {int(bad.sum())} values that do not match "
                f"its timestamp_format {fmt!r}, e.g. {raw[bad].head(3).tolist()}. Fix the "
                f"format (table['{column}'].timestamp_format = ...) or the values.")
    elif ptypes.is_integer_dtype(s.dtype) or ptypes.is_float_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        unit = fmt or "s"
        if len(finite) and fmt is None:
            mag = np.nanmax(np.abs(finite))
            unit = "ns" if mag > 1e17 else "us" if mag > 1e14 else "ms" if mag > 1e11 else "s"
            if ptypes.is_integer_dtype(s.dtype) and finite.min() >= 1000 and \
                    finite.max() <= 2999:
                lo, hi = int(finite.min()), int(finite.max())
                raise TimeColumnError(
                    f"Time column '{table}.{column}' holds integers from {lo} to {hi}, which "
                    f"look like years; read as seconds since 1970 they would all fall on "
                    f"1970-01-01 ({pd.Timestamp(lo, unit='s')} .. "
                    f"{pd.Timestamp(hi, unit='s')}). If they are years, say so: "
                    f"table['{column}'].timestamp_format = '%Y' (or convert them, "
                    f"df['{column}'] = pd.to_datetime(df['{column}'].astype(str), "
                    f"format='%Y')). If they are epoch seconds, set "
                    f"table['{column}'].timestamp_format = 's'.")
        dt = pd.to_datetime(s, unit=unit, errors="coerce", utc=True)
    elif ptypes.is_datetime64_any_dtype(s.dtype):
        dt = pd.to_datetime(s, utc=True)
    else:
        raw = s.astype("string")
        dt = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
        bad = dt.isna() & raw.notna() & (raw.str.strip() != "")
        if bool(bad.any()):
            examples = raw[bad].head(3).tolist()
            raise GraphError(
                f"Time column '{table}.{column}' has {int(bad.sum())} values that are not "
                f"timestamps, e.g. {examples}. Clean these values, or choose another time "
                f"column (table.time_column = ...), or set table.time_column = None."
            )
    out = np.full(len(s), np.iinfo(np.int64).min, dtype=np.int64)
    mask = dt.notna().to_numpy()
    if mask.any():
        utc = dt[mask].dt.tz_convert("UTC").dt.tz_localize(None)
        out[mask] = utc.to_numpy().astype("datetime64[s]").astype(np.int64)
    return out


def check_time_range(secs: np.ndarray, series: pd.Series, column: str, table: str) -> None:
    """:class:`TimeColumnError` when a time column holds instants outside the years
    1678-2261 (placeholders such as 9999-12-31 or 0001-01-01)."""
    from relgraph.errors import TimeColumnError

    valid = secs != np.iinfo(np.int64).min
    bad = valid & ((secs < MIN_SECONDS) | (secs > MAX_SECONDS))
    if not bad.any():
        return
    examples = sorted({str(v) for v in series[bad].head(20).tolist()})[:3]
    raise TimeColumnError(
        f"Time column '{table}.{column}' holds {int(bad.sum())} values outside the years "
        f"1678-2261 relgraph can place anchor times in, e.g. {examples}. Such dates are "
        f"usually placeholders ('9999-12-31' for 'no end', '0001-01-01' for 'unknown'): "
        f"make them missing, e.g. df.loc[(df['{column}'] < '1678') | "
        f"(df['{column}'] > '2262'), '{column}'] = None, or move an end-of-validity "
        f"date to end_time_column.")
