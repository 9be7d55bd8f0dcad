"""The ``relgraph`` command line over the same API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relgraph as rg
from relgraph.cli.main import main
from relgraph.connector.output import SQLiteOutput
from relgraph.jobs.store import JobStatus, JobStore

QUERY = "PREDICT COUNT(orders.*, 0, 30, days) > 0 FOR EACH customers.customer_id"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 30
    pd.DataFrame({"customer_id": np.arange(n), "age": rng.integers(18, 80, n)}).to_csv(
        tmp_path / "customers.csv", index=False)
    m = 150
    pd.DataFrame({"order_id": np.arange(m), "customer_id": rng.integers(0, n, m),
                  "amount": rng.gamma(2.0, 10.0, m).round(2),
                  "ts": (pd.Timestamp("2022-01-01")
                         + pd.to_timedelta(rng.integers(0, 300, m), unit="D")).astype(str)}
                 ).to_csv(tmp_path / "orders.csv", index=False)
    path = tmp_path / "spec.yaml"
    path.write_text(f"""
home: home
graph:
  source: .
  tables:
    customers: {{primary_key: customer_id}}
    orders: {{primary_key: order_id, time_column: ts}}
  edges:
    - [orders, customer_id, customers]
query: {QUERY}
run_mode: debug
model_plan:
  optimization: {{max_epochs: 1}}
tags: {{src: cli}}
""")
    return path


def test_graph_and_query_commands(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "inspect", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "orders.customer_id -> customers" in out and "customers=30, orders=150" in out
    assert main(["query", "validate", str(spec)]) == 0
    assert "binary_classification" in capsys.readouterr().out
    assert main(["query", "compile", str(spec)]) == 0
    sql = capsys.readouterr().out
    assert "SELECT" in sql and "bound parameters" in sql
    bad = "PREDICT COUNT(nope.*, 0, 30, days) > 0 FOR EACH customers.customer_id"
    assert main(["query", "validate", str(spec), "--query", bad]) == 2
    assert "nope" in capsys.readouterr().err


def test_bad_plan_override_fails_before_the_training_table(
        spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(spec), "--set", "optimization.max_epochs=-1"]) == 2
    captured = capsys.readouterr()
    assert "'optimization.max_epochs'" in captured.err and ">= 1" in captured.err
    assert "training table" not in captured.out


def test_jobs_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "h"
    rg.init(home=home)
    store = JobStore(home)
    done = store.create("training", {"query": QUERY}, tags={"team": "a"})
    store.mark_running(done, 1, "inline")
    store.finish(done, JobStatus.DONE, metrics={"test": {"auroc": 0.75}})
    queued = store.create("batch_prediction", {}, tags={"team": "b"})
    assert main(["jobs", "list", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert done in out and queued in out and "team=a" in out
    assert main(["jobs", "list", "--home", str(home), "--tag", "team=b"]) == 0
    out = capsys.readouterr().out
    assert queued in out and done not in out
    assert main(["jobs", "show", done, "--home", str(home), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["status"] == "DONE" and info["metrics"]["test"]["auroc"] == 0.75
    assert main(["jobs", "show", done, "--home", str(home)]) == 0
    assert "auroc=0.7500" in capsys.readouterr().out
    assert main(["jobs", "cancel", queued, "--home", str(home)]) == 0
    assert store.get(queued).status is JobStatus.CANCELLED
    assert main(["jobs", "cancel", done, "--home", str(home)]) == 1  # already done
    assert main(["jobs", "show", "nope", "--home", str(home)]) == 2
    assert "No job 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_train_predict_report(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = spec.parent / "home"
    assert main(["train", str(spec), "--set", "optimization.max_epochs=2",
                 "--tag", "run=1"]) == 0
    job_id = capsys.readouterr().out.strip().splitlines()[-1]
    rg.init(home=home)
    rec = JobStore(home).get(job_id)
    assert rec.status is JobStatus.DONE and rec.tags == {"src": "cli", "run": "1"}
    assert rec.request["plan"]["optimization"]["max_epochs"] == 2
    assert main(["jobs", "report", job_id, "--home", str(home), "--no-open"]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")
    out_db = spec.parent / "out.sqlite"
    assert main(["predict", job_id, "--home", str(home), "--output", str(out_db),
                 "--table-name", "churn"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["num_entities_predicted"] == 30
    assert summary["predictions"] == [f"sqlite://{out_db}#churn_predictions"]
    assert SQLiteOutput(out_db).read_table("churn_predictions").shape[0] == 30
    assert main(["jobs", "attach", job_id, "--home", str(home), "--interval", "0.1"]) == 0
    assert "DONE" in capsys.readouterr().out
