"""How many neighbors of each kind a row has at the anchor time.

Sampling caps every row at a few neighbors per edge type, so a GNN cannot tell a
customer with 16 orders from one with 500. The visible degree (neighbors with time at
or before the anchor) restores that signal; it costs one binary search per node and
reverse edge type.
"""

from __future__ import annotations

import torch
from torch import Tensor

from relgraph.store import EdgeType, GraphStore


def degree_edge_types(store: GraphStore) -> dict[str, list[EdgeType]]:
    """Per node type, the reverse (one-to-many) edge types whose degree is a feature."""
    out: dict[str, list[EdgeType]] = {t: [] for t in store.node_types}
    for et in store.edge_types:
        if store.fkey_info(et).direction == "reverse":
            out[et[0]].append(et)
    return out


def visible_degree(store: GraphStore, edge_types: list[EdgeType], rows: Tensor,
                   anchor: Tensor) -> Tensor:
    """``log1p`` of the number of neighbors visible at ``anchor``: ``[n, len(edge_types)]``."""
    cols = []
    for et in edge_types:
        csr = store.csr_data(et)
        rowptr = csr.rowptr
        start = rowptr.index_select(0, rows).long()
        if csr.is_temporal and not csr.is_direct:
            stop = csr.visible_stop(rows, start, anchor)
        else:
            stop = rowptr.index_select(0, rows + 1).long()
        cols.append((stop - start).clamp(min=0))
    if not cols:
        return torch.zeros(rows.numel(), 0, device=rows.device)
    return torch.log1p(torch.stack(cols, dim=1).to(torch.float32))
