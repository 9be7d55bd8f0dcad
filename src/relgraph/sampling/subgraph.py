"""SampledSubgraph: the per-seed (disjoint) subgraphs of one batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from relgraph.store import EdgeType, GraphStore


@dataclass(repr=False)
class SampledSubgraph:
    """Output of :meth:`~relgraph.sampling.NeighborSampler.sample`.

    Every node type and every message edge type of the store is present as a key,
    with empty tensors where nothing was sampled, so batches have the same keys.

    Attributes:
        seed_table: node type of the seeds.
        seed_time: int64 ``[B]`` anchor time per seed.
        node_dict: int64 ``[N_t]`` global row per node slot; the first ``B`` slots of
            ``node_dict[seed_table]`` are the seeds, in order.
        batch_dict: int64 ``[N_t]`` seed index ``0 .. B - 1`` of each slot.
        hop_dict: int64 ``[N_t]`` hop at which each slot was sampled (0 = seed).
        edge_index_dict: int64 ``[2, E]`` local indices keyed by the edge type in the
            direction of message flow: row 0 indexes ``node_dict[edge_type[0]]``
            (the sampled neighbor), row 1 indexes ``node_dict[edge_type[2]]`` (the
            node that sampled it). Traversing store edge type
            ``(users, rev_user_id, transactions)`` yields messages keyed
            ``(transactions, user_id, users)``.
        num_sampled_nodes: total node slots, seeds included.
    """

    seed_table: str
    seed_time: Tensor
    node_dict: dict[str, Tensor]
    batch_dict: dict[str, Tensor]
    hop_dict: dict[str, Tensor]
    edge_index_dict: dict[EdgeType, Tensor]
    num_sampled_nodes: int

    def __repr__(self) -> str:
        nodes = ", ".join(f"{t}={v.numel()}" for t, v in self.node_dict.items())
        return (
            f"SampledSubgraph(seed_table={self.seed_table!r}, batch_size={self.batch_size}, "
            f"nodes=({nodes}), num_edges={self.num_edges})"
        )

    @property
    def batch_size(self) -> int:
        """Number of seeds."""
        return int(self.seed_time.numel())

    @property
    def num_edges(self) -> int:
        """Total sampled edges."""
        return sum(int(e.shape[1]) for e in self.edge_index_dict.values())

    def _map(self, fn: Callable[[Tensor], Tensor]) -> SampledSubgraph:
        return SampledSubgraph(
            seed_table=self.seed_table,
            seed_time=fn(self.seed_time),
            node_dict={k: fn(v) for k, v in self.node_dict.items()},
            batch_dict={k: fn(v) for k, v in self.batch_dict.items()},
            hop_dict={k: fn(v) for k, v in self.hop_dict.items()},
            edge_index_dict={k: fn(v) for k, v in self.edge_index_dict.items()},
            num_sampled_nodes=self.num_sampled_nodes,
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SampledSubgraph:
        """Copy of every tensor on ``device``."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> SampledSubgraph:
        """Copy with every tensor in page-locked memory (for async host-to-GPU copies)."""
        return self._map(lambda t: t.pin_memory())

    def node_time(self, store: GraphStore) -> dict[str, Tensor | None]:
        """int64 row time of every slot per node type (``None`` for static tables)."""
        out: dict[str, Tensor | None] = {}
        for node_type, rows in self.node_dict.items():
            t = store.time(node_type)
            out[node_type] = None if t is None else t.to(rows.device).index_select(0, rows)
        return out
