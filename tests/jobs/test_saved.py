"""Persistence: saved tables, graphs and query templates, table statistics, and stored
table-generation jobs, read back by another process (JSON + Parquet, never pickle)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import make_retail

import relgraph as rg
from relgraph.errors import ArtifactError, ConfigError

QUERY = ("PREDICT COUNT(transactions.*, 0, 2, days) FOR EACH customers.customer_id "
         "WHERE COUNT(transactions.*, -3, 0, days) > 0")


def _graph() -> rg.Graph:
    frames = make_retail()
    tables = {
        "customers": rg.Table.from_dataframe(frames["customers"], "customers",
                                             primary_key="customer_id"),
        "products": rg.Table.from_dataframe(frames["products"], "products",
                                            primary_key="stock_code"),
        "transactions": rg.Table.from_dataframe(frames["transactions"], "transactions",
                                                primary_key="line_id",
                                                time_column="invoice_date"),
    }
    tables["transactions"]["invoice_no"].stype = "categorical"  # an edit that must persist
    return rg.Graph(tables, edges=[("transactions", "customer_id", "customers"),
                                   ("transactions", "stock_code", "products")])


def _run(home: Path, code: str) -> dict:
    """Run ``code`` in a fresh interpreter on ``home``; it prints one JSON object."""
    script = f"import json, relgraph as rg\nrg.init(home={str(home)!r})\n" + \
        textwrap.dedent(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"),
         str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_save_load_round_trips_across_processes(tmp_path: Path,
                                                restore_settings: None) -> None:
    home = tmp_path / "home"
    rg.init(home=home)
    graph = _graph()
    table_id = graph["transactions"].save()
    assert graph["transactions"].save() == table_id  # content id: same object, same id
    assert graph["customers"].save("customers_v1") == "customers_v1"
    graph_id = graph.save("retail")
    pq = rg.PredictiveQuery(graph, QUERY)
    assert pq.save("busy") == "busy"
    job = pq.generate_training_table(non_blocking=True, custom_tags={"kind": "labels"})
    want = job.result(timeout=120).data_df()
    stats = graph.get_table_stats()
    snap = graph.snapshot()
    assert graph.snapshot() == snap == graph.snapshot_id  # unchanged rows, same id

    got = _run(home, f"""
        from relgraph.pquery import TrainingTableJob
        t = rg.Table.load({table_id!r})
        c = rg.Table.load("customers_v1")
        g = rg.Graph.load("retail")
        pq = rg.PredictiveQuery.load("busy")
        job = TrainingTableJob({job.id!r})
        table = job.result(timeout=60)
        again = rg.TrainingTable({job.id!r})
        print(json.dumps({{
            "t_rows": len(t.data), "t_meta": t.metadata.to_dict("list"),
            "c_pk": c.primary_key, "edges": [list(e) for e in g.edges],
            "g_stype": str(g["transactions"]["invoice_no"].stype),
            "g_time": g["transactions"].time_column,
            "query": pq.query, "pq_rows": len(pq.generate_training_table()),
            "job_rows": table.data_df().to_json(date_format="iso"), "job_query": table.query.query,
            "again": len(again), "tags": [j.id for j in TrainingTableJob.search_by_tags(
                {{"kind": "labels"}})],
            "stats": g.get_table_stats(), "snap": g.snapshot()}}, default=str))
    """)
    assert got["t_rows"] == 120
    assert got["t_meta"] == graph["transactions"].metadata.to_dict("list")
    assert got["c_pk"] == "customer_id"
    assert got["edges"] == [list(e) for e in graph.edges]
    assert got["g_stype"] == "categorical" and got["g_time"] == "invoice_date"
    assert got["query"] == QUERY and got["pq_rows"] == len(want)
    assert got["job_rows"] == want.to_json(date_format="iso")  # the rows, from the job
    assert got["job_query"] == QUERY and got["again"] == len(want)
    assert got["tags"] == [job.id]
    assert got["stats"] == json.loads(json.dumps(stats, default=str))
    assert got["snap"] == snap  # the same rows and metadata in another process
    # saved objects are JSON and Parquet, nothing else
    saved = [p for p in (home / "saved").rglob("*") if p.is_file()]
    assert saved and {p.suffix for p in saved} == {".json"}
    assert {p.suffix for p in (home / "snapshots").iterdir()} == {".parquet"}
    assert graph_id == "retail"


def test_tampering_and_unknown_names(tmp_path: Path, restore_settings: None) -> None:
    home = tmp_path / "home"
    rg.init(home=home)
    graph = _graph()
    graph.save("retail")
    obj = home / "saved" / "graphs" / "retail" / "object.json"
    body = json.loads(obj.read_text())
    body["graph"]["edges"] = []
    obj.write_text(json.dumps(body))
    with pytest.raises(ArtifactError, match="checksum"):
        rg.Graph.load("retail")
    graph["customers"].save("c")
    spec = json.loads((home / "saved" / "tables" / "c" / "object.json").read_text())
    (home / "snapshots" / spec["table"]["file"]).write_bytes(b"not parquet")
    with pytest.raises(ArtifactError, match="SHA-256"):
        rg.Table.load("c")
    with pytest.raises(ConfigError, match="No saved graph 'nope'"):
        rg.Graph.load("nope")
    with pytest.raises(ConfigError, match="cannot name"):
        graph.save("../escape")


def test_gc_keeps_what_saved_objects_use(tmp_path: Path, restore_settings: None) -> None:
    home = tmp_path / "home"
    rg.init(home=home)
    graph = _graph()
    graph.save("retail")
    rg.Table.from_dataframe(pd.DataFrame({"id": [1, 2]}), "other").snapshot()  # unsaved
    report = rg.gc(dry_run=True)
    removed = {p.name for p in (i.path for i in report.items if i.kind == "snapshot")}
    assert len(removed) == 1  # only the unsaved table's snapshot
    rg.gc()
    assert rg.Graph.load("retail")["transactions"].data.shape == (120, 7)


def test_table_stats() -> None:
    table = _graph()["transactions"]
    stats = table.get_stats()
    df = table.data
    q = stats["quantity"]
    assert q["num_rows"] == 120 and q["min"] == df["quantity"].min()
    assert q["mean"] == pytest.approx(df["quantity"].mean())
    assert q["quantiles"]["0.5"] == pytest.approx(df["quantity"].median())
    top = df["stock_code"].value_counts()
    assert stats["stock_code"]["most_frequent"][top.index[0]] == int(top.iloc[0])
    assert stats["customer_id"]["num_nulls"] == int(df["customer_id"].isna().sum()) > 0
    assert stats["invoice_date"]["min"].startswith("2021-01-01")
    assert set(table.get_stats("minimal")["quantity"]) == {
        "num_rows", "num_nulls", "null_fraction", "num_unique"}
    with pytest.raises(rg.GraphError, match="wait_for"):
        table.get_stats("all")


def test_failed_table_job_is_recorded(tmp_path: Path, restore_settings: None) -> None:
    from relgraph.jobs.store import JobStatus

    rg.init(home=tmp_path / "home")
    pq = rg.PredictiveQuery(_graph(), "PREDICT COUNT(transactions.*, 0, 2, days) FOR EACH "
                                      "customers.customer_id WHERE customers.country = 'Mars'")
    job = pq.generate_training_table(non_blocking=True)
    with pytest.raises(rg.JobError, match="EmptyTrainingTableError"):
        job.result(timeout=60)
    status = rg.TrainingTableJob(job.id).status()
    assert status.status is JobStatus.FAILED and "Mars" in str(status.error)
    assert not (tmp_path / "home" / "jobs" / job.id / "table.parquet").exists()
