"""How one trial runs across processes: the :class:`ParallelStrategy` that
:func:`relgraph.training.fitting.train_trial` uses, and the one of this process.

Training knows no launcher: a DDP rank (:mod:`relgraph.distributed`, a higher layer) makes
its :class:`~relgraph.distributed.context.DistContext` current with :func:`set_current`;
a plain process has none and trains on all seeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from relgraph.sampling import NeighborSampler
    from relgraph.training.examples import Examples, TargetInfo
    from relgraph.training.fitting import GraphContext
    from relgraph.training.settings import TrialSettings

__all__ = ["ParallelStrategy", "current", "set_current"]


class ParallelStrategy(Protocol):
    """One process's part of a data-parallel trial."""

    rank: int
    world_size: int

    @property
    def is_main(self) -> bool: ...

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` wrapped so that gradients are reduced across processes."""
        ...

    def shard(self, idx: Tensor, *, pad: bool = True) -> Tensor:
        """This process's share of the seed positions ``idx``."""
        ...

    def evaluate(self, ctx: GraphContext, model: Any, sampler: NeighborSampler, ex: Examples,
                 idx: Tensor, settings: TrialSettings, info: TargetInfo, metrics: list[str],
                 max_steps: int | None) -> tuple[dict[str, float | None], Tensor, Tensor]:
        """Metrics on ``idx`` computed from every process's outputs."""
        ...


_current: ParallelStrategy | None = None


def current() -> ParallelStrategy | None:
    """The strategy of this process when it is a rank of a parallel job, else ``None``."""
    return _current


def set_current(strategy: ParallelStrategy | None) -> None:
    """Make ``strategy`` this process's (``None``: not parallel)."""
    global _current
    _current = strategy
