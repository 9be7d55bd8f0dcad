"""relgraph: predictive queries on relational databases with graph neural networks."""

import os
from typing import TYPE_CHECKING

# Two torch processes on a small machine (a notebook plus a job worker, DDP ranks) make
# OpenMP's busy-waiting threads fight for the cores, which measured up to 20x slower
# steps here; passive waiting avoids that. Set before torch loads; the user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from relgraph._lazy import lazy_getattr
from relgraph.config import init
from relgraph.connector import (
    DatabaseConnectorConfig,
    DataFrameConnector,
    DuckDBConnector,
    LocalFileConnector,
    PostgresConnector,
    SourceTable,
    SQLiteConnector,
    WriteMode,
)
from relgraph.errors import (
    ArtifactError,
    ConfigError,
    ConnectorError,
    DatabaseConnectionError,
    DatabasePermissionError,
    GraphError,
    JobError,
    PlanError,
    PQLError,
    RelgraphError,
    TableNotFoundError,
    TrainingError,
    UnsupportedColumnTypeError,
)
from relgraph.graph import Column, Dtype, Edge, Graph, Stype, Table
from relgraph.task import QueryType, TaskType

_LAZY = {
    **dict.fromkeys(["PredictionTable", "PredictionTableGenerationPlan", "PredictionTableJob",
                     "PredictiveQuery", "TrainingTable", "TrainingTableGenerationPlan",
                     "TrainingTableJob"], "relgraph.pquery"),
    **dict.fromkeys(["BatchPredictionJob", "BatchPredictionJobResult", "JobStatus",
                     "ModelEvaluationMetrics", "ModelPlan", "OutputConfig", "RunMode", "Trainer",
                     "TrainingJob", "TrainingJobResult"], "relgraph.trainer"),
    "gc": "relgraph.jobs.gc",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from relgraph.jobs.gc import gc
    from relgraph.pquery import (
        PredictionTable,
        PredictionTableGenerationPlan,
        PredictionTableJob,
        PredictiveQuery,
        TrainingTable,
        TrainingTableGenerationPlan,
        TrainingTableJob,
    )
    from relgraph.trainer import (
        BatchPredictionJob,
        BatchPredictionJobResult,
        JobStatus,
        ModelEvaluationMetrics,
        ModelPlan,
        OutputConfig,
        RunMode,
        Trainer,
        TrainingJob,
        TrainingJobResult,
    )

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "BatchPredictionJob",
    "BatchPredictionJobResult",
    "Column",
    "ConfigError",
    "ConnectorError",
    "DataFrameConnector",
    "DatabaseConnectionError",
    "DatabaseConnectorConfig",
    "DatabasePermissionError",
    "Dtype",
    "DuckDBConnector",
    "Edge",
    "Graph",
    "GraphError",
    "JobError",
    "JobStatus",
    "LocalFileConnector",
    "ModelEvaluationMetrics",
    "ModelPlan",
    "OutputConfig",
    "PQLError",
    "PlanError",
    "PostgresConnector",
    "PredictionTable",
    "PredictionTableGenerationPlan",
    "PredictionTableJob",
    "PredictiveQuery",
    "QueryType",
    "RelgraphError",
    "RunMode",
    "SQLiteConnector",
    "SourceTable",
    "Stype",
    "Table",
    "TableNotFoundError",
    "TaskType",
    "Trainer",
    "TrainingJob",
    "TrainingJobResult",
    "TrainingTable",
    "TrainingTableGenerationPlan",
    "TrainingTableJob",
    "UnsupportedColumnTypeError",
    "WriteMode",
    "gc",
    "init",
]

# The façade registers the callbacks of relgraph.hooks (light: its names load on first use).
from relgraph import trainer as _trainer  # noqa: E402

del _trainer
