"""Multi-process training with ``torch.distributed`` (DDP), launched by torchrun.

* :func:`launch` — train a training table with ``nproc_per_node`` processes (gloo on CPU,
  NCCL with one GPU per process), each sampling its own shard of the seeds from the
  memory-mapped graph store; returns rank 0's job metadata.
* :func:`launch_prediction` — batch prediction sharded over ranks the same way.
* :func:`torchrun_command` / :func:`write_spec` — the same for several nodes.
* :class:`DistContext` — a rank's hooks, passed to ``fit_training_job`` and every trial.
"""

from __future__ import annotations

from relgraph.distributed.context import DistContext, init_from_env, shard_indices
from relgraph.distributed.launch import (
    launch,
    launch_prediction,
    torchrun_command,
    write_spec,
)

__all__ = ["DistContext", "init_from_env", "launch", "launch_prediction",
           "shard_indices", "torchrun_command", "write_spec"]
