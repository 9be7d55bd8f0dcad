"""End to end on real databases: catalog -> graph -> fit -> predict -> predictions written
back, and a write killed half-way leaves the previous predictions table intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dbhelpers import KINDS, SHOP_DDL, load_database, make_shop, pg_uri

import relgraph as rg
from relgraph.connector import DatabaseConnector
from relgraph.jobs.store import JobStatus
from relgraph.jobs.worker import wait_gone
from relgraph.plan.model_plan import RunMode
from relgraph.plan.suggest import suggest_model_plan
from relgraph.testing.postgres import TemporaryPostgres

CHURN = "PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH customers.customer_id"


def _fit(conn: DatabaseConnector, home: Path) -> tuple[rg.Graph, rg.PredictiveQuery, rg.Trainer]:
    rg.init(home=home, device="cpu")
    graph = rg.Graph.from_connector(conn)
    graph.validate(verbose=False)
    assert [str(e) for e in graph.edges] == [str(rg.Edge("orders", "customer_id", "customers"))]
    assert graph["orders"].time_column == "ordered_at"
    pq = rg.PredictiveQuery(graph, CHURN)
    plan = suggest_model_plan(pq.get_task_type(), RunMode.DEBUG)
    plan.optimization.max_epochs = 1
    plan.training_job.manual_seed = 0
    trainer = rg.Trainer(plan, verbose=False)
    trainer.fit(graph, pq.generate_training_table())
    return graph, pq, trainer


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("kind", KINDS)
def test_fit_predict_and_write_predictions_back(kind: str, request: pytest.FixtureRequest,
                                                tmp_path: Path, restore_settings: None) -> None:
    conn = load_database(request, kind, tmp_path, make_shop(), SHOP_DDL)
    graph, pq, trainer = _fit(conn, tmp_path / "home")
    cfg = rg.OutputConfig(output_types={"predictions", "embeddings"}, output_connector=conn,
                          output_table_name="churn")
    job = trainer.predict(graph, pq.generate_prediction_table(), output_config=cfg)
    local = job.predictions_df().sort_values("ENTITY").reset_index(drop=True)
    assert len(local) == 60 and job.predictions_urls() == [conn.location("churn_predictions")]
    back = conn.read_table("churn_predictions").sort_values("ENTITY").reset_index(drop=True)
    assert list(back.columns) == list(local.columns)
    assert back["ENTITY"].tolist() == local["ENTITY"].tolist()
    np.testing.assert_allclose(back["TRUE_PROB"], local["TRUE_PROB"], rtol=1e-6)
    assert (pd.to_datetime(back["ANCHOR_TIMESTAMP"]) == local["ANCHOR_TIMESTAMP"]).all()
    emb = conn.read_table("churn_embeddings")
    assert len(emb) == 60 and "EMBEDDING" in emb.columns
    assert set(conn.table_names()) == {"customers", "orders", "churn_predictions",
                                       "churn_embeddings"}
    # APPEND adds a second batch of predictions to the same table
    trainer.predict(graph, pq.generate_prediction_table(), output_config=rg.OutputConfig(
        output_connector=conn, output_table_name="churn",
        connector_specific_config=rg.DatabaseConnectorConfig(write_mode="APPEND")))
    assert len(conn.read_table("churn_predictions")) == 120
    if isinstance(conn, rg.PostgresConnector):
        secret = request.getfixturevalue("pg_server").password
        assert _files_holding(tmp_path / "home", secret) == []  # job store, snapshots, logs


def _all_tables(conn: DatabaseConnector) -> set[str]:
    """Every table of ``conn``'s schema, relgraph's hidden temporaries included."""
    return set(conn._list_tables())


@pytest.mark.slow
def test_killed_prediction_job_leaves_previous_postgres_table(
        request: pytest.FixtureRequest, tmp_path: Path, pg_server: TemporaryPostgres,
        restore_settings: None) -> None:
    """A worker killed while swapping in the new predictions table (at the job's commit):
    PostgreSQL rolls its transaction back and the previous table stays as it was; the job
    is past its commit point, so whoever notices the dead worker completes the swap (the
    password comes from this process's memory, never from the job's files)."""
    import adbc_driver_postgresql.dbapi as adbc_pg

    conn = load_database(request, "postgres", tmp_path, make_shop(), SHOP_DDL)
    assert isinstance(conn, rg.PostgresConnector)
    graph, pq, trainer = _fit(conn, tmp_path / "home")
    cfg = rg.OutputConfig(output_connector=conn, output_table_name="churn")
    trainer.predict(graph, pq.generate_prediction_table(), output_config=cfg)
    before = conn.read_table("churn_predictions")
    uri = pg_uri(pg_server, conn.schema_name)
    earlier = pq.generate_prediction_table(anchor_time=pd.Timestamp("2022-08-01"))
    with adbc_pg.connect(uri) as holder, adbc_pg.connect(uri, autocommit=True) as watcher:
        # hold the table: the next job stages its new table, commits, then waits to swap
        holder.cursor().execute("LOCK TABLE churn_predictions IN ACCESS EXCLUSIVE MODE")
        job = trainer.predict(graph, earlier, output_config=cfg, non_blocking=True)
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = " \
                  "'relgraph' AND wait_event_type = 'Lock'"
        deadline = time.monotonic() + 240
        with watcher.cursor() as cur:
            while time.monotonic() < deadline:
                assert not job.status().status.is_terminal, job.status()
                cur.execute(waiting)
                if cur.fetchone()[0]:  # type: ignore[index]
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the prediction job never reached its write")
            pid = job.status().worker_pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            assert wait_gone(pid, 30)
            holder.rollback()  # release the lock; the orphaned transaction then aborts
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'relgraph'")
                if not cur.fetchone()[0]:  # type: ignore[index]
                    break
                time.sleep(0.1)
    # the killed swap changed nothing: the previous table, and the staged one beside it
    pd.testing.assert_frame_equal(conn.read_table("churn_predictions"), before)
    staged = _all_tables(conn) - {"customers", "orders", "churn_predictions"}
    assert len(staged) == 1 and next(iter(staged)).startswith("__rg_tmp_"), staged
    # reaping the dead worker completes its commit: the new table, no temporary left
    assert job.status().status is JobStatus.DONE
    after = conn.read_table("churn_predictions")
    assert (pd.to_datetime(after["ANCHOR_TIMESTAMP"]) == pd.Timestamp("2022-08-01")).all()
    assert len(after) == len(job.result().predictions_df())
    assert _all_tables(conn) == {"customers", "orders", "churn_predictions"}
    assert _files_holding(tmp_path / "home", pg_server.password) == []
    # and the next run replaces it
    trainer.predict(graph, pq.generate_prediction_table(), output_config=cfg)
    pd.testing.assert_frame_equal(conn.read_table("churn_predictions"), before,
                                  check_like=True)


@pytest.mark.parametrize("kind", KINDS)
def test_job_failing_before_its_commit_leaves_previous_table(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, restore_settings: None) -> None:
    """A prediction job that fails after staging its tables but before its commit point
    (OVERWRITE or APPEND): the previous table is untouched and its temporaries dropped."""
    from relgraph.connector import exports

    conn = load_database(request, kind, tmp_path, make_shop(), SHOP_DDL)
    graph, pq, trainer = _fit(conn, tmp_path / "home")
    cfg = rg.OutputConfig(output_types={"predictions", "embeddings"}, output_connector=conn,
                          output_table_name="churn")
    trainer.predict(graph, pq.generate_prediction_table(), output_config=cfg)
    before = conn.read_table("churn_predictions")
    tables = _all_tables(conn)
    staged: list[set[str]] = []

    def fail_at_commit(store: object, folder: Path) -> None:
        staged.append(_all_tables(conn) - tables)
        raise RuntimeError("the job fails before its commit point")

    monkeypatch.setattr(exports, "check_pending", fail_at_commit)
    for mode in ("OVERWRITE", "APPEND"):
        with pytest.raises(RuntimeError, match="before its commit point"):
            trainer.predict(graph, pq.generate_prediction_table(), output_config=rg.OutputConfig(
                output_types={"predictions", "embeddings"}, output_connector=conn,
                output_table_name="churn",
                connector_specific_config=rg.DatabaseConnectorConfig(write_mode=mode)))
        assert len(staged[-1]) == 2 and all(t.startswith("__rg_tmp_") for t in staged[-1])
        pd.testing.assert_frame_equal(conn.read_table("churn_predictions"), before)
        assert _all_tables(conn) == tables


_WRITER = """
import sys, numpy as np, pandas as pd, relgraph as rg
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rg.init(home=sys.argv[4])  # the test's home: its output registry knows the table
conn = rg.SQLiteConnector(path) if kind == "sqlite" else rg.DuckDBConnector(path)
df = pd.DataFrame({"ENTITY": np.arange(n), "TRUE_PROB": np.full(n, 0.5),
                   "CLASS": np.array(["yes", "no"])[np.arange(n) % 2]})
print("writing", flush=True)
conn.write_table(df, "preds")
print("done", flush=True)
"""


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_killed_file_database_write_leaves_previous_table(kind: str, tmp_path: Path) -> None:
    """Writers killed at several points of a large write: the table is always the old one
    or the complete new one, and no temporary table is left behind."""
    path = tmp_path / f"out.{kind}"
    conn: DatabaseConnector = rg.SQLiteConnector(path) if kind == "sqlite" \
        else rg.DuckDBConnector(path)
    conn.write_table(pd.DataFrame({"ENTITY": [1, 2, 3], "TRUE_PROB": [0.1, 0.2, 0.3],
                                   "CLASS": ["a", "b", "c"]}), "preds")
    n = 400_000 if kind == "sqlite" else 3_000_000
    env = {**os.environ, "PYTHONPATH": str(Path(rg.__file__).parents[1])}
    outcomes = []
    for delay in (0.0, 0.1, 0.3, 0.6):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, kind, str(path), str(n),
                                 str(tmp_path / "rg-home")],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        rows = len(conn.read_table("preds"))
        assert rows in (3, n), rows
        assert rows == n or not finished, "a writer that finished left the old table"
        assert _all_tables(conn) == {"preds"}  # no temporary table either
        outcomes.append((finished, rows))
        if rows == n:  # put the old table back for the next kill
            conn.write_table(pd.DataFrame({"ENTITY": [1, 2, 3], "TRUE_PROB": [0.1, 0.2, 0.3],
                                           "CLASS": ["a", "b", "c"]}), "preds")
    assert any(not finished and rows == 3 for finished, rows in outcomes), outcomes
