"""Comparing two graph stores array by array (shared by the store tests)."""

from __future__ import annotations

import torch

from relgraph.store import GraphStore


def assert_same_store(a: GraphStore, b: GraphStore) -> None:
    """Same node/edge types, metadata and every stored array (dtype and bytes), and the
    same derived CSR views."""
    assert a.node_types == b.node_types and a.edge_types == b.edge_types
    assert a.num_fk_edges == b.num_fk_edges
    for t in a.node_types:
        assert a.num_nodes(t) == b.num_nodes(t)
        ta, tb = a.time(t), b.time(t)
        assert (ta is None) == (tb is None)
        if ta is not None and tb is not None:
            assert ta.dtype == tb.dtype and torch.equal(ta, tb), t
    for et in a.edge_types:
        assert a.fkey_info(et) == b.fkey_info(et)
        ca, cb = a.csr_data(et), b.csr_data(et)
        assert ca.meta() == cb.meta(), et
        assert ca.arrays().keys() == cb.arrays().keys(), et
        for name, arr in ca.arrays().items():
            other = cb.arrays()[name]
            assert arr.dtype == other.dtype, (et, name)
            assert arr.numpy().tobytes() == other.numpy().tobytes(), (et, name)
        for x, y in zip(a.csr(et), b.csr(et)):
            assert (x is None and y is None) or torch.equal(x, y)  # type: ignore[arg-type]
