"""Predictive Query Language: parse, bind to a graph, generate training/prediction tables.

``PredictiveQuery(graph, "PREDICT ... FOR EACH ...")`` validates a query, infers its task
type and computes labelled tables with one DuckDB statement per table.

Modules: ``grammar.lark`` + :mod:`~relgraph.pquery.parser` (text -> AST, errors with
line/column), :mod:`~relgraph.pquery.ast`, :mod:`~relgraph.pquery.binder` (names, join paths,
types), :mod:`~relgraph.pquery.task_type`, :mod:`~relgraph.pquery.planner` (anchors, splits),
:mod:`~relgraph.pquery.sql` (label SQL), :mod:`~relgraph.pquery.generation_plan`,
:mod:`~relgraph.pquery.training_table`, :mod:`~relgraph.pquery.prediction_table`,
:mod:`~relgraph.pquery.jobs` (stored table-generation jobs), :mod:`~relgraph.testing.pql_fuzz`
(parser fuzzing).

Semantics in brief:

* Windows ``(start, end]`` relative to the anchor, in seconds (months = 30 days); start
  exclusive, end inclusive. Rows with a null time are in no window.
* An entity exists at anchor ``t`` if its table has no time column, its time is null, or its
  time is ``<= t`` (and its end time, if any, is null or ``> t``).
* COUNT / COUNT_DISTINCT / SUM over no rows are 0; AVG / MIN / MAX / FIRST / LAST over no
  non-null values are NULL and the row is dropped. Conditions use SQL three-valued logic.
* Anchors step back from ``t_max - horizon`` by ``timeframe_step`` (default the window
  length); splits: newest anchors test, next val, rest train, dropping anchors whose label
  windows would overlap a later split's (see :mod:`~relgraph.pquery.planner`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relgraph._lazy import lazy_getattr
from relgraph.pquery.generation_plan import (
    PredictionTableGenerationPlan,
    TrainingTableGenerationPlan,
)

# stored jobs, defined in relgraph.jobs.handles (see relgraph.pquery.jobs)
from relgraph.pquery.jobs import __getattr__
from relgraph.pquery.parser import parse_query
from relgraph.pquery.prediction_table import PredictionTable
from relgraph.pquery.predictive_query import PredictiveQuery
from relgraph.pquery.training_table import TrainingTable

__all__ = [
    "PredictionTable",
    "PredictionTableGenerationPlan",
    "PredictionTableJob",
    "PredictiveQuery",
    "TrainingTable",
    "TrainingTableGenerationPlan",
    "TrainingTableJob",
    "parse_query",
]
