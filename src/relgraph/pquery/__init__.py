"""Predictive Query Language: parse, bind to a graph, generate training/prediction tables.

``PredictiveQuery(graph, "PREDICT ... FOR EACH ...")`` validates a query, infers its task
type and computes labelled tables with one DuckDB statement per table (see
:mod:`relgraph.pquery.sql` for the semantics and :mod:`relgraph.pquery.planner` for the anchor
and split rules).
"""

from __future__ import annotations

from relgraph.pquery.generation_plan import (
    PredictionTableGenerationPlan,
    TrainingTableGenerationPlan,
)
from relgraph.pquery.jobs import PredictionTableJob, TrainingTableJob
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
