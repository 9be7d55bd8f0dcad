"""Writing predictions and embeddings to a user's output connector.

An export never deletes what relgraph did not write, and is part of its job's commit:

1. :func:`plan_export` names the destination (``<output_table_name>_<type>``, checked by
   :func:`~relgraph.connector.output.check_output_name` and kept inside the output folder)
   and a temporary sibling: ``.<file>.rg-<token>.tmp`` beside the file, or table
   ``__rg_tmp_<token>_<table>`` in the database. The job records it in
   ``<job folder>/exports.json`` first (a database as its connector's JSON spec: never a
   password; a worker process gets that from its environment).
2. :func:`stage` writes the rows to the temporary; the destination is untouched, so a job
   that fails or is killed here leaves no new file or table once its temporaries are
   discarded (:func:`discard_pending`, also run when a dead worker is reaped).
3. :func:`publish` (after the job's commit point) checks that the destination is absent or
   was written by relgraph, records it in the home's output registry (``outputs`` in
   ``jobs.db``), then renames the temporary over it. A database table is published by its
   connector in one transaction: ``OVERWRITE`` drops the old table and renames the
   temporary; ``APPEND`` inserts the temporary's rows into the table (renames it when the
   table is missing) and drops it. A publish killed half-way rolls back and is completed
   by whoever reaps the job.

A destination that exists and is not in the registry (a user's file or table) is never
replaced: :class:`~relgraph.errors.OutputExistsError`. ``APPEND`` replaces nothing, so it may
add rows to any table whose columns fit; a table it creates is registered as relgraph's.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from relgraph import hooks
from relgraph.connector import (
    DatabaseConnector,
    DatabaseConnectorConfig,
    DuckDBConnector,
    PostgresConnector,
    SQLiteConnector,
    WriteMode,
)
from relgraph.connector.output import (
    OutputConfig,
    check_output_name,
    output_file,
    prepare_export,
)
from relgraph.errors import ArtifactError, JobError, OutputExistsError


class OutputRegistry(Protocol):
    """The home's record of what relgraph wrote (the job store's ``outputs`` table,
    :class:`relgraph.jobs.store.JobStore`; reached through :mod:`relgraph.hooks`)."""

    def output_record(self, location: str) -> tuple[str, str | None] | None: ...

    def record_output(self, location: str, job_id: str, identity: str | None) -> None: ...


def current_registry() -> OutputRegistry:
    """The output registry of the current home (the ``output_registry`` callback)."""
    registry: OutputRegistry = hooks.call("output_registry")
    return registry

#: Pending exports of a job (in its folder), written before any temporary is created.
PENDING = "exports.json"
#: Database output connectors by URL scheme (a pending export names its database by scheme
#: and rebuilds the connector from its spec). Each implements ``stage_table``,
#: ``publish_table``, ``drop_table``, ``has_table``, ``to_spec`` and ``from_spec``.
DATABASE_OUTPUTS: dict[str, type[DatabaseConnector]] = {
    "duckdb": DuckDBConnector, "sqlite": SQLiteConnector, "postgresql": PostgresConnector}


@dataclass(frozen=True)
class PendingExport:
    """One output type on its way to its destination."""

    kind: str
    target: str  # "file", or a database scheme of DATABASE_OUTPUTS
    path: str  # the destination file, or the database (file, or URL without credentials)
    table: str | None  # the destination table
    temp: str  # the temporary file, or the temporary table
    connector: dict[str, Any] | None = None  # the database connector's spec (no password)
    mode: str = WriteMode.OVERWRITE.value  # database tables: OVERWRITE or APPEND

    @property
    def location(self) -> str:
        if self.target == "file":
            return self.path
        assert self.table is not None
        return self.database().location(self.table)

    @property
    def appends(self) -> bool:
        return self.target != "file" and WriteMode(self.mode) is WriteMode.APPEND

    def database(self) -> DatabaseConnector:
        cls = DATABASE_OUTPUTS.get(self.target)
        if cls is None:
            raise JobError(f"Unknown database output {self.target!r} in a pending export.")
        return cls.from_spec(self.connector if self.connector is not None
                             else {"type": self.target, "path": self.path})


def database_output(conn: DatabaseConnector) -> DatabaseConnector:
    """``conn`` if jobs can stage tables in it, else :class:`JobError`."""
    cls = DATABASE_OUTPUTS.get(getattr(conn, "scheme", ""))
    if cls is None or not isinstance(conn, cls):
        known = sorted(c.__name__ for c in DATABASE_OUTPUTS.values())
        raise JobError(f"{type(conn).__name__} has no staged writes; it cannot receive job "
                       f"outputs (use one of {known}).")
    return conn


def plan_export(output: OutputConfig, kind: str, token: str) -> PendingExport:
    """Where ``kind`` goes for ``output``, and its temporary (``token``: hex digits)."""
    conn = output.output_connector
    if conn is None or output.output_table_name is None:
        raise JobError("OutputConfig has no output_connector to export to.")
    name = check_output_name(f"{check_output_name(output.output_table_name)}_{kind}")
    if isinstance(conn, DatabaseConnector):
        db = database_output(conn)
        db.check_name(name)
        where = str(getattr(db, "path", "")) or db.location(name).rpartition("#")[0]
        return PendingExport(kind, db.scheme, where, name, db.tmp_name(name, token),
                             db.to_spec(), output.write_mode.value)
    folder = output.target_folder()
    assert folder is not None
    final = output_file(folder, name + (".csv" if output.file_type == "csv" else ".parquet"))
    return PendingExport(kind, "file", str(final), None,
                         str(final.with_name(f".{final.name}.rg-{token}.tmp")))


def _identity(path: Path) -> str:
    st = path.stat()
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def check_destination(store: OutputRegistry, p: PendingExport) -> None:
    """:class:`OutputExistsError` unless ``p``'s destination is absent or relgraph wrote
    it (and it was not changed since)."""
    known = store.output_record(p.location)
    if p.target == "file":
        path = Path(p.path)
        if not os.path.lexists(path):
            return
        if path.is_file() and not path.is_symlink() and known is not None \
                and known[1] == _identity(path):
            return
        raise OutputExistsError(
            f"{path} already exists and was not written by relgraph (or was changed since); "
            "relgraph never replaces files it did not create. Choose another "
            "output_table_name, or move the file away.")
    assert p.table is not None
    db = p.database()
    if p.appends:  # adds rows, replaces nothing: any table whose columns fit
        if db.has_table(p.temp) and db.has_table(p.table):
            db.check_append(p.temp, p.table)
        return
    if known is None and db.has_table(p.table):
        raise _table_exists(p.table, p.location)


def _table_exists(table: str, location: str) -> OutputExistsError:
    return OutputExistsError(
        f"Table {table!r} already exists ({location}) and was not written by relgraph; it is "
        "never replaced. Choose another output_table_name, drop the table, or add rows to "
        "it with DatabaseConnectorConfig(write_mode='APPEND').")


def stage(df: pd.DataFrame, output: OutputConfig, p: PendingExport) -> None:
    """Write ``df`` to ``p``'s temporary."""
    df = prepare_export(df, output)
    if p.target != "file":
        p.database().stage_table(df, p.temp)
        return
    temp = Path(p.temp)
    temp.unlink(missing_ok=True)
    if p.path.endswith(".csv"):
        df.to_csv(temp, index=False)
    else:
        df.to_parquet(temp, index=False)


def publish(store: OutputRegistry, p: PendingExport, job_id: str) -> str:
    """Move ``p``'s temporary over its destination; idempotent (a second call after a
    completed one returns at once). Returns the destination."""
    if p.target == "file":
        temp = Path(p.temp)
        if not temp.exists():
            known = store.output_record(p.location)
            if known is not None and known[0] == job_id and Path(p.path).is_file():
                return p.location
            raise ArtifactError(f"The staged export {temp} of job {job_id} is gone.")
        check_destination(store, p)
        store.record_output(p.location, job_id, _identity(temp))
        os.replace(temp, p.path)
        return p.location
    db = p.database()
    assert p.table is not None
    if not db.has_table(p.temp):  # the publish's transaction drops or renames it
        known = store.output_record(p.location)
        if db.has_table(p.table) and (p.appends or (known is not None and known[0] == job_id)):
            return p.location  # published by an earlier attempt of this commit
        raise ArtifactError(f"The staged table {p.temp} of job {job_id} is gone from "
                            f"{p.path}.")
    check_destination(store, p)
    if not p.appends or not db.has_table(p.table):  # relgraph's table from now on
        store.record_output(p.location, job_id, None)
    db.publish_table(p.temp, p.table, p.mode)
    return p.location


def discard(p: PendingExport) -> None:
    """Remove ``p``'s temporary (the destination is not touched)."""
    with contextlib.suppress(Exception):
        if p.target == "file":
            Path(p.temp).unlink(missing_ok=True)
        else:
            p.database().drop_table(p.temp)


# ---------------------------------------------------------------------- a job's exports
def pending(folder: Path) -> list[PendingExport]:
    """The exports recorded in a job folder."""
    path = folder / PENDING
    if not path.is_file():
        return []
    try:
        return [PendingExport(**d) for d in json.loads(path.read_text())]
    except (ValueError, TypeError) as exc:
        raise ArtifactError(f"{path} is corrupted ({exc}).") from exc


def record_pending(folder: Path, p: PendingExport) -> None:
    """Add ``p`` to the job's pending exports (before its temporary is written)."""
    from relgraph.integrity import write_bytes_atomic

    items = [asdict(x) for x in pending(folder)] + [asdict(p)]
    write_bytes_atomic(json.dumps(items, indent=1).encode(), folder / PENDING)


def discard_pending(folder: Path) -> None:
    """Remove the temporaries of a job that will not commit."""
    with contextlib.suppress(ArtifactError):
        for p in pending(folder):
            discard(p)
    (folder / PENDING).unlink(missing_ok=True)


def publish_pending(store: OutputRegistry, job_id: str, folder: Path) -> dict[str, str]:
    """Publish a committed job's exports: ``{output type: destination}``."""
    return {p.kind: publish(store, p, job_id) for p in pending(folder)}


def check_pending(store: OutputRegistry, folder: Path) -> None:
    """Raise before a job commits when a temporary is gone or a destination became
    unwritable."""
    for p in pending(folder):
        if p.target != "file" and not p.database().has_table(p.temp):
            raise ArtifactError(f"The staged table {p.temp} is gone from {p.path}.")
        check_destination(store, p)


# ---------------------------------------------------------------------- direct writes
def export_now(df: pd.DataFrame, output: OutputConfig, kind: str) -> str:
    """Write one output type at once (no job); returns the destination. A database table
    is written in one transaction (:func:`export_frame`)."""
    conn = output.output_connector
    if isinstance(conn, DatabaseConnector) and output.output_table_name is not None:
        name = check_output_name(f"{check_output_name(output.output_table_name)}_{kind}")
        return export_frame(prepare_export(df, output), conn, name, output.write_mode)
    p = plan_export(output, kind, uuid.uuid4().hex[:12])
    return _write(current_registry(), df, output, p)


def export_frame(df: pd.DataFrame, conn: DatabaseConnector, table: str,
                 mode: WriteMode | str = WriteMode.OVERWRITE) -> str:
    """``conn.write_table``: ``df`` as ``table`` of ``conn``, in one transaction (a write
    killed half-way leaves the previous table and no temporary). ``OVERWRITE`` replaces an
    existing table only if relgraph wrote it (the home's output registry)."""
    db = database_output(conn)
    db.check_name(table)
    mode = WriteMode(str(mode).upper())
    store = current_registry()
    location = db.location(table)
    existed = db.has_table(table)
    if mode is WriteMode.OVERWRITE and existed and store.output_record(location) is None:
        raise _table_exists(table, location)
    db.write_now(df, table, mode)
    if mode is WriteMode.OVERWRITE or not existed:
        store.record_output(location, "export", None)
    return location


def _write(store: OutputRegistry, df: pd.DataFrame, output: OutputConfig, p: PendingExport) -> str:
    check_destination(store, p)
    try:
        stage(df, output, p)
        return publish(store, p, "export")
    finally:
        discard(p)


# ---------------------------------------------------------------------- output configs
def output_to_json(output: Any) -> dict[str, Any]:
    """An :class:`~relgraph.connector.output.OutputConfig` as JSON; a database connector as
    its spec (never a password: a worker gets it from its environment), a connector that
    has no JSON form as ``{"type": "live"}`` (usable only by an inline job)."""

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
