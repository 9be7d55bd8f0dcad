"""SQL engines that hold a graph's tables. DuckDB is the default; Spark (``relgraph[spark]``)
runs the same statements for data that outgrows one machine.

Each graph's engine lives in this layer's cache (:func:`engine_of`, what ``graph.engine``
returns; :func:`use_engine` sets it), weakly keyed by the graph: a graph carries no engine,
so pickling or copying one never copies a connection, and a dropped graph drops its engine.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from relgraph.engine.duckdb import ROW_COLUMN, TIME_COLUMN, DuckDBEngine, quote_ident
from relgraph.protocols import SqlEngine

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph

__all__ = ["ROW_COLUMN", "TIME_COLUMN", "DuckDBEngine", "SqlEngine", "create_engine",
           "engine_of", "quote_ident", "use_engine"]

_ENGINES: weakref.WeakKeyDictionary[Graph, SqlEngine] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def create_engine(graph: Graph, name: str | None = None, **options: Any) -> SqlEngine:
    """A new engine for ``graph``: ``name`` or the one chosen by ``relgraph.init(engine=...)``.

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


def engine_of(graph: Graph) -> SqlEngine:
    """The engine of ``graph`` (``graph.engine``): the one :func:`use_engine` set, else one
    made by :func:`create_engine` on first use and kept while the graph lives."""
    with _LOCK:
        engine = _ENGINES.get(graph)
        if engine is None:
            engine = _ENGINES[graph] = create_engine(graph)
        return engine


def use_engine(graph: Graph, engine: SqlEngine | str = "duckdb", **options: Any) -> SqlEngine:
    """Make ``graph`` run its SQL on ``engine`` (an engine object, or a name as for
    :func:`create_engine`); returns the engine."""
    if isinstance(engine, str):
        engine = create_engine(graph, engine, **options)
    with _LOCK:
        _ENGINES[graph] = engine
    return engine
