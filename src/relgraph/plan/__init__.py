"""Model plans (``ModelPlan`` and its sub-plans, checked by pydantic) and
``suggest_model_plan``; no torch."""

from relgraph.plan.model_plan import (
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
from relgraph.plan.suggest import suggest_model_plan

__all__ = [
    "ColumnProcessingPlan",
    "EarlyStoppingConfig",
    "GNNModelPlan",
    "GraphTransformerModelPlan",
    "HopConfig",
    "LRSchedulerConfig",
    "ModelArchitecturePlan",
    "ModelPlan",
    "NeighborSamplingPlan",
    "NumNeighborsConfig",
    "OptimizationPlan",
    "PruningConfig",
    "RunMode",
    "TrainingJobPlan",
    "suggest_model_plan",
]
