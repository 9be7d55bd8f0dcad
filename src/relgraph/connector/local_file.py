"""Tables from local CSV and Parquet files, or folders of partitioned files."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from relgraph.config import duckdb_config
from relgraph.connector.base import Connector
from relgraph.connector.source_table import SourceTable
from relgraph.errors import ConnectorError

_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def literal_path(path: Path | str) -> str:
    """``path`` with DuckDB's glob characters escaped (``t[1].csv`` names that file, not
    ``t1.csv``): ``[``, ``*`` and ``?`` become one-character classes."""
    return re.sub(r"([\[*?])", lambda m: f"[{m.group(1)}]", str(path))


def _data_files(folder: Path) -> list[Path]:
    """The CSV/Parquet files under ``folder``, skipping hidden and ``_``-prefixed entries
    (``.crc`` files, ``_SUCCESS`` markers, ``_delta_log`` folders)."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in _SUFFIXES
        and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )


class LocalFileConnector(Connector):
    """Reads every ``*.csv``/``*.parquet`` file, and every folder of such files, under ``root_dir``.

    A file ``orders.parquet`` becomes table ``orders``; a folder ``orders/`` holding
    ``part-*.parquet`` files (Hive partitions allowed) becomes one table ``orders`` too.
    """

    source_type = "local"

    def __init__(self, root_dir: str | Path) -> None:
        self.root_dir = Path(root_dir).expanduser()
        if not self.root_dir.is_dir():
            raise ConnectorError(
                f"LocalFileConnector: '{self.root_dir}' is not a directory. Pass the folder that "
                "holds your CSV or Parquet files."
            )
        self._cache: dict[str, tuple[object, SourceTable]] = {}

    def _entries(self) -> dict[str, tuple[Path, str]]:
        out: dict[str, tuple[Path, str]] = {}
        for path in sorted(self.root_dir.iterdir()):
            if path.name.startswith((".", "_")):
                continue
            if path.is_file() and path.suffix.lower() in _SUFFIXES:
                out[path.stem] = (path, _SUFFIXES[path.suffix.lower()])
            elif path.is_dir():
                kinds = {_SUFFIXES[p.suffix.lower()] for p in _data_files(path)}
                if len(kinds) == 1:
                    out[path.name] = (path, kinds.pop())
        return out

    def table_names(self) -> list[str]:
        return list(self._entries())

    def _open(self, name: str) -> SourceTable:
        path, kind = self._entries()[name]
        files = [path] if path.is_file() else _data_files(path)
        signature = (path, kind, tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
        cached = self._cache.get(name)
        if cached is not None and cached[0] == signature:
            # The same SourceTable (and its cached frame) until the files change.
            return cached[1]
        table = SourceTable(name, partial(read_file_table, path, kind), source=str(path))
        self._cache[name] = (signature, table)
        return table

    def __repr__(self) -> str:
        return f"LocalFileConnector(root_dir={str(self.root_dir)!r})"


def read_file_table(path: Path, kind: str) -> pd.DataFrame:
    """Read a CSV/Parquet file or folder of partitioned files into a DataFrame via DuckDB.

    CSV types are sniffed over the whole file, so a column mixing numbers and text is read as
    text instead of failing on the first non-number. The files of a folder are combined by
    column name (a file may lack a column, or type it differently) and Hive partition folders
    (``key=value``) become columns.
    """
    is_dir = path.is_dir()
    # A single file is passed as a plain path: DuckDB sniffs some files (e.g. movielens'
    # movies.csv with doubled-quote escapes) differently when given a one-element list.
    files: str | list[str] = [literal_path(f) for f in _data_files(path)] if is_dir \
        else literal_path(path)
    if not files:
        raise ConnectorError(f"No {kind} files under '{path}'.")
    con = duckdb.connect(config=duckdb_config())  # relgraph.init's memory limit / spill folder
    try:
        if kind == "parquet":
            rel = con.read_parquet(files, hive_partitioning=is_dir, union_by_name=is_dir)
        else:
            rel = con.read_csv(files, header=True, hive_partitioning=is_dir,
                               union_by_name=is_dir, sample_size=-1)
        return _to_pandas(rel)
    except duckdb.Error as exc:
        raise ConnectorError(f"Cannot read {kind} table at '{path}': {exc}") from exc
    finally:
        con.close()


_NULLABLE_INT = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
}


def _to_pandas(rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """``rel.df()``, but with the common column types converted through Arrow.

    DuckDB's own conversion of text columns is several times slower (1M-row tables take
    seconds). Integer columns with nulls become nullable ``Int64`` (as with ``rel.df()``);
    other types (dates, decimals, intervals, lists, ...) still go through ``rel.df()`` so
    they keep its pandas representation.
    """
    table = rel.to_arrow_table()
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
        rest = rel.select(", ".join('"' + n.replace('"', '""') + '"' for n in other)).df()
        for name in other:
            out[name] = rest[name]
    return pd.DataFrame({name: out[name] for name in table.column_names})
