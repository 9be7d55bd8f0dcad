"""Tables in a DuckDB database file, read and written with DuckDB itself.

DuckDB is relgraph's engine already, and its own client streams Arrow record batches from a
file (7 M rows/s on the 1M-row table of ``benchmarks/connectors.py``, as fast as reading the
same data from Parquet); no other library comes close or is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from relgraph.config import duckdb_config
from relgraph.connector.base import ForeignKey, TableSchema
from relgraph.connector.database import (
    DatabaseConnector,
    WriteMode,
    file_transaction,
    quote,
)
from relgraph.errors import (
    ConnectorError,
    DatabaseConnectionError,
    TableNotFoundError,
    UnsupportedColumnTypeError,
)

#: DuckDB types read as they are (Arrow converts them as for Parquet files).
_NATIVE = {
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "VARCHAR", "BLOB", "DATE", "TIME", "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "INTERVAL",
}
#: Types cast on read: wide numbers to DOUBLE, identifiers and documents to text.
_CASTS = {"HUGEINT": "DOUBLE", "UHUGEINT": "DOUBLE", "UUID": "VARCHAR", "JSON": "VARCHAR"}
_LIST = re.compile(r"^(?P<item>[A-Z_ ]+)\[\d*\]$")


def duckdb_select_expr(table: str, column: str, db_type: str) -> str:
    """How a DuckDB column of type ``db_type`` is read (quoted, cast where needed)."""
    name = quote(column)
    kind = db_type.upper()
    if kind in _NATIVE:
        return name
    if kind.startswith("DECIMAL") or kind.startswith("NUMERIC"):
        return f"CAST({name} AS DOUBLE) AS {name}"
    if kind.startswith("ENUM("):
        return f"CAST({name} AS VARCHAR) AS {name}"
    if kind in _CASTS:
        return f"CAST({name} AS {_CASTS[kind]}) AS {name}"
    match = _LIST.match(kind)
    if match and match["item"].strip() in _NATIVE - {"BLOB", "INTERVAL"}:
        return name
    raise UnsupportedColumnTypeError(
        f"Column '{table}.{column}' has DuckDB type {db_type}, which relgraph cannot read. "
        f"Cast it in a view (CREATE VIEW v AS SELECT CAST({column} AS VARCHAR) AS {column}, "
        f"... FROM {table}), or leave it out: Table.from_source_table(conn['{table}'], "
        "column_names=[...]).")


class DuckDBConnector(DatabaseConnector):
    """The tables and views of a DuckDB database file; also an output connector.

    Args:
        path: the database file. Reading needs it to exist; writing creates it.
        schema_name: the schema whose tables are listed and written (default ``main``).

    Example::

        conn = rg.DuckDBConnector("warehouse.duckdb")
        graph = rg.Graph.from_connector(conn)
    """

    source_type = "duckdb"
    scheme = "duckdb"

    def __init__(self, path: str | Path, schema_name: str = "main") -> None:
        self.path = Path(path).expanduser().resolve()
        self.schema_name = schema_name

    def __repr__(self) -> str:
        extra = f", schema_name={self.schema_name!r}" if self.schema_name != "main" else ""
        return f"DuckDBConnector({str(self.path)!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.path, other.schema_name) == (  # type: ignore[attr-defined]
            self.path, self.schema_name)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, self.schema_name))

    def location(self, table: str) -> str:
        name = table if self.schema_name == "main" else f"{self.schema_name}.{table}"
        return f"duckdb://{self.path}#{name}"

    def to_spec(self) -> dict[str, Any]:
        return {"type": self.scheme, "path": str(self.path), "schema_name": self.schema_name}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DuckDBConnector:
        return cls(Path(spec["path"]), str(spec.get("schema_name") or "main"))

    def _qualified(self, table: str) -> str:
        return f"{quote(self.schema_name)}.{quote(table)}"

    @contextmanager
    def _connect(self, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not self.path.is_file():
            raise DatabaseConnectionError(
                f"DuckDB database file '{self.path}' does not exist. Check the path; an "
                "output connector creates the file on its first write.")
        try:
            con = duckdb.connect(str(self.path), read_only=read_only, config=duckdb_config())
        except duckdb.IOException as exc:
            raise DatabaseConnectionError(
                f"Cannot open DuckDB database '{self.path}': {exc}. Another process may hold "
                "it open for writing; close that connection and retry.") from exc
        except duckdb.Error as exc:
            raise ConnectorError(f"Cannot open DuckDB database '{self.path}': {exc}") from exc
        try:
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ catalog
    def _list_tables(self) -> list[str]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND NOT internal "
                "AND NOT temporary UNION SELECT view_name FROM duckdb_views() WHERE "
                "schema_name = ? AND NOT internal AND NOT temporary ORDER BY 1",
                [self.schema_name, self.schema_name]).fetchall()
        return [str(r[0]) for r in rows]

    def _describe(self, name: str) -> TableSchema:
        with self._connect() as con:
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                "AND table_name = ? ORDER BY column_index", [self.schema_name, name]).fetchall()
            cons = con.execute(
                "SELECT constraint_type, constraint_column_names, referenced_table, "
                "referenced_column_names FROM duckdb_constraints() WHERE schema_name = ? AND "
                "table_name = ? AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') "
                "ORDER BY constraint_index", [self.schema_name, name]).fetchall()
        if not cols:
            raise TableNotFoundError(f"DuckDBConnector has no table '{name}'.")
        pk: tuple[str, ...] = ()
        fks = []
        for kind, columns, ref, ref_columns in cons:
            if kind == "PRIMARY KEY":
                pk = tuple(columns)
            else:
                fks.append(ForeignKey(tuple(columns), str(ref), tuple(ref_columns)))
        return TableSchema(name, {str(c): str(t) for c, t in cols}, pk, tuple(fks))

    def _select_expr(self, table: str, column: str, db_type: str) -> str:
        return duckdb_select_expr(table, column, db_type)

    # ------------------------------------------------------------------ reading
    @contextmanager
    def _reader(self, sql: str, batch_size: int) -> Iterator[pa.RecordBatchReader]:
        with self._connect() as con:
            try:
                yield con.sql(sql).to_arrow_reader(batch_size)
            except duckdb.Error as exc:
                raise ConnectorError(f"DuckDB query on '{self.path}' failed: {exc}") from exc

    # ------------------------------------------------------------------ writing
    def _write(self, df: pd.DataFrame, table: str, mode: WriteMode) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = self._qualified(table)
        con = duckdb.connect(str(self.path), config=duckdb_config())
        try:
            con.register("__rg_src", df)
            with file_transaction(con, "BEGIN TRANSACTION", duckdb.Error, table, self.path):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema_name)}")
                exists = bool(con.execute(
                    "SELECT COUNT(*) FROM duckdb_tables() WHERE schema_name = ? AND "
                    "table_name = ?", [self.schema_name, table]).fetchone()[0])  # type: ignore[index]
                if mode is WriteMode.APPEND and exists:
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM __rg_src")
                else:
                    tmp = self.tmp_name(table)
                    con.execute(f"CREATE TABLE {self._qualified(tmp)} AS SELECT * FROM __rg_src")
                    con.execute(f"DROP TABLE IF EXISTS {target}")
                    con.execute(f"ALTER TABLE {self._qualified(tmp)} RENAME TO {quote(table)}")
        finally:
            con.close()

    def stage_table(self, df: pd.DataFrame, tmp: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect(read_only=False) as con:
            con.register("__rg_src", df)
            with file_transaction(con, "BEGIN TRANSACTION", duckdb.Error, tmp, self.path):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema_name)}")
                con.execute(f"DROP TABLE IF EXISTS {self._qualified(tmp)}")
                con.execute(f"CREATE TABLE {self._qualified(tmp)} AS SELECT * FROM __rg_src")

    def publish_table(self, tmp: str, table: str,
                      mode: WriteMode | str = WriteMode.OVERWRITE) -> None:
        self.check_name(table)
        with self._connect(read_only=False) as con, \
                file_transaction(con, "BEGIN TRANSACTION", duckdb.Error, table, self.path):
            if WriteMode(str(mode).upper()) is WriteMode.APPEND and self._exists(con, table):
                con.execute(f"INSERT INTO {self._qualified(table)} BY NAME "
                            f"SELECT * FROM {self._qualified(tmp)}")
                con.execute(f"DROP TABLE {self._qualified(tmp)}")
            else:
                con.execute(f"DROP TABLE IF EXISTS {self._qualified(table)}")
                con.execute(f"ALTER TABLE {self._qualified(tmp)} RENAME TO {quote(table)}")

    def drop_table(self, table: str) -> None:
        if not self.path.is_file():
            return
        with self._connect(read_only=False) as con:
            con.execute(f"DROP TABLE IF EXISTS {self._qualified(table)}")

    def has_table(self, table: str) -> bool:
        if not self.path.is_file():
            return False
        with self._connect() as con:
            return self._exists(con, table)

    def _exists(self, con: duckdb.DuckDBPyConnection, table: str) -> bool:
        return bool(con.execute(
            "SELECT COUNT(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [self.schema_name, table]).fetchone()[0])  # type: ignore[index]

    def check_writable(self, tables: Any, mode: WriteMode | str) -> None:
        super().check_writable(tables, mode)
        if self.path.exists() and not self.path.is_file():
            raise ConnectorError(f"'{self.path}' is not a file; pass a DuckDB database file.")
