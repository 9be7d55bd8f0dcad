"""Column statistics of a table (``Table.get_stats``, ``Graph.get_table_stats``).

Every column gets ``num_rows``, ``num_nulls``, ``null_fraction`` and ``num_unique``; with
``wait_for="full"`` (or ``None``, the default) also, by semantic type: numerical ``min``,
``max``, ``mean``, ``std`` and the quartiles; timestamps ``min`` / ``max`` (ISO text);
categorical, ID and text columns the ten most frequent values with their counts; lists
(multicategorical, sequence) their mean length. Values are plain Python numbers and
strings (JSON-ready). Statistics describe the whole table, every time included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import GraphError
from relgraph.types import Stype

__all__ = ["WAIT_FOR", "column_stats"]

WAIT_FOR = (None, "minimal", "full")
_TOP = 10


def column_stats(values: pd.Series, stype: Stype | None, full: bool) -> dict[str, Any]:
    """The statistics of one column (see the module docstring)."""
    n = len(values)
    nulls = int(values.isna().sum()) if values.dtype != object else \
        int(values.map(_is_null).sum())
    present = values[~values.map(_is_null)] if values.dtype == object else values.dropna()
    try:
        unique = int(present.nunique())
    except TypeError:  # list cells
        unique = int(present.map(repr).nunique())
    out: dict[str, Any] = {"num_rows": n, "num_nulls": nulls,
                           "null_fraction": nulls / n if n else 0.0, "num_unique": unique}
    if not full or present.empty:
        return out
    if stype is Stype.numerical and pd.api.types.is_numeric_dtype(present.dtype):
        num = present.astype(float)
        q = np.quantile(num.to_numpy(), [0.25, 0.5, 0.75])
        out.update(min=float(num.min()), max=float(num.max()), mean=float(num.mean()),
                   std=float(num.std(ddof=0)), quantiles={"0.25": float(q[0]),
                                                         "0.5": float(q[1]),
                                                         "0.75": float(q[2])})
    elif stype is Stype.timestamp:
        times = pd.to_datetime(present, errors="coerce", utc=True).dropna()
        if len(times):
            out.update(min=times.min().isoformat(), max=times.max().isoformat())
    elif stype in (Stype.multicategorical, Stype.sequence) and \
            isinstance(present.iloc[0], (list, tuple, np.ndarray)):
        out["mean_length"] = float(present.map(len).mean())
    elif stype in (Stype.categorical, Stype.ID, Stype.text, Stype.multicategorical):
        top = present.astype(str).value_counts().head(_TOP)
        out["most_frequent"] = {str(k): int(v) for k, v in top.items()}
    return out


def check_wait_for(wait_for: str | None) -> bool:
    """Whether ``wait_for`` asks for full statistics; :class:`GraphError` if unknown."""
    if wait_for not in WAIT_FOR:
        raise GraphError(f"wait_for must be None, 'minimal' or 'full' (got {wait_for!r}).")
    return wait_for != "minimal"


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return value is pd.NA or value is pd.NaT
