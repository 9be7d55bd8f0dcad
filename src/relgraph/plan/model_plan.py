"""Model plans: the AutoML search space and training settings of a trainer.

Mirrors ``kumoapi.model_plan`` (REFERENCE_API §0/§1): a :class:`ModelPlan` holds five
sections (``training_job``, ``column_processing``, ``neighbor_sampling``,
``optimization``, ``model_architecture``). Fields left at :data:`MISSING` (``"???"``) are
filled by :func:`relgraph.plan.suggest.suggest_model_plan` (run-mode / task-type
dependent). *Tunable* fields hold a list of candidates that AutoML samples from; a scalar
assigned to a tunable field is wrapped into a one-element list.

Every plan validates on construction and on attribute assignment; invalid values raise
:class:`PlanFieldError` (a :class:`relgraph.errors.PlanError`) whose message names the field
path (``optimization.base_lr[0]``), the rule that was broken and the value given.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import yaml
from pydantic import Field

from relgraph.errors import PlanError
from relgraph.plan.architecture import (
    GNNModelPlan,
    GraphTransformerModelPlan,
    ModelArchitecturePlan,
    ModelSpec,
)
from relgraph.plan.base import (
    _jsonable,
    _PlanBase,
)
from relgraph.plan.checks import (
    ALL_QUERIES,
    ALL_TASKS,
    LP_TASKS,
    NODE_TASKS,
    Metadata,
    PlanFieldError,
    is_valid_option,
)
from relgraph.plan.columns import (
    ColumnProcessingPlan,
)
from relgraph.plan.enums import (
    INFERRED,
    MISSING,
    ActivationType,
    AggregationType,
    DistanceMeasure,
    InferredType,
    LossType,
    LRSchedulerType,
    MissingType,
    ModuleType,
    NormalizationType,
    OptimizerType,
    PastEncoderType,
    PositionalEncodingType,
    RunMode,
    SchedulerInterval,
    TargetEmbeddingMode,
    WeightMode,
    is_missing,
)
from relgraph.plan.optimization import (
    EarlyStoppingConfig,
    FocalLossConfig,
    HuberLossConfig,
    LossCandidate,
    LossConfig,
    LRSchedulerConfig,
    OptimizationPlan,
    OptimizerConfig,
    OrdinalLogLossConfig,
    PruningConfig,
    QuantileLossConfig,
    SchedulerKwargs,
    _loss_key,
)
from relgraph.plan.rules import (
    _NEUTRAL,
    RANKING_METRIC_NAMES,
    valid_losses,
    valid_metric,
)
from relgraph.plan.sampling import (
    HopConfig,
    NeighborSamplingPlan,
    NumNeighbors,
    NumNeighborsConfig,
)
from relgraph.plan.training_job import (
    TrainingJobPlan,
)
from relgraph.task import QueryType, TaskType

__all__ = [
    "ALL_QUERIES",
    "ALL_TASKS",
    "ActivationType",
    "AggregationType",
    "ColumnProcessingPlan",
    "DistanceMeasure",
    "EarlyStoppingConfig",
    "FocalLossConfig",
    "GNNModelPlan",
    "GraphTransformerModelPlan",
    "HopConfig",
    "HuberLossConfig",
    "INFERRED",
    "InferredType",
    "LP_TASKS",
    "LRSchedulerConfig",
    "LRSchedulerType",
    "LossCandidate",
    "LossConfig",
    "LossType",
    "MISSING",
    "Metadata",
    "MissingType",
    "ModelArchitecturePlan",
    "ModelPlan",
    "ModelSpec",
    "ModuleType",
    "NODE_TASKS",
    "NeighborSamplingPlan",
    "NormalizationType",
    "NumNeighbors",
    "NumNeighborsConfig",
    "OptimizationPlan",
    "OptimizerConfig",
    "OptimizerType",
    "OrdinalLogLossConfig",
    "PastEncoderType",
    "PlanFieldError",
    "PositionalEncodingType",
    "PruningConfig",
    "QuantileLossConfig",
    "RANKING_METRIC_NAMES",
    "RunMode",
    "SchedulerInterval",
    "SchedulerKwargs",
    "TargetEmbeddingMode",
    "TrainingJobPlan",
    "WeightMode",
    "is_missing",
    "is_valid_option",
    "valid_losses",
    "valid_metric",
]



# ---------------------------------------------------------------------------------------
# ModelPlan
# ---------------------------------------------------------------------------------------

SECTIONS: tuple[str, ...] = (
    "training_job",
    "column_processing",
    "neighbor_sampling",
    "optimization",
    "model_architecture",
)


class ModelPlan(_PlanBase):
    """The full model plan: five sections, each validated on assignment.

    ``ModelPlan.from_json(plan.as_json()) == plan`` (also for YAML and dicts). ``print(plan)``
    shows every section; :meth:`items` yields dotted field names with their metadata.
    """

    training_job: TrainingJobPlan = Field(default_factory=TrainingJobPlan)
    column_processing: ColumnProcessingPlan = Field(default_factory=ColumnProcessingPlan)
    neighbor_sampling: NeighborSamplingPlan = Field(default_factory=NeighborSamplingPlan)
    optimization: OptimizationPlan = Field(default_factory=OptimizationPlan)
    model_architecture: ModelArchitecturePlan = Field(default_factory=ModelArchitecturePlan)

    @classmethod
    def _prefix(cls) -> str:
        return ""

    # -- serialisation ------------------------------------------------------------------

    def as_json(self, indent: int | None = 2) -> str:
        """JSON text; encoder objects are written in their string form."""
        return json.dumps(_jsonable(self.to_dict()), indent=indent)

    to_json = as_json

    @classmethod
    def from_json(cls, text: str) -> ModelPlan:
        """Inverse of :meth:`as_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PlanError(f"Model plan is not valid JSON: {e}") from None
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """YAML text (same structure as :meth:`to_dict`)."""
        return yaml.safe_dump(_jsonable(self.to_dict()), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ModelPlan:
        """Inverse of :meth:`to_yaml`; also accepts hand-written YAML with any subset."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PlanError(f"Model plan is not valid YAML: {e}") from None
        return cls.from_dict(data or {})

    # -- introspection ------------------------------------------------------------------

    def items(self) -> Iterator[tuple[str, Any, Metadata]]:
        """Yield ``("section.field", value, Metadata)`` for every field of every section."""
        for section in SECTIONS:
            for name, value, meta in getattr(self, section).items():
                yield f"{section}.{name}", value, meta

    def missing_fields(self) -> list[str]:
        """Dotted names of fields still at MISSING."""
        return [name for name, value, _ in self.items() if is_missing(value)]

    def fill_missing(self, defaults: ModelPlan, *, replace_defaults: bool = False) -> ModelPlan:
        """A copy where every MISSING field takes its value from ``defaults``.

        With ``replace_defaults=True`` fields still equal to their class default (i.e. not
        changed by the user) are taken from ``defaults`` too — use it to overlay a
        hand-built ``ModelPlan()`` on a suggested plan.
        """
        out = self.copy()
        for section in SECTIONS:
            mine = getattr(out, section)
            theirs = getattr(defaults, section)
            for name, info in type(mine).model_fields.items():
                value = getattr(mine, name)
                if is_missing(value) or (
                    replace_defaults and value == info.get_default(call_default_factory=True)
                ):
                    setattr(mine, name, copy.deepcopy(getattr(theirs, name)))
        return out

    def __str__(self) -> str:
        lines = ["ModelPlan:"]
        for section in SECTIONS:
            lines.append(f"  {section}:")
            lines.extend(getattr(self, section)._lines("    "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()

    # -- task checks --------------------------------------------------------------------

    def validate_for(
        self,
        task_type: TaskType | str,
        query_type: QueryType | str,
        has_weight_col: bool = False,
    ) -> None:
        """Raise :class:`PlanError` when the plan does not fit the task.

        Rejects fields set (to something other than MISSING, their default or a neutral
        value) where they do not apply, losses / metrics that do not fit the task type,
        a GraphTransformer for link prediction, and ``min_steps_per_epoch >
        max_steps_per_epoch``.
        """
        task = TaskType(task_type)
        query = QueryType(query_type)
        for section in SECTIONS:
            sec = getattr(self, section)
            for name, value, meta in sec.items():
                if is_valid_option(name, meta, task, query, has_weight_col):
                    continue
                path = f"{section}.{name}"
                default = type(sec).model_fields[name].get_default(call_default_factory=True)
                if is_missing(value) or value == default or value in _NEUTRAL.get(path, []):
                    continue
                raise PlanFieldError(path, _not_applicable(name, meta, task, query), value)

        opt = self.optimization
        if not is_missing(opt.loss):
            allowed = valid_losses(task)
            for i, loss in enumerate(opt.loss):
                if _loss_key(loss) not in allowed:
                    raise PlanFieldError(
                        f"optimization.loss[{i}]",
                        f"loss '{_loss_key(loss)}' does not fit {task.value}; "
                        f"use one of {sorted(allowed)}",
                        loss,
                    )
        job = self.training_job
        if not is_missing(job.metrics):
            for i, metric in enumerate(job.metrics):
                if not valid_metric(task, metric):
                    raise PlanFieldError(
                        f"training_job.metrics[{i}]",
                        f"metric '{metric}' is not available for {task.value}",
                        metric,
                    )
        if not is_missing(job.tune_metric) and not valid_metric(task, job.tune_metric):
            raise PlanFieldError(
                "training_job.tune_metric",
                f"metric '{job.tune_metric}' is not available for {task.value}",
                job.tune_metric,
            )
        if task.is_link_pred and not is_missing(self.model_architecture.model):
            for i, model in enumerate(self.model_architecture.model):
                if isinstance(model, GraphTransformerModelPlan):
                    raise PlanFieldError(
                        f"model_architecture.model[{i}]",
                        "GraphTransformer supports node prediction only; use GNN for "
                        "link prediction",
                        model.name,
                    )
        lo, hi = opt.min_steps_per_epoch, opt.max_steps_per_epoch
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            raise PlanFieldError(
                "optimization.min_steps_per_epoch",
                f"must be <= optimization.max_steps_per_epoch ({hi})",
                lo,
            )


def _not_applicable(name: str, meta: Metadata, task: TaskType, query: QueryType) -> str:
    if name == "weight_mode":
        where = "binary classification, or tasks other than forecasting with a weight column"
    elif name == "max_target_neighbors_per_entity":
        where = "temporal queries and static link prediction"
    else:
        tasks = ", ".join(t.value for t in meta.valid_task_types)
        where = tasks
        if meta.valid_query_types != ALL_QUERIES:
            where += " with " + "/".join(q.value for q in meta.valid_query_types) + " queries"
    return (
        f"does not apply to {task.value} ({query.value}) tasks; it applies to {where}. "
        "Remove it or set it back to '???'"
    )
