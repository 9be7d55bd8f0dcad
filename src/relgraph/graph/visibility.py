"""The visibility rule: which rows a prediction at anchor time ``t`` may see.

A row is *visible* at anchor ``t`` when its time is ``<= t`` and, where its table has
an end-time column, its end time is ``> t``. Rows of tables without a time column are
static and always visible; a row whose time is NULL is never visible; a NULL end time
means the row is still valid. Every path from data to a model input asks this module
(DESIGN §4): the graph store and sampler (:meth:`relgraph.store.CSR.visible_candidates`
evaluates :func:`visible` behind a time-sorted index), degree and recency features,
encoder statistics (:func:`visible_rows`), and the SQL of aggregated features
(:func:`visible_sql`).

Times are int64 epoch seconds. In arrays, a NULL start time is :data:`NEVER_VISIBLE`
and a NULL end time is :data:`OPEN_END` (both ``INT64_MAX``), so the comparisons below
need no special case. :func:`store_times` converts a table's columns to that form.

Ties: among rows with the same time, "most recent first" orderings (``"last"``
sampling) put the smaller primary key first (time descending, then primary key
ascending; row order where a table has no primary key). :func:`tie_ranks` gives the
rank of each row in that secondary order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from relgraph.graph.table import Table

#: Start time of a row whose time is NULL: larger than every anchor, never visible.
NEVER_VISIBLE: int = int(np.iinfo(np.int64).max)
#: End time of a row whose end time is NULL: the row never stops being valid.
OPEN_END: int = int(np.iinfo(np.int64).max)
_NULL = int(np.iinfo(np.int64).min)  # how Table.time_values marks NULL

A = TypeVar("A")  # numpy arrays and torch tensors alike


def visible(time: A, anchor: A, end_time: A | None = None) -> A:
    """Elementwise visibility mask: ``time <= anchor`` and (``end_time > anchor``).

    Works on numpy arrays and torch tensors (broadcasting as usual). ``time`` and
    ``end_time`` use :data:`NEVER_VISIBLE` / :data:`OPEN_END` for NULL.
    """
    mask = time <= anchor  # type: ignore[operator]
    if end_time is not None:
        mask = mask & (end_time > anchor)  # type: ignore[operator]
    return mask  # type: ignore[no-any-return]


def visible_sql(time: str, anchor: str, end_time: str | None = None) -> str:
    """The rule as a SQL predicate over epoch-second expressions (NULL time: never,
    NULL end time: still valid)."""
    cond = f"{time} <= {anchor}"
    if end_time is not None:
        cond += f" AND ({end_time} IS NULL OR {end_time} > {anchor})"
    return f"({cond})"


def store_times(table: Table) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(time, end_time)`` of a table's rows as the rule takes them (``None`` where the
    table has no such column): int64 epoch seconds, NULL as ``NEVER_VISIBLE`` /
    ``OPEN_END``."""
    time = None
    if table.time_column is not None:
        time = _replace_null(table.time_values(), NEVER_VISIBLE)
    end = None
    if table.end_time_column is not None:
        end = _replace_null(table.time_values(table.end_time_column), OPEN_END)
    return time, end


def visible_rows(table: Table, anchor: int | None, *, include_ended: bool = False
                 ) -> np.ndarray:
    """Boolean mask of the rows of ``table`` visible at ``anchor`` (``None``: every row).

    ``include_ended=True`` also keeps rows that were visible earlier and have ended
    since (every row that ever was visible at or before ``anchor``): encoders are
    fitted on these, since earlier training anchors saw them.
    """
    if anchor is None:
        return np.ones(table.num_rows, dtype=bool)
    time, end = store_times(table)
    if time is None:
        time = np.full(table.num_rows, np.iinfo(np.int64).min, dtype=np.int64)
    return np.asarray(visible(time, np.int64(anchor), None if include_ended else end))


def tie_ranks(table: Table) -> np.ndarray:
    """int64 rank of every row when sorted by primary key (row order without one, and
    for keys that cannot be compared): the secondary order among equal times."""
    n = table.num_rows
    pk = table.primary_key
    if pk is None or n == 0:
        return np.arange(n, dtype=np.int64)
    values = table.data[pk]
    try:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
                values.dtype):
            keys = values.astype("float64").to_numpy()
        else:
            keys = values.astype("string").to_numpy(dtype=object, na_value="")
        order = np.argsort(keys, kind="stable")
    except TypeError:
        return np.arange(n, dtype=np.int64)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n, dtype=np.int64)
    return ranks


def _replace_null(values: np.ndarray, null: int) -> np.ndarray:
    out = np.array(values, dtype=np.int64)  # a copy: Table caches its time values
    out[out == _NULL] = null
    return out
