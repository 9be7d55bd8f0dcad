"""Every query of the PQL golden tests (tests/pquery/test_datasets_golden.py): the Spark
engine's training table equals DuckDB's row for row. The queries and dataset graphs are read
from that module, so new golden queries are covered automatically."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")

from relgraph.engine import use_engine
from relgraph.engine.spark import SparkEngine
from relgraph.errors import EmptyTrainingTableError
from relgraph.graph import Graph
from relgraph.pquery import PredictiveQuery

pytestmark = [pytest.mark.spark, pytest.mark.dataset, pytest.mark.slow]

GOLDEN = Path(__file__).resolve().parents[1] / "pquery" / "test_datasets_golden.py"


def golden_queries() -> list[tuple[str, str]]:
    """``(fixture name, query)`` for every ``PredictiveQuery(<fixture>, "<query>")`` call."""
    found = []
    for node in ast.walk(ast.parse(GOLDEN.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "PredictiveQuery" and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and isinstance(node.args[1], ast.Constant)):
            found.append((node.args[0].id, str(node.args[1].value)))
    return found


QUERIES = golden_queries()


@pytest.fixture(scope="module")
def golden_module() -> Any:
    spec = importlib.util.spec_from_file_location("_rg_golden", GOLDEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def datasets(golden_module: Any, spark: Any) -> dict[str, tuple[Graph, Graph]]:
    cache: dict[str, tuple[Graph, Graph]] = {}

    def get(name: str) -> tuple[Graph, Graph]:
        if name not in cache:
            duck = getattr(golden_module, name).__wrapped__()
            sgraph = Graph(tables=dict(duck.tables), edges=list(duck.edges))
            use_engine(sgraph, SparkEngine(sgraph, spark))
            cache[name] = (duck, sgraph)
        return cache[name]

    return get  # type: ignore[return-value]


def test_golden_queries_found() -> None:
    assert len(QUERIES) >= 10


@pytest.mark.parametrize(("dataset", "query"), QUERIES,
                         ids=[f"{d}-{i}" for i, (d, _) in enumerate(QUERIES)])
def test_golden_training_table_matches_duckdb(datasets: Any, dataset: str, query: str) -> None:
    import pandas as pd

    duck, sgraph = datasets(dataset)
    try:
        a = PredictiveQuery(duck, query).generate_training_table().data_df()
    except EmptyTrainingTableError as err:  # empty on DuckDB: empty on Spark, same reason
        with pytest.raises(EmptyTrainingTableError) as other:
            PredictiveQuery(sgraph, query).generate_training_table()
        assert str(other.value) == str(err)
        return
    b = PredictiveQuery(sgraph, query).generate_training_table().data_df()
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, atol=1e-9)
