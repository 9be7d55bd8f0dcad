"""relgraph: predictive queries on relational databases with graph neural networks."""

from relgraph.connector import DataFrameConnector, LocalFileConnector, SourceTable
from relgraph.errors import (
    ConnectorError,
    GraphError,
    JobError,
    PlanError,
    PQLError,
    RelgraphError,
    TrainingError,
)
from relgraph.graph import Column, Dtype, Edge, Graph, Stype, Table
from relgraph.task import QueryType, TaskType

__version__ = "0.1.0"

__all__ = sorted([
    "Column", "ConnectorError", "DataFrameConnector", "Dtype", "Edge", "Graph", "GraphError",
    "JobError", "LocalFileConnector", "PQLError", "PlanError", "QueryType", "RelgraphError",
    "SourceTable", "Stype", "Table", "TaskType", "TrainingError",
])
