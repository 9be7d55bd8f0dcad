"""SQLite, DuckDB and PostgreSQL connectors on real databases (a real PostgreSQL server)."""

from __future__ import annotations

import os
import pickle
import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dbhelpers import RETAIL_DDL, clean_retail, load_database, pg_uri

import relgraph as rg
from relgraph.connector import DatabaseConnector, ForeignKey
from relgraph.errors import (
    ConnectorError,
    DatabaseConnectionError,
    DatabasePermissionError,
    GraphError,
    TableNotFoundError,
    UnsupportedColumnTypeError,
)
from relgraph.testing.postgres import TemporaryPostgres

Retail = tuple[DatabaseConnector, dict[str, pd.DataFrame]]


def _sql(conn: DatabaseConnector, statements: list[str], server: TemporaryPostgres | None = None
         ) -> None:
    """Run DDL/DML directly against the database behind ``conn``."""
    if isinstance(conn, rg.SQLiteConnector):
        with sqlite3.connect(conn.path) as con:
            for stmt in statements:
                con.execute(stmt)
    elif isinstance(conn, rg.DuckDBConnector):
        with duckdb.connect(str(conn.path)) as con:
            for stmt in statements:
                con.execute(stmt)
    else:
        import adbc_driver_postgresql.dbapi as adbc_pg

        assert server is not None and isinstance(conn, rg.PostgresConnector)
        with adbc_pg.connect(pg_uri(server, conn.schema_name)) as con, con.cursor() as cur:
            for stmt in statements:
                cur.execute(stmt)
            con.commit()


def _server(request: pytest.FixtureRequest, conn: DatabaseConnector) -> TemporaryPostgres | None:
    return request.getfixturevalue("pg_server") if isinstance(conn, rg.PostgresConnector) \
        else None


def test_catalog_lists_tables_columns_and_keys(retail_db: Retail) -> None:
    conn, _ = retail_db
    assert conn.table_names() == sorted(name for name, _ in RETAIL_DDL)
    assert "invoices" in conn and "invoice" not in conn
    schema = conn.table_schema("transactions")
    assert list(schema.column_types) == ["line_id", "invoice_no", "stock_code", "quantity",
                                         "unit_price", "invoice_date"]
    assert schema.primary_key == ("line_id",)
    assert set(schema.foreign_keys) == {ForeignKey(("invoice_no",), "invoices", ("invoice_no",)),
                                        ForeignKey(("stock_code",), "products", ("stock_code",))}
    assert conn.table_schema("customers").foreign_keys == ()


def test_reads_rows_and_only_the_columns_asked_for(retail_db: Retail) -> None:
    conn, frames = retail_db
    got = conn["transactions"].to_pandas().sort_values("line_id").reset_index(drop=True)
    want = frames["transactions"]
    assert list(got.columns) == list(want.columns) and len(got) == len(want) == 120
    for col in ("line_id", "invoice_no", "stock_code", "quantity"):
        assert got[col].tolist() == want[col].tolist(), col
    np.testing.assert_allclose(got["unit_price"], want["unit_price"])
    assert (pd.to_datetime(got["invoice_date"]) == want["invoice_date"]).all()
    part = conn["transactions"].to_pandas(["quantity", "line_id"])
    assert list(part.columns) == ["quantity", "line_id"]
    assert len(conn["transactions"]) == 120
    assert conn["transactions"].head(3).shape == (3, 6)
    with pytest.raises(ConnectorError, match=r"no column.*'quantty'.*Did you mean"):
        conn["transactions"].to_pandas(["quantty"])


def test_streams_in_batches(retail_db: Retail) -> None:
    conn, _ = retail_db
    batches = list(conn["transactions"].iter_batches(["line_id", "unit_price"], batch_size=50))
    assert [len(b) for b in batches] == [50, 50, 20]
    assert sorted(pd.concat(batches)["line_id"]) == list(range(1, 121))


def test_types_and_stypes_are_inferred_as_for_files(retail_db: Retail, tmp_path: Path) -> None:
    """Every column gets the dtype and stype the same data gets from a Parquet file
    (SQLite has no timestamp type: its text timestamps still get the timestamp stype)."""
    conn, frames = retail_db
    folder = tmp_path / "files"
    folder.mkdir()
    for name, df in frames.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    files = rg.LocalFileConnector(folder)
    for name in frames:
        from_db = rg.Table.from_source_table(conn[name]).infer_metadata().metadata
        from_file = rg.Table.from_source_table(files[name]).infer_metadata().metadata
        if isinstance(conn, rg.SQLiteConnector):
            text_time = from_file["stype"] == "timestamp"
            assert (from_db.loc[text_time, "dtype"] == "string").all()
            from_db, from_file = from_db.drop(columns="dtype"), from_file.drop(columns="dtype")
        pd.testing.assert_frame_equal(from_db, from_file, obj=name)
    assert {c.name: str(c.stype) for c in conn["invoices"].columns} == {
        c.name: str(c.stype) for c in files["invoices"].columns} | (
        {"invoice_date": "text"} if isinstance(conn, rg.SQLiteConnector) else {})


def test_graph_from_connector_uses_declared_keys(retail_db: Retail) -> None:
    conn, _ = retail_db
    graph = rg.Graph.from_connector(conn)
    assert {n: t.primary_key for n, t in graph.tables.items()} == {
        "customers": "customer_id", "products": "stock_code", "invoices": "invoice_no",
        "transactions": "line_id"}
    assert sorted(map(str, graph.edges)) == sorted(map(str, [
        rg.Edge("invoices", "customer_id", "customers"),
        rg.Edge("transactions", "invoice_no", "invoices"),
        rg.Edge("transactions", "stock_code", "products")]))
    assert graph["invoices"].time_column == "invoice_date"
    graph.validate(verbose=False)
    # only some tables and columns: an edge to a table left out is skipped with a warning
    with pytest.warns(UserWarning, match="'products' is not in the graph"):
        small = rg.Graph.from_connector(conn, ["invoices", "transactions", "customers"],
                                        column_names={"transactions": ["line_id", "invoice_no",
                                                                       "stock_code"]})
    assert list(small["transactions"].data.columns) == ["line_id", "invoice_no", "stock_code"]
    assert len(small.edges) == 2
    with pytest.warns(UserWarning, match="Primary key 'customers.customer_id' is not among"):
        keyless = rg.Graph.from_connector(conn, ["customers"],
                                          column_names={"customers": ["country"]})
    assert keyless["customers"].primary_key is None


def test_validate_checks_catalog_keys_against_the_data(tmp_path: Path) -> None:
    """SQLite lets a TEXT primary key hold NULLs and duplicates it never enforced."""
    path = tmp_path / "bad.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT);"
            "INSERT INTO users VALUES ('u1', 'a'), (NULL, 'b'), (NULL, 'c');"
            "CREATE TABLE visits (vid INTEGER PRIMARY KEY, user_id TEXT REFERENCES users, "
            "at DATETIME); INSERT INTO visits VALUES (1, 'u1', '2024-01-01'), "
            "(2, 'gone', '2024-01-02');")
    graph = rg.Graph.from_connector(rg.SQLiteConnector(path))
    assert [str(e) for e in graph.edges] == [str(rg.Edge("visits", "user_id", "users"))]
    with pytest.raises(GraphError, match=r"Primary key 'users.id' has 2 null values"):
        graph.validate(verbose=False)


def test_files_have_no_catalog_so_links_are_inferred(tmp_path: Path,
                                                     retail: dict[str, pd.DataFrame]) -> None:
    for name, df in retail.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    conn = rg.LocalFileConnector(tmp_path)
    assert conn.table_schema("customers") is None
    graph = rg.Graph.from_connector(conn)
    assert rg.Edge("invoices", "customer_id", "customers") in graph.edges


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_unknown_type_names_the_column_and_the_fix(kind: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path,
                                                   retail: dict[str, pd.DataFrame]) -> None:
    conn = load_database(request, kind, tmp_path, clean_retail(retail), RETAIL_DDL)
    odd = "STRUCT(a INTEGER)" if kind == "duckdb" else "point"
    _sql(conn, [f"ALTER TABLE customers ADD COLUMN place {odd}"], _server(request, conn))
    with pytest.raises(UnsupportedColumnTypeError,
                       match=r"'customers.place' has .* type .*(STRUCT|point).*CREATE VIEW.*"
                             r"column_names") as err:
        rg.Graph.from_connector(conn)
    assert isinstance(err.value, TypeError)
    # reading only the columns the graph uses never touches it
    graph = rg.Graph.from_connector(conn, column_names={"customers": ["customer_id", "country"]})
    graph.validate(verbose=False)


def test_missing_table_and_missing_file(retail_db: Retail, tmp_path: Path) -> None:
    conn, _ = retail_db
    with pytest.raises(TableNotFoundError, match=r"no table 'invoice'.*Did you mean.*invoices"):
        conn["invoice"]
    with pytest.raises(TableNotFoundError):
        rg.Table.from_source_table(conn["nope"])
    for cls in (rg.SQLiteConnector, rg.DuckDBConnector):
        with pytest.raises(DatabaseConnectionError, match=r"does not exist. Check the path"):
            cls(tmp_path / "missing.db").table_names()


def test_postgres_unreachable_and_bad_login(pg_server: TemporaryPostgres) -> None:
    closed = rg.PostgresConnector(host="127.0.0.1", port=1, user="u", password="s3cret-pw",
                                  dbname="x", connect_timeout=3)
    with pytest.raises(DatabaseConnectionError, match=r"Cannot reach PostgreSQL server "
                                                      r"127.0.0.1:1/x.*PGHOST/PGPORT") as err:
        closed.table_names()
    assert "s3cret-pw" not in str(err.value) and isinstance(err.value, ConnectionError)
    params = {**pg_server.params(), "password": "wrong-password-123"}
    with pytest.raises(DatabaseConnectionError, match=r"refused the login.*PGPASSWORD") as err:
        rg.PostgresConnector(**params).table_names()
    assert "wrong-password-123" not in str(err.value)
    with pytest.raises(DatabaseConnectionError, match='database "nope" does not exist'):
        rg.PostgresConnector(**{**pg_server.params(), "dbname": "nope"}).table_names()
    with pytest.raises(ConnectorError, match="Schema 'nope' does not exist"):
        rg.PostgresConnector(**pg_server.params(), schema_name="nope").table_names()


def test_postgres_permission_errors_name_the_table_and_the_grant(
        pg_server: TemporaryPostgres, pg_db: object, request: pytest.FixtureRequest) -> None:
    conn = request.getfixturevalue("pg_db")()
    role = f"reader_{conn.schema_name}"
    _sql(conn, ["CREATE TABLE secrets (id INT PRIMARY KEY, code TEXT)",
                "CREATE TABLE open_t (id INT PRIMARY KEY, note TEXT)",
                f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'",
                f"GRANT USAGE ON SCHEMA {conn.schema_name} TO {role}",
                f"GRANT SELECT ON {conn.schema_name}.open_t TO {role}"], pg_server)
    limited = rg.PostgresConnector(host="127.0.0.1", port=pg_server.port, user=role,
                                   password=f"pw-{role}", dbname=pg_server.dbname,
                                   schema_name=conn.schema_name)
    assert limited.table_names() == ["open_t", "secrets"]
    assert len(limited["open_t"].to_pandas()) == 0
    with pytest.raises(DatabasePermissionError,
                       match=rf"may not read column 'secrets.id'.*GRANT SELECT ON "
                             rf"{conn.schema_name}.secrets TO {role}") as err:
        rg.Graph.from_connector(limited)
    assert isinstance(err.value, PermissionError)
    with pytest.raises(DatabasePermissionError, match=r"may not create tables in schema.*"
                                                      r"GRANT CREATE ON SCHEMA"):
        limited.check_writable(["preds"], "OVERWRITE")
    with pytest.raises(DatabasePermissionError, match=r"may not insert into.*GRANT INSERT"):
        limited.check_writable(["open_t"], "APPEND")


def test_postgres_settings_from_environment(pg_server: TemporaryPostgres,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    params = pg_server.params()
    for key, env in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"),
                     ("password", "PGPASSWORD"), ("dbname", "PGDATABASE")):
        monkeypatch.setenv(env, params[key])
    conn = rg.PostgresConnector()
    assert isinstance(conn.table_names(), list)
    assert conn.location("t") == (f"postgresql://{params['user']}@127.0.0.1:{params['port']}/"
                                  f"{params['dbname']}#public.t")
    dsn = rg.PostgresConnector(f"postgresql://{params['user']}:{params['password']}@127.0.0.1:"
                               f"{params['port']}/{params['dbname']}")
    monkeypatch.delenv("PGPASSWORD")
    assert isinstance(dsn.table_names(), list)


def test_password_never_shown_pickled_or_in_errors(pg_server: TemporaryPostgres) -> None:
    secret = pg_server.password
    conn = rg.PostgresConnector(**pg_server.params())
    conn.table_names()
    assert secret not in repr(conn) and secret not in str(conn.params)
    assert secret not in conn.location("t")
    blob = pickle.dumps(conn)
    assert secret.encode() not in blob
    back = pickle.loads(blob)
    assert back.secret_env() == {} and conn.secret_env() == {"PGPASSWORD": secret}
    uri = rg.PostgresConnector(f"postgresql://u:{secret}@127.0.0.1:1/db", connect_timeout=3)
    assert secret not in repr(uri)
    with pytest.raises(DatabaseConnectionError) as err:
        uri.table_names()
    assert secret not in str(err.value)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_write_modes_and_failed_writes(kind: str, request: pytest.FixtureRequest,
                                       tmp_path: Path) -> None:
    if kind == "postgres":
        conn: DatabaseConnector = request.getfixturevalue("pg_db")()
    else:
        cls = rg.SQLiteConnector if kind == "sqlite" else rg.DuckDBConnector
        conn = cls(tmp_path / "out" / f"o.{kind}")  # created on the first write
    first = pd.DataFrame({"ENTITY": [1, 2, 3], "SCORE": [0.1, 0.2, 0.3],
                          "EMBEDDING": [np.ones(2, np.float32)] * 3})
    loc = conn.write_table(first, "preds")
    assert loc == conn.location("preds") and "preds" in conn.table_names()
    conn.write_table(first.assign(SCORE=[0.5, 0.6, 0.7]), "preds", mode="OVERWRITE")
    assert conn.read_table("preds")["SCORE"].tolist() == [0.5, 0.6, 0.7]
    conn.write_table(first.iloc[:1], "preds", mode=rg.WriteMode.APPEND)
    back = conn.read_table("preds")
    assert back["ENTITY"].tolist() == [1, 2, 3, 1]
    conn.write_table(first.iloc[:2], "fresh", mode="APPEND")  # APPEND creates a missing table
    assert len(conn.read_table("fresh")) == 2
    with pytest.raises(ConnectorError):  # APPEND with other columns fails, in one transaction
        conn.write_table(pd.DataFrame({"OTHER": ["x"]}), "preds", mode="APPEND")
    assert conn.read_table("preds")["ENTITY"].tolist() == [1, 2, 3, 1]
    assert conn.table_names() == ["fresh", "preds"]  # no temporary table left behind
    with pytest.raises(ConnectorError, match="plain SQL identifier"):
        conn.write_table(first, "bad name")


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_user_tables_are_never_replaced(kind: str, request: pytest.FixtureRequest,
                                        tmp_path: Path) -> None:
    """The home's output registry: OVERWRITE refuses a table relgraph did not write;
    APPEND adds rows to it without making it relgraph's. Names follow the output rule."""
    from relgraph.errors import OutputExistsError, OutputNameError

    if kind == "postgres":
        conn: DatabaseConnector = request.getfixturevalue("pg_db")()
    else:
        conn = (rg.SQLiteConnector if kind == "sqlite" else rg.DuckDBConnector)(
            tmp_path / f"user.{kind}")
    _sql(conn, ["CREATE TABLE mine (entity BIGINT, score DOUBLE PRECISION)",
                "INSERT INTO mine VALUES (7, 0.5)"], _server(request, conn))
    df = pd.DataFrame({"entity": [1, 2], "score": [0.1, 0.2]})
    with pytest.raises(OutputExistsError, match="never replaced"):
        conn.write_table(df, "mine")
    conn.write_table(df, "mine", mode="APPEND")
    assert sorted(conn.read_table("mine")["entity"]) == [1, 2, 7]
    with pytest.raises(OutputExistsError):  # appending did not make it relgraph's table
        conn.write_table(df, "mine", mode="OVERWRITE")
    assert sorted(conn.read_table("mine")["entity"]) == [1, 2, 7]
    for bad in ("../mine", "x" * (conn.max_identifier_length + 1)):
        with pytest.raises(OutputNameError, match="plain SQL identifier"):
            conn.write_table(df, bad)
    assert set(conn._list_tables()) == {"mine"}


def test_output_config_takes_database_connectors(tmp_path: Path,
                                                 pg_server: TemporaryPostgres) -> None:
    cfg = rg.OutputConfig(output_connector=rg.DuckDBConnector(tmp_path / "a.duckdb"),
                          output_table_name="churn",
                          connector_specific_config={"write_mode": "append"})
    assert cfg.write_mode is rg.WriteMode.APPEND and cfg.target_folder() is None
    uri = rg.OutputConfig(output_connector=pg_server.uri(), output_table_name="c")
    assert isinstance(uri.output_connector, rg.PostgresConnector)
    from relgraph.errors import JobError

    with pytest.raises(JobError, match="database output connectors only"):
        rg.OutputConfig(output_connector=tmp_path, output_table_name="c",
                        connector_specific_config=rg.DatabaseConnectorConfig("APPEND"))
    with pytest.raises(ConnectorError, match="write_mode must be one of"):
        rg.DatabaseConnectorConfig("UPSERT")  # type: ignore[arg-type]


def test_sqlite_columns_whose_type_changes_late(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite types values, not columns: mixed columns read as a CSV column would."""
    path = tmp_path / "mixed.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, num, txt, late)")
        con.executemany("INSERT INTO m VALUES (?, ?, ?, ?)",
                        [(i, i, i, None) for i in range(300)] + [(300, 1.5, "x", "text")])
    conn = rg.SQLiteConnector(path)
    df = conn["m"].to_pandas()
    assert df["num"].dtype == np.float64 and df["num"].iloc[-1] == 1.5
    assert df["txt"].tolist()[-2:] == ["299", "x"] and df["late"].iloc[-1] == "text"
    # past the first batch of rows the driver types from, mixed columns are cast and re-read
    monkeypatch.setattr(rg.SQLiteConnector, "read_batch_rows", 100)
    again = rg.SQLiteConnector(path)["m"].to_pandas()
    pd.testing.assert_frame_equal(again, df, check_dtype=False)
    assert os.path.exists(path)
