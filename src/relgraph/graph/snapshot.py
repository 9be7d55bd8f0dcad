"""Pickle-free snapshots of graphs and tables (job inputs, saved objects).

A worker process (or a torchrun rank) rebuilds what a job needs from files nobody can make
run code:

* a **graph snapshot**: each table's rows as Parquet under ``<home>/snapshots/`` named by
  the SHA-256 of the file (rewritten on every submit, never reused by name), plus a JSON
  descriptor (columns, keys, time columns, edges, each file's checksum) stored in the job's
  request in the job store;
* a **table** (training or prediction): :mod:`relgraph.pquery.snapshot`;
* an **output config**: :func:`relgraph.connector.exports.output_to_json`.

Loading checks every file's checksum before parsing it (:mod:`relgraph.integrity`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import ArtifactError, JobError
from relgraph.integrity import (
    private_dir,
    read_expected,
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
    from relgraph.graph.graph import Graph

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
    from relgraph.graph.column import Column
    from relgraph.graph.table import Table

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
