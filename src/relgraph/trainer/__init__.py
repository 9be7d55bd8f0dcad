"""Model plans, the Trainer, jobs and their results.

Plans import without torch; the trainer and results load on first use.
"""

from typing import TYPE_CHECKING

from relgraph._lazy import lazy_getattr
from relgraph.trainer.plan import (
    ColumnProcessingPlan,
    EarlyStoppingConfig,
    GNNModelPlan,
    GraphTransformerModelPlan,
    HopConfig,
    LRSchedulerConfig,
    ModelArchitecturePlan,
    ModelPlan,
    NeighborSamplingPlan,
    NumNeighborsConfig,
    OptimizationPlan,
    PruningConfig,
    RunMode,
    TrainingJobPlan,
)
from relgraph.trainer.suggest import suggest_model_plan

_LAZY = {
    "OutputConfig": "relgraph.trainer.output",
    "DuckDBOutput": "relgraph.trainer.output",
    "SQLiteOutput": "relgraph.trainer.output",
    "ArtifactExportJob": "relgraph.trainer.results",
    "ArtifactExportResult": "relgraph.trainer.results",
    "BaselineJobResult": "relgraph.trainer.results",
    "BatchPredictionJobSummary": "relgraph.trainer.results",
    "BaselineTrainer": "relgraph.trainer.baseline_trainer",
    "BaselineJob": "relgraph.trainer.jobs",
    "BatchPredictionJob": "relgraph.trainer.jobs",
    "JobStatus": "relgraph.trainer.job_store",
    "JobStatusReport": "relgraph.trainer.jobs",
    "TrainingJob": "relgraph.trainer.jobs",
    "BatchPredictionJobResult": "relgraph.trainer.results",
    "EntityExplanation": "relgraph.trainer.explain",
    "GlobalExplanation": "relgraph.trainer.explain",
    "Metric": "relgraph.trainer.results",
    "ModelEvaluationMetrics": "relgraph.trainer.results",
    "TrainingJobResult": "relgraph.trainer.results",
    "Trainer": "relgraph.trainer.trainer",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from relgraph.trainer.baseline_trainer import BaselineTrainer
    from relgraph.trainer.explain import EntityExplanation, GlobalExplanation
    from relgraph.trainer.job_store import JobStatus
    from relgraph.trainer.jobs import (
        BaselineJob,
        BatchPredictionJob,
        JobStatusReport,
        TrainingJob,
    )
    from relgraph.trainer.output import DuckDBOutput, OutputConfig, SQLiteOutput
    from relgraph.trainer.results import (
        ArtifactExportJob,
        ArtifactExportResult,
        BaselineJobResult,
        BatchPredictionJobResult,
        BatchPredictionJobSummary,
        Metric,
        ModelEvaluationMetrics,
        TrainingJobResult,
    )
    from relgraph.trainer.trainer import Trainer

__all__ = [
    "ArtifactExportJob",
    "ArtifactExportResult",
    "BaselineJob",
    "BaselineJobResult",
    "BaselineTrainer",
    "BatchPredictionJob",
    "BatchPredictionJobResult",
    "BatchPredictionJobSummary",
    "ColumnProcessingPlan",
    "DuckDBOutput",
    "EarlyStoppingConfig",
    "EntityExplanation",
    "GNNModelPlan",
    "GlobalExplanation",
    "GraphTransformerModelPlan",
    "HopConfig",
    "JobStatus",
    "JobStatusReport",
    "LRSchedulerConfig",
    "Metric",
    "ModelArchitecturePlan",
    "ModelEvaluationMetrics",
    "ModelPlan",
    "NeighborSamplingPlan",
    "NumNeighborsConfig",
    "OptimizationPlan",
    "OutputConfig",
    "PruningConfig",
    "RunMode",
    "SQLiteOutput",
    "Trainer",
    "TrainingJob",
    "TrainingJobPlan",
    "TrainingJobResult",
    "suggest_model_plan",
]
