"""The training-job sub-plan (``plan.training_job``): trials, metrics, seeds, baselines."""

from __future__ import annotations

from typing import Annotated, ClassVar, Optional

from pydantic import Field, StringConstraints

from relgraph.plan.base import _SectionBase
from relgraph.plan.checks import Bool, Int, Metadata, Missable, OneAsList, Unique, supported
from relgraph.plan.enums import MISSING
from relgraph.plan.optimization import PruningConfig

# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------

#: A metric name (``"auroc"``, ``"map@10"``), lower-cased.
Metric = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, to_lower=True)
]


class TrainingJobPlan(_SectionBase):
    """AutoML budget, metrics and refit policy (``model_plan.training_job``)."""

    _path: ClassVar[str] = "training_job"

    num_experiments: Missable[Annotated[Int, Field(ge=1)]] = MISSING
    metrics: Missable[Annotated[list[Metric], OneAsList, Field(min_length=1), Unique]] = MISSING
    tune_metric: Missable[Metric] = MISSING
    pruning: Missable[Optional[PruningConfig]] = MISSING  # noqa: UP045
    refit_trainval: Bool = True
    refit_full: Bool = False
    disable_compilation: Annotated[
        Bool,
        supported(bool, "must be True: relgraph trains eager PyTorch models and compiles nothing"),
    ] = True
    disable_explain: Bool = False
    manual_seed: Optional[Int] = None  # noqa: UP045
    enable_baselines: Bool = False
    #: relgraph: synthesize relational features (relgraph.aggregates), give them to the GNN
    #: as seed inputs, and blend the GNN with a LightGBM learner on them (chosen on
    #: validation). Binary, multiclass, regression and forecasting tasks.
    hybrid: Bool = True

    _meta: ClassVar[dict[str, Metadata]] = {
        "disable_compilation": Metadata(hidden=True),
        "disable_explain": Metadata(hidden=True),
        "manual_seed": Metadata(hidden=True),
        "enable_baselines": Metadata(hidden=True),
    }
