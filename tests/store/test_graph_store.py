"""GraphStore: CSR construction, time order, layouts, errors and .to()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relgraph.errors import GraphError
from relgraph.store import NEVER_VISIBLE, EdgeArrays, GraphStore, TableArrays
from relgraph.testing.synthetic_arrays import random_arrays, retail_arrays

EDGE_TYPES = [
    ("users", "referrer_id", "users"),
    ("users", "rev_referrer_id", "users"),
    ("transactions", "user_id", "users"),
    ("users", "rev_user_id", "transactions"),
    ("transactions", "item_id", "items"),
    ("items", "rev_item_id", "transactions"),
    ("reviews", "user_id", "users"),
    ("users", "rev_user_id", "reviews"),
    ("reviews", "txn_id", "transactions"),
    ("transactions", "rev_txn_id", "reviews"),
]


def _expected_neighbors(tables, edges, et):
    """Per row, the (neighbor, time) pairs of edge type ``et`` from the raw inputs."""
    out: dict[int, list[tuple[int, int | None]]] = {}
    for e in edges:
        fwd = (e.src_table, e.fkey, e.dst_table)
        rev = (e.dst_table, "rev_" + e.fkey, e.src_table)
        if et == fwd:
            pairs, nbr_table = zip(e.src_rows, e.dst_rows), e.dst_table
        elif et == rev:
            pairs, nbr_table = zip(e.dst_rows, e.src_rows), e.src_table
        else:
            continue
        t = tables[nbr_table].time
        for r, n in pairs:
            out.setdefault(int(r), []).append((int(n), None if t is None else int(t[n])))
    return out


@pytest.mark.parametrize("key_mode", ["auto", "rank"])
@pytest.mark.parametrize("allow_direct", [True, False], ids=["direct", "csr-only"])
def test_csr_matches_inputs_and_is_time_sorted(key_mode: str, allow_direct: bool) -> None:
    tables, edges = random_arrays(seed=3)
    store = GraphStore._build(tables, edges, None, key_mode=key_mode, allow_direct=allow_direct)
    assert store.edge_types == EDGE_TYPES
    assert store.node_types == ["users", "items", "transactions", "reviews"]
    for et in store.edge_types:
        rowptr, col, nbr_time = store.csr(et)
        assert rowptr.numel() == store.num_nodes(et[0]) + 1
        expected = _expected_neighbors(tables, edges, et)
        for r in range(store.num_nodes(et[0])):
            a, b = int(rowptr[r]), int(rowptr[r + 1])
            got_n = col[a:b].tolist()
            want = expected.get(r, [])
            assert sorted(got_n) == sorted(n for n, _ in want)
            if nbr_time is None:
                assert tables[et[2]].time is None
                # static: equal "times", so descending tie rank (= neighbor row here)
                assert sorted((n for n, _ in want), reverse=True) == got_n
            else:
                got_t = nbr_time[a:b].tolist()
                assert got_t == sorted(got_t)
                # equal times: descending tie rank, so "last" keeps the smaller keys
                assert [(n, t) for n, t in sorted(want, key=lambda p: (p[1], -p[0]))] == list(
                    zip(got_n, got_t)
                )


def test_direction_metadata_and_dtypes() -> None:
    tables, edges = random_arrays(seed=1)
    store = GraphStore.from_arrays(tables, edges)
    info = store.fkey_info(("users", "rev_user_id", "transactions"))
    assert info == ("transactions", "user_id", "users", "reverse")
    assert store.fkey_info(("transactions", "user_id", "users")).direction == "forward"
    c = store.csr_data(("transactions", "user_id", "users"))
    assert c.is_direct and c.max_degree == 1
    rowptr, col, nbr_time = store.csr(("users", "rev_user_id", "transactions"))
    assert rowptr.dtype == torch.int32 and col.dtype == torch.int32
    assert nbr_time is not None and nbr_time.dtype == torch.int64
    assert store.time("users") is None and store.time("transactions") is not None
    assert not store.has_time("items")


def test_null_times_are_kept_as_never_visible() -> None:
    tables, edges = random_arrays(seed=5, null_time_frac=0.3)
    store = GraphStore.from_arrays(tables, edges)
    _, _, nbr_time = store.csr(("users", "rev_user_id", "transactions"))
    assert nbr_time is not None and bool((nbr_time == NEVER_VISIBLE).any())


def test_bytes_per_edge_retail_small() -> None:
    tables, edges = retail_arrays(scale=0.01)
    store = GraphStore.from_arrays(tables, edges)
    assert store.num_fk_edges == 2 * 20_000
    assert store.nbytes_per_edge() <= 24


def test_empty_edges_and_tables() -> None:
    tables = {"a": TableArrays(3), "b": TableArrays(0, np.zeros(0, np.int64))}
    empty = np.zeros(0, np.int64)
    store = GraphStore.from_arrays(tables, [EdgeArrays("b", "a_id", "a", empty, empty)])
    assert store.num_edges(("a", "rev_a_id", "b")) == 0
    assert store.nbytes_per_edge() == 0.0


@pytest.mark.parametrize(
    ("edge", "match"),
    [
        (
            EdgeArrays("t", "u_id", "missing", np.zeros(1, np.int64), np.zeros(1, np.int64)),
            "not in",
        ),
        (EdgeArrays("t", "u_id", "u", np.zeros(2, np.int64), np.zeros(1, np.int64)), "aligned"),
        (EdgeArrays("t", "u_id", "u", np.array([0]), np.array([7])), r"outside \[0, 2\)"),
        (EdgeArrays("t", "rev_x", "u", np.array([0]), np.array([1])), "reserved"),
    ],
)
def test_invalid_edges_raise(edge: EdgeArrays, match: str) -> None:
    tables = {"t": TableArrays(2, np.array([1, 2])), "u": TableArrays(2)}
    with pytest.raises(GraphError, match=match):
        GraphStore.from_arrays(tables, [edge])


def test_invalid_time_and_unknown_names_raise() -> None:
    with pytest.raises(GraphError, match="one int64"):
        GraphStore.from_arrays({"t": TableArrays(3, np.array([1, 2]))}, [])
    with pytest.raises(GraphError, match="int64 epoch"):
        GraphStore.from_arrays({"t": TableArrays(2, np.array([1.0, 2.0]))}, [])
    store = GraphStore.from_arrays(*random_arrays(seed=0))
    with pytest.raises(GraphError, match="valid edge types"):
        store.csr(("users", "nope", "items"))
    with pytest.raises(GraphError, match="valid node types"):
        store.num_nodes("nope")
    with pytest.raises(GraphError, match="twice"):
        tables, edges = random_arrays(seed=0)
        GraphStore.from_arrays(tables, [*edges, edges[0]])


def test_to_same_device_is_identity_and_copy_matches() -> None:
    store = GraphStore.from_arrays(*random_arrays(seed=2))
    assert store.to("cpu") is store
    assert store.device == torch.device("cpu")
    assert "GraphStore(" in repr(store)
    meta = store.to("meta")  # exercises the copy path without a GPU
    assert meta.device == torch.device("meta")
    assert meta.edge_types == store.edge_types
    for et in store.edge_types:
        assert meta.csr_data(et).meta() == store.csr_data(et).meta()
        assert all(t.is_meta for t in meta.csr_data(et).arrays().values())
