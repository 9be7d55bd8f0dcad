"""Arrow tables to pandas, the same way for files and databases."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa

_NULLABLE_INT = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
}


def arrow_to_pandas(table: pa.Table,
                    rest: Callable[[list[str]], pd.DataFrame] | None = None) -> pd.DataFrame:
    """A DataFrame of ``table`` with the column types relgraph's inference expects.

    Integer, float, text, timestamp and null-free boolean columns convert through Arrow
    (DuckDB's own conversion of text is several times slower); integer columns with nulls
    become nullable ``Int64``, as with DuckDB's ``rel.df()``. The other columns (dates,
    decimals, intervals, lists, ...) come from ``rest(names)``, by default DuckDB's pandas
    conversion of those Arrow columns, so a database table reads exactly as the same data
    read from a Parquet file.
    """
    out: dict[str, pd.Series] = {}
    other: list[str] = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        kind = col.type
        if pa.types.is_integer(kind):
            out[name] = col.to_pandas(types_mapper=_NULLABLE_INT.get) if col.null_count \
                else col.to_pandas()
        elif (pa.types.is_string(kind) or pa.types.is_large_string(kind)
              or pa.types.is_floating(kind) or pa.types.is_timestamp(kind)
              or (pa.types.is_boolean(kind) and col.null_count == 0)):
            out[name] = col.to_pandas()
        else:
            other.append(name)
    if other:
        frame = (rest or _duckdb_rest(table))(other)
        for name in other:
            out[name] = frame[name]
    return pd.DataFrame({name: out[name] for name in table.column_names})


def _duckdb_rest(table: pa.Table) -> Callable[[list[str]], pd.DataFrame]:
    def rest(names: list[str]) -> pd.DataFrame:
        import duckdb

        from relgraph.config import duckdb_config

        con = duckdb.connect(config=duckdb_config())
        try:
            return con.from_arrow(table.select(names)).df()
        finally:
            con.close()

    return rest
