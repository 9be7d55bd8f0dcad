"""Heterogeneous GraphSAGE-style message passing over sampled subgraphs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from relgraph.nn.aggregation import aggregation
from relgraph.nn.layers import activation, module_key, normalization

EdgeType = tuple[str, str, str]


def edge_key(edge_type: EdgeType) -> str:
    return module_key("__".join(edge_type))


class HeteroGNN(nn.Module):
    """``num_layers`` rounds of per-edge-type SAGE convolutions, summed per node type.

    Each round: ``x_t <- x_t + dropout(act(norm(sum over edge types of SAGE(x))))``.
    ``aggr`` is a list of PyG aggregations (sum, mean, max, min, std, var) combined per
    edge type.

    Sampled subgraphs are trees whose nodes are stored hop by hop, so layer ``l`` (of
    ``L``) only needs to update nodes up to hop ``L - 1 - l``: given ``hop_dict``, each
    layer runs on that prefix of the nodes only (PyG's "trim to layer" idea).
    """

    def __init__(self, node_types: Sequence[str], edge_types: Sequence[EdgeType], channels: int,
                 num_layers: int, aggr: Sequence[str], act: str = "relu",
                 norm: str | None = "layer_norm", dropout: float = 0.0) -> None:
        super().__init__()
        self.edge_types = list(edge_types)
        self.num_layers = num_layers
        self.convs = nn.ModuleList([
            nn.ModuleDict({edge_key(et): SAGEConv((channels, channels), channels,
                                                  aggr=aggregation(list(aggr)))
                           for et in edge_types})
            for _ in range(num_layers)
        ])
        self.norms = nn.ModuleList([
            nn.ModuleDict({module_key(t): normalization(norm, channels) for t in node_types})
            for _ in range(num_layers)
        ])
        self.act = activation(act)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x_dict: dict[str, Tensor], edge_index_dict: Mapping[EdgeType, Tensor],
                hop_dict: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        x_dict = dict(x_dict)
        for layer in range(self.num_layers):
            convs: nn.ModuleDict = self.convs[layer]  # type: ignore[assignment]
            norms: nn.ModuleDict = self.norms[layer]  # type: ignore[assignment]
            keep = self.num_layers - 1 - layer       # deepest hop still updated
            out: dict[str, Tensor] = {}
            for et, edge_index in edge_index_dict.items():
                src, _, dst = et
                key = edge_key(et)
                if key not in convs or src not in x_dict or dst not in x_dict:
                    continue
                n_dst = _count(x_dict[dst], hop_dict, dst, keep)
                n_src = _count(x_dict[src], hop_dict, src, keep + 1)
                if n_dst == 0:
                    continue
                if hop_dict is not None:
                    edge_index = edge_index[:, edge_index[1] < n_dst]
                msg = convs[key]((x_dict[src][:n_src], x_dict[dst][:n_dst]), edge_index,
                                 size=(n_src, n_dst))
                out[dst] = msg if dst not in out else out[dst] + msg
            new = {}
            for t, x in x_dict.items():
                if t not in out:
                    new[t] = x
                    continue
                n = out[t].shape[0]
                upd = x[:n] + self.dropout(self.act(norms[module_key(t)](out[t])))
                new[t] = upd if n == x.shape[0] else torch.cat([upd, x[n:]], dim=0)
            x_dict = new
        return x_dict


def _count(x: Tensor, hop_dict: Mapping[str, Tensor] | None, node_type: str, max_hop: int) -> int:
    """Number of leading nodes of ``node_type`` with hop ≤ ``max_hop`` (all without hops)."""
    if hop_dict is None or node_type not in hop_dict:
        return int(x.shape[0])
    hops = hop_dict[node_type]
    return int(torch.searchsorted(hops, torch.tensor([max_hop], device=hops.device),
                                  right=True).item())
