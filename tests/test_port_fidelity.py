"""A Kumo SDK script's names and call forms work with ``import relgraph as kumo``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relgraph as kumo
from relgraph.errors import GraphError, JobError


def test_reference_import_paths() -> None:
    from relgraph.artifact_export import ArtifactExportJob, ArtifactExportResult
    from relgraph.artifact_export.config import OutputConfig
    from relgraph.pquery import PredictionTableJob, TrainingTableJob
    from relgraph.trainer import (
        BatchPredictionJob,
        GNNModelPlan,
        GraphTransformerModelPlan,
        JobStatus,
        ModelPlan,
        TrainingJob,
    )
    from relgraph.trainer.config import OutputConfig as OldOutputConfig

    assert OutputConfig is OldOutputConfig is kumo.OutputConfig
    assert kumo.TrainingJob is TrainingJob and kumo.BatchPredictionJob is BatchPredictionJob
    assert kumo.TrainingTableJob is TrainingTableJob
    assert kumo.PredictionTableJob is PredictionTableJob
    assert {JobStatus.UNTRAINED.value, JobStatus.MISSING.value} == {"UNTRAINED", "MISSING"}
    assert not JobStatus.UNTRAINED.is_terminal and not JobStatus.MISSING.is_terminal
    plan = ModelPlan()
    plan.model_architecture.model = [GNNModelPlan(channels=[32]),
                                     GraphTransformerModelPlan(num_layers=[2])]
    assert ArtifactExportJob.__name__ == "ArtifactExportJob" and ArtifactExportResult
    assert sorted(kumo.__all__) == kumo.__all__


def test_table_columns_as_dicts() -> None:
    df = pd.DataFrame({"StockCode": ["A", "B"], "Price": [1.0, 2.0], "Note": ["x", "y"]})
    one = kumo.Table(source_table=df, columns=dict(name="StockCode", stype="ID"),
                     primary_key="StockCode", name="stock").infer_metadata()
    assert [c.name for c in one.columns] == ["StockCode"]
    assert str(one["StockCode"].dtype) == "string"  # inferred
    many = kumo.Table(df, columns=[dict(name="StockCode", stype="ID"),
                                   dict(name="Price", stype="numerical", dtype="float64"),
                                   "Note"], name="stock").infer_metadata()
    assert [str(c.stype) for c in many.columns] == ["ID", "numerical", "categorical"]
    assert str(many["Price"].dtype) == "float64"
    one.add_column(dict(name="Price", stype="numerical"))
    assert str(one["Price"].stype) == "numerical"
    with pytest.raises(GraphError, match="unknown keys"):
        kumo.Table(df, columns=[dict(name="Price", kind="x")])
    with pytest.raises(GraphError, match="no 'name'"):
        kumo.Table(df, columns=dict(stype="ID"))


def test_output_config_connector_specific_config() -> None:
    from relgraph.artifact_export.config import OutputConfig

    class SnowflakeConnectorConfig:  # the reference's shape: an object with write_mode
        def __init__(self, write_mode: str) -> None:
            self.write_mode = write_mode

    cfg = OutputConfig(output_types={"predictions"},
                       connector_specific_config=SnowflakeConnectorConfig("overwrite"))
    assert cfg.write_mode is kumo.WriteMode.OVERWRITE
    with pytest.raises(JobError, match="database output connectors only"):
        OutputConfig(connector_specific_config={"write_mode": "APPEND"})
    with pytest.raises(JobError, match="write_mode only"):
        OutputConfig(connector_specific_config={"write_mode": "APPEND", "table": "x"})
    with pytest.raises(JobError, match="object with a write_mode"):
        OutputConfig(connector_specific_config=3)


def _orders_graph() -> kumo.Graph:
    rng = np.random.default_rng(0)
    n = 600
    orders = pd.DataFrame({"order_id": np.arange(n), "user_id": rng.integers(0, 50, n),
                           "ts": pd.Timestamp("2023-01-01") + pd.to_timedelta(
                               np.sort(rng.integers(0, 365, n)), unit="D")})
    users = pd.DataFrame({"user_id": np.arange(50)})
    return kumo.Graph({"users": kumo.Table.from_dataframe(users, "users",
                                                          primary_key="user_id"),
                       "orders": kumo.Table.from_dataframe(orders, "orders",
                                                           primary_key="order_id",
                                                           time_column="ts")},
                      edges=[("orders", "user_id", "users")])


def test_anchors_start_after_the_look_back() -> None:
    graph = _orders_graph()
    first = graph["orders"].data["ts"].min()
    for back in (0, 60, 90):
        where = f" WHERE COUNT(orders.*, -{back}, 0, days) > 0" if back else ""
        pq = kumo.PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH "
                                         f"users.user_id{where}")
        anchors = pq.generate_training_table().anchor_times
        assert anchors[0] >= first + pd.Timedelta(days=back)  # the filter sees its history
        assert anchors[0] - pd.Timedelta(days=30) < first + pd.Timedelta(days=back)
        plan = pq.suggest_training_table_plan()
        assert pd.Timestamp(plan.start_time) == first + pd.Timedelta(days=back)
    with pytest.raises(kumo.PlanError, match="look-back"):
        kumo.PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH "
                                    "users.user_id WHERE COUNT(orders.*, -400, 0, days) > 0"
                             ).generate_training_table()


def test_suggested_plan_does_not_depend_on_timing(tmp_path: Path,
                                                  restore_settings: None) -> None:
    kumo.init(home=tmp_path / "home")
    graph = _orders_graph()
    query = ("PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH users.user_id "
             "WHERE COUNT(orders.*, -60, 0, days) > 0")
    before = kumo.PredictiveQuery(graph, query).suggest_model_plan()
    pq = kumo.PredictiveQuery(graph, query)
    job = pq.generate_training_table(non_blocking=True)
    during = pq.suggest_model_plan()  # the job may or may not have finished
    table = job.result(timeout=60)
    after = pq.suggest_model_plan()
    assert before.as_json() == during.as_json() == after.as_json()
    assert after.optimization.batch_size == table.suggest_model_plan().optimization.batch_size
