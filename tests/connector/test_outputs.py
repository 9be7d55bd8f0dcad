"""Output connectors: Parquet/CSV folders, DuckDB and SQLite files, all written atomically."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from relgraph.connector.output import (
    DuckDBOutput,
    OutputConfig,
    SQLiteOutput,
    read_output,
    write_output,
)
from relgraph.errors import JobError


@pytest.fixture(autouse=True)
def _home(home: Path) -> None:
    """Outputs are registered in the home's job store (a private one per test)."""


def frame(n: int = 5, offset: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({
        "ENTITY": np.arange(n, dtype=np.int64),
        "ANCHOR_TIMESTAMP": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "D"),
        "TARGET_PRED": np.arange(n) % 2 == 0,
        "TRUE_PROB": np.linspace(0, 1, n) + offset,
        "CLASS": [f"c{i}" for i in range(n)],
    })


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_database_outputs_round_trip_and_replace(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"out.{kind}"
    conn = DuckDBOutput(path) if kind == "duckdb" else SQLiteOutput(path)
    cfg = OutputConfig(output_connector=conn, output_table_name="churn")
    loc = write_output(frame(), cfg, "predictions")
    assert loc == f"{kind}://{path}#churn_predictions"
    back = read_output(loc)
    assert list(back.columns) == list(frame().columns)
    np.testing.assert_allclose(back["TRUE_PROB"], frame()["TRUE_PROB"])
    assert back["TARGET_PRED"].astype(bool).tolist() == frame()["TARGET_PRED"].tolist()
    write_output(frame(3, offset=1.0), cfg, "predictions")  # replaces the table
    back = conn.read_table("churn_predictions")
    assert len(back) == 3 and back["TRUE_PROB"].iloc[0] == 1.0


class _FailOnRename:
    """A connection proxy that fails at the rename (after the old table was dropped)."""

    def __init__(self, con: object) -> None:
        self._con = con

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("ALTER TABLE"):
            raise RuntimeError("crash before rename")
        return self._con.execute(sql, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def test_failed_database_write_keeps_old_table(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for conn in (DuckDBOutput(tmp_path / "a.duckdb"), SQLiteOutput(tmp_path / "a.sqlite")):
        cfg = OutputConfig(output_connector=conn, output_table_name="t")
        write_output(frame(), cfg, "predictions")
        module = duckdb if isinstance(conn, DuckDBOutput) else sqlite3
        real = module.connect
        with monkeypatch.context() as m:
            m.setattr(module, "connect", lambda *a, real=real, **k: _FailOnRename(real(*a, **k)))
            with pytest.raises(RuntimeError, match="crash before rename"):
                write_output(frame(3, offset=1.0), cfg, "predictions")
        back = conn.read_table("t_predictions")
        assert len(back) == 5 and back["TRUE_PROB"].iloc[0] == 0.0  # old table intact
        if isinstance(conn, SQLiteOutput):
            with sqlite3.connect(conn.path) as con:
                names = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
        else:
            with duckdb.connect(str(conn.path)) as con:
                names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        assert names == ["t_predictions"], names  # no temporary table left behind


def test_embeddings_in_sqlite_and_csv(tmp_path: Path) -> None:
    emb = pd.DataFrame({"ENTITY": [1, 2], "EMBEDDING": [np.ones(3, np.float32),
                                                      np.zeros(3, np.float32)]})
    cfg = OutputConfig(output_types={"embeddings"}, output_connector=tmp_path / "e.sqlite",
                       output_table_name="x")
    assert isinstance(cfg.output_connector, SQLiteOutput)
    back = read_output(write_output(emb, cfg, "embeddings"))
    assert back["EMBEDDING"].tolist() == ["[1.0, 1.0, 1.0]", "[0.0, 0.0, 0.0]"]
    csv = OutputConfig(output_types={"embeddings"}, output_connector=tmp_path / "folder",
                       output_table_name="x", file_type="csv")
    path = write_output(emb, csv, "embeddings")
    assert path.endswith("x_embeddings.csv") and len(pd.read_csv(path)) == 2
    assert not [p for p in (tmp_path / "folder").iterdir() if p.name.startswith(".")]


def test_output_config_validation(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="output_table_name"):
        OutputConfig(output_connector=DuckDBOutput(tmp_path / "x.duckdb"))
    with pytest.raises(JobError, match="plain SQL identifier"):
        write_output(frame(), OutputConfig(output_connector=DuckDBOutput(tmp_path / "x.duckdb"),
                                           output_table_name="bad name;"), "predictions")
    assert isinstance(OutputConfig(output_connector=str(tmp_path / "y.duckdb"),
                                   output_table_name="t").output_connector, DuckDBOutput)
