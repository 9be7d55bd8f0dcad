"""Protocols for the seams between layers that a lower layer must name (DESIGN §3).

:class:`SqlEngine` is what :class:`~relgraph.graph.Graph` hands out as ``graph.engine`` and
what pquery, aggregates and baselines run their SQL on; :mod:`relgraph.engine` implements it
(:class:`~relgraph.engine.DuckDBEngine`, the default, and ``SparkEngine``) and re-exports it.
It lives here, below ``graph``, because ``graph`` names it and ``engine`` imports ``graph``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["SqlEngine"]


class SqlEngine(Protocol):
    """An engine holding a graph's tables as relations, running bound SQL on them."""

    def relation(self, table_name: str) -> str:
        """The quoted name of the relation holding ``table_name`` (registered if needed)."""
        ...

    def sql(self, query: str, params: list[Any] | dict[str, Any] | None = None
            ) -> pd.DataFrame:
        """Run ``query`` with bound ``params``; a DataFrame."""
        ...

    def arrow(self, query: str, params: list[Any] | dict[str, Any] | None = None
              ) -> pa.Table:
        """Run ``query`` with bound ``params``; an Arrow table."""
        ...

    def columns(self, query: str, params: list[Any] | dict[str, Any] | None = None
                ) -> list[str]:
        """The column names ``query`` returns (nothing is computed)."""
        ...

    def write_parquet(self, query: str, params: list[Any] | dict[str, Any] | None, path: str,
                      partition_by: list[str]) -> None:
        """Write ``query``'s rows as Parquet files in the folder ``path`` (hive partitions by
        ``partition_by`` when given)."""
        ...

    def temp_relation(self, frame: pd.DataFrame) -> AbstractContextManager[str]:
        """``frame`` as a relation for the duration of a ``with`` block; yields its name."""
        ...

    def register_all(self) -> None:
        """Register every table of the graph."""
        ...

    def close(self) -> None:
        """Release the engine's connection."""
        ...
