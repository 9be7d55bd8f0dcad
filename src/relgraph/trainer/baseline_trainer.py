"""``BaselineTrainer``: the reference's baseline job on the same job machinery.

Runs :func:`relgraph.baselines.run.run_baselines` (majority / mean, and LightGBM on the
entity table's columns and on automatically aggregated features) on a training table,
as a job in the store: blocking, or ``non_blocking=True`` in a worker process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relgraph.graph import Graph
from relgraph.jobs.handles import BaselineJob
from relgraph.jobs.results import BaselineJobResult
from relgraph.jobs.store import JobKind

__all__ = ["BaselineTrainer"]


class BaselineTrainer:
    """Baselines scored with ``metrics`` (default: the task's default metrics).

    Example::

        result = BaselineTrainer(["auroc", "ap"]).run(graph, train_table)
        result.metrics()   # {"majority": (test, validation), "lightgbm_entity": ..., ...}
    """

    def __init__(self, metrics: Sequence[str] | None = None, *, verbose: bool = True) -> None:
        self.metrics = list(metrics) if metrics else None
        self.verbose = verbose

    def run(self, graph: Graph, train_table: Any, *, non_blocking: bool = False,
            custom_tags: Mapping[str, str] | None = None) -> Any:
        """A :class:`BaselineJobResult`, or a running :class:`BaselineJob`."""
        from relgraph.trainer.trainer import _resolve_table, _table_summary, submit_job

        table = _resolve_table(train_table)
        query = getattr(getattr(table, "query", None), "query", None)
        request = {"metrics": self.metrics, "query": query,
                   "train_table": _table_summary(table)}
        job_id, finished = submit_job(JobKind.BASELINE, graph, request,
                                      {"train_table": table}, tags=custom_tags,
                                      non_blocking=non_blocking, verbose=self.verbose)
        return BaselineJobResult(job_id) if finished else BaselineJob(job_id)
