"""Where batch predictions go: output configuration and atomic writers."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.connector import (
    DatabaseConnector,
    DatabaseConnectorConfig,
    DuckDBConnector,
    PostgresConnector,
    SQLiteConnector,
    WriteMode,
)
from relgraph.connector.database import OUTPUT_NAME
from relgraph.errors import JobError, OutputNameError

OUTPUT_TYPES = ("predictions", "embeddings")
#: The one rule for output names, for files and database tables alike.
_NAME = OUTPUT_NAME


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
    * a :class:`~relgraph.DuckDBConnector`, :class:`~relgraph.SQLiteConnector` or
      :class:`~relgraph.PostgresConnector` (or a ``.duckdb``/``.sqlite``/``.db`` path, or a
      ``postgresql://`` URI): a table in that database;
    * ``None``: the results stay in the job folder only (``predictions_df()`` reads them).

    Every write is atomic and part of the job's commit (:mod:`relgraph.connector.exports`):
    a temporary file or table is staged, then renamed over the destination (tables: in one
    transaction) when the job commits, so a failed or killed job never leaves a
    half-written output and keeps the previous one. A file or table that relgraph did not
    write is never replaced. ``connector_specific_config=DatabaseConnectorConfig(
    write_mode=...)`` chooses between replacing a database table (``OVERWRITE``, the
    default) and adding rows to it (``APPEND``, creating it if missing).
    """

    output_types: set[str] = field(default_factory=lambda: {"predictions"})
    output_connector: Any = None
    output_table_name: str | None = None
    output_metadata_fields: list[str] = field(default_factory=list)
    file_type: str = "parquet"
    connector_specific_config: DatabaseConnectorConfig | dict[str, Any] | None = None

    def __post_init__(self) -> None:
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
        if isinstance(self.output_connector, str) and self.output_connector.startswith(
                ("postgresql://", "postgres://")):
            self.output_connector = PostgresConnector(self.output_connector)
        elif isinstance(self.output_connector, (str, os.PathLike)):
            path = Path(self.output_connector)
            if path.suffix in (".duckdb", ".db", ".sqlite", ".sqlite3"):
                self.output_connector = DuckDBConnector(path) if path.suffix == ".duckdb" \
                    else SQLiteConnector(path)
            else:
                self.output_connector = path.expanduser().resolve()
        self.connector_specific_config = _database_config(self.connector_specific_config)
        if self.write_mode is WriteMode.APPEND and not isinstance(self.output_connector,
                                                                  DatabaseConnector):
            raise JobError("connector_specific_config write_mode='APPEND' applies to database "
                           "output connectors only; a file relgraph wrote is always replaced "
                           "(use write_mode='OVERWRITE' or a database output_connector).")
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

    @property
    def write_mode(self) -> WriteMode:
        """How database tables are written (``OVERWRITE`` unless configured)."""
        cfg = self.connector_specific_config
        return cfg.write_mode if isinstance(cfg, DatabaseConnectorConfig) \
            else WriteMode.OVERWRITE

    def target_folder(self) -> Path | None:
        conn = self.output_connector
        if conn is None or isinstance(conn, DatabaseConnector):
            return None
        folder = Path(getattr(conn, "root_dir", conn))
        folder.mkdir(parents=True, exist_ok=True)
        return folder


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
#: Older names: the database output connectors are the database source connectors.
DatabaseOutput = DatabaseConnector
DuckDBOutput = DuckDBConnector
SQLiteOutput = SQLiteConnector


def output_table_names(output: OutputConfig) -> list[str]:
    """The table (or file stem) each requested output type is written to."""
    return [check_output_name(f"{output.output_table_name}_{kind}")
            for kind in sorted(output.output_types)]


def write_output(df: pd.DataFrame, output: OutputConfig, kind: str) -> str:
    """Write one output type to ``output``'s connector now (atomically); returns where it
    went. An existing destination is replaced only if relgraph wrote it."""
    from relgraph.connector.exports import export_now

    return export_now(df, output, kind)


def prepare_export(df: pd.DataFrame, output: OutputConfig) -> pd.DataFrame:
    """``df`` as written to ``output`` (CSV files hold embeddings as ``[x,y,...]`` text)."""
    if output.file_type == "csv" and "EMBEDDING" in df.columns and \
            not isinstance(output.output_connector, DatabaseConnector):
        df = df.assign(EMBEDDING=df["EMBEDDING"].map(
            lambda v: "[" + ",".join(f"{float(x):.7g}" for x in v) + "]"))
    return df


def read_output(location: str) -> pd.DataFrame:
    """Read back what :func:`write_output` wrote: a file path, or a ``duckdb://``,
    ``sqlite://`` or ``postgresql://`` location (the password from ``PGPASSWORD``)."""
    if location.startswith("duckdb://"):
        path, _, table = location[len("duckdb://"):].rpartition("#")
        schema, _, table = table.rpartition(".")
        return DuckDBConnector(Path(path), schema or "main").read_table(table)
    if location.startswith("sqlite://"):
        path, _, table = location[len("sqlite://"):].rpartition("#")
        return SQLiteConnector(Path(path)).read_table(table)
    if location.startswith("postgresql://"):
        dsn, _, table = location.rpartition("#")
        schema, _, table = table.rpartition(".")
        return PostgresConnector(dsn, schema_name=schema or "public").read_table(table)
    return pd.read_csv(location) if location.endswith(".csv") else pd.read_parquet(location)


def _database_config(value: object) -> DatabaseConnectorConfig | None:
    """Normalize ``connector_specific_config``: a dict, our config, or the reference's shape.

    The reference's ``SnowflakeConnectorConfig``/``BigQueryConnectorConfig`` are objects with a
    ``write_mode`` attribute; a ported script passes them unchanged.
    """
    if value is None or isinstance(value, DatabaseConnectorConfig):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"write_mode"}
        if unknown:
            raise JobError(f"connector_specific_config takes write_mode only; got "
                           f"{sorted(unknown)}.")
        return DatabaseConnectorConfig(**value)
    mode = getattr(value, "write_mode", None)
    if mode is None:
        raise JobError("connector_specific_config must be a DatabaseConnectorConfig (or an "
                       "object with a write_mode), e.g. "
                       "DatabaseConnectorConfig(write_mode='APPEND').")
    return DatabaseConnectorConfig(write_mode=getattr(mode, "value", mode))
