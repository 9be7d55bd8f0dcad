"""Vectorized sampling primitives: range expansion and distinct uniform offsets.

Every function works on whole frontiers at once (no Python loop per node) and only
uses torch ops, so the same code runs on CPU and CUDA tensors. ``repeat_interleave``
and boolean-mask indexing are avoided: torch hands even small inputs of those to its
intra-op pool, which is slow on a busy CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from relgraph.store.ranges import expand_ranges

__all__ = ["REJECTION_RATIO", "distinct_offsets", "expand_ranges", "rejection_offsets",
           "topk_offsets"]

#: Rows with more than ``REJECTION_RATIO * k`` candidates are sampled by rejection.
REJECTION_RATIO = 4


def topk_offsets(
    avail: Tensor,
    k: int,
    width: int,
    generator: torch.Generator | None,
    ordered: bool = True,
) -> Tensor:
    """Uniform distinct offsets by random keys over a padded width: ``[n, k]``.

    Row ``i`` draws keys for offsets ``0 .. width - 1`` (``width >= k``, ``width >=
    avail[i]``); offsets ``>= avail[i]`` get an impossible key, so the first
    ``min(avail[i], k)`` columns are a uniformly random subset (without replacement)
    of ``0 .. avail[i] - 1`` in random order; later columns hold offsets ``>= avail[i]``.
    ``ordered=False`` skips ordering the ``k`` columns (about 40% cheaper); only valid
    when every row has ``avail[i] >= k`` and all ``k`` columns are used.
    """
    keys = torch.rand(avail.numel(), width, generator=generator, device=avail.device)
    cols = torch.arange(width, device=avail.device)
    keys.masked_fill_(cols >= avail.unsqueeze(1), 2.0)
    return keys.topk(k, dim=1, largest=False, sorted=ordered).indices


def rejection_offsets(avail: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """Uniform distinct offsets for rows with ``avail > REJECTION_RATIO * k``: ``[n, k]``.

    Draws ``2k + 8`` offsets with replacement per row, keeps the distinct ones and
    picks a random ``k``-subset of them; by symmetry that subset is uniform among all
    ``k``-subsets. Rows that drew fewer than ``k`` distinct values (rare) redraw.
    """
    n = avail.numel()
    out = torch.empty(n, k, dtype=torch.long, device=avail.device)
    todo = torch.arange(n, device=avail.device)
    draws = 2 * k + 8
    while todo.numel():
        c = avail.index_select(0, todo).to(torch.float64).unsqueeze(1)
        u = torch.rand(
            todo.numel(), draws, generator=generator, device=avail.device, dtype=torch.float64
        )
        vals = (u * c).long().minimum(c.long() - 1).sort(dim=1).values
        fresh = torch.ones_like(vals, dtype=torch.bool)
        fresh[:, 1:] = vals[:, 1:] != vals[:, :-1]
        keys = torch.rand(vals.shape, generator=generator, device=avail.device)
        keys.masked_fill_(~fresh, 2.0)
        pick = keys.topk(k, dim=1, largest=False, sorted=True).indices
        ok = fresh.sum(1) >= k
        out[todo[ok]] = vals.gather(1, pick)[ok]
        todo = todo[~ok]
    return out


def distinct_offsets(avail: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """Uniform ``k``-subsets of ``0 .. avail[i] - 1``: ``[n, k]``.

    Rows with few candidates use :func:`topk_offsets` (padded to their largest
    ``avail``); rows with many use :func:`rejection_offsets`, so the cost stays
    ``O(n * k)``. Rows with ``avail[i] < k`` only fill their first ``avail[i]`` columns.
    """
    n = avail.numel()
    out = torch.empty(n, k, dtype=torch.long, device=avail.device)
    if n == 0:
        return out
    limit = REJECTION_RATIO * k
    small = avail <= limit
    idx_small = small.nonzero().squeeze(1)
    idx_large = (~small).nonzero().squeeze(1)
    if idx_small.numel():
        a = avail.index_select(0, idx_small)
        out.index_copy_(0, idx_small, topk_offsets(a, k, max(int(a.max()), k), generator))
    if idx_large.numel():
        large = rejection_offsets(avail.index_select(0, idx_large), k, generator)
        out.index_copy_(0, idx_large, large)
    return out
