"""relgraph: predictive queries on relational databases with graph neural networks."""

import os
from typing import TYPE_CHECKING

# OpenMP's idle threads spin before they sleep. libgomp's default spin (which torch's
# Linux wheels use) lets two torch processes computing on the same cores (two job
# workers, a notebook beside a worker) fight for them: a sakila training step took 2.9 s
# instead of 0.083 s, two processes at once on 2 cores. Passive waiting (no spin) ends
# the fight but made every step of a lone process 2.5x slower (0.21 s). A short spin
# keeps a lone process at 0.089 s and two at once at 0.55 s (benchmarks/README.md,
# "OpenMP waiting"). Set before torch loads; the user's GOMP_SPINCOUNT or OMP_WAIT_POLICY
# wins.
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
