"""The full node-prediction model: column encoders, time encoding, GNN and head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from relgraph.encoder import TableEncoder, TableFeatures
from relgraph.nn.batch import Batch
from relgraph.nn.gnn import EdgeType, HeteroGNN
from relgraph.nn.layers import mlp, module_key
from relgraph.nn.offset import OutputOffset
from relgraph.nn.past import PastTargetEncoder
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
    prediction_time_encodings: bool = False  # calendar encoding of the anchor time
    # link prediction (see RelGraphModel)
    lp_module: str = "context"           # context | shallow_rhs | two_tower | pairwise
    target_embedding_mode: str = "lookup"  # lookup | feature | shallow_feature | fusion
    embedding_dim: int | None = None     # output_embedding_dim; None = channels
    distance_measure: str = "dot_product"  # or "cosine"
    # hybrid inputs of the seed node (see relgraph.training.hybrid)
    seed_features: int = 0               # width of the seeds' relational features
    past_steps: int = 0                  # past targets per seed
    past_encoder: str | None = None      # decomposed | normalized | mlp | transformer
    # residual model: outputs start at another learner's prediction (Batch.base_prediction)
    offset: OutputOffset | None = None


#: Periods (seconds) of the anchor-time calendar encoding: day, week, year.
CALENDAR_PERIODS = (86_400.0, 7 * 86_400.0, 365.2425 * 86_400.0)
_STATIC_TIME = 2**61   # anchors at or beyond this are static (no calendar)


def calendar_features(seed_time: Tensor) -> Tensor:
    """``[B, 6]`` sin/cos of the anchor's phase in the day, week and year (zeros for
    static anchors)."""
    static = seed_time >= _STATIC_TIME
    t = torch.where(static, torch.zeros_like(seed_time), seed_time).to(torch.float64)
    parts = []
    for period in CALENDAR_PERIODS:
        phase = 2 * torch.pi * torch.remainder(t, period) / period
        parts += [torch.sin(phase), torch.cos(phase)]
    out = torch.stack(parts, dim=1).float()
    return out.masked_fill(static.unsqueeze(1), 0.0)


class RelGraphModel(nn.Module):
    """Encodes every sampled row, passes messages toward the seeds and predicts per seed.

    Link prediction (``spec.id_table`` set) scores every row of the target table:
    ``score(entity, target) = sim(q, t) + bias``, with ``q`` the entity's embedding
    through the head (``embedding_dim`` wide) and ``t`` the target's vector, given by
    ``target_embedding_mode``: ``lookup`` a trainable embedding per target row (also added
    to the target row's features wherever it is sampled, so the GNN sees *which* targets
    an entity touched), ``feature`` an MLP over the target row's encoded columns
    (inductive), ``shallow_feature`` a linear map of them, ``fusion`` lookup + feature.
    ``sim`` is a dot product or a scaled cosine (``distance_measure``). ``q`` includes the
    pooled vectors of the target rows in the entity's own subgraph (ID pooling). The
    ``context``
    module (and ``pairwise``) adds ID-aware context: how often the target occurs in the
    entity's own subgraph, weighted per hop; ``shallow_rhs`` scores embeddings only;
    ``two_tower`` also scores embeddings only but computes target vectors with a tower
    as deep as the entity head (over features, fused with lookup in lookup/fusion mode).

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
        self.anchor_encoder = nn.Linear(len(CALENDAR_PERIODS) * 2, c) \
            if spec.prediction_time_encodings else None
        self.seed_encoder = mlp(spec.seed_features, c, c, 2, spec.act, spec.norm,
                                spec.dropout) if spec.seed_features > 0 else None
        self.past_encoder = PastTargetEncoder(spec.past_encoder, spec.past_steps, c) \
            if spec.past_encoder is not None and spec.past_steps > 0 else None
        #: Inputs of the extra training loss terms of the last training forward (link
        #: prediction): ``embedding_scores`` (without context), ``entity_vectors`` and
        #: ``target_vectors``.
        self.aux: dict[str, Tensor] = {}
        self._target_x: Mapping[str, Tensor] | None = None
        if spec.id_table is not None:
            self._init_link_prediction(spec, features)
        else:
            self.head = mlp(c, c, spec.out_channels, spec.num_post_layers, spec.act, spec.norm,
                            spec.dropout)
            if spec.offset is not None:  # the correction starts at zero: outputs = the base
                last = self.head[-1]
                assert isinstance(last, nn.Linear)
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    def _init_link_prediction(self, spec: ModelSpec,
                              features: Mapping[str, TableFeatures]) -> None:
        c, d, n = spec.channels, spec.embedding_dim or spec.channels, spec.out_channels
        mode = spec.target_embedding_mode
        self.head = mlp(c, c, d, spec.num_post_layers, spec.act, spec.norm, spec.dropout)
        self.id_emb: nn.Embedding | None = None
        if mode in ("lookup", "fusion"):
            self.id_emb = nn.Embedding(n, d)
            nn.init.normal_(self.id_emb.weight, std=0.1)
            self.id_in = nn.Linear(d, c, bias=False) if d != c else nn.Identity()
        self.target_tower: nn.Module | None = None
        if mode != "lookup" or spec.lp_module == "two_tower":
            if spec.id_table not in features:
                raise ValueError(f"target table {spec.id_table!r} has no features")
            depth = spec.num_post_layers + (1 if spec.lp_module == "two_tower" else 0)
            self.target_tower = nn.Linear(c, d) if mode == "shallow_feature" else \
                mlp(c, c, d, max(1, depth), spec.act, spec.norm, spec.dropout)
        self.id_bias = nn.Parameter(torch.zeros(n))
        self.pool_weight = nn.Parameter(torch.full((8,), 0.5))
        self.cosine_scale = nn.Parameter(torch.tensor(10.0)) \
            if spec.distance_measure == "cosine" else None
        # ID-aware context: occurrences of each target row in the entity's subgraph, per hop.
        self.context_weight = nn.Parameter(torch.full((8,), 0.5)) \
            if spec.lp_module in ("context", "pairwise") else None

    def set_target_features(self, x: Mapping[str, Tensor]) -> None:
        """Column tensors of *all* target rows (link prediction with feature towers)."""
        self._target_x = x

    def target_vectors(self) -> Tensor:
        """``[num_targets, embedding_dim]`` vectors every entity is scored against."""
        spec = self.spec
        assert spec.id_table is not None
        vec = self.id_emb.weight if self.id_emb is not None else None
        if self.target_tower is not None:
            if self._target_x is None:
                raise RuntimeError("call set_target_features() before scoring targets")
            enc = self.encoders[module_key(spec.id_table)](self._target_x, spec.out_channels)
            tower = self.target_tower(enc)
            vec = tower if vec is None else vec + tower
        assert vec is not None
        return vec

    def column_vectors(self, batch: Batch) -> dict[str, Tensor]:
        """``{table: [rows, columns, channels]}``: each sampled row's column vectors (see
        :meth:`TableEncoder.column_vectors`), for tables with feature columns."""
        out = {}
        for t, rows in batch.node_dict.items():
            key = module_key(t)
            if key in self.encoders:
                encoder: TableEncoder = self.encoders[key]  # type: ignore[assignment]
                if encoder.columns:
                    out[t] = encoder.column_vectors(batch.x_dict[t], rows.numel())
        return out

    def embed(self, batch: Batch, *, column_vectors: Mapping[str, Tensor] | None = None,
              row_gates: Mapping[str, Tensor] | None = None) -> Tensor:
        """Seed embeddings ``[B, channels]`` of a batch (see :class:`Batch`).

        Explanations (:mod:`relgraph.training.explain`) pass ``column_vectors`` (replacing
        :meth:`column_vectors` of those tables) and ``row_gates`` (``{table: [rows]}``
        factors on each sampled row's input state: 1 keeps the row, 0 blanks it).
        """
        x_dict, node_dict, hop_dict = batch.x_dict, batch.node_dict, batch.hop_dict
        batch_dict, time_dict, seed_time = batch.batch_dict, batch.time_dict, batch.seed_time
        degree_dict = batch.degree_dict
        h: dict[str, Tensor] = {}
        for t, rows in node_dict.items():
            key = module_key(t)
            if key not in self.encoders:
                continue
            n = rows.numel()
            encoder: TableEncoder = self.encoders[key]  # type: ignore[assignment]
            if column_vectors is not None and t in column_vectors:
                v = encoder.pool(column_vectors[t], n)
            else:
                v = encoder(x_dict[t], n)
            v = v + self.hop_emb(hop_dict[t].clamp(max=7))
            if t == self.spec.id_table and self.id_emb is not None:
                v = v + self.id_in(self.id_emb(rows))
            if t in time_dict:
                age = seed_time[batch_dict[t]] - time_dict[t]
                v = v + self.time_encoder(age)
            if degree_dict is not None and t in degree_dict and key in self.degree:
                v = v + self.degree[key](degree_dict[t])
            if self.pre is not None:
                v = v + self.pre[key](v)
            if row_gates is not None and t in row_gates:
                v = v * row_gates[t].unsqueeze(1)
            h[t] = v
        edges = {et: ei for et, ei in batch.edge_index_dict.items()
                 if et[0] in h and et[2] in h and ei.numel() > 0}
        num_seeds = seed_time.numel()
        if self.transformer is not None:
            if self.gnn.num_layers:        # "random_gnn" positional encoding
                h = self.gnn(h, edges)
            out = self.transformer(h, {t: batch_dict[t] for t in h}, self.seed_table,
                                   num_seeds)
        else:
            h = self.gnn(h, edges, {t: hop_dict[t] for t in h})
            out = h[self.seed_table][:num_seeds]
        if self.anchor_encoder is not None:
            out = out + self.anchor_encoder(calendar_features(seed_time))
        if self.seed_encoder is not None and batch.seed_features is not None:
            out = out + self.seed_encoder(batch.seed_features)
        if self.past_encoder is not None and batch.past_targets is not None:
            out = out + self.past_encoder(batch.past_targets)
        return out

    def _offset(self, batch: Batch) -> Tensor:
        assert self.spec.offset is not None
        if batch.base_prediction is None:
            raise ValueError("This model corrects another learner's predictions, and the "
                             "batch carries none (Batch.base_prediction).")
        return self.spec.offset(batch.base_prediction)

    def forward(self, batch: Batch, *, column_vectors: Mapping[str, Tensor] | None = None,
                row_gates: Mapping[str, Tensor] | None = None) -> Tensor:
        """Per-seed predictions ``[B, out_channels]`` (logits or standardized values);
        ``column_vectors`` and ``row_gates`` as in :meth:`embed`."""
        out = self.head(self.embed(batch, column_vectors=column_vectors, row_gates=row_gates))
        node_dict, batch_dict, hop_dict = batch.node_dict, batch.batch_dict, batch.hop_dict
        table = self.spec.id_table
        if table is None:
            return out if self.spec.offset is None else out + self._offset(batch)
        vec = self.target_vectors()
        if table in node_dict and node_dict[table].numel() > 0:
            # ID pooling: add the (hop-weighted, count-normalized) vectors of the target
            # rows in the entity's own subgraph, so embeddings alone can score "more of
            # what this entity touched" (item-to-item similarity).
            owner = batch_dict[table]
            weight = self.pool_weight[hop_dict[table].clamp(max=7)].unsqueeze(1)
            pooled = torch.zeros_like(out).index_add(0, owner, weight * vec[node_dict[table]])
            count = torch.zeros(out.shape[0], device=out.device, dtype=out.dtype)
            count = count.index_add(0, owner, torch.ones_like(owner, dtype=out.dtype))
            out = out + pooled / count.clamp(min=1).sqrt().unsqueeze(1)
        if self.cosine_scale is not None:
            out = nn.functional.normalize(out, dim=-1)
            vec = nn.functional.normalize(vec, dim=-1)
            scores = self.cosine_scale * (out @ vec.t())
        else:
            scores = out @ vec.t()
        scores = scores + self.id_bias
        if self.training:
            self.aux = {"embedding_scores": scores, "entity_vectors": out,
                        "target_vectors": vec}
        if self.context_weight is not None and table in node_dict and \
                node_dict[table].numel() > 0:
            weight = self.context_weight[hop_dict[table].clamp(max=7)]
            flat = batch_dict[table] * scores.shape[1] + node_dict[table]
            context = torch.zeros(scores.numel(), device=scores.device, dtype=scores.dtype)
            context = context.index_add(0, flat, weight)
            scores = scores + context.view_as(scores)
        return scores


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

