"""Graph store: node counts, row times and time-sorted CSR adjacency per edge type."""

from __future__ import annotations

from relgraph.store.arrays import NEVER_VISIBLE, EdgeArrays, TableArrays
from relgraph.store.csr import CSR
from relgraph.store.graph_store import (
    EdgeType,
    FKeyInfo,
    GraphStore,
    fingerprint_arrays,
    reverse_edge_type,
)

__all__ = [
    "CSR",
    "NEVER_VISIBLE",
    "EdgeArrays",
    "EdgeType",
    "FKeyInfo",
    "GraphStore",
    "TableArrays",
    "fingerprint_arrays",
    "reverse_edge_type",
]
