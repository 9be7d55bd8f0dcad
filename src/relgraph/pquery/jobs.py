"""Table-generation jobs: ``generate_*_table(non_blocking=True)`` returns one.

They are stored jobs of the home's job store, defined with the other job objects in
:mod:`relgraph.jobs.handles` and importable from here, where a Kumo user finds them.
"""

from __future__ import annotations

from typing import Any

from relgraph import hooks

__all__ = ["PredictionTableJob", "TrainingTableJob"]  # noqa: F822 (module __getattr__)


def __getattr__(name: str) -> Any:
    """The job classes, from the jobs layer through :mod:`relgraph.hooks` (pquery sits
    below jobs and does not import it)."""
    if name in __all__:
        return hooks.call("table_job_class", name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
