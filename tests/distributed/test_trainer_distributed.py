"""``Trainer.fit(distributed=2)`` runs DDP through the job machinery and gives a normal result."""

from __future__ import annotations

import pytest

import relgraph as rg
from relgraph.task import TaskType
from relgraph.testing.graphs import CHURN, make_activity_db, small_plan

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def test_trainer_fit_distributed(tmp_path):
    rg.init(home=tmp_path / "home")
    graph = make_activity_db(num_users=120, days=120)
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    plan = small_plan(TaskType.BINARY_CLASSIFICATION, epochs=1)
    result = rg.Trainer(plan, verbose=False).fit(graph, table, distributed=2)
    assert result.metrics()["test_auroc"] is not None
    assert len(result.holdout_df()) > 0
    preds = rg.Trainer.load(result.id).predict(
        graph, rg.PredictiveQuery(graph, CHURN).generate_prediction_table()).predictions_df()
    assert len(preds) == graph["users"].num_rows
