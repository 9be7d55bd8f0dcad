"""The callbacks of :mod:`relgraph.hooks`: the façade fills them in when it is imported.

Each is a small function importing its provider on first call, so ``import relgraph`` stays
light (no torch, no pydantic plans until used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relgraph import hooks

if TYPE_CHECKING:
    from relgraph.graph import Graph
    from relgraph.protocols import SqlEngine


def _engine_of(graph: Graph) -> SqlEngine:
    from relgraph.engine import engine_of

    return engine_of(graph)


def _output_registry() -> Any:
    from relgraph.jobs.store import JobStore

    return JobStore.current()


def _fit_predictive_query(pq: Any, *args: Any, **kwargs: Any) -> Any:
    from relgraph.trainer.trainer import fit_predictive_query

    return fit_predictive_query(pq, *args, **kwargs)


def _generate_baseline(pq: Any, metrics: list[str] | None, train_table: Any, *,
                       non_blocking: bool, custom_tags: Any, verbose: bool) -> Any:
    from relgraph.trainer.baseline_trainer import BaselineTrainer

    return BaselineTrainer(metrics, verbose=verbose).run(
        pq.graph, train_table, non_blocking=non_blocking, custom_tags=custom_tags)


def _predictive_query_from_training_job(job_id: str, graph: Any) -> Any:
    from relgraph.trainer.trainer import predictive_query_from_training_job

    return predictive_query_from_training_job(job_id, graph)


def _run_table_job(pq: Any, kind: str, options: dict[str, Any], tags: Any) -> Any:
    from relgraph.jobs.handles import PredictionTableJob, TrainingTableJob
    from relgraph.jobs.store import JobKind
    from relgraph.jobs.table_jobs import run_table_job

    job_id = run_table_job(pq, JobKind(kind), options, non_blocking=True, tags=tags)
    cls = TrainingTableJob if kind == "training_table" else PredictionTableJob
    return cls(job_id)


def _table_job_result(job_id: str, kind: str) -> Any:
    from relgraph.jobs import handles

    return getattr(handles, kind)(job_id).result()


def _table_job_class(name: str) -> Any:
    from relgraph.jobs import handles

    return getattr(handles, name)


def _run_baselines(*args: Any, **kwargs: Any) -> Any:
    from relgraph.baselines.run import run_baselines

    return run_baselines(*args, **kwargs)


def _launch_distributed(*args: Any, **kwargs: Any) -> Any:
    from relgraph.distributed import launch

    return launch(*args, **kwargs)


def register_all() -> None:
    """Register every callback of :data:`relgraph.hooks.CALLBACKS`."""
    hooks.register("engine_of", _engine_of)
    hooks.register("output_registry", _output_registry)
    hooks.register("fit_predictive_query", _fit_predictive_query)
    hooks.register("generate_baseline", _generate_baseline)
    hooks.register("predictive_query_from_training_job", _predictive_query_from_training_job)
    hooks.register("run_table_job", _run_table_job)
    hooks.register("table_job_result", _table_job_result)
    hooks.register("table_job_class", _table_job_class)
    hooks.register("run_baselines", _run_baselines)
    hooks.register("launch_distributed", _launch_distributed)
