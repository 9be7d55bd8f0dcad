"""A table as it sits in a data source, before it is given graph metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from relgraph.graph.types import Dtype, Stype


@dataclass(frozen=True)
class SourceColumn:
    """A column of a source table with its inferred dtype and default stype."""

    name: str
    dtype: Dtype
    stype: Stype


class SourceTable:
    """A named table of a connector. Data is read lazily and cached."""

    def __init__(self, name: str, loader: Callable[[], pd.DataFrame], source: str) -> None:
        self.name = name
        self._loader = loader
        self.source = source
        self._df: pd.DataFrame | None = None

    def to_pandas(self) -> pd.DataFrame:
        """The whole table as a DataFrame (read once, then cached)."""
        if self._df is None:
            self._df = self._loader()
        return self._df

    def head(self, num_rows: int = 5) -> pd.DataFrame:
        return self.to_pandas().head(num_rows)

    @property
    def column_dict(self) -> dict[str, SourceColumn]:
        from relgraph.graph.infer import infer_dtype
        from relgraph.graph.types import default_stype

        out = {}
        for name in self.to_pandas().columns:
            dtype = infer_dtype(self.to_pandas()[name])
            out[str(name)] = SourceColumn(str(name), dtype, default_stype(dtype))
        return out

    @property
    def columns(self) -> list[SourceColumn]:
        return list(self.column_dict.values())

    def __len__(self) -> int:
        return len(self.to_pandas())

    def __repr__(self) -> str:
        return f"SourceTable(name={self.name!r}, source={self.source!r})"
