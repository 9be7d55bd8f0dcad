"""Test databases: the tiny retail database and a shop, loaded into SQLite, DuckDB or PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import relgraph as rg
from relgraph.connector import DatabaseConnector
from relgraph.testing.postgres import TemporaryPostgres

#: The retail tables with declared keys (types in each dialect: INT, TEXT, TS, REAL).
RETAIL_DDL = [
    ("customers", "customer_id BIGINT PRIMARY KEY, country TEXT"),
    ("products", "stock_code TEXT PRIMARY KEY, description TEXT"),
    ("invoices", "invoice_no TEXT PRIMARY KEY, customer_id BIGINT REFERENCES customers"
                 "(customer_id), invoice_date TS"),
    ("transactions", "line_id BIGINT PRIMARY KEY, invoice_no TEXT REFERENCES invoices"
                     "(invoice_no), stock_code TEXT REFERENCES products(stock_code), "
                     "quantity BIGINT, unit_price REAL, invoice_date TS"),
]
#: A shop: 60 customers and their orders over 300 days (for training end to end).
SHOP_DDL = [
    ("customers", "customer_id BIGINT PRIMARY KEY, age REAL, segment TEXT"),
    ("orders", "order_id BIGINT PRIMARY KEY, customer_id BIGINT REFERENCES customers"
               "(customer_id), amount REAL, ordered_at TS"),
]
_TS = {"sqlite": "DATETIME", "duckdb": "TIMESTAMP", "postgres": "TIMESTAMP"}
_REAL = {"sqlite": "REAL", "duckdb": "DOUBLE", "postgres": "DOUBLE PRECISION"}
Schema = list[tuple[str, str]]


def make_shop(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 60
    customers = pd.DataFrame({"customer_id": np.arange(n, dtype=np.int64),
                              "age": rng.integers(18, 80, n).astype(float),
                              "segment": rng.choice(["a", "b", "c"], n)})
    cust = np.repeat(np.arange(n), rng.integers(0, 10, n))
    orders = pd.DataFrame({
        "order_id": np.arange(len(cust), dtype=np.int64), "customer_id": cust,
        "amount": rng.gamma(2.0, 10.0, len(cust)),
        "ordered_at": pd.Timestamp("2022-01-01")
        + pd.to_timedelta(rng.integers(0, 300 * 24, len(cust)), unit="h")})
    return {"customers": customers, "orders": orders}


def clean_retail(retail: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The retail tables without dangling keys (DuckDB and PostgreSQL enforce them)."""
    out = dict(retail)
    inv = retail["invoices"].copy()
    inv["customer_id"] = inv["customer_id"].where(inv["customer_id"] != 99, 1)
    out["invoices"] = inv
    tx = retail["transactions"].drop(columns=["customer_id"]).copy()
    tx["stock_code"] = tx["stock_code"].where(tx["stock_code"] != "P999", "P000")
    out["transactions"] = tx
    return out


def ddl(kind: str, schema: Schema) -> list[str]:
    return [f"CREATE TABLE {name} ({cols.replace('TS', _TS[kind]).replace('REAL', _REAL[kind])})"
            for name, cols in schema]


def load_sqlite(path: Path, frames: dict[str, pd.DataFrame], schema: Schema = RETAIL_DDL) -> None:
    con = sqlite3.connect(path)
    for stmt in ddl("sqlite", schema):
        con.execute(stmt)
    for name, _ in schema:
        df = frames[name].astype(object).where(frames[name].notna(), None)
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(frames[name][col]):
                df[col] = frames[name][col].dt.strftime("%Y-%m-%d %H:%M:%S")
        marks = ", ".join("?" for _ in df.columns)
        con.executemany(f"INSERT INTO {name} ({', '.join(df.columns)}) VALUES ({marks})",
                        df.itertuples(index=False, name=None))
    con.commit()
    con.close()


def load_duckdb(path: Path, frames: dict[str, pd.DataFrame], schema: Schema = RETAIL_DDL) -> None:
    con = duckdb.connect(str(path))
    for stmt in ddl("duckdb", schema):
        con.execute(stmt)
    for name, _ in schema:
        con.register("src", frames[name])
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM src")
        con.unregister("src")
    con.close()


def load_postgres(uri: str, frames: dict[str, pd.DataFrame], schema: Schema = RETAIL_DDL) -> None:
    import adbc_driver_postgresql.dbapi as adbc_pg

    with adbc_pg.connect(uri) as con, con.cursor() as cur:
        for stmt in ddl("postgres", schema):
            cur.execute(stmt)
        for name, _ in schema:
            data = pa.Table.from_pandas(frames[name], preserve_index=False)
            cur.adbc_ingest(name, data, mode="append")
        con.commit()


def pg_uri(server: TemporaryPostgres, schema: str) -> str:
    """A socket URI whose connections use ``schema`` first."""
    return server.uri() + f"&options=-csearch_path%3D{schema}"


def load_database(request: pytest.FixtureRequest, kind: str, folder: Path,
                  frames: dict[str, pd.DataFrame], schema: Schema) -> DatabaseConnector:
    """``frames`` in a new database of ``kind`` with ``schema``'s keys; a connector to it."""
    if kind == "sqlite":
        load_sqlite(folder / "db.sqlite", frames, schema)
        return rg.SQLiteConnector(folder / "db.sqlite")
    if kind == "duckdb":
        load_duckdb(folder / "db.duckdb", frames, schema)
        return rg.DuckDBConnector(folder / "db.duckdb")
    conn: rg.PostgresConnector = request.getfixturevalue("pg_db")()
    load_postgres(pg_uri(request.getfixturevalue("pg_server"), conn.schema_name), frames,
                  schema)
    return conn


KINDS = ["sqlite", "duckdb", "postgres"]
