"""Generation plans validate like the model plans (one mechanism, one MISSING)."""

from __future__ import annotations

import re

import pytest

from relgraph.errors import PlanError
from relgraph.plan.checks import PlanFieldError
from relgraph.plan.enums import MISSING as PLAN_MISSING
from relgraph.pquery.generation_plan import (
    INFERRED,
    MISSING,
    PredictionTableGenerationPlan,
    TrainingTableGenerationPlan,
    is_set,
)


def test_one_missing_sentinel() -> None:
    assert MISSING is PLAN_MISSING and MISSING == "???" and INFERRED == "inferred"
    plan = TrainingTableGenerationPlan()
    assert plan.timeframe_step is MISSING and not is_set(plan.timeframe_step)
    assert plan.to_dict()["timeframe_step"] == "???"
    plan.timeframe_step = "inferred"
    assert not is_set(plan.timeframe_step) and not is_set(None) and is_set(0)


@pytest.mark.parametrize(("cls", "field", "value", "message"), [
    (TrainingTableGenerationPlan, "timeframe_step", 0,
     "'TrainingTableGenerationPlan.timeframe_step': must be an integer >= 1"),
    (TrainingTableGenerationPlan, "start_time", 5,
     "'TrainingTableGenerationPlan.start_time': as an integer counts days back"),
    (TrainingTableGenerationPlan, "end_time", "not a time",
     "must be a timestamp such as '2011-06-01' (got 'not a time')"),
    (TrainingTableGenerationPlan, "weight_col", "nodot", "must be 'table.column' (got 'nodot')"),
    (TrainingTableGenerationPlan, "split", "Nope([1])", "Unknown split 'Nope([1])'"),
    (TrainingTableGenerationPlan, "year_over_year", "yes", "must be a boolean"),
    (PredictionTableGenerationPlan, "anchor_time", "not a time",
     "must be 'inferred', a datetime or ns since the epoch"),
    (PredictionTableGenerationPlan, "year_over_year", 1, "must be a boolean"),
    (PredictionTableGenerationPlan, "lag_timesteps", -1, "must be an integer >= 0"),
])
def test_invalid_values_name_field_rule_and_value(cls: type, field: str, value: object,
                                                  message: str) -> None:
    with pytest.raises(PlanFieldError, match=re.escape(message)) as info:
        cls(**{field: value})
    assert info.value.field.endswith(field)
    plan = cls()
    with pytest.raises(PlanError):
        setattr(plan, field, value)
    with pytest.raises(PlanError, match="unknown field"):
        cls(tiemframe_step=3)
