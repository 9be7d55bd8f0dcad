"""Model plans, the Trainer, jobs and their results.

Plans import without torch; the trainer and results load on first use.
"""

from typing import TYPE_CHECKING

from relgraph._lazy import lazy_getattr
from relgraph.trainer.plan import (
    ColumnProcessingPlan,
    ModelArchitecturePlan,
    ModelPlan,
    NeighborSamplingPlan,
    OptimizationPlan,
    RunMode,
    TrainingJobPlan,
)
from relgraph.trainer.suggest import suggest_model_plan

_LAZY = {
    "OutputConfig": "relgraph.trainer.output",
    "BatchPredictionJobResult": "relgraph.trainer.results",
    "Metric": "relgraph.trainer.results",
    "ModelEvaluationMetrics": "relgraph.trainer.results",
    "TrainingJobResult": "relgraph.trainer.results",
    "Trainer": "relgraph.trainer.trainer",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from relgraph.trainer.output import OutputConfig
    from relgraph.trainer.results import (
        BatchPredictionJobResult,
        Metric,
        ModelEvaluationMetrics,
        TrainingJobResult,
    )
    from relgraph.trainer.trainer import Trainer

__all__ = [
    "BatchPredictionJobResult",
    "ColumnProcessingPlan",
    "Metric",
    "ModelArchitecturePlan",
    "ModelEvaluationMetrics",
    "ModelPlan",
    "NeighborSamplingPlan",
    "OptimizationPlan",
    "OutputConfig",
    "RunMode",
    "Trainer",
    "TrainingJobPlan",
    "TrainingJobResult",
    "suggest_model_plan",
]
