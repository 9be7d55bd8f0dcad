"""SQL engines that hold a graph's tables. DuckDB is the default; Spark (``relgraph[spark]``)
runs the same statements for data that outgrows one machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relgraph.engine.duckdb import ROW_COLUMN, TIME_COLUMN, DuckDBEngine, quote_ident
from relgraph.protocols import SqlEngine

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph

__all__ = ["ROW_COLUMN", "TIME_COLUMN", "DuckDBEngine", "SqlEngine", "create_engine",
           "quote_ident", "use_engine"]


def create_engine(graph: Graph, name: str | None = None, **options: Any) -> SqlEngine:
    """The engine for ``graph``: ``name`` or the one chosen by ``relgraph.init(engine=...)``.

    ``"duckdb"`` (default) or ``"spark"`` (options: ``spark`` session, ``sources``,
    ``spark_conf``, ``work_dir``; by default the session passed to ``init(spark_session=)``).
    """
    from relgraph import config

    settings = config._settings  # not get_settings(): choosing DuckDB must not create a home
    name = name or (settings.engine if settings is not None else "duckdb")
    if name == "duckdb":
        return DuckDBEngine(graph, **options)
    if name == "spark":
        from relgraph.engine.spark import SparkEngine

        if settings is not None:
            options.setdefault("spark", settings.spark_session)
            if settings.spark_conf:
                options.setdefault("spark_conf", settings.spark_conf)
        return SparkEngine(graph, **options)
    raise ValueError(f"Unknown engine {name!r}; use 'duckdb' or 'spark'")


def use_engine(graph: Graph, engine: Any = "duckdb", **options: Any) -> Any:
    """Make ``graph`` run its SQL on ``engine`` (an engine object, or a name as for
    :func:`create_engine`); returns the engine."""
    if isinstance(engine, str):
        engine = create_engine(graph, engine, **options)
    graph._engine = engine
    return engine
