"""A graph transformer over each seed's sampled subgraph (node prediction)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SubgraphTransformer(nn.Module):
    """Full self-attention among the nodes of each seed's subgraph.

    Every sampled node (of any table) becomes one token of its seed's sequence, the seed
    first; tokens already carry column, relative-time, hop ("hop" positional encoding)
    and degree information. The seed token's output is the seed embedding.
    """

    def __init__(self, channels: int, num_layers: int, num_heads: int,
                 dropout: float = 0.1, act: str = "gelu") -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            channels, num_heads, dim_feedforward=2 * channels, dropout=dropout,
            activation="gelu" if act == "gelu" else "relu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(channels)

    def forward(self, h_dict: dict[str, Tensor], batch_dict: dict[str, Tensor],
                seed_table: str, num_seeds: int) -> Tensor:
        types = [seed_table] + [t for t in h_dict if t != seed_table]
        h = torch.cat([h_dict[t] for t in types])
        batch = torch.cat([batch_dict[t] for t in types])
        # Stable sort by seed keeps each seed's own token (first of its table) in front.
        order = torch.argsort(batch, stable=True)
        h, batch = h[order], batch[order]
        counts = torch.bincount(batch, minlength=num_seeds)
        width = int(counts.max())
        starts = torch.cumsum(counts, 0) - counts
        pos = torch.arange(batch.numel(), device=h.device) - starts[batch]
        dense = h.new_zeros(num_seeds, width, h.shape[1])
        dense[batch, pos] = h
        pad = torch.ones(num_seeds, width, dtype=torch.bool, device=h.device)
        pad[batch, pos] = False
        out = self.encoder(dense, src_key_padding_mask=pad)
        return self.norm(out[:, 0])
