"""Connectors: where source tables come from."""

from relgraph.connector.base import Connector
from relgraph.connector.dataframe import DataFrameConnector
from relgraph.connector.local_file import LocalFileConnector
from relgraph.connector.source_table import SourceColumn, SourceTable

__all__ = ["Connector", "DataFrameConnector", "LocalFileConnector", "SourceColumn", "SourceTable"]
