"""Upward calls between layers (``docs/ARCHITECTURE.md``, DESIGN §3).

A module imports only from its own layer or lower ones, function-local imports included
(``lint-imports`` checks it). Where a lower layer must call a higher one (``PredictiveQuery.fit``
trains a model; a database output records what it wrote in the job store), it calls a
callback that the façade, :mod:`relgraph.trainer`, registers here when it is imported.
``import relgraph`` imports the façade, so every callback is set before user code runs.

Each callback has a name in :data:`CALLBACKS` (with what it does) and a typed caller in the
lower layer that uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CALLBACKS", "call", "register", "registered"]

#: Name -> what it does (the layer that calls it -> the layer that provides it).
CALLBACKS: dict[str, str] = {
    "engine_of": "graph -> engine: the SQL engine of a graph (Graph.engine)",
    "output_registry": "connector -> jobs: the home's output registry (JobStore.current())",
    "fit_predictive_query": "pquery -> trainer: PredictiveQuery.fit",
    "generate_baseline": "pquery -> trainer: PredictiveQuery.generate_baseline",
    "predictive_query_from_training_job": "pquery -> trainer: "
                                          "PredictiveQuery.load_from_training_job",
    "run_table_job": "pquery -> jobs: generate_*_table(non_blocking=True)",
    "table_job_result": "pquery -> jobs: TrainingTable.load(job_id) and friends",
    "table_job_class": "pquery -> jobs: the TrainingTableJob/PredictionTableJob classes",
    "run_baselines": "training -> baselines: TrainingJobPlan.enable_baselines",
    "launch_distributed": "jobs -> distributed: a distributed training job's worker",
}

_callbacks: dict[str, Callable[..., Any]] = {}


def register(name: str, fn: Callable[..., Any]) -> None:
    """Set callback ``name`` (one of :data:`CALLBACKS`) to ``fn``."""
    if name not in CALLBACKS:
        raise KeyError(f"Unknown relgraph callback {name!r} (known: {sorted(CALLBACKS)})")
    _callbacks[name] = fn


def registered(name: str) -> Callable[..., Any]:
    """The function registered as ``name``; :class:`RuntimeError` when none is."""
    fn = _callbacks.get(name)
    if fn is None:
        raise RuntimeError(f"The relgraph callback {name!r} is not registered; "
                           "`import relgraph` (or relgraph.trainer) registers it.")
    return fn


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call callback ``name`` with the given arguments."""
    return registered(name)(*args, **kwargs)
