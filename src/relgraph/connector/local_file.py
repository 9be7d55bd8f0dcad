"""Tables from local CSV and Parquet files, or folders of partitioned files."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from relgraph.config import duckdb_config
from relgraph.connector.arrow import arrow_to_pandas
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


def _to_pandas(rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """``rel.df()``, but with the common column types converted through Arrow
    (see :func:`relgraph.connector.arrow.arrow_to_pandas`)."""
    return arrow_to_pandas(rel.to_arrow_table(), lambda names: rel.select(
        ", ".join('"' + n.replace('"', '""') + '"' for n in names)).df())
