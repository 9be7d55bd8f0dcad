"""The embedded DuckDB engine that holds a graph's tables and runs the SQL PQL compiles to."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from relgraph.engine.base import GraphEngine
from relgraph.errors import GraphError
from relgraph.types import Dtype

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph
    from relgraph.graph.table import Table

ROW_COLUMN = "__rg_row"
TIME_COLUMN = "__rg_time"


def quote_ident(name: str) -> str:
    """Quote a SQL identifier (double quotes, embedded quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def connect(database: str = ":memory:", config: dict[str, Any] | None = None,
            **kwargs: Any) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``config`` (default: the ``duckdb_*`` options of
    :func:`relgraph.init`: memory limit, spill folder, threads)."""
    from relgraph.config import duckdb_config

    settings = duckdb_config() if config is None else config
    con = duckdb.connect(database, config=dict(settings), **kwargs)
    # relgraph reports its own progress; DuckDB's bar would interleave with it (and write
    # carriage-return frames into logs)
    con.execute("SET enable_progress_bar = false")
    return con


def table_arrow(name: str, table: Table) -> pa.Table:
    """The rows a relation holds: the table's columns (time columns as timestamps),
    ``__rg_row`` and, with a time column, ``__rg_time`` (shared by all engines)."""
    df = table.data
    cols: dict[str, Any] = {}
    for col in table.columns:
        series = df[col.name]
        if col.name in (table.time_column, table.end_time_column):
            secs = table.time_values(col.name)
            ts = secs.astype("datetime64[s]").astype("datetime64[us]")
            cols[col.name] = pd.Series(ts).where(secs != np.iinfo(np.int64).min)
        elif col.dtype is Dtype.string and len(series) and bool(series.isna().all()):
            # An all-null object column would become DuckDB's untyped NULL column.
            cols[col.name] = series.reset_index(drop=True).astype("string")
        else:
            cols[col.name] = series.reset_index(drop=True)
    frame = pd.DataFrame(cols)
    frame[ROW_COLUMN] = np.arange(len(df), dtype=np.int64)
    if table.time_column is not None:
        secs = table.time_values()
        frame[TIME_COLUMN] = pd.array(
            np.where(secs == np.iinfo(np.int64).min, 0, secs), dtype="Int64")
        frame.loc[secs == np.iinfo(np.int64).min, TIME_COLUMN] = pd.NA
    try:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise GraphError(f"Table '{name}' cannot be loaded into DuckDB: {exc}") from exc
    return arrow


class DuckDBEngine(GraphEngine):
    """Registers the tables of a :class:`Graph` in an in-memory (or file) DuckDB database.

    Each relation holds the table's columns (time columns as ``TIMESTAMP``), ``__rg_row``
    (row index = node index) and, for tables with a time column, ``__rg_time`` (int64 epoch
    seconds). Tables are (re-)registered lazily when first used or after they change.
    The connection takes the ``duckdb_*`` options of :func:`relgraph.init` (memory limit,
    spill folder, threads), or ``config`` when given.
    """

    def __init__(self, graph: Graph, database: str = ":memory:",
                 config: dict[str, Any] | None = None) -> None:
        super().__init__(graph)
        self.con = connect(database, config)
        # name -> (table object, its version) at registration. Holding the object (not its
        # id()) means a replaced table can never be mistaken for the old one.
        self._registered: dict[str, tuple[Table, int]] = {}
        self._lock = threading.RLock()

    def relation(self, table_name: str) -> str:
        """The quoted name of the relation holding ``table_name`` (registered if needed)."""
        table = self.graph.table(table_name)
        with self._lock:
            known = self._registered.get(table_name)
            if known is None or known[0] is not table or known[1] != table.version:
                self._register(table_name, table)
                self._registered[table_name] = (table, table.version)
        return quote_ident(table_name)

    def _register(self, name: str, table: Table) -> None:
        arrow = table_arrow(name, table)
        self.con.register("__rg_import", arrow)
        try:
            self.con.execute(
                f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT * FROM __rg_import")
        finally:
            self.con.unregister("__rg_import")

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run ``query`` with bound ``params``; return a DataFrame."""
        with self._lock:
            return self.con.execute(query, params).df()

    def arrow(self, query: str, params: list | dict | None = None) -> pa.Table:
        """Run ``query`` with bound ``params``; return an Arrow table."""
        with self._lock:
            result = self.con.sql(query, params=params).to_arrow_table()
        return result

    @contextlib.contextmanager
    def temp_relation(self, frame: pd.DataFrame) -> Iterator[str]:
        """``frame`` as a relation for the duration of the block; yields its quoted name."""
        name = f"__rg_tmp_{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.con.register(name, frame)
        try:
            yield quote_ident(name)
        finally:
            with self._lock:
                self.con.unregister(name)

    def columns(self, query: str, params: list | dict | None = None) -> list[str]:
        """The column names ``query`` returns (nothing is computed)."""
        return list(self.arrow(f"SELECT * FROM ({query}) __c LIMIT 0", params).column_names)

    def write_parquet(self, query: str, params: list | dict | None, path: str,
                      partition_by: list[str]) -> None:
        """Write ``query``'s rows as Parquet files in the new folder ``path`` (hive
        partitions by ``partition_by`` when given)."""
        Path(path).mkdir(parents=True)
        target = str(path).replace("'", "''")
        options = "FORMAT PARQUET, OVERWRITE_OR_IGNORE"
        if partition_by:
            options += ", PARTITION_BY (" + ", ".join(f'"{c}"' for c in partition_by) + ")"
        else:
            options += ", PER_THREAD_OUTPUT"
        with self._lock:
            self.con.execute(f"COPY ({query}) TO '{target}' ({options})", params)

    def register_all(self) -> None:
        for name in self.graph.tables:
            self.relation(name)

    def close(self) -> None:
        self.con.close()
