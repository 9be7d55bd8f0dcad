"""The :class:`Trainer`: AutoML training over a model plan, and batch prediction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from relgraph.config import get_settings
from relgraph.errors import JobError, TrainingError
from relgraph.graph import Graph
from relgraph.trainer.output import OutputConfig
from relgraph.trainer.pipeline import fit_training_job, run_batch_prediction
from relgraph.trainer.results import BatchPredictionJobResult, TrainingJobResult


def new_job_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"


class Trainer:
    """Trains models described by a :class:`~relgraph.trainer.plan.ModelPlan`.

    Example::

        trainer = Trainer(pq.suggest_model_plan())
        result = trainer.fit(graph, pq.generate_training_table())
        print(result.metrics())
    """

    def __init__(self, model_plan: Any, *, verbose: bool = True) -> None:
        self.model_plan = model_plan
        self.verbose = verbose
        self._last_job_id: str | None = None

    @property
    def is_trained(self) -> bool:
        return self._last_job_id is not None

    # ------------------------------------------------------------------ fit
    def fit(self, graph: Graph, train_table: Any = None, *, pquery: Any = None,
            non_blocking: bool = False, custom_tags: Mapping[str, str] | None = None,
            warm_start_job_id: str | None = None) -> TrainingJobResult:
        """Train on ``train_table`` (or the table ``pquery`` generates); returns the result."""
        if (train_table is None) == (pquery is None):
            raise TrainingError("Pass exactly one of train_table or pquery to Trainer.fit.")
        if pquery is not None:
            train_table = pquery.generate_training_table()
        if hasattr(train_table, "result") and not hasattr(train_table, "data_df"):
            train_table = train_table.result()
        job_id = new_job_id("trainingjob")
        folder = get_settings().home / "jobs" / job_id
        folder.mkdir(parents=True)
        fit_training_job(graph, train_table, self.model_plan, folder, job_id,
                         verbose=self.verbose, custom_tags=dict(custom_tags or {}))
        self._last_job_id = job_id
        return TrainingJobResult(job_id)

    # ------------------------------------------------------------------ predict
    def predict(self, graph: Graph, prediction_table: Any = None,
                output_config: OutputConfig | dict | None = None, *,
                training_job_id: str | None = None,
                binary_classification_threshold: float | None = None,
                num_classes_to_return: int | None = None, num_workers: int = 1,
                non_blocking: bool = False, custom_tags: Mapping[str, str] | None = None,
                prediction_time: Any = None, **deprecated: Any) -> BatchPredictionJobResult:
        """Predict for every row of ``prediction_table`` and write the outputs."""
        if deprecated:
            raise JobError(f"Arguments {sorted(deprecated)} are not supported; pass "
                           "output_config=OutputConfig(...) instead.")
        job = training_job_id or self._last_job_id
        if job is None:
            raise JobError("This trainer has not been fit; pass training_job_id or call fit.")
        if prediction_table is None:
            raise JobError("Pass a prediction table: pq.generate_prediction_table().")
        if hasattr(prediction_table, "result") and not hasattr(prediction_table, "data_df"):
            prediction_table = prediction_table.result()
        job_id = new_job_id("bp-job")
        folder = get_settings().home / "jobs" / job_id
        folder.mkdir(parents=True)
        run_batch_prediction(graph, prediction_table, job, OutputConfig.cast(output_config),
                             folder, threshold=binary_classification_threshold,
                             num_classes_to_return=num_classes_to_return)
        return BatchPredictionJobResult(job_id)

    @classmethod
    def load(cls, job_id: str) -> Trainer:
        """A trainer holding the plan of training job ``job_id``, ready to predict."""
        result = TrainingJobResult(job_id)
        trainer = cls(result.model_plan)
        trainer._last_job_id = job_id
        return trainer


