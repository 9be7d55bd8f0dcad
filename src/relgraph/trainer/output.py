"""Where batch predictions go: output configuration and atomic writers."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.errors import JobError, OutputNameError

OUTPUT_TYPES = ("predictions", "embeddings")
#: The one rule for output names, for files and database tables alike.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_output_name(name: str) -> str:
    """``name`` if it is a plain identifier (letters, digits, underscores; at most 128
    characters, not starting with a digit), else :class:`OutputNameError`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise OutputNameError(
            f"Output name {name!r} is not a plain SQL identifier: use letters, digits and "
            "underscores, starting with a letter (e.g. 'churn_predictions'). Paths such as "
            "'../x' or '/tmp/x' are refused; choose the folder with output_connector.")
    return name


def output_file(folder: Path, name: str) -> Path:
    """``folder/name`` after checking that it resolves to a file directly in ``folder``."""
    root = Path(folder).resolve()
    path = root / name
    if path.resolve().parent != root:
        raise OutputNameError(f"Output {name!r} resolves to {path.resolve()}, outside the "
                              f"output folder {root}; choose another output_table_name.")
    return path


@dataclass
class OutputConfig:
    """What to write and where (reference ``OutputConfig``).

    ``output_connector`` is where each output type goes, as ``<output_table_name>_<type>``:

    * a :class:`~relgraph.LocalFileConnector` or a folder path: a ``.parquet`` file
      (``.csv`` with ``file_type="csv"``);
    * :class:`DuckDBOutput` / :class:`SQLiteOutput`: a table in that database file;
    * ``None``: the results stay in the job folder only (``predictions_df()`` reads them).

    ``connector_specific_config`` (reference: BigQuery / Snowflake options) takes a dict or
    an object with a ``write_mode``; local outputs always replace what relgraph wrote, so
    only ``OVERWRITE`` (or no write mode) is accepted.

    Every write is atomic: a temporary file or table, then a rename, so a failed or killed
    job never leaves a half-written output.
    """

    output_types: set[str] = field(default_factory=lambda: {"predictions"})
    output_connector: Any = None
    output_table_name: str | None = None
    output_metadata_fields: list[str] = field(default_factory=list)
    connector_specific_config: Any = None
    file_type: str = "parquet"

    def __post_init__(self) -> None:
        self.connector_specific_config = _connector_config(self.connector_specific_config)
        self.output_types = set(self.output_types)
        bad = self.output_types - set(OUTPUT_TYPES)
        if bad or not self.output_types:
            raise JobError(f"output_types must be a non-empty subset of {set(OUTPUT_TYPES)}; "
                           f"got {sorted(self.output_types)}.")
        if self.output_connector is not None and not self.output_table_name:
            raise JobError("OutputConfig needs output_table_name when an output_connector is "
                           "given, e.g. output_table_name='churn'.")
        if self.output_table_name is not None:
            check_output_name(self.output_table_name)
        if isinstance(self.output_connector, (str, os.PathLike)):
            path = Path(self.output_connector)
            if path.suffix in (".duckdb", ".db", ".sqlite", ".sqlite3"):
                self.output_connector = DuckDBOutput(path) if path.suffix == ".duckdb" \
                    else SQLiteOutput(path)
            else:
                self.output_connector = path.expanduser().resolve()
        if self.file_type not in ("parquet", "csv"):
            raise JobError(f"file_type must be 'parquet' or 'csv', got {self.file_type!r}.")
        for name in self.output_metadata_fields:
            if name not in ("ANCHOR_TIMESTAMP", "JOB_TIMESTAMP"):
                raise JobError(f"Unknown output metadata field {name!r}; use ANCHOR_TIMESTAMP "
                               "or JOB_TIMESTAMP.")

    @classmethod
    def cast(cls, value: OutputConfig | dict | None) -> OutputConfig:
        if value is None:
            return cls()
        if isinstance(value, dict):
            return cls(**value)
        return value

    def target_folder(self) -> Path | None:
        conn = self.output_connector
        if conn is None or isinstance(conn, DatabaseOutput):
            return None
        folder = Path(getattr(conn, "root_dir", conn))
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def _connector_config(value: Any) -> dict[str, Any] | None:
    """``connector_specific_config`` as a plain dict (JSON for worker jobs)."""
    if value is None:
        return None
    if isinstance(value, dict):
        config = dict(value)
    elif hasattr(value, "__dataclass_fields__") or hasattr(value, "__dict__"):
        config = {k: v for k, v in vars(value).items() if not k.startswith("_")}
    else:
        raise JobError(f"connector_specific_config must be a dict or a config object, got "
                       f"{type(value).__name__}.")
    mode = config.get("write_mode")
    if mode is not None:
        mode = str(getattr(mode, "value", mode)).upper()
        if mode != "OVERWRITE":
            raise JobError(f"write_mode {mode!r} is not supported by local outputs: relgraph "
                           "replaces an output it wrote (OVERWRITE). Write to a new "
                           "output_table_name to keep earlier predictions.")
        config["write_mode"] = mode
    return {str(k): (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
            for k, v in config.items()}


def write_frame_atomic(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` (parquet or csv by suffix) via a temporary file and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------------- database outputs
@dataclass(frozen=True)
class DatabaseOutput:
    """A database file that receives output tables (base of the database connectors)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser().resolve())

    scheme = "db"

    def location(self, table: str) -> str:
        return f"{self.scheme}://{self.path}#{table}"

    def write_table(self, df: pd.DataFrame, table: str) -> str:
        """Write ``df`` as ``table``: a temporary table, then a swap in one transaction.
        An existing ``table`` is replaced only if relgraph wrote it
        (:func:`relgraph.trainer.exports.export_now`)."""
        from relgraph.trainer.exports import export_frame

        return export_frame(df, self, table)

    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:  # pragma: no cover
        """Create table ``tmp`` holding ``df`` (the destination is not touched)."""
        raise NotImplementedError

    def publish_table(self, tmp: str, table: str) -> None:  # pragma: no cover
        """Replace ``table`` by ``tmp`` in one transaction."""
        raise NotImplementedError

    def drop_table(self, tmp: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def has_table(self, table: str) -> bool:  # pragma: no cover
        raise NotImplementedError

    def read_table(self, table: str) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError


def _check_table_name(table: str) -> str:
    return check_output_name(table)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _swap_tables(con: Any, begin: str, tmp: str, table: str) -> None:
    """Replace ``table`` by ``tmp`` in one transaction (readers see the old table or the
    complete new one; on failure the old table stays)."""
    con.execute(begin)
    try:
        con.execute(f"DROP TABLE IF EXISTS {_quote(table)}")
        con.execute(f"ALTER TABLE {_quote(tmp)} RENAME TO {_quote(table)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class DuckDBOutput(DatabaseOutput):
    """Write output tables into a DuckDB database file (created if missing).

    The table is built under a temporary name and renamed over the old one inside one
    transaction, so readers see either the old table or the complete new one.
    """

    scheme = "duckdb"

    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.register("__rg_src", df)
            con.execute(f"DROP TABLE IF EXISTS {_quote(tmp)}")
            con.execute(f"CREATE TABLE {_quote(tmp)} AS SELECT * FROM __rg_src")
        finally:
            con.close()

    def publish_table(self, tmp: str, table: str) -> None:
        import duckdb

        _check_table_name(table)
        con = duckdb.connect(str(self.path))
        try:
            _swap_tables(con, "BEGIN TRANSACTION", tmp, table)
        finally:
            con.close()

    def drop_table(self, tmp: str) -> None:
        import duckdb

        if not self.path.exists():
            return
        con = duckdb.connect(str(self.path))
        try:
            con.execute(f"DROP TABLE IF EXISTS {_quote(tmp)}")
        finally:
            con.close()

    def has_table(self, table: str) -> bool:
        import duckdb

        if not self.path.exists():
            return False
        con = duckdb.connect(str(self.path))
        try:
            return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                    "table_name = ?", [table]).fetchone()[0])  # type: ignore[index]
        finally:
            con.close()

    def read_table(self, table: str) -> pd.DataFrame:
        import duckdb

        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(f"SELECT * FROM {_quote(_check_table_name(table))}").df()
        finally:
            con.close()


@dataclass(frozen=True)
class SQLiteOutput(DatabaseOutput):
    """Write output tables into a SQLite database file (created if missing).

    Timestamps are stored as ISO-8601 text, booleans as 0/1 and list cells (embeddings)
    as JSON arrays; the table is created, filled and renamed in one transaction.
    """

    scheme = "sqlite"

    def _connect(self) -> Any:
        import sqlite3

        return sqlite3.connect(self.path, timeout=60.0, isolation_level=None)

    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cols, rows = _sqlite_rows(df)
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(f"DROP TABLE IF EXISTS {_quote(tmp)}")
                col_sql = ", ".join(f"{_quote(c)} {t}" for c, t in cols)
                con.execute(f"CREATE TABLE {_quote(tmp)} ({col_sql})")
                marks = ", ".join("?" for _ in cols)
                con.executemany(f"INSERT INTO {_quote(tmp)} VALUES ({marks})", rows)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    def publish_table(self, tmp: str, table: str) -> None:
        _check_table_name(table)
        con = self._connect()
        try:
            _swap_tables(con, "BEGIN IMMEDIATE", tmp, table)
        finally:
            con.close()

    def drop_table(self, tmp: str) -> None:
        if not self.path.exists():
            return
        con = self._connect()
        try:
            con.execute(f"DROP TABLE IF EXISTS {_quote(tmp)}")
        finally:
            con.close()

    def has_table(self, table: str) -> bool:
        if not self.path.exists():
            return False
        con = self._connect()
        try:
            return con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name = ?", (table,)).fetchone()[0] > 0
        finally:
            con.close()

    def read_table(self, table: str) -> pd.DataFrame:
        import sqlite3

        con = sqlite3.connect(self.path)
        try:
            return pd.read_sql_query(f"SELECT * FROM {_quote(_check_table_name(table))}", con)
        finally:
            con.close()


def _sqlite_rows(df: pd.DataFrame) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """SQLite column types and Python row tuples for ``df``."""
    import json

    import numpy as np

    cols: list[tuple[str, str]] = []
    values: list[list[Any]] = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s):
            cols.append((str(name), "INTEGER"))
            values.append([None if pd.isna(v) else int(bool(v)) for v in s])
        elif pd.api.types.is_integer_dtype(s):
            cols.append((str(name), "INTEGER"))
            values.append([None if pd.isna(v) else int(v) for v in s])
        elif pd.api.types.is_float_dtype(s):
            cols.append((str(name), "REAL"))
            values.append([None if pd.isna(v) else float(v) for v in s])
        elif pd.api.types.is_datetime64_any_dtype(s):
            cols.append((str(name), "TEXT"))
            values.append([None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in s])
        else:
            cols.append((str(name), "TEXT" if not s.map(
                lambda v: isinstance(v, (list, tuple, np.ndarray))).any() else "JSON"))

            def conv(v: Any) -> Any:
                if isinstance(v, np.ndarray):
                    return json.dumps(v.tolist())
                if isinstance(v, (list, tuple)):
                    return json.dumps(list(v), default=float)
                if v is None or (isinstance(v, float) and v != v):
                    return None
                if isinstance(v, (np.integer, np.floating, np.bool_)):
                    return v.item()
                return v if isinstance(v, (int, float, str, bytes)) else str(v)
            values.append([conv(v) for v in s])
    return cols, list(zip(*values)) if values else []


def write_output(df: pd.DataFrame, output: OutputConfig, kind: str) -> str:
    """Write one output type to ``output``'s connector now (atomically); returns where it
    went. An existing destination is replaced only if relgraph wrote it."""
    from relgraph.trainer.exports import export_now

    return export_now(df, output, kind)


def prepare_export(df: pd.DataFrame, output: OutputConfig) -> pd.DataFrame:
    """``df`` as written to ``output`` (CSV files hold embeddings as ``[x,y,...]`` text)."""
    if output.file_type == "csv" and "EMBEDDING" in df.columns and \
            not isinstance(output.output_connector, DatabaseOutput):
        df = df.assign(EMBEDDING=df["EMBEDDING"].map(
            lambda v: "[" + ",".join(f"{float(x):.7g}" for x in v) + "]"))
    return df


def read_output(location: str) -> pd.DataFrame:
    """Read back what :func:`write_output` wrote (file path or ``duckdb://``/``sqlite://``)."""
    for scheme, cls in (("duckdb://", DuckDBOutput), ("sqlite://", SQLiteOutput)):
        if location.startswith(scheme):
            path, _, table = location[len(scheme):].rpartition("#")
            return cls(Path(path)).read_table(table)
    return pd.read_csv(location) if location.endswith(".csv") else pd.read_parquet(location)
