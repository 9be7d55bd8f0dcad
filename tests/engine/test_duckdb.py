"""DuckDBEngine: relation contents, time columns, re-registration, bound parameters."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from relgraph.engine import ROW_COLUMN, TIME_COLUMN, DuckDBEngine, quote_ident
from relgraph.errors import GraphError
from relgraph.graph import Graph, Table


def _graph(frames: dict[str, pd.DataFrame]) -> Graph:
    return Graph({name: Table.from_dataframe(df, name) for name, df in frames.items()})


def test_quote_ident() -> None:
    assert quote_ident('we"ird') == '"we""ird"'


def test_relation_contents(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    engine = graph.engine
    assert isinstance(engine, DuckDBEngine) and graph.engine is engine
    rel = engine.relation("invoices")
    assert rel == '"invoices"'
    out = engine.sql(f"SELECT * FROM {rel} ORDER BY {ROW_COLUMN}")
    assert list(out.columns) == ["invoice_no", "customer_id", "invoice_date", ROW_COLUMN,
                                 TIME_COLUMN]
    assert out[ROW_COLUMN].tolist() == list(range(40))
    assert out["invoice_no"].tolist() == retail["invoices"]["invoice_no"].tolist()
    expected = (retail["invoices"]["invoice_date"] - pd.Timestamp("1970-01-01")) \
        // pd.Timedelta(seconds=1)
    assert out[TIME_COLUMN].tolist() == expected.tolist()
    assert out["customer_id"].isna().sum() == 3

    types = dict(engine.sql(f"DESCRIBE {rel}")[["column_name", "column_type"]].values)
    assert types["invoice_date"] == "TIMESTAMP"
    assert types[ROW_COLUMN] == "BIGINT" and types[TIME_COLUMN] == "BIGINT"

    static = engine.sql(f"SELECT * FROM {engine.relation('customers')}")
    assert TIME_COLUMN not in static.columns and ROW_COLUMN in static.columns


def test_time_column_tz_aware_strings_epochs_and_nulls() -> None:
    aware = pd.to_datetime(["2021-01-01 01:00", "2021-07-01 02:00", None]) \
        .tz_localize("Europe/Berlin")
    frames = {
        "a": pd.DataFrame({"id": [1, 2, 3], "t": aware}),
        "s": pd.DataFrame({"id": [1, 2, 3],
                           "t": ["2021-01-01T00:00:00Z", None, "2021-01-01 03:00:00+03:00"]}),
        "e": pd.DataFrame({"id": [1, 2, 3], "timestamp": pd.array(
            [1609459200, None, 1625097600], dtype="Int64")}),
    }
    graph = Graph({n: Table(df, name=n, primary_key="id", time_column="t" if n != "e"
                            else "timestamp").infer_metadata() for n, df in frames.items()})
    eng = graph.engine
    a = eng.sql(f"SELECT t, {TIME_COLUMN} FROM {eng.relation('a')} ORDER BY {ROW_COLUMN}")
    assert a[TIME_COLUMN].tolist()[:2] == [1609459200, 1625097600]  # converted to UTC
    assert pd.isna(a[TIME_COLUMN].iloc[2]) and pd.isna(a["t"].iloc[2])
    assert a["t"].iloc[0] == pd.Timestamp("2021-01-01 00:00")  # naive UTC
    s = eng.sql(f"SELECT {TIME_COLUMN} AS x FROM {eng.relation('s')} ORDER BY {ROW_COLUMN}")
    assert s["x"].iloc[0] == 1609459200 and pd.isna(s["x"].iloc[1])
    assert s["x"].iloc[2] == 1609459200
    e = eng.sql(f"SELECT * FROM {eng.relation('e')} ORDER BY {ROW_COLUMN}")
    assert e[TIME_COLUMN].iloc[2] == 1625097600 and pd.isna(e[TIME_COLUMN].iloc[1])
    assert e["timestamp"].iloc[0] == pd.Timestamp("2021-01-01")
    nulls = eng.sql(f"SELECT count(*) AS n FROM {eng.relation('a')} WHERE {TIME_COLUMN} IS NULL")
    assert nulls["n"].iloc[0] == 1


def test_reregistration_after_change(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    eng = graph.engine
    first = eng.sql(f"SELECT * FROM {eng.relation('customers')}")
    assert len(first) == 20 and "country" in first.columns

    graph["customers"].remove_column("country")
    cols = eng.sql(f"SELECT * FROM {eng.relation('customers')}").columns
    assert "country" not in cols

    # Replace the table object; even if the new one reused the old one's id(), the engine
    # must not serve the stale relation.
    graph.remove_table("customers")
    gc.collect()
    graph.add_table("customers", Table.from_dataframe(retail["customers"].head(5), "customers"))
    assert len(eng.sql(f"SELECT * FROM {eng.relation('customers')}")) == 5

    graph["invoices"].time_column = None
    cols = eng.sql(f"SELECT * FROM {eng.relation('invoices')}").columns
    assert TIME_COLUMN not in cols


def test_bound_parameters_and_arrow(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    eng = graph.engine
    rel = eng.relation("transactions")
    q = f"SELECT line_id FROM {rel} WHERE stock_code = ? AND quantity >= ? ORDER BY line_id"
    out = eng.sql(q, ["P999", -5])
    tx = retail["transactions"]
    assert out["line_id"].tolist() == tx.loc[tx["stock_code"] == "P999", "line_id"].tolist()
    named = eng.sql(f"SELECT count(*) AS n FROM {rel} WHERE quantity < $q", {"q": 0})
    assert named["n"].iloc[0] == int((tx["quantity"] < 0).sum())
    # a hostile value stays a value
    assert len(eng.sql(f"SELECT * FROM {rel} WHERE invoice_no = ?", ["x' OR '1'='1"])) == 0
    table = eng.arrow(f"SELECT line_id, {TIME_COLUMN} FROM {rel} WHERE line_id <= $n",
                      {"n": 3})
    assert isinstance(table, pa.Table) and table.num_rows == 3
    assert table.schema.field(TIME_COLUMN).type == pa.int64()


def test_special_columns() -> None:
    df = pd.DataFrame({"id": [1, 2], "empty": [None, None], "tags": [["a"], ["b", "c"]],
                       'we"ird name': [1.0, 2.0]})
    graph = Graph({"x": Table.from_dataframe(df, "x")})
    eng = graph.engine
    types = dict(eng.sql(f"DESCRIBE {eng.relation('x')}")[["column_name", "column_type"]].values)
    assert types["empty"] == "VARCHAR"  # not DuckDB's untyped NULL
    assert types["tags"] == "VARCHAR[]"
    weird = quote_ident('we"ird name')
    out = eng.sql(f"SELECT {weird} AS w FROM {eng.relation('x')}")
    assert out["w"].tolist() == [1.0, 2.0]


def test_unconvertible_column_raises_graph_error() -> None:
    df = pd.DataFrame({"id": [1, 2], "mixed": [1, "a"]})
    graph = Graph({"x": Table.from_dataframe(df, "x")})
    with pytest.raises(GraphError, match="cannot be loaded into DuckDB"):
        graph.engine.relation("x")


def test_register_all_and_unknown(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    graph.engine.register_all()
    names = set(graph.engine.sql("SELECT table_name FROM duckdb_tables()")["table_name"])
    assert names == set(retail)
    with pytest.raises(GraphError, match="no table"):
        graph.engine.relation("nope")
    assert np.int64(graph.engine.sql("SELECT 1 AS one")["one"].iloc[0]) == 1
