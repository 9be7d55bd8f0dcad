"""DuckDB's out-of-core options set by ``relgraph.init``: applied to every engine connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import relgraph
from relgraph import config
from relgraph.engine import DuckDBEngine
from relgraph.errors import ConfigError
from relgraph.graph import Graph, Table

pytestmark = pytest.mark.usefixtures("restore_settings")


def _graph() -> Graph:
    df = pd.DataFrame({"id": range(10), "x": range(10)})
    return Graph({"t": Table.from_dataframe(df, "t", primary_key="id")})


def _setting(engine: DuckDBEngine, name: str) -> object:
    return engine.con.execute("SELECT current_setting(?)", [name]).fetchall()[0][0]


def _duckdb_memory(value: str) -> str:
    """How DuckDB itself reports ``memory_limit = value``."""
    with duckdb.connect(config={"memory_limit": value}) as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_init_options_reach_the_engine(tmp_path: Path) -> None:
    spill = tmp_path / "spill" / "nested"
    relgraph.init(tmp_path / "home", duckdb_memory_limit="256MB", duckdb_temp_directory=spill,
                  duckdb_threads=1)
    assert spill.is_dir()  # created by init
    graph = _graph()
    engine = graph.engine
    assert isinstance(engine, DuckDBEngine)
    assert _setting(engine, "memory_limit") == _duckdb_memory("256MB")
    assert _setting(engine, "temp_directory") == str(spill.resolve())
    assert _setting(engine, "threads") == 1
    assert engine.sql(f"SELECT SUM(x) AS s FROM {engine.relation('t')}")["s"][0] == 45
    # an explicit config wins; a later init with defaults gives DuckDB's defaults again
    own = DuckDBEngine(_graph(), config={"memory_limit": "1GB"})
    assert _setting(own, "memory_limit") == _duckdb_memory("1GB")
    relgraph.init(tmp_path / "home")
    assert config.get_settings().duckdb_config() == {}
    with duckdb.connect() as con:
        default = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert _setting(_graph().engine, "memory_limit") == default


def test_int_memory_limit_is_bytes(tmp_path: Path) -> None:
    settings = relgraph.init(tmp_path, duckdb_memory_limit=300 * 2**20)
    assert settings.duckdb_config() == {"memory_limit": f"{300 * 2**20}B"}
    assert _setting(_graph().engine, "memory_limit") == _duckdb_memory("300MiB")


def test_query_larger_than_the_limit_spills(tmp_path: Path) -> None:
    """A table and a sort of ~100 MB under a 48 MB limit complete by spilling to the folder."""
    spill = tmp_path / "spill"
    relgraph.init(tmp_path / "home", duckdb_memory_limit="48MB", duckdb_temp_directory=spill,
                  duckdb_threads=1)
    con = _graph().engine.con
    n = 3_000_000
    con.execute("CREATE TABLE big AS SELECT range AS i, hash(range) AS h, "
                "hash(range + 1) AS g, hash(range + 2) AS k FROM range(?)", [n])
    spilled = con.execute("SELECT path, size FROM duckdb_temporary_files()").fetchall()
    assert spilled and all(Path(p).parent == spill.resolve() for p, _ in spilled)
    assert sum(size for _, size in spilled) > 48 * 10**6
    got = con.execute("SELECT count(*), count(DISTINCT i) FROM "
                      "(SELECT i FROM big ORDER BY h, g, k)").fetchall()
    assert got == [(n, n)]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"duckdb_memory_limit": "lots"}, "duckdb_memory_limit='lots' is not a memory size"),
    ({"duckdb_memory_limit": "0GB"}, "not a memory size"),
    ({"duckdb_memory_limit": -5}, "not a memory size"),
    ({"duckdb_memory_limit": "12"}, "not a memory size"),
    ({"duckdb_threads": 0}, "duckdb_threads=0 is invalid"),
    ({"duckdb_threads": "2"}, "positive int"),
    ({"duckdb_temp_directory": ""}, "not a folder path"),
])
def test_invalid_options(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    before = config._settings
    with pytest.raises(ConfigError, match=match):
        relgraph.init(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert config._settings is before  # a failed init changes nothing


def test_temp_directory_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="cannot be used as a folder"):
        relgraph.init(tmp_path, duckdb_temp_directory=path)


def test_memory_limit_forms(tmp_path: Path) -> None:
    for value in ("512mb", "1.5GB", " 2 GiB ", "50%", "1000000 bytes"):
        assert relgraph.init(tmp_path, duckdb_memory_limit=value).duckdb_memory_limit == \
            value.strip()
        assert _setting(_graph().engine, "memory_limit") == _duckdb_memory(value.strip())
