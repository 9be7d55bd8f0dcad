"""Every script in ``examples/`` runs, on the public API only."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: What an example may import from relgraph: the package and its public modules.
PUBLIC = {"relgraph", "relgraph.artifact_export", "relgraph.artifact_export.config",
          "relgraph.datasets", "relgraph.encoder", "relgraph.trainer", "relgraph.pquery",
          "relgraph.graph", "relgraph.connector", "relgraph.trainer.config"}


def _run(script: str, cwd: Path, *args: str, **env: str) -> str:
    environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
               "RELGRAPH_HOME": str(cwd / "home"), **env}
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "\r" not in out  # progress in a log: plain lines
    return out


def test_examples_use_the_public_api_only() -> None:
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert {p.name for p in scripts} >= {"kumo_quickstart.py", "kumo_followups.py",
                                         "custom_training_table.py", "batch_prediction.py"}
    for path in scripts:
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), path.name
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                if name.startswith("relgraph"):
                    assert name in PUBLIC, f"{path.name} imports {name}"
                    if isinstance(node, ast.ImportFrom):
                        assert not any(a.name.startswith("_") for a in node.names), path.name


@pytest.mark.slow
def test_custom_training_table(tmp_path: Path) -> None:
    out = _run("custom_training_table.py", tmp_path)
    assert re.search(r"TrainingTable\(task_type=binary_classification, rows=\d+", out)
    auroc = float(re.search(r"^\s+test: acc=[\d.]+, auroc=([\d.]+)", out, re.M).group(1))
    assert auroc > 0.6  # the labels are learnable from the planes' past flights


@pytest.mark.slow
def test_batch_prediction_to_a_folder(tmp_path: Path) -> None:
    out = _run("batch_prediction.py", tmp_path)
    assert "BatchPredictionJobSummary(num_entities_predicted=" in out
    folder = tmp_path / "predictions"
    preds = pd.read_parquet(folder / "idle_planes_predictions.parquet")
    emb = pd.read_parquet(folder / "idle_planes_embeddings.parquet")
    csv = pd.read_csv(folder / "idle_planes_csv_predictions.csv")
    assert len(preds) == len(emb) == len(csv) > 1000
    assert {"ENTITY", "ANCHOR_TIMESTAMP", "TRUE_PROB"} <= set(preds.columns)
    assert preds["TRUE_PROB"].between(0, 1).all()


@pytest.mark.slow
@pytest.mark.dataset
def test_kumo_quickstart_then_followups(tmp_path: Path, shared_data: Path) -> None:
    """The Kumo quick-start runs unchanged (but for import root, init and connector); a
    second process then makes the follow-up calls a Kumo user makes."""
    out = _run("kumo_quickstart.py", tmp_path,
               ONLINE_RETAIL_II=str(shared_data / "online-retail-ii"))
    assert "Graph is valid: 3 tables, 2 edges." in out
    assert "Query is valid: regression (temporal) for each customer" in out
    assert "Training metrics:" in out
    assert "Batch prediction job summary: BatchPredictionJobSummary(num_entities_predicted=" \
        in out
    folder = tmp_path / "customerltv_mini"
    assert (folder / "kumo_predictions_embeddings.parquet").is_file()
    job_id = re.search(r"\[(trainingjob-[\w-]+)\] done", out).group(1)

    more = _run("kumo_followups.py", tmp_path, job_id)
    ids = re.findall(r"^(trainingjob-[\w-]+): \[mae=", more, re.M)
    assert ids[0] == job_id  # re-attached by id, from another process
    assert len(ids) == 2 and ids[1] != job_id  # the tagged variant, found by its tags
    assert 'UnitPrice Numerical(scaler="robust"' in more
    assert 'Quantity Numerical(scaler="minmax", na_strategy="zero")' in more
    assert "anchor 2011-09-01 00:00:00" in more
    preds = pd.read_parquet(folder / "as_of_2011_09_predictions.parquet")
    assert (preds["ANCHOR_TIMESTAMP"] == pd.Timestamp("2011-09-01")).all()
