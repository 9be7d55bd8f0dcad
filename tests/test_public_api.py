"""The public surface: ``relgraph.__all__`` and ``relgraph.trainer.__all__`` are pinned (a
change here is an API change), sorted, and every name resolves, at the import paths a Kumo
user writes; ``import relgraph`` stays light and fills every callback of relgraph.hooks."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

import relgraph
import relgraph.trainer

RELGRAPH_ALL = [
    "ArtifactError", "BatchPredictionJob", "BatchPredictionJobResult", "Column", "ConfigError",
    "ConnectorError", "DataFrameConnector", "DatabaseConnectionError", "DatabaseConnectorConfig",
    "DatabasePermissionError", "Dtype", "DuckDBConnector", "Edge", "Graph", "GraphError",
    "JobError", "JobStatus", "LocalFileConnector", "ModelEvaluationMetrics", "ModelPlan",
    "OutputConfig", "PQLError", "PlanError", "PostgresConnector", "PredictionTable",
    "PredictionTableGenerationPlan", "PredictionTableJob", "PredictiveQuery", "QueryType",
    "RelgraphError", "RunMode", "SQLiteConnector", "SourceTable", "Stype", "Table",
    "TableNotFoundError", "TaskType", "Trainer", "TrainingJob", "TrainingJobResult",
    "TrainingTable", "TrainingTableGenerationPlan", "TrainingTableJob",
    "UnsupportedColumnTypeError", "WriteMode", "gc", "init",
]

TRAINER_ALL = [
    "ArtifactExportJob", "ArtifactExportResult", "BaselineJob", "BaselineJobResult",
    "BaselineTrainer", "BatchPredictionJob", "BatchPredictionJobResult",
    "BatchPredictionJobSummary", "ColumnProcessingPlan", "DuckDBOutput", "EarlyStoppingConfig",
    "EntityExplanation", "GNNModelPlan", "GlobalExplanation", "GraphTransformerModelPlan",
    "HopConfig", "JobStatus", "JobStatusReport", "LRSchedulerConfig", "Metric",
    "ModelArchitecturePlan", "ModelEvaluationMetrics", "ModelPlan", "NeighborSamplingPlan",
    "NumNeighborsConfig", "OptimizationPlan", "OutputConfig", "PruningConfig", "RunMode",
    "SQLiteOutput", "Trainer", "TrainingJob", "TrainingJobPlan", "TrainingJobResult",
    "suggest_model_plan",
]

#: Other import paths of the reference API (module, name).
REFERENCE_PATHS = [
    ("relgraph.artifact_export.config", "OutputConfig"),
    ("relgraph.artifact_export", "ArtifactExportJob"),
    ("relgraph.artifact_export", "ArtifactExportResult"),
    ("relgraph.trainer.config", "OutputConfig"),
    ("relgraph.pquery", "TrainingTableJob"),
    ("relgraph.pquery", "PredictionTableJob"),
    ("relgraph.pquery.jobs", "TrainingTableJob"),
]


@pytest.mark.parametrize(("module", "expected"), [
    pytest.param(relgraph, RELGRAPH_ALL, id="relgraph"),
    pytest.param(relgraph.trainer, TRAINER_ALL, id="relgraph.trainer"),
])
def test_all_is_pinned_sorted_and_resolves(module: object, expected: list[str]) -> None:
    names = list(module.__all__)  # type: ignore[attr-defined]
    assert names == expected
    assert names == sorted(names)
    for name in names:
        assert getattr(module, name) is not None, name


def test_facade_names_are_the_defining_objects() -> None:
    """One object per name: the façade re-exports, it does not copy."""
    from relgraph.jobs.handles import TrainingJob
    from relgraph.plan.model_plan import ModelPlan

    assert relgraph.trainer.ModelPlan is ModelPlan is relgraph.ModelPlan
    assert relgraph.trainer.TrainingJob is TrainingJob is relgraph.TrainingJob


@pytest.mark.parametrize(("module", "name"), REFERENCE_PATHS)
def test_reference_import_paths(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


def test_import_is_light_and_registers_every_callback() -> None:
    code = ("import sys, relgraph\n"
            "from relgraph import hooks\n"
            "assert set(hooks._callbacks) == set(hooks.CALLBACKS), set(hooks.CALLBACKS) - "
            "set(hooks._callbacks)\n"
            "heavy = [m for m in ('torch', 'relgraph.training', 'relgraph.jobs.store') "
            "if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "10000 None"),                            # a short spin (benchmarks/omp_wait.py)
    ({"GOMP_SPINCOUNT": "5"}, "5 None"),           # the user's spin wins
    ({"OMP_WAIT_POLICY": "PASSIVE"}, "None PASSIVE"),  # so does the user's policy
])
def test_import_bounds_openmp_spinning_unless_the_user_chose(env: dict[str, str],
                                                             expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = ("import os, relgraph\n"
            "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))\n")
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == expected
