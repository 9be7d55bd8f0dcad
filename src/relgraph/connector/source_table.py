"""A table as it sits in a data source, before it is given graph metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from relgraph.errors import ConnectorError

if TYPE_CHECKING:
    from relgraph.types import Dtype, Stype


@dataclass(frozen=True)
class SourceColumn:
    """A column of a source table with its inferred dtype and default stype."""

    name: str
    dtype: Dtype
    stype: Stype


class SourceTable:
    """A named table of a connector. Data is read lazily and cached.

    ``to_pandas(columns)`` reads only the named columns where the source can (databases);
    file and DataFrame sources read the whole table once and select from it.
    """

    def __init__(self, name: str, loader: Callable[[], pd.DataFrame], source: str) -> None:
        self.name = name
        self._loader = loader
        self.source = source
        self._df: pd.DataFrame | None = None

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The table (or just ``columns`` of it) as a DataFrame (read once, then cached)."""
        if self._df is None:
            self._df = self._loader()
        if columns is None:
            return self._df
        self._check_columns(columns, list(self._df.columns))
        return self._df[list(columns)]

    def column_names(self) -> list[str]:
        """Names of the table's columns, in source order."""
        return [str(c) for c in self.to_pandas().columns]

    def iter_batches(self, columns: Sequence[str] | None = None,
                     batch_size: int = 65_536) -> Iterator[pd.DataFrame]:
        """The rows in DataFrames of at most ``batch_size`` rows."""
        df = self.to_pandas(columns)
        for start in range(0, len(df), batch_size):
            yield df.iloc[start:start + batch_size]

    def head(self, num_rows: int = 5) -> pd.DataFrame:
        return self.to_pandas().head(num_rows)

    def _sample(self) -> pd.DataFrame:
        """The rows dtypes are inferred from (all of them for files and DataFrames)."""
        return self.to_pandas()

    @property
    def column_dict(self) -> dict[str, SourceColumn]:
        from relgraph.type_inference import infer_dtype
        from relgraph.types import default_stype

        df = self._sample()
        out = {}
        for name in df.columns:
            dtype = infer_dtype(df[name])
            out[str(name)] = SourceColumn(str(name), dtype, default_stype(dtype))
        return out

    @property
    def columns(self) -> list[SourceColumn]:
        return list(self.column_dict.values())

    def _check_columns(self, wanted: Sequence[str], have: Sequence[str]) -> None:
        missing = [c for c in wanted if c not in have]
        if missing:
            from difflib import get_close_matches

            close = [m for c in missing for m in get_close_matches(c, list(have), n=1)]
            hint = f" Did you mean {close}?" if close else f" Columns: {list(have)}."
            raise ConnectorError(f"Table '{self.name}' has no column(s) {missing}.{hint}")

    def __len__(self) -> int:
        return len(self.to_pandas())

    def __getstate__(self) -> dict[str, Any]:
        # The cached rows are not pickled: a Table keeps the rows it uses, and a pickled
        # source table reads them again when asked.
        state = self.__dict__.copy()
        state["_df"] = None
        return state

    def __repr__(self) -> str:
        return f"SourceTable(name={self.name!r}, source={self.source!r})"
