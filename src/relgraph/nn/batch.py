"""What the model reads for one batch of seeds."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from relgraph.nn.gnn import EdgeType


@dataclass
class Batch:
    """The sampled subgraphs of a batch of seeds and everything known about the seeds.

    Attributes:
        x_dict: ``{table: {column: tensor}}``, the encoded columns of the sampled rows.
        node_dict: ``{table: rows}``, the sampled rows (row indices of each table).
        batch_dict: ``{table: seed index}`` of every sampled row.
        hop_dict: ``{table: hop}`` of every sampled row (0 for the seeds).
        time_dict: ``{table: time}`` of the sampled rows of tables with a time column.
        seed_time: ``[B]`` anchor times (epoch seconds).
        edge_index_dict: message edges ``(src, rel, dst) -> [2, E]`` (local indices).
        degree_dict: ``{table: features}``, visible degree and recency of sampled rows.
        seed_features: ``[B, F]`` standardized relational features of the seeds, or None.
        past_targets: ``[B, K]`` the seeds' own past targets (``NaN`` unknown), or None.
        base_prediction: ``[B, C]`` another learner's decoded prediction that a residual
            model corrects (:class:`relgraph.nn.offset.OutputOffset`), or None.
    """

    x_dict: dict[str, dict[str, Tensor]]
    node_dict: dict[str, Tensor]
    batch_dict: dict[str, Tensor]
    hop_dict: dict[str, Tensor]
    time_dict: dict[str, Tensor]
    seed_time: Tensor
    edge_index_dict: dict[EdgeType, Tensor]
    degree_dict: dict[str, Tensor]
    seed_features: Tensor | None = None
    past_targets: Tensor | None = None
    base_prediction: Tensor | None = None

    @property
    def num_seeds(self) -> int:
        return int(self.seed_time.numel())
