"""Issue-2 acceptance: on online-retail-ii, relgraph beats the simple baselines end to end.

A churn query (binary) must beat the majority baseline and LightGBM on the entity table's own
columns (RelBench's LightGBM protocol) on test AUROC; a count regression must beat the
training-mean baseline on test MAE. The numbers are printed (run with ``-s``).
"""

from __future__ import annotations

import pytest

import relgraph as rg
from relgraph.baselines.run import run_baselines
from relgraph.plan.model_plan import RunMode
from relgraph.plan.suggest import suggest_model_plan
from relgraph.task import TaskType

pytestmark = [pytest.mark.dataset, pytest.mark.slow]

CHURN = ("PREDICT COUNT(invoices.*, 0, 30, days) = 0 FOR EACH customers.customer_id "
         "WHERE COUNT(invoices.*, -90, 0, days) > 0")
VOLUME = ("PREDICT COUNT(invoices.*, 0, 30, days) FOR EACH customers.customer_id "
          "WHERE COUNT(invoices.*, -90, 0, days) > 0")


@pytest.fixture(scope="module")
def retail_graph(shared_data):
    conn = rg.LocalFileConnector(shared_data / "online-retail-ii")
    graph = rg.Graph({n: rg.Table.from_source_table(conn[n]).infer_metadata()
                      for n in conn.table_names()})
    graph.infer_links()
    graph.validate(verbose=False)
    return graph


def quick_plan(task_type: TaskType) -> rg.ModelPlan:
    plan = suggest_model_plan(task_type, RunMode.FAST, num_train_examples=40000)
    plan.training_job.num_experiments = 1
    plan.training_job.manual_seed = 0
    plan.optimization.max_epochs = 3
    plan.optimization.min_steps_per_epoch = 1
    plan.optimization.max_steps_per_epoch = 25
    plan.optimization.max_val_steps = 8
    plan.optimization.batch_size = [512]
    return plan


def test_retail_churn_beats_baselines(retail_graph, tmp_path):
    rg.init(home=tmp_path)
    table = rg.PredictiveQuery(retail_graph, CHURN).generate_training_table()
    base = run_baselines(retail_graph, table, feature_sets=("entity",), metrics=["auroc"])
    result = rg.Trainer(quick_plan(TaskType.BINARY_CLASSIFICATION), verbose=False).fit(
        retail_graph, table)
    auroc = result.metrics()["test_auroc"]
    print(f"\nretail churn test AUROC: relgraph={auroc:.4f} "
          f"majority={base['majority']['test']['auroc']:.4f} "
          f"lightgbm_entity={base['lightgbm_entity']['test']['auroc']:.4f}")
    assert auroc > base["majority"]["test"]["auroc"]
    assert auroc > base["lightgbm_entity"]["test"]["auroc"]


def test_retail_volume_regression_beats_mean(retail_graph, tmp_path):
    rg.init(home=tmp_path)
    table = rg.PredictiveQuery(retail_graph, VOLUME).generate_training_table()
    base = run_baselines(retail_graph, table, feature_sets=(), metrics=["mae"])
    result = rg.Trainer(quick_plan(TaskType.REGRESSION), verbose=False).fit(retail_graph, table)
    mae = result.metrics()["test_mae"]
    print(f"\nretail invoice-count test MAE: relgraph={mae:.4f} "
          f"mean={base['mean']['test']['mae']:.4f}")
    assert mae < base["mean"]["test"]["mae"]
