"""The per-process view of a DDP job: rank, world size, device; model wrapping, seed
sharding and metric reduction used by :func:`relgraph.training.fitting.train_trial`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    from relgraph.sampling import NeighborSampler
    from relgraph.training.examples import Examples, TargetInfo
    from relgraph.training.fitting import GraphContext
    from relgraph.training.settings import TrialSettings

__all__ = ["DistContext", "init_from_env", "shard_indices", "shutdown"]


def shard_indices(idx: Tensor, rank: int, world_size: int, *, pad: bool) -> Tensor:
    """Rank ``rank``'s share of ``idx`` (strided). ``pad``: every rank gets
    ``ceil(n / world_size)`` positions (wrapping around), so all ranks take the same number
    of optimizer steps, as DDP requires."""
    if world_size <= 1:
        return idx
    if pad and len(idx):
        per = math.ceil(len(idx) / world_size)
        reps = math.ceil(per * world_size / len(idx))
        idx = idx.repeat(reps)[: per * world_size]
    return idx[rank::world_size]


@dataclass
class DistContext:
    """One rank of a ``torch.distributed`` job (process group already initialized): the
    :class:`~relgraph.training.parallel.ParallelStrategy` its trials train with."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- hooks used by train_trial -----------------------------------------------------
    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (gradients all-reduced every step)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, output_device=None if ids is None
                                       else ids[0], find_unused_parameters=True)

    def shard(self, idx: Tensor, *, pad: bool = True) -> Tensor:
        return shard_indices(idx, self.rank, self.world_size, pad=pad)

    def evaluate(self, ctx: GraphContext, model: Any, sampler: NeighborSampler, ex: Examples,
                 idx: Tensor, settings: TrialSettings, info: TargetInfo, metrics: list[str],
                 max_steps: int | None) -> tuple[dict[str, float | None], Tensor, Tensor]:
        """Metrics on ``idx`` computed from all ranks' outputs: each rank predicts its
        shard, predictions and positions are gathered, every rank computes the same
        metrics on the union. Returns the union's positions and raw outputs."""
        from relgraph.training.fitting import metrics_from_outputs, predict_outputs

        info = info.for_loss(settings.loss)
        mine = self.shard(idx, pad=False)
        pos, raw = predict_outputs(ctx, model, sampler, ex, mine, settings.batch_size, info,
                                   max_steps, raw=True)
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, (pos, raw))
        all_pos = torch.cat([p for p, _ in gathered])
        outs = [q for _, q in gathered if q.numel() > 0]
        all_raw = torch.cat(outs) if outs else torch.empty(0)
        return metrics_from_outputs(ex, all_pos, all_raw, info, metrics), all_pos, all_raw

    # -- helpers -----------------------------------------------------------------------
    def barrier(self) -> None:
        if self.device.type == "cuda":
            torch.distributed.barrier(device_ids=[self.device.index])
        else:
            torch.distributed.barrier()

    def all_reduce_mean(self, values: dict[str, float]) -> dict[str, float]:
        """Mean of each value over ranks."""
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64,
                         device=self.device if self.backend == "nccl" else "cpu")
        torch.distributed.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(keys, t.tolist())}

    def params_vector(self, model: torch.nn.Module) -> np.ndarray:
        return torch.cat([p.detach().reshape(-1).cpu().double() for p in model.parameters()]
                         ).numpy()


def init_from_env(backend: str | None = None) -> DistContext:
    """Join the process group described by torchrun's environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); NCCL with one GPU
    per process when CUDA is available, else gloo on CPU."""
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and backend != "gloo"
    backend = backend or ("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        if world == 1 and "MASTER_ADDR" not in os.environ:
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", "29500")
        dist.init_process_group(backend, rank=rank, world_size=world)
    return DistContext(rank, world, local, device, backend)


def shutdown() -> None:
    """Leave the process group."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
