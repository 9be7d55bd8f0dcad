"""A real PostgreSQL server (started once per session) and per-test databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from dbhelpers import KINDS, RETAIL_DDL, clean_retail, load_database

import relgraph as rg
from relgraph.connector import DatabaseConnector
from relgraph.testing.postgres import TemporaryPostgres, unavailable_reason


@pytest.fixture(autouse=True)
def _home(tmp_path: Path) -> Iterator[None]:
    """A private relgraph home per test: a connector's writes are recorded in the home's
    output registry (relgraph never replaces a table it did not write)."""
    from relgraph import config

    saved = config._settings
    rg.init(home=tmp_path / "rg-home", device="cpu")
    try:
        yield
    finally:
        config._settings = saved


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TemporaryPostgres]:
    """A PostgreSQL server for this test session (skipped where it cannot run)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def pg_db(pg_server: TemporaryPostgres) -> Iterator[Callable[[], rg.PostgresConnector]]:
    """A fresh empty schema per test; yields a factory of connectors to it (password, TCP)."""
    import uuid

    import adbc_driver_postgresql.dbapi as adbc_pg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    with adbc_pg.connect(pg_server.uri()) as con, con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        con.commit()

    def make() -> rg.PostgresConnector:
        return rg.PostgresConnector(**pg_server.params(), schema_name=schema)

    yield make
    with adbc_pg.connect(pg_server.uri()) as con, con.cursor() as cur:
        cur.execute(f"DROP SCHEMA {schema} CASCADE")
        con.commit()


@pytest.fixture(params=KINDS)
def retail_db(request: pytest.FixtureRequest, tmp_path: Path,
              retail: dict[str, pd.DataFrame]) -> tuple[DatabaseConnector, dict[str, pd.DataFrame]]:
    """The clean retail database in each kind of database, and its frames."""
    frames = clean_retail(retail)
    return load_database(request, request.param, tmp_path, frames, RETAIL_DDL), frames
