"""Vectorized temporal neighbor sampling over a :class:`~relgraph.store.GraphStore`.

Example::

    from relgraph.sampling import NeighborSampler, SubgraphLoader

    sampler = NeighborSampler(store, [{"default": 16, "users.user_id->txns.user_id": 64}, 8],
                              strategy="uniform", pkeys={"users": "user_id"})
    sub = sampler.sample("users", seed_rows, seed_time)  # int64 tensors [B]
    sub.node_dict["txns"], sub.edge_index_dict[("txns", "user_id", "users")]

    for positions, sub in SubgraphLoader(sampler, "users", rows, times, batch_size=512,
                                         shuffle=True, num_workers=1):
        ...

Semantics (see :class:`NeighborSampler`): per-seed disjoint, tree-shaped subgraphs;
at every hop each new node samples up to ``k`` neighbors per edge type among those
with time ``<=`` its seed's anchor time (static tables are always visible, NULL
times never are). Messages flow from a sampled neighbor to the node that sampled it,
keyed by the reversed store edge type. The sampler never loops over nodes or seeds
in Python and runs the same torch code on CPU and CUDA tensors.
"""

from __future__ import annotations

from relgraph.sampling.loader import SubgraphLoader
from relgraph.sampling.neighbor_sampler import NeighborSampler
from relgraph.sampling.num_neighbors import edge_type_key, resolve_num_neighbors
from relgraph.sampling.subgraph import SampledSubgraph

__all__ = [
    "NeighborSampler",
    "SampledSubgraph",
    "SubgraphLoader",
    "edge_type_key",
    "resolve_num_neighbors",
]
