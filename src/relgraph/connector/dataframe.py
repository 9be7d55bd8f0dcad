"""Tables from in-memory pandas DataFrames."""

from __future__ import annotations

import pandas as pd

from relgraph.connector.base import Connector
from relgraph.connector.source_table import SourceTable
from relgraph.errors import ConnectorError


class DataFrameConnector(Connector):
    """Exposes a ``{name: DataFrame}`` mapping as source tables."""

    source_type = "dataframe"

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        for name, df in frames.items():
            if not isinstance(df, pd.DataFrame):
                raise ConnectorError(
                    f"DataFrameConnector: table '{name}' is a {type(df).__name__}, "
                    "not a pandas DataFrame."
                )
        self.frames = dict(frames)

    def table_names(self) -> list[str]:
        return list(self.frames)

    def _open(self, name: str) -> SourceTable:
        df = self.frames[name]
        return SourceTable(name, lambda: df, source="dataframe")
