"""Max and min neighbor aggregations with a cheaper backward pass than PyG's.

PyG reduces max/min on CPU with ``scatter_reduce_(..., include_self=False)``, whose
generic backward also computes the gradient of the zero tensor scattered into and
compares every message with its result twice. :class:`ScatterExtremum` computes only
the messages' gradient, comparing once; the values it returns are the same bits
(ties share the gradient evenly, an output of exactly zero counting the untouched
start value as one more tie, as PyTorch does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.nn import aggr


class ScatterExtremum(torch.autograd.Function):
    """Per-group max or min of the rows of a 2-D ``src`` (groups without rows give 0)."""

    @staticmethod
    def forward(ctx: Any, src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
        rows = index.view(-1, 1).expand_as(src)
        out = src.new_zeros((dim_size, src.size(1)))
        out.scatter_reduce_(0, rows, src, reduce=reduce, include_self=False)
        ctx.save_for_backward(src, index, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        src, index, out = ctx.saved_tensors
        rows = index.view(-1, 1).expand_as(src)
        hit = torch.eq(src, out.gather(0, rows), out=torch.empty_like(src))  # 1.0 or 0.0
        ties = torch.eq(out, 0, out=torch.empty_like(out)).scatter_add_(0, rows, hit)
        return hit.mul_((grad / ties).gather(0, rows)), None, None, None


class _Extremum(aggr.Aggregation):
    """PyG's max or min aggregation (the class after this one in the MRO) with
    :class:`ScatterExtremum`'s backward where it applies: 2-D rows grouped by ``index``."""

    extremum: str  # scatter_reduce_'s name of the reduction

    def forward(self, x: Tensor, index: Tensor | None = None, ptr: Tensor | None = None,
                dim_size: int | None = None, dim: int = -2) -> Tensor:
        if index is None or ptr is not None or x.dim() != 2 or dim not in (0, -2):
            return super().forward(x, index, ptr, dim_size, dim)
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
        out: Tensor = ScatterExtremum.apply(x, index, dim_size, self.extremum)
        return out


class MaxAggregation(_Extremum, aggr.MaxAggregation):
    """PyG's max aggregation, with :class:`ScatterExtremum`'s backward."""

    extremum = "amax"


class MinAggregation(_Extremum, aggr.MinAggregation):
    """PyG's min aggregation, with :class:`ScatterExtremum`'s backward."""

    extremum = "amin"


def aggregation(names: list[str]) -> str | aggr.Aggregation:
    """The aggregation a PyG convolution takes for ``names`` (sum, mean, max, min, std, var):
    one name as is, several combined by concatenation; max and min are ours."""
    own: dict[str, type[aggr.Aggregation]] = {"max": MaxAggregation, "min": MinAggregation}
    parts: list[str | aggr.Aggregation] = [own[n]() if n in own else n for n in names]
    return parts[0] if len(parts) == 1 else aggr.MultiAggregation(parts)  # type: ignore[arg-type]
