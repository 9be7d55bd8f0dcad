"""The Spark engine: a graph's tables as Spark views; PQL's SQL rendered to Spark SQL.

Select it with ``relgraph.init(engine="spark", spark_session=spark)`` (every graph created
afterwards uses it), or per graph with :func:`relgraph.engine.use_engine`. Without a session,
one is started from ``spark_conf`` (``spark.master`` etc.; default ``local[*]``).

Tables are registered from the graph's own rows (written once to Parquet under the engine's
work folder, then read by Spark), or, for data that lives in the cluster, from a source per
table: a Parquet/CSV folder (``"parquet:/path"``, ``"csv:/path"``, a path ending in
``.csv``, or any other path = Parquet) or an existing Spark table (``"table:db.name"``); the
graph then only supplies metadata (keys, time columns, column types).

The statements are the DuckDB statements of :mod:`relgraph.pquery.sql`, transpiled by
:func:`relgraph.engine.transpile.to_spark_sql`; results are identical (tested on the PQL
golden queries).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from relgraph.engine.base import GraphEngine
from relgraph.engine.duckdb import ROW_COLUMN, TIME_COLUMN, quote_ident, table_arrow
from relgraph.engine.transpile import to_spark_sql
from relgraph.errors import GraphError

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph
    from relgraph.graph.table import Table

__all__ = ["SparkEngine", "local_spark_session"]

#: Settings every relgraph Spark session needs (times are UTC everywhere in relgraph).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def local_spark_session(conf: dict[str, str] | None = None, app_name: str = "relgraph") -> Any:
    """A Spark session (``local[*]`` unless ``conf`` names ``spark.master``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise GraphError("The Spark engine needs pyspark: pip install 'relgraph[spark]'") \
            from exc
    settings = {"spark.master": "local[*]", "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": "8", **(conf or {}), **REQUIRED_CONF}
    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkEngine(GraphEngine):
    """Holds a graph's tables as Spark temporary views and runs PQL's SQL on them.

    Same interface as :class:`~relgraph.engine.DuckDBEngine`: ``relation``, ``sql``,
    ``arrow``; ``dataframe`` returns the lazy Spark DataFrame of a statement.
    """

    dialect = "spark"

    def __init__(self, graph: Graph, spark: Any = None, *,
                 sources: dict[str, str] | None = None,
                 spark_conf: dict[str, str] | None = None,
                 work_dir: str | Path | None = None) -> None:
        super().__init__(graph)
        self.spark = spark if spark is not None else local_spark_session(spark_conf)
        for key, value in REQUIRED_CONF.items():
            self.spark.conf.set(key, value)
        self.sources = dict(sources or {})
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir is not None else Path(
            tempfile.mkdtemp(prefix="relgraph-spark-"))
        self._registered: dict[str, tuple[Table, int]] = {}
        self._lock = threading.RLock()

    # -- relations ---------------------------------------------------------------------
    def relation(self, table_name: str) -> str:
        """The quoted name of the view holding ``table_name`` (registered if needed)."""
        table = self.graph.table(table_name)
        with self._lock:
            known = self._registered.get(table_name)
            if known is None or known[0] is not table or known[1] != table.version:
                self._register(table_name, table)
                self._registered[table_name] = (table, table.version)
        return quote_ident(table_name)

    def _view_name(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def _register(self, name: str, table: Table) -> None:
        if name in self.sources:
            df = self._from_source(name, table, self.sources[name])
        else:
            df = self._from_rows(name, table)
        df.createOrReplaceTempView(self._view_name(name))

    def _from_rows(self, name: str, table: Table) -> Any:
        arrow = table_arrow(name, table)
        # naive timestamps -> UTC instants, read by Spark as TIMESTAMP (session zone UTC)
        fields = []
        for field in arrow.schema:
            if pa.types.is_timestamp(field.type) and field.type.tz is None:
                fields.append(pa.field(field.name, pa.timestamp("us", tz="UTC")))
            else:
                fields.append(field)
        arrow = arrow.cast(pa.schema(fields))
        folder = self.work_dir / "tables" / f"{abs(hash((name, id(table))))}_{table.version}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        pq.write_table(arrow, folder / "part-0.parquet", row_group_size=1 << 20)
        return self.spark.read.parquet(str(folder))

    def _from_source(self, name: str, table: Table, source: str) -> Any:
        """A view over data already in reach of the cluster, with ``__rg_row``/``__rg_time``.

        Parquet: ``__rg_row`` orders rows by (file path, row in file) — the order of a store
        built from the same files read in name order — as ``file_rank << 40 | row_index``
        (increasing, not contiguous; PQL only orders by it). CSV and Spark tables:
        ``monotonically_increasing_id()`` (Spark's read order).
        """
        from pyspark.sql import functions as F

        reader = self.spark.read
        parquet = False
        if source.startswith("table:"):
            df = self.spark.table(source[len("table:"):])
        elif source.startswith("csv:") or source.endswith(".csv"):
            path = source[len("csv:"):] if source.startswith("csv:") else source
            df = reader.option("header", "true").option("inferSchema", "true").csv(path)
        else:
            path = source[len("parquet:"):] if source.startswith("parquet:") else source
            df = reader.parquet(path)
            parquet = True
        keep = [c.name for c in table.columns]
        missing = [c for c in keep if c not in df.columns]
        if missing:
            raise GraphError(f"Source {source!r} of table '{name}' lacks columns {missing}")
        cols = [F.col(f"`{c}`") for c in keep]
        if parquet:
            files = sorted(r[0] for r in df.select(F.col("_metadata.file_path")).distinct()
                           .collect())
            rank = F.create_map(*[x for i, f in enumerate(files)
                                  for x in (F.lit(f), F.lit(i).cast("long"))])
            row = F.shiftleft(F.element_at(rank, F.col("_metadata.file_path")), 40) \
                .bitwiseOR(F.col("_metadata.row_index"))
        else:
            row = F.monotonically_increasing_id()
        df = df.select(*cols, row.cast("long").alias(ROW_COLUMN))
        for col in (table.time_column, table.end_time_column):
            if col is not None:
                df = df.withColumn(col, F.col(f"`{col}`").cast("timestamp"))
        if table.time_column is not None:
            df = df.withColumn(TIME_COLUMN,
                               F.unix_timestamp(F.col(f"`{table.time_column}`")).cast("long"))
        return df

    def register_all(self) -> None:
        for name in self.graph.tables:
            self.relation(name)

    @contextlib.contextmanager
    def temp_relation(self, frame: pd.DataFrame) -> Iterator[str]:
        """``frame`` as a temporary view for the duration of the block; yields its name
        quoted for DuckDB-dialect statements (as :meth:`relation` does)."""
        name = f"__rg_tmp_{uuid.uuid4().hex[:12]}"
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)
        try:
            yield quote_ident(name)
        finally:
            self.spark.catalog.dropTempView(name)

    # -- queries -----------------------------------------------------------------------
    def translate(self, query: str, params: list | dict | None = None) -> str:
        """The Spark SQL text of a DuckDB-dialect statement with its parameters inlined."""
        return to_spark_sql(query, params)

    def dataframe(self, query: str, params: list | dict | None = None) -> Any:
        """The (lazy) Spark DataFrame of a DuckDB-dialect statement."""
        return self.spark.sql(self.translate(query, params))

    def columns(self, query: str, params: list | dict | None = None) -> list[str]:
        """The column names ``query`` returns: those of the lazy plan, nothing runs."""
        return list(self.dataframe(query, params).columns)

    def write_parquet(self, query: str, params: list | dict | None, path: str,
                      partition_by: list[str]) -> None:
        """Write ``query``'s rows as Parquet files in the folder ``path`` (Spark writes the
        partitions in parallel; hive partitions by ``partition_by`` when given)."""
        writer = self.dataframe(query, params).write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(str(path))

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run ``query`` (DuckDB dialect, ``$n`` parameters); return a DataFrame."""
        return self.arrow(query, params).to_pandas()

    def arrow(self, query: str, params: list | dict | None = None) -> pa.Table:
        """Run ``query`` (DuckDB dialect, ``$n`` parameters); return an Arrow table."""
        df = self.dataframe(query, params)
        if hasattr(df, "toArrow"):
            result: pa.Table = df.toArrow()
        else:  # pyspark < 4
            result = df._collect_as_arrow()  # type: ignore[attr-defined]
            result = pa.Table.from_batches(result) if isinstance(result, list) else result
        return _naive_times(result)

    def close(self) -> None:
        for name in list(self._registered):
            self.spark.catalog.dropTempView(name)
        self._registered.clear()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def _naive_times(table: pa.Table) -> pa.Table:
    """UTC timestamps -> naive (as DuckDB returns TIMESTAMP columns)."""
    fields = [pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type)
              and f.type.tz is not None else f for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table
