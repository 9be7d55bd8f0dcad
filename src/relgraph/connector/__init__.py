"""Connectors: where source tables come from, and where output tables go."""

from relgraph.connector.base import Connector, ForeignKey, TableSchema
from relgraph.connector.database import DatabaseConnector, DatabaseConnectorConfig, WriteMode
from relgraph.connector.dataframe import DataFrameConnector
from relgraph.connector.duckdb_file import DuckDBConnector
from relgraph.connector.local_file import LocalFileConnector
from relgraph.connector.postgres import PostgresConnector
from relgraph.connector.source_table import SourceColumn, SourceTable
from relgraph.connector.sqlite import SQLiteConnector

__all__ = [
    "Connector",
    "DataFrameConnector",
    "DatabaseConnector",
    "DatabaseConnectorConfig",
    "DuckDBConnector",
    "ForeignKey",
    "LocalFileConnector",
    "PostgresConnector",
    "SQLiteConnector",
    "SourceColumn",
    "SourceTable",
    "TableSchema",
    "WriteMode",
]
