"""Pickle-free job inputs: graphs, training/prediction tables and output configs.

A worker process (or a torchrun rank) rebuilds what a job needs from files nobody can make
run code:

* a **graph snapshot**: each table's rows as Parquet under ``<home>/snapshots/`` named by
  the SHA-256 of the file (rewritten on every submit, never reused by name), plus a JSON
  descriptor (columns, keys, time columns, edges, each file's checksum) stored in the job's
  request in the job store;
* a **table** (training or prediction): ``<name>.parquet`` (rows) and ``<name>.json``
  (task metadata) in the job's ``request/`` folder, covered by its manifest;
* an **output config**: JSON (``output_connector`` as a folder, or a database connector's
  spec: a file path, or PostgreSQL settings without the password).

Loading checks every file's checksum before parsing it (:mod:`relgraph.integrity`).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import ArtifactError, JobError
from relgraph.integrity import (
    private_dir,
    read_expected,
    read_verified,
    sha256_bytes,
    write_bytes_atomic,
)

SNAPSHOTS = "snapshots"
FORMAT_VERSION = 1


class SnapshotError(JobError):
    """A graph or table holds values that cannot be written as Parquet for a worker."""


# ---------------------------------------------------------------------- frames
def frame_bytes(df: pd.DataFrame, what: str) -> bytes:
    """``df`` as Parquet bytes; :class:`SnapshotError` naming ``what`` when it cannot be."""
    buf = io.BytesIO()
    try:
        df.to_parquet(buf)
    except Exception as exc:  # pyarrow raises several types for unsupported cells
        bad = _bad_column(df)
        where = f" (column '{bad}')" if bad is not None else ""
        raise SnapshotError(
            f"{what}{where} cannot be written as Parquet for a worker process "
            f"({type(exc).__name__}: {exc}). Give the column one type (e.g. "
            "df[col] = df[col].astype(str)), or run with non_blocking=False.") from exc
    return buf.getvalue()


def _bad_column(df: pd.DataFrame) -> str | None:
    for col in df.columns:
        try:
            df[[col]].to_parquet(io.BytesIO())
        except Exception:
            return str(col)
    return None


def read_frame(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def _list_columns(df: pd.DataFrame) -> list[str]:
    """Object columns whose cells are lists (Parquet gives them back as numpy arrays)."""
    out = []
    for col in df.columns:
        if df[col].dtype == object:
            cells = df[col].dropna()
            if len(cells) and isinstance(cells.iloc[0], (list, tuple)):
                out.append(str(col))
    return out


def _restore_lists(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for col in columns:
        if col in df.columns:
            df[col] = pd.Series([v.tolist() if isinstance(v, np.ndarray) else v
                                 for v in df[col]], index=df.index, dtype=object)
    return df


# ---------------------------------------------------------------------- graphs
def snapshot_table(home: Path, name: str, table: Any) -> dict[str, Any]:
    """Write ``table``'s rows as ``<home>/snapshots/<sha256>.parquet`` (always rewritten);
    returns its JSON spec (file, checksum, columns, keys, time columns) for
    :func:`load_table_snapshot`."""
    folder = private_dir(Path(home) / SNAPSHOTS)
    df = table.data
    data = frame_bytes(df, f"Table '{name}'")
    digest = sha256_bytes(data)
    write_bytes_atomic(data, folder / f"{digest}.parquet")
    return {
        "file": f"{digest}.parquet", "sha256": digest, "rows": len(df),
        "columns": [{"name": c.name, "stype": _str(c.stype), "dtype": _str(c.dtype),
                     "timestamp_format": c.timestamp_format} for c in table.columns],
        "primary_key": table.primary_key, "pk_inferred": bool(table._pk_inferred),
        "time_column": table.time_column, "end_time_column": table.end_time_column,
        "list_columns": _list_columns(df)}


def snapshot_graph(home: Path, graph: Any) -> dict[str, Any]:
    """Write ``graph``'s tables under ``<home>/snapshots/``; returns the JSON descriptor
    that :func:`load_graph` rebuilds the graph from."""
    tables = {name: snapshot_table(home, name, table) for name, table in graph.tables.items()}
    return {"version": FORMAT_VERSION, "fingerprint": graph.fingerprint(), "tables": tables,
            "edges": [list(e) for e in graph.edges]}


def _str(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def snapshot_files(descriptor: Any) -> set[str]:
    """File names under ``snapshots/`` a descriptor uses (for garbage collection)."""
    if not isinstance(descriptor, dict):
        return set()
    return {str(t.get("file")) for t in (descriptor.get("tables") or {}).values()
            if isinstance(t, dict)}


def load_graph(home: Path, descriptor: Any) -> Any:
    """The graph of a snapshot descriptor; every table file is checked against its SHA-256
    before it is read."""
    from relgraph.graph import Graph

    if not isinstance(descriptor, dict) or descriptor.get("version") != FORMAT_VERSION:
        raise ArtifactError(
            f"The job's graph snapshot is not a version-{FORMAT_VERSION} relgraph snapshot "
            f"(got {type(descriptor).__name__}); it was written by an older relgraph (as a "
            "pickle, which is never loaded). Run the job again.")
    tables = {name: load_table_snapshot(home, name, spec)
              for name, spec in descriptor["tables"].items()}
    return Graph(tables=tables, edges=[tuple(e) for e in descriptor.get("edges", [])])


def load_table_snapshot(home: Path, name: str, spec: dict[str, Any]) -> Any:
    """The table of a :func:`snapshot_table` spec; its file is checked against the
    spec's SHA-256 before it is read."""
    from relgraph.graph import Column, Table

    folder = Path(home) / SNAPSHOTS
    file = str(spec["file"])
    if Path(file).name != file:
        raise ArtifactError(f"A snapshot names a file outside {folder}: {file!r}.")
    df = _restore_lists(read_frame(read_expected(folder / file, str(spec["sha256"]))),
                        list(spec.get("list_columns") or []))
    columns = [Column(c["name"], c["stype"], c["dtype"], c.get("timestamp_format"))
               for c in spec["columns"]]
    table = Table(df, columns, name=name)
    table._primary_key = spec.get("primary_key")
    table._pk_inferred = bool(spec.get("pk_inferred"))
    table._time_column = spec.get("time_column")
    table._end_time_column = spec.get("end_time_column")
    return table


# ---------------------------------------------------------------------- tables
_TABLE_ATTRS = ("task_type", "query_type", "entity_table", "target_table", "top_k",
                "num_forecasts")


def save_table(folder: Path, name: str, table: Any,
               excluded_columns: set[tuple[str, str]] | None = None) -> None:
    """Write a training/prediction table's rows and metadata as ``name.parquet`` and
    ``name.json`` in ``folder``."""
    from relgraph.pquery import PredictionTable

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
    from relgraph.pquery import PredictionTable, TrainingTable
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


# ---------------------------------------------------------------------- output configs
def output_to_json(output: Any) -> dict[str, Any]:
    """An :class:`~relgraph.connector.output.OutputConfig` as JSON; a database connector as
    its spec (never a password: a worker gets it from its environment), a connector that
    has no JSON form as ``{"type": "live"}`` (usable only by an inline job)."""
    from relgraph.connector import DatabaseConnector
    from relgraph.connector.exports import DATABASE_OUTPUTS

    conn = output.output_connector
    connector: dict[str, Any] | None
    if conn is None:
        connector = None
    elif isinstance(conn, DatabaseConnector) and isinstance(
            conn, DATABASE_OUTPUTS.get(conn.scheme, ())):  # type: ignore[arg-type]
        connector = conn.to_spec()
    elif isinstance(conn, (str, os.PathLike)):
        connector = {"type": "folder", "path": str(Path(conn).resolve())}
    elif type(conn).__name__ == "LocalFileConnector" and hasattr(conn, "root_dir"):
        connector = {"type": "folder", "path": str(Path(conn.root_dir).resolve())}
    else:
        connector = {"type": "live", "repr": repr(conn)}
    out = {"output_types": sorted(output.output_types), "output_connector": connector,
           "output_table_name": output.output_table_name,
           "output_metadata_fields": list(output.output_metadata_fields),
           "file_type": output.file_type}
    if output.connector_specific_config is not None:
        out["write_mode"] = output.write_mode.value
    return out


def output_from_json(value: dict[str, Any]) -> Any:
    from relgraph.connector import DatabaseConnectorConfig
    from relgraph.connector.exports import DATABASE_OUTPUTS
    from relgraph.connector.output import OutputConfig

    spec = value.get("output_connector")
    conn: Any = None
    if spec is not None:
        kind = spec.get("type")
        if kind in DATABASE_OUTPUTS:
            conn = DATABASE_OUTPUTS[kind].from_spec(spec)
        elif kind == "folder":
            conn = Path(spec["path"])
        else:
            raise JobError(f"The output connector {spec.get('repr', kind)} cannot be passed to "
                           "a worker process; predict with non_blocking=False, or write to a "
                           "folder or a SQLite, DuckDB or PostgreSQL database.")
    mode = value.get("write_mode")
    return OutputConfig(output_types=set(value["output_types"]), output_connector=conn,
                        output_table_name=value.get("output_table_name"),
                        output_metadata_fields=list(value.get("output_metadata_fields") or []),
                        file_type=value.get("file_type", "parquet"),
                        connector_specific_config=None if mode is None
                        else DatabaseConnectorConfig(write_mode=mode))
