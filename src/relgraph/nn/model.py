"""The full node-prediction model: column encoders, time encoding, GNN and head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from relgraph.encoder import TableEncoder, TableFeatures
from relgraph.nn.gnn import EdgeType, HeteroGNN
from relgraph.nn.layers import mlp
from relgraph.nn.temporal import RelativeTimeEncoder


@dataclass(frozen=True)
class ModelSpec:
    """Architecture choices of one trained model (what is needed to rebuild it)."""

    channels: int = 64
    num_layers: int = 2
    aggr: tuple[str, ...] = ("sum", "mean", "max")
    num_pre_layers: int = 0
    num_post_layers: int = 1
    act: str = "relu"
    norm: str | None = "layer_norm"
    dropout: float = 0.0
    out_channels: int = 1


class RelGraphModel(nn.Module):
    """Encodes every sampled row, passes messages toward the seeds and predicts per seed.

    Args:
        features: fitted column encoders per table (``TableFeatures``).
        time_tables: tables with a time column (their rows get a relative-time encoding).
        edge_types: message edge types present in the graph.
        seed_table: the entity table whose rows are the seeds.
        spec: architecture choices.
    """

    def __init__(self, features: Mapping[str, TableFeatures], time_tables: Sequence[str],
                 edge_types: Sequence[EdgeType], seed_table: str, spec: ModelSpec,
                 degree_dims: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.seed_table = seed_table
        node_types = list(features)
        c = spec.channels
        self.encoders = nn.ModuleDict({t: TableEncoder(features[t], c) for t in node_types})
        self.time_tables = [t for t in time_tables if t in features]
        self.time_encoder = RelativeTimeEncoder(c)
        self.hop_emb = nn.Embedding(8, c)
        self.degree = nn.ModuleDict({t: nn.Linear(k, c) for t, k in (degree_dims or {}).items()
                                     if k > 0 and t in features})
        self.pre = nn.ModuleDict({
            t: mlp(c, c, c, spec.num_pre_layers, spec.act, spec.norm, spec.dropout)
            for t in node_types
        }) if spec.num_pre_layers > 0 else None
        self.gnn = HeteroGNN(node_types, edge_types, c, spec.num_layers, spec.aggr, spec.act,
                             spec.norm, spec.dropout)
        self.head = mlp(c, c, spec.out_channels, spec.num_post_layers, spec.act, spec.norm,
                        spec.dropout)

    def embed(self, x_dict: Mapping[str, Mapping[str, Tensor]], node_dict: Mapping[str, Tensor],
              batch_dict: Mapping[str, Tensor], hop_dict: Mapping[str, Tensor],
              time_dict: Mapping[str, Tensor], seed_time: Tensor,
              edge_index_dict: Mapping[EdgeType, Tensor],
              degree_dict: Mapping[str, Tensor] | None = None) -> Tensor:
        """Seed embeddings ``[B, channels]`` for a sampled subgraph.

        ``x_dict[t]`` holds the column tensors of the sampled rows of table ``t``;
        ``time_dict[t]`` their times (tables with a time column only); ``degree_dict[t]``
        their visible degrees (see :mod:`relgraph.nn.degree`).
        """
        h: dict[str, Tensor] = {}
        for t, rows in node_dict.items():
            if t not in self.encoders:
                continue
            n = rows.numel()
            v = self.encoders[t](x_dict[t], n)
            v = v + self.hop_emb(hop_dict[t].clamp(max=7))
            if t in time_dict:
                age = seed_time[batch_dict[t]] - time_dict[t]
                v = v + self.time_encoder(age)
            if degree_dict is not None and t in degree_dict and t in self.degree:
                v = v + self.degree[t](degree_dict[t])
            if self.pre is not None:
                v = v + self.pre[t](v)
            h[t] = v
        edges = {et: ei for et, ei in edge_index_dict.items()
                 if et[0] in h and et[2] in h and ei.numel() > 0}
        h = self.gnn(h, edges, {t: hop_dict[t] for t in h})
        num_seeds = seed_time.numel()
        return h[self.seed_table][:num_seeds]

    def forward(self, *args: object, **kwargs: object) -> Tensor:
        """Per-seed predictions ``[B, out_channels]`` (logits or standardized values)."""
        return self.head(self.embed(*args, **kwargs))  # type: ignore[arg-type]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

