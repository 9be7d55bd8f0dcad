"""The full node-prediction model: column encoders, time encoding, GNN and head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from relgraph.encoder import TableEncoder, TableFeatures
from relgraph.nn.gnn import EdgeType, HeteroGNN
from relgraph.nn.layers import mlp, module_key
from relgraph.nn.temporal import RelativeTimeEncoder
from relgraph.nn.transformer import SubgraphTransformer


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
    id_table: str | None = None     # link prediction: table whose rows are the targets
    model: str = "GNN"              # or "GraphTransformer" (node prediction)
    transformer_layers: int = 4
    num_heads: int = 8
    positional_encodings: tuple[str, ...] = ()   # "hop" (always on), "random_gnn"


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
        self.encoders = nn.ModuleDict({module_key(t): TableEncoder(features[t], c)
                                       for t in node_types})
        self.time_tables = [t for t in time_tables if t in features]
        self.time_encoder = RelativeTimeEncoder(c)
        self.hop_emb = nn.Embedding(8, c)
        self.degree = nn.ModuleDict({module_key(t): nn.Linear(k, c)
                                     for t, k in (degree_dims or {}).items()
                                     if k > 0 and t in features})
        self.pre = nn.ModuleDict({
            module_key(t): mlp(c, c, c, spec.num_pre_layers, spec.act, spec.norm, spec.dropout)
            for t in node_types
        }) if spec.num_pre_layers > 0 else None
        # A GraphTransformer keeps one light GNN round only for its "random_gnn" positional
        # encoding; otherwise the GNN does all message passing.
        gnn_layers = spec.num_layers if spec.model == "GNN" else \
            (1 if "random_gnn" in spec.positional_encodings else 0)
        self.gnn = HeteroGNN(node_types, edge_types, c, gnn_layers, spec.aggr or ("mean",),
                             spec.act, spec.norm, spec.dropout)
        self.transformer = SubgraphTransformer(c, spec.transformer_layers, spec.num_heads,
                                               spec.dropout, spec.act) \
            if spec.model == "GraphTransformer" else None
        if spec.id_table is not None:
            # Link prediction with lookup target embeddings ("shallow_rhs" + "lookup"): each
            # target row has an embedding that is both a node feature wherever the row is
            # sampled (so the model sees *which* items an entity touched) and the output
            # vector its score is computed against.
            self.id_emb = nn.Embedding(spec.out_channels, c)
            nn.init.normal_(self.id_emb.weight, std=0.1)
            self.id_bias = nn.Parameter(torch.zeros(spec.out_channels))
            # ID-aware context ("context" module): how often each target row occurs in the
            # entity's own sampled subgraph, per hop — e.g. items it bought before.
            self.context_weight = nn.Parameter(torch.full((8,), 0.5))
            self.head = mlp(c, c, c, spec.num_post_layers, spec.act, spec.norm, spec.dropout)
        else:
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
            key = module_key(t)
            if key not in self.encoders:
                continue
            n = rows.numel()
            v = self.encoders[key](x_dict[t], n)
            v = v + self.hop_emb(hop_dict[t].clamp(max=7))
            if t == self.spec.id_table:
                v = v + self.id_emb(rows)
            if t in time_dict:
                age = seed_time[batch_dict[t]] - time_dict[t]
                v = v + self.time_encoder(age)
            if degree_dict is not None and t in degree_dict and key in self.degree:
                v = v + self.degree[key](degree_dict[t])
            if self.pre is not None:
                v = v + self.pre[key](v)
            h[t] = v
        edges = {et: ei for et, ei in edge_index_dict.items()
                 if et[0] in h and et[2] in h and ei.numel() > 0}
        num_seeds = seed_time.numel()
        if self.transformer is not None:
            if self.gnn.num_layers:        # "random_gnn" positional encoding
                h = self.gnn(h, edges)
            return self.transformer(h, {t: batch_dict[t] for t in h}, self.seed_table,
                                    num_seeds)
        h = self.gnn(h, edges, {t: hop_dict[t] for t in h})
        return h[self.seed_table][:num_seeds]

    def forward(self, x_dict: Mapping[str, Mapping[str, Tensor]],
                node_dict: Mapping[str, Tensor], batch_dict: Mapping[str, Tensor],
                hop_dict: Mapping[str, Tensor], time_dict: Mapping[str, Tensor],
                seed_time: Tensor, edge_index_dict: Mapping[EdgeType, Tensor],
                degree_dict: Mapping[str, Tensor] | None = None) -> Tensor:
        """Per-seed predictions ``[B, out_channels]`` (logits or standardized values)."""
        out = self.head(self.embed(x_dict, node_dict, batch_dict, hop_dict, time_dict,
                                   seed_time, edge_index_dict, degree_dict))
        table = self.spec.id_table
        if table is None:
            return out
        scores = out @ self.id_emb.weight.t() + self.id_bias
        if table in node_dict and node_dict[table].numel() > 0:
            weight = self.context_weight[hop_dict[table].clamp(max=7)]
            flat = batch_dict[table] * scores.shape[1] + node_dict[table]
            context = torch.zeros(scores.numel(), device=scores.device, dtype=scores.dtype)
            context = context.index_add(0, flat, weight)
            scores = scores + context.view_as(scores)
        return scores


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

