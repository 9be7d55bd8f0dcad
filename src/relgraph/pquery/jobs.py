"""Table-generation jobs: ``generate_*_table(non_blocking=True)`` returns one.

They are stored jobs of the home's job store, defined with the other job objects in
:mod:`relgraph.jobs.handles` (loaded on first use) and importable from here, where a Kumo
user finds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relgraph._lazy import lazy_getattr

__all__ = ["PredictionTableJob", "TrainingTableJob"]

__getattr__ = lazy_getattr(__name__, dict.fromkeys(__all__, "relgraph.jobs.handles"))

if TYPE_CHECKING:
    from relgraph.jobs.handles import PredictionTableJob, TrainingTableJob
