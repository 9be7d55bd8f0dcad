"""Vectorized temporal neighbor sampling over a GraphStore."""

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
