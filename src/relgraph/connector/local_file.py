"""Tables from local CSV and Parquet files, or folders of partitioned files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from relgraph.connector.base import Connector
from relgraph.connector.source_table import SourceTable
from relgraph.errors import ConnectorError

_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


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

    def _entries(self) -> dict[str, tuple[Path, str]]:
        out: dict[str, tuple[Path, str]] = {}
        for path in sorted(self.root_dir.iterdir()):
            if path.name.startswith((".", "_")):
                continue
            if path.is_file() and path.suffix.lower() in _SUFFIXES:
                out[path.stem] = (path, _SUFFIXES[path.suffix.lower()])
            elif path.is_dir():
                kinds = {_SUFFIXES[p.suffix.lower()] for p in path.rglob("*")
                         if p.is_file() and p.suffix.lower() in _SUFFIXES}
                if len(kinds) == 1:
                    out[path.name] = (path, kinds.pop())
        return out

    def table_names(self) -> list[str]:
        return list(self._entries())

    def _open(self, name: str) -> SourceTable:
        path, kind = self._entries()[name]
        return SourceTable(name, lambda: read_file_table(path, kind), source=str(path))

    def __repr__(self) -> str:
        return f"LocalFileConnector(root_dir={str(self.root_dir)!r})"


def read_file_table(path: Path, kind: str) -> pd.DataFrame:
    """Read a CSV/Parquet file or folder of partitioned files into a DataFrame via DuckDB."""
    pattern = str(path / "**" / f"*.{'parquet' if kind == 'parquet' else 'csv'}") \
        if path.is_dir() else str(path)
    con = duckdb.connect()
    try:
        if kind == "parquet":
            rel = con.read_parquet(pattern, hive_partitioning=path.is_dir())
        else:
            rel = con.read_csv(pattern, header=True, hive_partitioning=path.is_dir(),
                               sample_size=-1)
        return rel.df()
    except duckdb.Error as exc:
        raise ConnectorError(f"Cannot read {kind} table at '{path}': {exc}") from exc
    finally:
        con.close()
