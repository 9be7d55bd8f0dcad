"""Time to load a 1M-row table from each database source, against the same data in Parquet.

Usage::

    .venv/bin/python benchmarks/connectors.py                 # 1M rows, relgraph connectors
    .venv/bin/python benchmarks/connectors.py --candidates    # also the libraries not chosen
    .venv/bin/python benchmarks/connectors.py --rows 200000 --json

One table (int64 id, int64 foreign key, float, a 10-value text column, a timestamp, a
boolean) is written to a Parquet file, a SQLite file, a DuckDB file and a throwaway local
PostgreSQL server (:class:`relgraph.testing.postgres.TemporaryPostgres`; that row is
skipped where no server can start). Each row of the table is the best of ``--repeat``
full loads into a pandas DataFrame: ``relgraph`` rows go through the connector
(``read_frame``, what ``conn[name].to_pandas()`` and ``Table.from_source_table`` run), ``candidate``
rows through another access library. ``vs parquet`` divides by the Parquet time.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    words = np.array(["red", "blue", "green", "lamp", "chair", "table", "glass", "box",
                      "vintage", "heart"])
    return pa.Table.from_pandas(pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "customer_id": rng.integers(0, 50_000, rows),
        "amount": rng.random(rows) * 100,
        "category": words[rng.integers(0, 10, rows)],
        "created_at": pd.Timestamp("2020-01-01")
        + pd.to_timedelta(rng.integers(0, 30_000_000, rows), "s"),
        "flag": rng.random(rows) < 0.3,
    }), preserve_index=False)


def best_of(fn: Callable[[], pd.DataFrame], repeat: int, rows: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        df = fn()
        best = min(best, time.perf_counter() - t0)
        assert len(df) == rows, (len(df), rows)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--candidates", action="store_true",
                        help="also time the access libraries relgraph did not choose")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()

    import duckdb

    import relgraph as rg
    from relgraph.connector.local_file import read_file_table
    from relgraph.testing.postgres import TemporaryPostgres, unavailable_reason

    table = make_table(args.rows)
    cases: list[tuple[str, str, str, Callable[[], pd.DataFrame]]] = []
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        pq.write_table(table, folder / "files" / "t.parquet")
        parquet = folder / "files" / "t.parquet"  # LocalFileConnector's reader, uncached
        cases.append(("parquet", "relgraph", "LocalFileConnector (DuckDB)",
                      lambda: read_file_table(parquet, "parquet")))

        con = duckdb.connect(str(folder / "t.duckdb"))
        con.register("src", table)
        con.execute("CREATE TABLE t AS SELECT * FROM src")
        con.close()
        duck = rg.DuckDBConnector(folder / "t.duckdb")
        cases.append(("duckdb", "relgraph", "DuckDBConnector (duckdb)",
                      lambda: duck.read_frame("t")))

        import adbc_driver_sqlite.dbapi as adbc_sqlite

        lite_table = table.set_column(4, "created_at", table.column("created_at").cast(
            pa.string()))  # SQLite has no timestamp type: ISO text, as SQLiteConnector writes
        with adbc_sqlite.connect(str(folder / "t.sqlite")) as lcon, lcon.cursor() as cur:
            cur.adbc_ingest("t", lite_table, mode="create")
            lcon.commit()
        lite = rg.SQLiteConnector(folder / "t.sqlite")
        cases.append(("sqlite", "relgraph", "SQLiteConnector (ADBC)",
                      lambda: lite.read_frame("t")))
        if args.candidates:
            def sqlite_stdlib() -> pd.DataFrame:
                with sqlite3.connect(folder / "t.sqlite") as c:
                    return pd.read_sql_query("SELECT * FROM t", c)

            cases.append(("sqlite", "candidate", "sqlite3 + pandas.read_sql", sqlite_stdlib))
            cases += _connectorx("sqlite", f"sqlite://{folder / 't.sqlite'}")

        reason = unavailable_reason()
        server = TemporaryPostgres() if reason is None else None
        try:
            if server is not None:
                server.start()
                import adbc_driver_postgresql.dbapi as adbc_pg

                with adbc_pg.connect(server.uri()) as pcon, pcon.cursor() as cur:
                    cur.adbc_ingest("t", table, mode="create")
                    pcon.commit()
                pg = rg.PostgresConnector(**server.params())
                cases.append(("postgres", "relgraph", "PostgresConnector (ADBC)",
                              lambda: pg.read_frame("t")))
                if args.candidates:
                    p = server.params()
                    uri = (f"postgresql://{p['user']}:{p['password']}@127.0.0.1:{p['port']}/"
                           f"{p['dbname']}")
                    cases += _postgres_candidates(uri)
            results = []
            for source, kind, library, fn in cases:
                seconds = best_of(fn, args.repeat, args.rows)
                results.append({"source": source, "kind": kind, "library": library,
                                "rows": args.rows, "seconds": round(seconds, 3),
                                "rows_per_s": round(args.rows / seconds)})
        finally:
            if server is not None:
                server.stop()
    base = next(r["seconds"] for r in results if r["source"] == "parquet")
    for r in results:
        r["vs_parquet"] = round(r["seconds"] / base, 2)
    if reason is not None:
        results.append({"source": "postgres", "kind": "relgraph", "skipped": reason})
    if args.json:
        for r in results:
            print(json.dumps(r))
        return
    print(f"{'source':9} {'kind':9} {'library':34} {'seconds':>8} {'M rows/s':>9} "
          f"{'vs parquet':>10}")
    for r in results:
        if "skipped" in r:
            print(f"{r['source']:9} skipped: {r['skipped']}")
            continue
        print(f"{r['source']:9} {r['kind']:9} {r['library']:34} {r['seconds']:8.3f} "
              f"{r['rows_per_s'] / 1e6:9.2f} {r['vs_parquet']:10.2f}")


def _connectorx(source: str, uri: str) -> list[tuple[str, str, str, Any]]:
    try:
        import connectorx as cx
    except ImportError:
        return []
    return [(source, "candidate", "ConnectorX (Arrow)",
             lambda: cx.read_sql(uri, "SELECT * FROM t", return_type="arrow").to_pandas())]


def _postgres_candidates(uri: str) -> list[tuple[str, str, str, Any]]:
    out = _connectorx("postgres", uri)
    try:
        import psycopg
    except ImportError:
        return out

    def with_psycopg() -> pd.DataFrame:
        with psycopg.connect(uri) as c, c.cursor() as cur:
            cur.execute("SELECT * FROM t")
            rows = cur.fetchall()
            return pd.DataFrame(rows, columns=[d.name for d in cur.description or []])

    out.append(("postgres", "candidate", "psycopg 3 fetchall", with_psycopg))
    try:
        import sqlalchemy
    except ImportError:
        return out
    engine = sqlalchemy.create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))

    def with_sqlalchemy() -> pd.DataFrame:
        with engine.connect() as c:
            return pd.read_sql("SELECT * FROM t", c)

    out.append(("postgres", "candidate", "SQLAlchemy + pandas.read_sql", with_sqlalchemy))
    return out


if __name__ == "__main__":
    main()
