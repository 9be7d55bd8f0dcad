"""Why a generated training table is empty, or has an empty split, or an infinite target:
the errors and warnings of ``PredictiveQuery.generate_training_table``, each naming the
condition that removed the rows and the fix."""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from relgraph.errors import EmptyTrainingTableError, NonFiniteTargetError
from relgraph.pquery.binder import BAgg, BCol, BoundQuery
from relgraph.pquery.sql import build_label_sql
from relgraph.pquery.training_table import ANCHOR, ENTITY, SPLIT, TARGET
from relgraph.task import QueryType, TaskType

if TYPE_CHECKING:
    from relgraph.pquery.predictive_query import PredictiveQuery

__all__ = ["check_finite_target", "check_splits", "why_no_rows"]


def check_splits(pq: PredictiveQuery, out: pd.DataFrame, anchor_splits: dict[int, str]) -> None:
    """:class:`EmptyTrainingTableError` when the table or its train split is empty, a
    warning for an empty val/test split; each names the condition that removed the rows."""
    counts = out[SPLIT].value_counts() if len(out) else pd.Series(dtype=int)
    empty = [s for s in ("train", "val", "test") if int(counts.get(s, 0)) == 0]
    if not empty:
        return
    temporal = pq.query_type is QueryType.TEMPORAL
    for split in empty:
        if not temporal:
            anchors = [pq._now()]
        elif len(out) == 0:  # the whole table: every anchor
            anchors = sorted(anchor_splits)
        else:
            anchors = sorted(a for a, s in anchor_splits.items() if s == split)
        where = f" at its {len(anchors)} anchor time(s) {_span(anchors)}" \
            if temporal and anchors else ""
        if len(out) == 0:
            reason = why_no_rows(pq, anchors)
        elif not temporal:
            reason = (f"the split assigned none of the {len(out)} rows to it (too few "
                      "rows for a train/val/test split; set the training table plan's "
                      "split, e.g. RandomSplit([0.8, 0.2, 0.0])).")
        elif not anchors:
            reason = ("the split assigns no anchor time to it (anchors per split: "
                      f"{_anchor_summary(anchor_splits)}). Widen start_time/end_time or "
                      "change the split of the training table plan.")
        else:
            reason = why_no_rows(pq, anchors)
        if len(out) == 0:
            raise EmptyTrainingTableError(
                f"The training table is empty for query '{pq.query}'{where}: {reason}")
        if split == "train":
            raise EmptyTrainingTableError(
                f"The training table has no 'train' rows for query '{pq.query}'{where}: "
                f"{reason}")
        warnings.warn(f"The '{split}' split of the training table is empty{where}: "
                      f"{reason} Metrics on that split will be missing.", stacklevel=3)

def why_no_rows(pq: PredictiveQuery, anchors: list[int]) -> str:
    """Which condition leaves no (entity, anchor) row at ``anchors``, and the fix."""
    eng = pq.graph.engine
    ent = pq.entity_table
    table = pq.graph.tables[ent]
    temporal = pq.query_type is QueryType.TEMPORAL
    total = int(eng.sql(f"SELECT count(*) AS n FROM {eng.relation(ent)}")["n"][0])
    if total == 0:
        return f"the entity table '{ent}' has no rows."
    bq = pq._bind()

    def count(query: BoundQuery) -> int:
        label = build_label_sql(query, pq.graph, anchors, temporal=temporal,
                                mode="predict")
        return int(eng.sql(f"SELECT count(*) AS n FROM ({label.sql}) __q",
                           label.params)["n"][0])

    unfiltered = count(dataclasses.replace(bq, entity_filter=None))
    if unfiltered == 0 and temporal and table.time_column is not None:
        col = table.time_column
        first = eng.sql(f"SELECT min(__rg_time) AS t FROM {eng.relation(ent)}")["t"][0]
        first_text = pd.Timestamp(int(first), unit="s") if not pd.isna(first) else "none"
        return (f"the entity time column '{ent}.{col}' removed every row. An entity is "
                f"used only at anchors at or after its {col}, and every one of the {total} "
                f"'{ent}' rows is dated after the latest anchor "
                f"{pd.Timestamp(max(anchors), unit='s')} (earliest {col}: {first_text}). "
                f"If '{col}' is not when an entity came into existence (e.g. a record "
                f"creation or import date), unset it: graph['{ent}'].time_column = None. "
                "Otherwise place the anchors after it (start_time/end_time of the "
                "training table plan).")
    if unfiltered == 0 and temporal and table.end_time_column is not None:
        return (f"the end time column '{ent}.{table.end_time_column}' removed every row: "
                f"every '{ent}' row ended before the anchors. Use earlier anchors, or "
                f"unset it: graph['{ent}'].end_time_column = None.")
    if bq.entity_filter is not None and count(bq) == 0:
        match = re.search(r"\bWHERE\b(.*?)(?:\bASSUMING\b|$)", pq.query, re.I | re.S)
        clause = match.group(1).strip() if match else "the WHERE clause"
        return (f"the entity filter WHERE {clause} removed every row ({unfiltered} "
                "entity/anchor pairs exist, none passes it). Loosen the filter, or "
                "check its window against the data's time range.")
    target = bq.target
    if isinstance(target, BAgg):
        days = ((target.start or 0) / 86400, (target.end or 0) / 86400)
        window = f"in the window ({days[0]:g}, {days[1]:g}] days after the anchor" \
            if target.windowed else ""
        return (f"the target removed every row: {target.func} over '{target.table}' "
                f"{window} has no value for any of the {count(bq)} entity/anchor "
                f"pairs ({target.func} of no rows gives no label; "
                f"latest '{target.table}' row: {pq._latest(target.table)}). Widen the "
                "window, move the anchors (training table plan), or use COUNT/SUM, "
                "which are 0 for no rows.")
    return (f"the target (or ASSUMING clause) gives no label for any of the {count(bq)} "
            "entity/anchor pairs. Check that the target's values are not all missing.")


def _span(anchors: list[int]) -> str:
    lo, hi = pd.Timestamp(min(anchors), unit="s"), pd.Timestamp(max(anchors), unit="s")
    return f"({lo})" if lo == hi else f"({lo} .. {hi})"


def _anchor_summary(anchor_splits: dict[int, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for split in anchor_splits.values():
        out[split] = out.get(split, 0) + 1
    return out


def check_finite_target(pq: PredictiveQuery, out: pd.DataFrame, task_type: TaskType) -> None:
    """:class:`NonFiniteTargetError` when a regression/forecasting target holds inf."""
    if not task_type.is_regression or TARGET not in out.columns or out.empty:
        return
    target = out[TARGET]
    if task_type is TaskType.FORECASTING:
        bad = target.map(lambda v: bool(np.isinf(np.asarray(v, dtype=float)).any())
                         if v is not None else False).to_numpy(dtype=bool)
    else:
        bad = np.isinf(pd.to_numeric(target, errors="coerce").to_numpy(dtype=float))
    if not bad.any():
        return
    first = out[bad].iloc[0]
    at = f" at {first[ANCHOR]}" if ANCHOR in out.columns else ""
    sources = []
    bq = pq._bind()
    cols = [(a.table, a.column.column) for a in bq.target_aggregations() if a.column is not None]
    if isinstance(bq.target, BCol):
        cols.append((bq.target.table, bq.target.column))
    for table, col in dict.fromkeys(cols):
        values = pd.to_numeric(pq.graph.tables[table].data[col], errors="coerce")
        n = int(np.isinf(values.to_numpy(dtype=float)).sum())
        if n:
            sources.append(f"'{table}.{col}' holds {n} infinite values")
    where = "; ".join(sources) or "the target expression overflows"
    raise NonFiniteTargetError(
        f"The regression target of '{pq.query}' is infinite in {int(bad.sum())} of {len(out)} "
        f"training rows (e.g. entity {first[ENTITY]!r}{at}): {where}. Replace them before "
        "building the graph, e.g. df[col] = df[col].replace([np.inf, -np.inf], np.nan), or "
        "filter those rows out.")
