"""Range expansion: enumerate ``base[i] + j`` for ``j < count[i]`` without a Python loop.

Shared by the CSR's visibility queries and the sampler. ``repeat_interleave`` and
boolean-mask indexing are avoided: torch hands even small inputs of those to its
intra-op pool, which is slow on a busy CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor


def expand_ranges(base: Tensor, count: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Enumerate ``base[i] + j`` for ``j < count[i]``, grouped by ``i``.

    Returns:
        ``(parent, pos, ptr)``: the row ``i`` and position of each output, and the
        inclusive cumulative ``count`` (row ``i``'s outputs end at ``ptr[i]``).
    """
    ptr = count.cumsum(0)
    total = int(ptr[-1]) if ptr.numel() else 0
    first = ptr - count
    # parent = repeat_interleave(arange(n), count), built from serial kernels: mark
    # each row's first output (empty rows stack on the next one) and cumsum.
    mark = torch.zeros(total + 1, dtype=torch.long, device=count.device)
    mark.index_add_(0, first, torch.ones_like(first))
    parent = mark[:total].cumsum(0) - 1
    shift = (base - first).index_select(0, parent)
    pos = torch.arange(total, device=count.device) + shift
    return parent, pos, ptr
