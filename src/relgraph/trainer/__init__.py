"""Model plans, the Trainer, jobs and their results.

The public façade (DESIGN §3, the top layer below the CLI): every name a Kumo user imports
from ``kumoai.trainer`` is importable here, re-exported from the package that defines it and
loaded on first use. Importing it registers the callbacks of :mod:`relgraph.hooks`.
"""

from typing import TYPE_CHECKING

from relgraph._lazy import lazy_getattr
from relgraph.trainer._callbacks import register_all

register_all()

_PLANS = ["ColumnProcessingPlan", "EarlyStoppingConfig", "GNNModelPlan",
          "GraphTransformerModelPlan", "HopConfig", "LRSchedulerConfig", "ModelArchitecturePlan",
          "ModelPlan", "NeighborSamplingPlan", "NumNeighborsConfig", "OptimizationPlan",
          "PruningConfig", "RunMode", "TrainingJobPlan", "suggest_model_plan"]

_LAZY = {
    **dict.fromkeys(_PLANS, "relgraph.plan"),
    "OutputConfig": "relgraph.connector.output",
    "DuckDBOutput": "relgraph.connector.output",
    "SQLiteOutput": "relgraph.connector.output",
    "ArtifactExportJob": "relgraph.jobs.results",
    "ArtifactExportResult": "relgraph.jobs.results",
    "BaselineJobResult": "relgraph.jobs.results",
    "BatchPredictionJobSummary": "relgraph.jobs.results",
    "BaselineTrainer": "relgraph.trainer.baseline_trainer",
    "BaselineJob": "relgraph.jobs.handles",
    "BatchPredictionJob": "relgraph.jobs.handles",
    "JobStatus": "relgraph.jobs.store",
    "JobStatusReport": "relgraph.jobs.handles",
    "TrainingJob": "relgraph.jobs.handles",
    "BatchPredictionJobResult": "relgraph.jobs.results",
    "EntityExplanation": "relgraph.training.explain",
    "GlobalExplanation": "relgraph.training.explain",
    "Metric": "relgraph.jobs.results",
    "ModelEvaluationMetrics": "relgraph.jobs.results",
    "TrainingJobResult": "relgraph.jobs.results",
    "Trainer": "relgraph.trainer.trainer",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from relgraph.connector.output import DuckDBOutput, OutputConfig, SQLiteOutput
    from relgraph.jobs.handles import (
        BaselineJob,
        BatchPredictionJob,
        JobStatusReport,
        TrainingJob,
    )
    from relgraph.jobs.results import (
        ArtifactExportJob,
        ArtifactExportResult,
        BaselineJobResult,
        BatchPredictionJobResult,
        BatchPredictionJobSummary,
        Metric,
        ModelEvaluationMetrics,
        TrainingJobResult,
    )
    from relgraph.jobs.store import JobStatus
    from relgraph.plan import (
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
        suggest_model_plan,
    )
    from relgraph.trainer.baseline_trainer import BaselineTrainer
    from relgraph.trainer.trainer import Trainer
    from relgraph.training.explain import EntityExplanation, GlobalExplanation

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
