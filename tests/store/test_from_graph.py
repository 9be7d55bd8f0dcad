"""build_store streams foreign keys in chunks: the same store whatever the chunk size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from store_checks import assert_same_store

from relgraph.errors import GraphError
from relgraph.graph import Edge, Graph, Table
from relgraph.store import GraphStore, csr
from relgraph.store.from_graph import build_store, graph_arrays

START = pd.Timestamp("2023-01-01")


def awkward_graph(seed: int = 0, n_orders: int = 400) -> Graph:
    """Static and temporal tables, string and float keys, nulls, dangling keys, ties, a hub,
    a self-reference, a one-to-one key and a static many-to-one key."""
    rng = np.random.default_rng(seed)
    n_users, n_products = 30, 12
    signup = START + pd.to_timedelta(rng.integers(0, 50, n_users), unit="D")
    referrer = pd.array(rng.integers(0, n_users + 3, n_users), dtype="Int64")
    referrer[[1, 4]] = pd.NA
    users = pd.DataFrame({"user_id": np.arange(n_users, dtype=np.int64), "signup": signup,
                          "referrer_id": referrer})
    users.loc[2, "signup"] = pd.NaT
    cats = pd.DataFrame({"cat": ["a", "b", "c", "d"]})
    products = pd.DataFrame({"code": [f"P{i:02d}" for i in range(n_products)],
                             "cat": rng.choice(["a", "b", "c", "zz"], n_products)})
    user = rng.integers(0, n_users + 2, n_orders).astype(float)  # float keys, some dangling
    user[: n_orders // 3] = 7  # a hub with more neighbors than small chunks hold
    user[rng.random(n_orders) < 0.05] = np.nan
    orders = pd.DataFrame({
        "order_id": np.arange(n_orders, dtype=np.int64),
        "user_id": user,
        "code": np.array([*products["code"].tolist(), "P99"])[
            rng.integers(0, n_products + 1, n_orders)],
        "ts": START + pd.to_timedelta(rng.integers(0, 20, n_orders), unit="D"),  # ties
    })
    orders.loc[rng.random(n_orders) < 0.05, "ts"] = pd.NaT
    receipts = pd.DataFrame({  # one receipt per order (some orders have none): one-to-one
        "receipt_id": np.arange(n_orders // 2, dtype=np.int64),
        "order_id": rng.permutation(n_orders)[: n_orders // 2],
        "at": START + pd.to_timedelta(rng.integers(0, 40, n_orders // 2), unit="D"),
    })
    tables = {
        "users": Table.from_dataframe(users, "users", primary_key="user_id",
                                      time_column="signup"),
        "categories": Table.from_dataframe(cats, "categories", primary_key="cat"),
        "products": Table.from_dataframe(products, "products", primary_key="code"),
        "orders": Table.from_dataframe(orders, "orders", primary_key="order_id",
                                       time_column="ts"),
        "receipts": Table.from_dataframe(receipts, "receipts", primary_key="receipt_id",
                                         time_column="at"),
    }
    return Graph(tables=tables, edges=[
        Edge("users", "referrer_id", "users"),
        Edge("products", "cat", "categories"),
        Edge("orders", "user_id", "users"),
        Edge("orders", "code", "products"),
        Edge("receipts", "order_id", "orders"),
    ])


def reference(graph: Graph) -> GraphStore:
    """The store built from whole arrays (no chunking)."""
    return GraphStore.from_arrays(*graph_arrays(graph))


@pytest.mark.parametrize("chunk_rows", [1, 3, 17, 128, None])
def test_chunked_build_is_identical(chunk_rows: int | None) -> None:
    graph = awkward_graph()
    ref = reference(graph)
    # every layout is exercised: direct with and without times, CSR with and without times
    layouts = {(ref.csr_data(et).is_direct, ref.csr_data(et).is_temporal)
               for et in ref.edge_types}
    assert layouts == {(True, True), (True, False), (False, True), (False, False)}
    assert ref.csr_data(("users", "rev_user_id", "orders")).max_degree > 128
    assert_same_store(build_store(graph, chunk_rows=chunk_rows), ref)


def test_chunked_build_of_the_retail_fixture(retail: dict[str, pd.DataFrame]) -> None:
    t = {
        "customers": Table.from_dataframe(retail["customers"], "customers",
                                          primary_key="customer_id"),
        "products": Table.from_dataframe(retail["products"], "products",
                                         primary_key="stock_code"),
        "invoices": Table.from_dataframe(retail["invoices"], "invoices",
                                         primary_key="invoice_no", time_column="invoice_date"),
        "transactions": Table.from_dataframe(retail["transactions"], "transactions",
                                             primary_key="line_id",
                                             time_column="invoice_date"),
    }
    graph = Graph(tables=t, edges=[Edge("invoices", "customer_id", "customers"),
                                   Edge("transactions", "invoice_no", "invoices"),
                                   Edge("transactions", "stock_code", "products")])
    ref = reference(graph)
    for chunk_rows in (1, 7, None):
        assert_same_store(build_store(graph, chunk_rows=chunk_rows), ref)


def test_rank_time_code_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times too spread for the offset code: the rank code, still identical."""
    graph = awkward_graph(seed=1)
    monkeypatch.setattr(csr, "_KEY_LIMIT", 1000)
    ref = reference(graph)
    assert ref.csr_data(("users", "rev_user_id", "orders")).key_mode == "rank"
    assert_same_store(build_store(graph, chunk_rows=5), ref)


def test_empty_and_all_dangling() -> None:
    users = pd.DataFrame({"user_id": np.arange(5, dtype=np.int64)})
    orders = pd.DataFrame({"order_id": np.arange(4, dtype=np.int64),
                           "user_id": np.array([9, 10, 11, 12], dtype=np.int64),
                           "ts": START + pd.to_timedelta(np.arange(4), unit="D")})
    for frame in (orders, orders.iloc[:0]):
        t = {"users": Table.from_dataframe(users, "users", primary_key="user_id"),
             "orders": Table.from_dataframe(frame.reset_index(drop=True), "orders",
                                            primary_key="order_id", time_column="ts")}
        graph = Graph(tables=t, edges=[Edge("orders", "user_id", "users")])
        store = build_store(graph, chunk_rows=2)
        assert store.num_fk_edges == 0
        assert_same_store(store, reference(graph))


def test_duplicate_referenced_primary_key_is_a_graph_error() -> None:
    """A foreign key into a non-unique primary key has no single row to point at."""
    users = pd.DataFrame({"user_id": np.array([0, 1, 1, 2], dtype=np.int64)})
    orders = pd.DataFrame({"order_id": np.arange(3, dtype=np.int64),
                           "user_id": np.array([0, 1, 2], dtype=np.int64)})
    graph = Graph(tables={"users": Table.from_dataframe(users, "users", primary_key="user_id"),
                          "orders": Table.from_dataframe(orders, "orders",
                                                         primary_key="order_id")},
                  edges=[Edge("orders", "user_id", "users")])
    with pytest.raises(GraphError, match=r"'users.user_id' is not unique.*\[1\]"):
        build_store(graph)


def test_cached_build_matches(tmp_path: Path) -> None:
    graph = awkward_graph(seed=2)
    built = build_store(graph, cache_dir=tmp_path, chunk_rows=9)
    assert built.fingerprint == graph.fingerprint()
    loaded = build_store(graph, cache_dir=tmp_path)  # memory-mapped from the cache
    assert_same_store(loaded, built)
    assert_same_store(built, reference(graph))


def test_fingerprint_is_hashed_in_chunks(monkeypatch: pytest.MonkeyPatch,
                                         retail: dict[str, pd.DataFrame]) -> None:
    """Hashing columns piece by piece (bounded memory) gives the same digest."""
    from relgraph.graph import graph as graph_module

    mixed = pd.DataFrame({"id": np.arange(6), "v": [1, "a", None, 2.5, "c", "b"],
                          "lst": [[1], [2, 3], [], [4], [6, 7], [5]],
                          "cat": pd.Categorical(list("xyzxyx"))})
    graphs = [awkward_graph(), Graph({"m": Table.from_dataframe(mixed, "m")}),
              Graph({n: Table.from_dataframe(df, n) for n, df in retail.items()})]
    whole = [g.fingerprint() for g in graphs]
    monkeypatch.setattr(graph_module, "_HASH_CHUNK", 2)
    assert [g.fingerprint() for g in graphs] == whole
