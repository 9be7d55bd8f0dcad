"""The training-job sub-plan (``plan.training_job``): trials, metrics, seeds, baselines."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from relgraph.plan.base import _SectionBase, _sub
from relgraph.plan.checks import _V, Metadata, _bool, _int, _list_of, _m, _opt, _str, _supported
from relgraph.plan.enums import MISSING, MissingType
from relgraph.plan.optimization import PruningConfig

# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------


def _metric_list(v: Any) -> list[str]:
    if isinstance(v, str):
        v = [v]
    out = _list_of(_str, unique=True)(v)
    return [m.lower() for m in out]


def _metric(v: Any) -> str:
    return _str(v).lower()


class TrainingJobPlan(_SectionBase):
    """AutoML budget, metrics and refit policy (``model_plan.training_job``)."""

    _path: ClassVar[str] = "training_job"

    num_experiments: Annotated[int | MissingType, _V(_m(_int(1)))] = MISSING
    metrics: Annotated[list[str] | MissingType, _V(_m(_metric_list))] = MISSING
    tune_metric: Annotated[str | MissingType, _V(_m(_metric))] = MISSING
    pruning: Annotated[PruningConfig | MissingType | None, _V(_m(_opt(_sub(PruningConfig))))] = (
        MISSING
    )
    refit_trainval: Annotated[bool, _V(_bool)] = True
    refit_full: Annotated[bool, _V(_bool)] = False
    disable_compilation: Annotated[bool, _V(_supported(
        _bool, bool, "must be True: relgraph trains eager PyTorch models and compiles nothing"))
    ] = True
    disable_explain: Annotated[bool, _V(_bool)] = False
    manual_seed: Annotated[int | None, _V(_opt(_int()))] = None
    enable_baselines: Annotated[bool, _V(_bool)] = False
    #: relgraph: synthesize relational features (relgraph.aggregates), give them to the GNN
    #: as seed inputs, and blend the GNN with a LightGBM learner on them (chosen on
    #: validation). Binary, multiclass, regression and forecasting tasks.
    hybrid: Annotated[bool, _V(_bool)] = True

    _meta: ClassVar[dict[str, Metadata]] = {
        "disable_compilation": Metadata(hidden=True),
        "disable_explain": Metadata(hidden=True),
        "manual_seed": Metadata(hidden=True),
        "enable_baselines": Metadata(hidden=True),
    }
