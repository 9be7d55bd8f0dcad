"""Graph: tables, links, validation, link inference, edge stats, fingerprint."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import GraphError
from relgraph.graph import Edge, Graph, Stype, Table

EXPECTED_EDGES = {
    ("invoices", "customer_id", "customers"),
    ("transactions", "invoice_no", "invoices"),
    ("transactions", "stock_code", "products"),
    ("transactions", "customer_id", "customers"),
}


def _graph(frames: dict[str, pd.DataFrame]) -> Graph:
    return Graph({name: Table.from_dataframe(df, name) for name, df in frames.items()})


def test_add_remove_tables(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    assert list(graph.tables) == ["customers", "products", "invoices", "transactions"]
    assert graph.has_table("invoices") and graph["invoices"].name == "invoices"
    with pytest.raises(GraphError, match="already has a table 'invoices'"):
        graph.add_table("invoices", graph["invoices"])
    with pytest.raises(GraphError, match=r"needs a relgraph Table.*Table.from_dataframe"):
        graph.add_table("raw", retail["invoices"])  # type: ignore[arg-type]
    with pytest.raises(GraphError, match=r"no table 'invoice'.*Did you mean \['invoices'\]"):
        graph.table("invoice")

    graph.link("invoices", "customer_id", "customers")
    graph.link(Edge("transactions", "invoice_no", "invoices"))
    graph.remove_table("invoices")
    assert not graph.has_table("invoices") and graph.edges == []
    renamed = Table.from_dataframe(retail["invoices"], "x")
    graph.add_table("bills", renamed)
    assert renamed.name == "bills"


def test_link_unlink_and_errors(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)
    graph.link("transactions", "invoice_no", "invoices")
    graph.link(("transactions", "stock_code", "products"))
    graph.link({"src_table": "invoices", "fkey": "customer_id", "dst_table": "customers"})
    assert [tuple(e) for e in graph.edges] == [
        ("transactions", "invoice_no", "invoices"), ("transactions", "stock_code", "products"),
        ("invoices", "customer_id", "customers")]
    assert graph["transactions"]["invoice_no"].stype is Stype.ID  # linking makes it an ID

    with pytest.raises(GraphError, match="already exists"):
        graph.link("transactions", "invoice_no", "invoices")
    with pytest.raises(GraphError, match=r"'invoice_nr' of table 'transactions' does not exist"
                                         r".*Did you mean \['invoice_no'"):
        graph.link("transactions", "invoice_nr", "invoices")
    with pytest.raises(GraphError, match=r"'invoice_no' is the primary key of 'invoices' and "
                                         r"cannot also be a foreign key"):
        graph.link("invoices", "invoice_no", "transactions")
    graph["customers"].primary_key = None
    with pytest.raises(GraphError, match=r"'customers' has no primary key. Set one"):
        graph.link("transactions", "customer_id", "customers")
    with pytest.raises(GraphError, match="no table 'custom'"):
        graph.link("transactions", "customer_id", "custom")
    with pytest.raises(GraphError, match="needs all three names"):
        graph.link("transactions", "customer_id")
    with pytest.raises(GraphError, match="Cannot read"):
        graph.link(42)  # type: ignore[arg-type]
    with pytest.raises(GraphError, match="lacks key"):
        graph.link({"src_table": "transactions"})

    graph.unlink("transactions", "stock_code", "products")
    assert ("transactions", "stock_code", "products") not in [tuple(e) for e in graph.edges]
    with pytest.raises(GraphError, match="does not exist"):
        graph.unlink("transactions", "stock_code", "products")


def test_validate_fk_pk_dtype_mismatch(retail: dict[str, pd.DataFrame]) -> None:
    frames = dict(retail)
    frames["customers"] = retail["customers"].assign(
        customer_id=retail["customers"]["customer_id"].map(lambda v: f"C{v}"))
    graph = _graph(frames)
    graph.link("invoices", "customer_id", "customers")
    with pytest.raises(GraphError, match=r"foreign key 'invoices.customer_id' has dtype 'int64' "
                                         r"but primary key 'customers.customer_id' has dtype "
                                         r"'string'. Cast one of them"):
        graph.validate()


def test_validate_float_fk_to_int_pk(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail)  # transactions.customer_id is float64 with NaNs
    graph.link("transactions", "customer_id", "customers")
    graph.validate(verbose=False)
    frames = dict(retail)
    frames["transactions"] = retail["transactions"].assign(customer_id=1.5)
    graph = _graph(frames)
    graph.link("transactions", "customer_id", "customers")
    with pytest.raises(GraphError, match="has dtype 'float64'"):
        graph.validate()


def test_validate_after_metadata_changes(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail).link("invoices", "customer_id", "customers")
    graph["customers"].primary_key = None
    with pytest.raises(GraphError, match=r"'customers' has no primary key.*graph.unlink"):
        graph.validate()
    graph = _graph(retail).link("invoices", "customer_id", "customers")
    graph["invoices"].remove_column("customer_id")
    with pytest.raises(GraphError, match=r"was removed.*graph.unlink"):
        graph.validate()
    with pytest.raises(GraphError, match="no tables"):
        Graph().validate()


def test_infer_links_and_validate(retail: dict[str, pd.DataFrame],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    graph = _graph(retail).infer_links()
    assert {tuple(e) for e in graph.edges} == EXPECTED_EDGES
    graph.validate()
    assert "Graph is valid: 4 tables, 4 edges." in capsys.readouterr().out
    graph.infer_links()  # idempotent
    assert len(graph.edges) == 4


def test_infer_links_by_value_overlap() -> None:
    # "buyer" shares no name with "accounts.handle" but its string values all match.
    rng = np.random.default_rng(0)
    handles = [f"user_{i:03d}" for i in range(50)]
    accounts = pd.DataFrame({"handle": handles, "age": rng.integers(18, 80, 50)})
    orders = pd.DataFrame({"order_id": range(200), "buyer": rng.choice(handles, 200),
                           "amount": rng.normal(size=200),
                           "qty": rng.integers(0, 50, 200)})
    graph = Graph({"accounts": Table.from_dataframe(accounts, "accounts", primary_key="handle"),
                   "orders": Table.from_dataframe(orders, "orders")})
    graph.infer_links()
    # qty is an int in the pk's range by chance: ints are linked only by name, never by values.
    assert [tuple(e) for e in graph.edges] == [("orders", "buyer", "accounts")]


def test_get_edge_stats(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail).infer_links()
    stats = graph.get_edge_stats().set_index("edge")
    assert list(stats.columns) == ["total_num_edges", "num_matched", "pct_matched"]
    row = stats.loc["invoices.customer_id -> customers"]
    assert row["total_num_edges"] == 37 and row["num_matched"] == 35  # 3 null, 2 dangling
    row = stats.loc["transactions.stock_code -> products"]
    assert row["total_num_edges"] == 120 and row["num_matched"] == 116
    assert row["pct_matched"] == pytest.approx(100 * 116 / 120)
    assert stats.loc["transactions.invoice_no -> invoices", "pct_matched"] == 100.0


def test_fingerprint(retail: dict[str, pd.DataFrame]) -> None:
    fp = _graph(retail).infer_links().fingerprint()
    assert fp == _graph(retail).infer_links().fingerprint()  # deterministic
    changed = dict(retail)
    changed["transactions"] = retail["transactions"].copy()
    changed["transactions"].loc[5, "quantity"] += 1
    assert _graph(changed).infer_links().fingerprint() != fp
    graph = _graph(retail).infer_links()
    graph.unlink("transactions", "stock_code", "products")
    assert graph.fingerprint() != fp
    graph = _graph(retail).infer_links()
    graph["customers"]["country"].stype = "text"
    assert graph.fingerprint() != fp


def test_fingerprint_with_list_columns() -> None:
    df = pd.DataFrame({"id": [1, 2], "tags": [["a", "b"], ["c"]],
                       "emb": [np.array([0.1, 0.2]), np.array([0.3, 0.4])]})
    graph = Graph({"items": Table.from_dataframe(df, "items")})
    assert graph["items"].primary_key == "id"
    fp = graph.fingerprint()
    df2 = df.copy()
    df2.at[1, "emb"] = np.array([0.3, 0.5])
    assert Graph({"items": Table.from_dataframe(df2, "items")}).fingerprint() != fp


def test_print_definition_and_to_dict(retail: dict[str, pd.DataFrame],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    graph = _graph(retail).infer_links()
    graph.print_definition()
    out = capsys.readouterr().out
    assert "Table transactions (120 rows)" in out and "Edges:" in out
    assert "  transactions.stock_code -> products" in out
    spec = graph.to_dict()
    assert spec["tables"]["invoices"]["time_column"] == "invoice_date"
    assert ["invoices", "customer_id", "customers"] in spec["edges"]
    Graph({"c": Table.from_dataframe(retail["customers"], "c")}).print_definition()
    assert "Edges: none" in capsys.readouterr().out


def test_pickle_and_copy_drop_engine(retail: dict[str, pd.DataFrame]) -> None:
    graph = _graph(retail).infer_links()
    engine = graph.engine
    engine.relation("customers")
    assert graph.engine is engine and "engine" not in " ".join(vars(graph))
    for clone in (pickle.loads(pickle.dumps(graph)), copy.deepcopy(graph), copy.copy(graph)):
        assert clone.engine is not engine and clone.engine is clone.engine
        assert {tuple(e) for e in clone.edges} == EXPECTED_EDGES
        assert clone.fingerprint() == graph.fingerprint()


def test_engine_lives_with_its_graph(retail: dict[str, pd.DataFrame]) -> None:
    """The engine layer's cache holds a graph's engine, not the graph: dropping the graph
    drops its engine; an engine outliving its graph says so."""
    graph = _graph(retail)
    engine = weakref.ref(graph.engine)
    held = graph.engine
    del graph
    gc.collect()
    with pytest.raises(GraphError, match="keep a reference to the graph"):
        held.relation("customers")
    del held
    gc.collect()
    assert engine() is None


def test_infer_links_releases_borrowed_primary_key() -> None:
    # film_category's only unique column is film_id: inferred as its primary key, but it is
    # film's key, so infer_links turns it back into a foreign key.
    films = pd.DataFrame({"film_id": range(1, 31), "title": [f"Film {i}" for i in range(30)]})
    categories = pd.DataFrame({"category_id": range(1, 5), "name": ["a", "b", "c", "d"]})
    film_category = pd.DataFrame({"film_id": range(1, 31),
                                  "category_id": [1 + i % 4 for i in range(30)]})
    graph = Graph({n: Table.from_dataframe(df, n) for n, df in (
        ("film", films), ("category", categories), ("film_category", film_category))})
    assert graph["film_category"].primary_key == "film_id"
    graph.infer_links()
    assert graph["film_category"].primary_key is None
    assert {tuple(e) for e in graph.edges} == {("film_category", "film_id", "film"),
                                              ("film_category", "category_id", "category")}
    graph.validate(verbose=False)

    # A primary key the user chose is kept.
    graph = Graph({n: Table.from_dataframe(df, n) for n, df in (
        ("film", films), ("film_category", film_category))})
    graph["film_category"].primary_key = "film_id"
    graph.infer_links()
    assert graph["film_category"].primary_key == "film_id" and graph.edges == []
