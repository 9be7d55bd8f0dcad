"""Tables from in-memory pandas DataFrames."""

from __future__ import annotations

from functools import partial

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
        return SourceTable(name, partial(_identity, self.frames[name]), source="dataframe")


def _identity(df: pd.DataFrame) -> pd.DataFrame:
    return df
