"""What the database connectors (SQLite, DuckDB, PostgreSQL) share.

A :class:`DatabaseConnector` is both a source of tables and an output connector:

* **reading**: the catalog gives each table's columns, types and keys
  (:meth:`~DatabaseConnector.table_schema`). A read selects only the columns asked for,
  casts the database types relgraph reads as something else (``numeric`` to double, ``uuid``
  and enums to text, ...), and streams the rows as Arrow record batches; they become a
  DataFrame through :func:`~relgraph.connector.arrow.arrow_to_pandas`, the conversion files
  use, so dtypes and stypes are inferred exactly as for the same data in a Parquet file. A
  column type the mapping does not know raises :class:`UnsupportedColumnTypeError` naming
  the column, before any row is read.
* **writing**: :meth:`~DatabaseConnector.write_table` writes a DataFrame as a table inside
  one transaction: with ``WriteMode.OVERWRITE`` a new table under a temporary name is
  filled, then the old table is dropped and the new one renamed in its place; with
  ``WriteMode.APPEND`` the rows are added to the existing table (created if missing). A
  failed or killed write rolls back, leaving the previous table as it was. Like every
  relgraph output it honours the home's output registry
  (:mod:`relgraph.connector.exports`): ``OVERWRITE`` never replaces a table relgraph did not
  write.
* **staged writes** (a job's exports, :mod:`relgraph.connector.exports`): before the job's
  commit point :meth:`~DatabaseConnector.stage_table` fills a temporary table (the
  destination is untouched); at the commit :meth:`~DatabaseConnector.publish_table` swaps
  it in (``OVERWRITE``) or moves its rows into the destination (``APPEND``) in one
  transaction; a job that fails or is killed before its commit has its temporary dropped
  (:meth:`~DatabaseConnector.drop_table`). A job rebuilds its connector from
  :meth:`~DatabaseConnector.to_spec` (JSON, never a password).
"""

from __future__ import annotations

import re
import uuid
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pyarrow as pa

from relgraph.connector.arrow import arrow_to_pandas
from relgraph.connector.base import Connector, TableSchema
from relgraph.connector.source_table import SourceTable
from relgraph.errors import ConnectorError, OutputTableNameError, TableNotFoundError
from relgraph.str_enum import StrEnum

#: Prefix of the temporary tables an overwrite fills before swapping them in.
TMP_PREFIX = "__rg_tmp_"
#: The one rule for output names, files and database tables alike (also
#: :func:`relgraph.connector.output.check_output_name`): letters, digits and underscores, not
#: starting with a digit, at most 128 characters (less where a database allows less).
OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SAMPLE_ROWS = 1000


class WriteMode(StrEnum):
    """How an output table is written (reference ``WriteMode``)."""

    OVERWRITE = "OVERWRITE"
    APPEND = "APPEND"


@dataclass(frozen=True)
class DatabaseConnectorConfig:
    """``OutputConfig.connector_specific_config`` for database output connectors.

    ``write_mode``: ``OVERWRITE`` (default; replace the table atomically) or ``APPEND``
    (add rows to the table, creating it if missing). The reference's Snowflake and BigQuery
    configs default to ``APPEND``; relgraph keeps ``OVERWRITE``, its behaviour before write
    modes existed.
    """

    write_mode: WriteMode = WriteMode.OVERWRITE

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "write_mode", WriteMode(str(self.write_mode).upper()))
        except ValueError:
            raise ConnectorError(f"write_mode must be one of {[m.value for m in WriteMode]}, "
                                 f"got {self.write_mode!r}.") from None


def import_driver(module: str, package: str) -> ModuleType:
    """Import an ADBC driver's DB-API module, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConnectorError(f"{package} is not installed; install it with "
                             f"pip install 'relgraph[db]' (or pip install {package}).") from exc


@contextmanager
def file_transaction(con: Any, begin: str, errors: type[Exception], table: str,
                     path: Path) -> Iterator[None]:
    """``begin`` ... ``COMMIT`` on an embedded database's connection: rolled back on any
    error, whose database errors become a :class:`ConnectorError` naming the table."""
    try:
        con.execute(begin)
        try:
            yield
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except errors as exc:
        raise ConnectorError(f"Cannot write table '{table}' to '{path}': {exc}. In APPEND "
                             "mode the table's columns must match the output's.") from exc


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def check_table_name(table: str, max_length: int = 128) -> str:
    """``table`` if it follows :data:`OUTPUT_NAME` (and is at most ``max_length``
    characters), else :class:`~relgraph.errors.OutputTableNameError` (a
    :class:`ConnectorError` and an :class:`~relgraph.errors.OutputNameError`)."""
    if not isinstance(table, str) or not OUTPUT_NAME.match(table) or len(table) > max_length:
        raise OutputTableNameError(
            f"Output table name {table!r} is not a plain SQL identifier; use letters, digits "
            f"and underscores, starting with a letter, at most {max_length} characters "
            "(e.g. 'churn_predictions').")
    return table


def tmp_table_name(table: str, token: str | None = None, max_length: int = 128) -> str:
    """A temporary table for ``table``: the token first, so that a name cut to
    ``max_length`` stays unique."""
    return f"{TMP_PREFIX}{token or uuid.uuid4().hex[:12]}_{table}"[:max_length]


class DatabaseConnector(Connector):
    """A database whose tables can be read and written (base of the SQL connectors).

    Subclasses implement the catalog queries, the connection, the type mapping and the
    write; this class turns them into source tables and checks names and columns.
    """

    #: Rows per record batch when streaming (``iter_frames``) and when reading a whole
    #: table (``read_arrow``).
    batch_size: int = 1 << 16
    read_batch_rows: int = 1 << 16

    #: URL scheme of :meth:`location`; the key of ``relgraph.connector.exports.DATABASE_OUTPUTS``.
    scheme: str = "db"
    #: The longest table name the database keeps (PostgreSQL cuts names to 63 bytes).
    max_identifier_length: int = 128

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _list_tables(self) -> list[str]:
        """Table and view names in the catalog."""

    @abstractmethod
    def _describe(self, name: str) -> TableSchema:
        """The catalog entry of an existing table (checks read permission)."""

    @abstractmethod
    def _select_expr(self, table: str, column: str, db_type: str) -> str:
        """The SELECT expression reading ``column`` (a cast where the type needs one);
        raises :class:`UnsupportedColumnTypeError` for a type the mapping does not know."""

    @abstractmethod
    def _reader(self, sql: str, batch_size: int) -> AbstractContextManager[pa.RecordBatchReader]:
        """Run ``sql`` and stream its rows."""

    @abstractmethod
    def _write(self, df: pd.DataFrame, table: str, mode: WriteMode) -> None:
        """Write ``df`` as ``table`` in one transaction."""

    @abstractmethod
    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:
        """Create table ``tmp`` holding ``df`` (committed; the destination is untouched)."""

    @abstractmethod
    def publish_table(self, tmp: str, table: str,
                      mode: WriteMode | str = WriteMode.OVERWRITE) -> None:
        """In one transaction: ``OVERWRITE`` drops ``table`` and renames ``tmp`` to it;
        ``APPEND`` inserts ``tmp``'s rows into ``table`` and drops ``tmp`` (renames it when
        ``table`` is missing). On failure nothing changes."""

    @abstractmethod
    def drop_table(self, table: str) -> None:
        """Drop ``table`` if it exists (a temporary of a job that will not commit)."""

    @abstractmethod
    def has_table(self, table: str) -> bool:
        """Whether table ``table`` exists (temporaries included; no file is created)."""

    @abstractmethod
    def to_spec(self) -> dict[str, Any]:
        """JSON describing this connector for a job's files, never holding a password."""

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: dict[str, Any]) -> DatabaseConnector:
        """The connector :meth:`to_spec` described."""

    @abstractmethod
    def location(self, table: str) -> str:
        """Where ``table`` lives, as a URL without credentials."""

    def _session(self) -> AbstractContextManager[None]:
        """Within it, the connector may reuse one connection (catalog query, then rows)."""
        return nullcontext()

    def _qualified(self, table: str) -> str:
        """The quoted (schema-qualified where there is one) name of ``table``."""
        return quote(table)

    # ------------------------------------------------------------------ catalog
    def table_names(self) -> list[str]:
        return [n for n in self._list_tables() if not n.startswith(TMP_PREFIX)]

    def table_schema(self, name: str) -> TableSchema:
        try:
            return self._describe(name)
        except TableNotFoundError:
            self.table(name)  # raises TableNotFoundError with close matches
            raise

    def _open(self, name: str) -> SourceTable:
        return DatabaseTable(self, name)

    # ------------------------------------------------------------------ reading
    def select_sql(self, name: str, columns: Sequence[str] | None = None,
                   limit: int | None = None) -> str:
        """The query reading ``columns`` (all by default) of table ``name``."""
        schema = self.table_schema(name)
        cols = list(columns) if columns is not None else list(schema.column_types)
        missing = [c for c in cols if c not in schema.column_types]
        if missing:
            from difflib import get_close_matches

            close = [m for c in missing for m in get_close_matches(c, schema.column_types, n=1)]
            hint = f" Did you mean {close}?" if close else \
                f" Columns: {list(schema.column_types)}."
            raise ConnectorError(f"Table '{name}' has no column(s) {missing}.{hint}")
        exprs = [self._select_expr(name, c, schema.column_types[c]) for c in cols]
        sql = f"SELECT {', '.join(exprs) or '*'} FROM {self._qualified(name)}"
        return sql + (f" LIMIT {int(limit)}" if limit is not None else "")

    def read_arrow(self, name: str, columns: Sequence[str] | None = None,
                   limit: int | None = None) -> pa.Table:
        """Columns of table ``name`` as an Arrow table, fetched in record batches."""
        with self._session():
            sql = self.select_sql(name, columns, limit)
            with self._reader(sql, self.read_batch_rows) as reader:
                return pa.Table.from_batches(list(reader), reader.schema)

    def read_frame(self, name: str, columns: Sequence[str] | None = None,
                   limit: int | None = None) -> pd.DataFrame:
        """Columns of table ``name`` as a DataFrame, typed as files are."""
        return arrow_to_pandas(self.read_arrow(name, columns, limit))

    def iter_frames(self, name: str, columns: Sequence[str] | None = None,
                    batch_size: int | None = None) -> Iterator[pd.DataFrame]:
        """The rows of table ``name`` in DataFrames of at most ``batch_size`` rows."""
        size = batch_size or self.batch_size
        with self._session():
            sql = self.select_sql(name, columns)
            with self._reader(sql, size) as reader:
                for batch in reader:  # drivers may batch by bytes: cut to at most `size` rows
                    for start in range(0, batch.num_rows, size):
                        yield arrow_to_pandas(pa.Table.from_batches([batch.slice(start, size)]))

    def count_rows(self, name: str) -> int:
        with self._session():
            self.table_schema(name)
            sql = f"SELECT COUNT(*) AS n FROM {self._qualified(name)}"
            with self._reader(sql, 1) as reader:
                return int(reader.read_all().column(0)[0].as_py())

    # ------------------------------------------------------------------ writing
    def write_table(self, df: pd.DataFrame, table: str,
                    mode: WriteMode | str = WriteMode.OVERWRITE) -> str:
        """Write ``df`` as table ``table`` atomically; returns :meth:`location`.

        ``OVERWRITE`` replaces an existing ``table`` only if relgraph wrote it (the output
        registry of the home's job store): a user's table raises
        :class:`~relgraph.errors.OutputExistsError`. ``APPEND`` adds rows to any table.
        """
        from relgraph.connector.exports import export_frame

        return export_frame(df, self, self.check_name(table), WriteMode(str(mode).upper()))

    def write_now(self, df: pd.DataFrame, table: str, mode: WriteMode) -> None:
        """Write ``df`` as ``table`` in one transaction, bypassing the output registry
        (callers check it: :func:`relgraph.connector.exports.export_frame`)."""
        self._write(df, self.check_name(table), mode)

    def check_name(self, table: str) -> str:
        """``table`` if it is a valid output table name for this database."""
        return check_table_name(table, self.max_identifier_length)

    def tmp_name(self, table: str, token: str | None = None) -> str:
        """The temporary table a staged write of ``table`` fills."""
        return tmp_table_name(table, token, self.max_identifier_length)

    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` (temporaries included)."""
        return list(self._describe(table).column_types)

    def check_append(self, tmp: str, table: str) -> None:
        """Raise :class:`ConnectorError` unless the rows of ``tmp`` can be appended to
        ``table`` (every column of ``tmp`` is one of ``table``'s)."""
        have = self.table_columns(table)
        missing = [c for c in self.table_columns(tmp) if c not in have]
        if missing:
            raise ConnectorError(
                f"Cannot append to table '{table}' of {self.location(table)}: it has no "
                f"column(s) {missing} (its columns: {have}). In APPEND mode the table's "
                "columns must match the output's; write to another table "
                "(output_table_name=...) or use write_mode='OVERWRITE'.")

    def read_table(self, table: str) -> pd.DataFrame:
        """Every column of ``table`` as a DataFrame (e.g. predictions written earlier)."""
        return self.read_frame(table)

    def check_writable(self, tables: Sequence[str], mode: WriteMode | str) -> None:
        """Raise before any work when ``tables`` cannot be written (e.g. no permission)."""
        for table in tables:
            self.check_name(table)

    def secret_env(self) -> dict[str, str]:
        """Environment a worker process needs to connect (a password given as argument)."""
        return {}

    def share_secrets(self) -> None:
        """Let connectors rebuilt from :meth:`to_spec` in this process log in as this one
        does (a password kept in memory only; nothing by default)."""


class DatabaseTable(SourceTable):
    """A table of a :class:`DatabaseConnector`: reads only the columns asked for."""

    def __init__(self, connector: DatabaseConnector, name: str) -> None:
        super().__init__(name, _no_loader, source=connector.location(name))
        self.connector = connector
        self._frames: dict[tuple[str, ...] | None, pd.DataFrame] = {}

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        key = tuple(columns) if columns is not None else None
        if key not in self._frames:
            full = self._frames.get(None)
            if full is not None and key is not None:
                self._check_columns(key, list(full.columns))
            self._frames[key] = full[list(key)] if full is not None and key is not None \
                else self.connector.read_frame(self.name, columns)
        return self._frames[key]

    def column_names(self) -> list[str]:
        return list(self.connector.table_schema(self.name).column_types)

    def iter_batches(self, columns: Sequence[str] | None = None,
                     batch_size: int = 65_536) -> Iterator[pd.DataFrame]:
        return self.connector.iter_frames(self.name, columns, batch_size)

    def head(self, num_rows: int = 5) -> pd.DataFrame:
        return self.connector.read_frame(self.name, limit=num_rows)

    def _sample(self) -> pd.DataFrame:
        return self.head(_SAMPLE_ROWS)

    def __len__(self) -> int:
        full = self._frames.get(None)
        return len(full) if full is not None else self.connector.count_rows(self.name)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_frames"] = {}
        return state

    def __repr__(self) -> str:
        return f"SourceTable(name={self.name!r}, source={self.source!r})"


def _no_loader() -> pd.DataFrame:  # pragma: no cover - DatabaseTable overrides to_pandas
    raise ConnectorError("database tables are read through their connector")
