"""Pickle-free training and prediction tables for a job: ``<name>.parquet`` (rows) and
``<name>.json`` (task metadata) in the job's ``request/`` folder, covered by its manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.graph.snapshot import _list_columns, _restore_lists, _str, frame_bytes, read_frame
from relgraph.integrity import private_dir, read_verified, write_bytes_atomic

# ---------------------------------------------------------------------- tables
_TABLE_ATTRS = ("task_type", "query_type", "entity_table", "target_table", "top_k",
                "num_forecasts")


def save_table(folder: Path, name: str, table: Any,
               excluded_columns: set[tuple[str, str]] | None = None) -> None:
    """Write a training/prediction table's rows and metadata as ``name.parquet`` and
    ``name.json`` in ``folder``."""
    from relgraph.pquery.prediction_table import PredictionTable

    df = table.data_df()
    kind = "prediction" if isinstance(table, PredictionTable) or \
        getattr(table, "task_type", None) is None else "training"
    meta: dict[str, Any] = {"kind": kind, "list_columns": _list_columns(df)}
    for attr in _TABLE_ATTRS:
        value = getattr(table, attr, None)
        meta[attr] = _str(value) if attr in ("task_type", "query_type") else value
    anchor = getattr(table, "anchor_time", None)
    meta["anchor_time"] = None if anchor is None else pd.Timestamp(anchor).isoformat()
    query = getattr(table, "query", None)
    meta["query"] = getattr(query, "query", None) if query is not None else \
        getattr(table, "query_text", None)
    excluded = set(excluded_columns or ()) | set(getattr(table, "excluded_columns", ()) or ())
    meta["excluded_columns"] = sorted([list(c) for c in excluded])
    private_dir(folder)
    write_bytes_atomic(frame_bytes(df, f"The {kind} table"), folder / f"{name}.parquet")
    write_bytes_atomic(json.dumps(meta, indent=1, default=str).encode(),
                       folder / f"{name}.json")


def load_table(folder: Path, name: str, graph: Any = None) -> Any:
    """The table :func:`save_table` wrote, checked against ``folder``'s manifest."""
    from relgraph.pquery.prediction_table import PredictionTable
    from relgraph.pquery.training_table import TrainingTable
    from relgraph.task import QueryType, TaskType

    meta = json.loads(read_verified(folder, f"{name}.json"))
    df = _restore_lists(read_frame(read_verified(folder, f"{name}.parquet")),
                        list(meta.get("list_columns") or []))
    table: Any
    if meta.get("kind") == "prediction":
        anchor = meta.get("anchor_time")
        table = PredictionTable(
            df, anchor_time=pd.Timestamp(anchor) if anchor else None,
            entity_table=meta["entity_table"],
            task_type=TaskType(meta["task_type"]) if meta.get("task_type") else None,
            query_type=QueryType(meta["query_type"]) if meta.get("query_type") else None,
            graph=graph)
    else:
        table = TrainingTable(
            df, task_type=TaskType(meta["task_type"]), query_type=QueryType(meta["query_type"]),
            entity_table=meta["entity_table"], target_table=meta.get("target_table"),
            graph=graph, top_k=meta.get("top_k"), num_forecasts=meta.get("num_forecasts") or 1)
    excluded = {(str(t), str(c)) for t, c in meta.get("excluded_columns") or []}
    if excluded:
        table.excluded_columns = excluded
    table.query_text = meta.get("query")
    return table
