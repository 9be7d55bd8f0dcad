"""How one trial runs across processes: the :class:`ParallelStrategy` that
:func:`relgraph.training.fitting.train_trial` takes.

Training knows no launcher: a DDP rank (:mod:`relgraph.distributed`, a higher layer) passes
its :class:`~relgraph.distributed.context.DistContext` to
:func:`relgraph.training.pipeline.fit_training_job`, which hands it to every trial; without
one a trial trains on all seeds in this process.
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

__all__ = ["ParallelStrategy"]


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

