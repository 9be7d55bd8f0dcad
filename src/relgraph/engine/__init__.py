"""SQL engines that hold a graph's tables. DuckDB is the default."""

from relgraph.engine.duckdb import ROW_COLUMN, TIME_COLUMN, DuckDBEngine, quote_ident

__all__ = ["ROW_COLUMN", "TIME_COLUMN", "DuckDBEngine", "quote_ident"]
