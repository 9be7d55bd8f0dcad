"""PredictionTable: the (entity, anchor time) rows a trained model scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from relgraph.task import QueryType, TaskType

if TYPE_CHECKING:
    from relgraph.graph import Graph
    from relgraph.pquery.generation_plan import PredictionTableGenerationPlan
    from relgraph.pquery.predictive_query import PredictiveQuery

__all__ = ["PredictionTable"]


class PredictionTable:
    """Rows to predict: ``ENTITY`` and ``ANCHOR_TIMESTAMP`` (temporal queries; all rows share
    :attr:`anchor_time`). Static queries have only ``ENTITY``.

    ``PredictionTable(job_id)`` (or ``job_id=``) reads the table of a finished
    prediction-table job.
    """

    def __init__(
        self,
        df: pd.DataFrame | str | None = None,
        *,
        anchor_time: pd.Timestamp | None = None,
        entity_table: str = "",
        task_type: TaskType | None = None,
        query_type: QueryType | None = None,
        graph: Graph | None = None,
        query: PredictiveQuery | None = None,
        plan: PredictionTableGenerationPlan | None = None,
        sql: str | None = None,
        job_id: str | None = None,
    ) -> None:
        if isinstance(df, str) or job_id is not None:
            from relgraph.pquery.training_table import _from_job

            self.__dict__.update(_from_job(str(job_id or df), "PredictionTableJob").__dict__)
            return
        if df is None or not entity_table:
            from relgraph.errors import PQLError

            raise PQLError("PredictionTable needs rows and entity_table (or a prediction-table "
                           "job id: PredictionTable(job_id))")
        self._df = df
        self.anchor_time = anchor_time
        self.entity_table = entity_table
        self.task_type = task_type
        self.query_type = query_type
        self.graph = graph
        self.query = query
        self.plan = plan
        self.sql = sql

    def data_df(self) -> pd.DataFrame:
        """The rows (a copy)."""
        return self._df.copy()

    def __len__(self) -> int:
        return len(self._df)

    def __repr__(self) -> str:
        return (f"PredictionTable(rows={len(self._df)}, anchor_time={self.anchor_time}, "
                f"entity_table={self.entity_table!r})")
