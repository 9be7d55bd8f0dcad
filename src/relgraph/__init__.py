"""relgraph: predictive queries on relational databases with graph neural networks."""

import os
from typing import TYPE_CHECKING

# OpenMP's idle threads spin before they sleep. With libgomp's default spin (torch's Linux
# wheels use libgomp), two torch processes computing on the same cores (two job workers, a
# notebook training beside a worker) fight for them; passive waiting (no spin) ends the
# fight but makes every step of a lone process twice as slow. A short spin keeps a lone
# process fast and bounds the fight. benchmarks/omp_wait.py, a sakila-shaped training step
# on 2 cores, ms per step alone / two processes at once: libgomp default 136 / 2950,
# passive 271 / 281, this short spin 140 / 643. Set before torch loads; the user's
# GOMP_SPINCOUNT or OMP_WAIT_POLICY wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

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
