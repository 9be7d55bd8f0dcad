"""The :class:`Trainer`: AutoML training over a model plan, and batch prediction.

Every ``fit``/``predict`` is a job in the home folder's job store. ``non_blocking=True``
starts it in a worker process and returns a :class:`TrainingJob` /
:class:`BatchPredictionJob` at once; otherwise the same job runs in this process with a
progress bar and the finished result is returned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relgraph.connector import DatabaseConnector
from relgraph.connector.output import OutputConfig, output_table_names
from relgraph.errors import JobError, RelgraphError, TrainingError
from relgraph.graph import Graph
from relgraph.jobs.handles import BatchPredictionJob, TrainingJob
from relgraph.jobs.results import BatchPredictionJobResult, TrainingJobResult
from relgraph.jobs.store import JobKind, JobStatus, JobStore

if TYPE_CHECKING:
    from relgraph.training.explain import EntityExplanation

__all__ = ["DeprecatedArgumentError", "Trainer", "fit_predictive_query",
           "predictive_query_from_training_job", "submit_job"]


class DeprecatedArgumentError(RelgraphError, ValueError):
    """A removed argument was passed (use the documented replacement)."""


def _resolve_table(table: Any) -> Any:
    """A table, or the finished table of a table-generation job."""
    if hasattr(table, "result") and not hasattr(table, "data_df"):
        return table.result()
    return table


def _table_summary(table: Any) -> dict[str, Any]:
    df = table.data_df()
    out: dict[str, Any] = {"rows": len(df),
                           "entity_table": getattr(table, "entity_table", None)}
    task = getattr(table, "task_type", None)
    if task is not None:
        out["task_type"] = str(getattr(task, "value", task))
    if "SPLIT" in df.columns:
        out["splits"] = {str(k): int(v) for k, v in df["SPLIT"].value_counts().items()}
    plan = getattr(table, "plan", None)
    if plan is not None and hasattr(plan, "to_dict"):
        out["generation_plan"] = plan.to_dict()
    if getattr(table, "sql", None):
        out["sql"] = table.sql
    return out


def _query_text(table: Any) -> str | None:
    query = getattr(table, "query", None)
    if query is not None:
        return getattr(query, "query", None)
    return getattr(table, "query_text", None)  # a table read back from its job


def generate_table_job(pq: Any, kind: JobKind, **kwargs: Any) -> tuple[Any, str]:
    """Generate a training / prediction table from ``pq`` as a stored inline job (see
    :mod:`relgraph.jobs.table_jobs`); returns ``(table, job_id)``."""
    from relgraph.jobs.table_jobs import live_table, run_table_job

    job_id = run_table_job(pq, kind, kwargs, non_blocking=False, snapshot=False)
    return live_table(job_id), job_id


def submit_job(kind: JobKind, graph: Graph, request: dict[str, Any], objects: dict[str, Any],
               *, tags: Mapping[str, str] | None, non_blocking: bool,
               verbose: bool = True, env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """Create a job (request, input files, graph snapshot) and start or run it.

    The inputs are written without pickle (Parquet and JSON, see
    :mod:`relgraph.graph.snapshot`). Returns ``(job_id, finished)``: non-blocking jobs
    are started in a worker process, with ``env`` added to its environment (secrets such
    as a database password: never written to the job folder, the job store or the logs);
    blocking ones run here with a progress bar (errors are raised after being recorded).
    """
    from relgraph.graph.snapshot import SnapshotError
    from relgraph.jobs import worker
    from relgraph.jobs.progress import ProgressBar

    store = JobStore.current()
    request = dict(request)
    request["graph"] = graph.to_dict()
    try:
        request["graph_snapshot"] = worker.snapshot_graph(store, graph)
    except SnapshotError:
        if non_blocking:
            raise
        request["graph_snapshot"] = None  # blocking runs use the live objects below
    request["tags"] = dict(tags or {})
    job_id = store.create(kind, request, tags=tags)
    folder = store.folder(job_id)
    try:
        worker.save_request(folder, objects, strict=non_blocking)
    except BaseException as exc:
        store.finish(job_id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    if non_blocking:
        worker.launch(store, job_id, env=env)
        return job_id, False
    bar = ProgressBar(job_id, disable=not verbose)
    worker._LIVE[job_id] = {"graph": graph, **objects}
    try:
        worker.run_job(store, job_id, runner="inline", on_progress=bar.render)
    finally:
        worker._LIVE.pop(job_id, None)
        bar.close()
    return job_id, True


class Trainer:
    """Trains models described by a :class:`~relgraph.plan.model_plan.ModelPlan`.

    Example::

        trainer = Trainer(pq.suggest_model_plan())
        result = trainer.fit(graph, pq.generate_training_table())
        print(result.metrics())
        job = trainer.fit(graph, table, non_blocking=True)   # returns at once
        result = job.attach()                                 # live progress bar
    """

    def __init__(self, model_plan: Any = None, *, verbose: bool = True) -> None:
        self.model_plan = model_plan
        self.verbose = verbose
        self._last_job_id: str | None = None
        self._encoders: dict[str, Any] | None = None

    @property
    def is_trained(self) -> bool:
        """Whether the last fit job finished (status DONE)."""
        status = self.status()
        if status is JobStatus.MISSING:  # a job folder copied in without its store row
            return (JobStore.current().folder(str(self._last_job_id)) / "meta.json").exists()
        return status is JobStatus.DONE

    def status(self) -> JobStatus:
        """The status of the last fit job: ``UNTRAINED`` before any fit, ``MISSING`` when
        the home's job store does not know it."""
        if self._last_job_id is None:
            return JobStatus.UNTRAINED
        return JobStore.current().status_of(self._last_job_id)

    @property
    def encoders(self) -> dict[str, Any]:
        """The fitted column encoders of the last fit job (``{table: TableFeatures}``)."""
        if self._encoders is not None:
            return self._encoders
        if self._last_job_id is None:
            raise JobError("This trainer has not been fit; call fit or Trainer.load(job_id).")
        return self.get_encoders(self._last_job_id)

    @encoders.setter
    def encoders(self, value: dict[str, Any]) -> None:
        self._encoders = dict(value)

    # ------------------------------------------------------------------ fit
    def fit(self, graph: Graph, train_table: Any = None, *, pquery: Any = None,
            non_blocking: bool = False, custom_tags: Mapping[str, str] | None = None,
            warm_start_job_id: str | None = None,
            distributed: int | Mapping[str, Any] | None = None) -> Any:
        """Train on ``train_table`` (or the table ``pquery`` generates).

        ``distributed=N`` (or a dict of :func:`relgraph.distributed.launch` options such as
        ``{"nproc_per_node": 4}``) trains with DDP in N torchrun processes (NCCL on GPUs,
        gloo on CPU); the job, its artifacts and its result are the same.

        Returns a :class:`TrainingJobResult`, or with ``non_blocking=True`` a running
        :class:`TrainingJob`. ``warm_start_job_id`` reuses that job's architecture, column
        processing and neighbor sampling and initialises every weight whose shape matches
        from its model.
        """
        if (train_table is None) == (pquery is None):
            raise TrainingError("Pass exactly one of train_table or pquery to Trainer.fit.")
        table_job_id = None
        if pquery is not None:
            train_table, table_job_id = generate_table_job(pquery, JobKind.TRAINING_TABLE)
        train_table = _resolve_table(train_table)
        table_job_id = getattr(train_table, "_relgraph_job_id", table_job_id)
        if not hasattr(train_table, "data_df"):
            raise TrainingError(f"train_table must be a TrainingTable (or its job), got "
                                f"{type(train_table).__name__}.")
        plan = self.model_plan
        if warm_start_job_id is not None:
            base = TrainingJobResult(warm_start_job_id)
            if plan is not None:
                old = base.model_plan
                plan = type(plan).from_json(plan.as_json())
                plan.model_architecture = old.model_architecture
                plan.column_processing = old.column_processing
                plan.neighbor_sampling = old.neighbor_sampling
            else:
                plan = base.model_plan
        query = pquery.query if pquery is not None else _query_text(train_table)
        request = {"plan": json.loads(plan.as_json()) if plan is not None else None,
                   "query": query, "train_table": _table_summary(train_table),
                   "warm_start_job_id": warm_start_job_id,
                   "distributed": _distributed_options(distributed),
                   "excluded_columns": sorted(excluded_target_columns(train_table)),
                   "training_table_job_id": table_job_id}
        job_id, finished = submit_job(JobKind.TRAINING, graph, request,
                                      {"train_table": train_table},
                                      tags=custom_tags, non_blocking=non_blocking,
                                      verbose=self.verbose)
        self._last_job_id = job_id
        self._encoders = None
        if not finished:
            return TrainingJob(job_id)
        result = TrainingJobResult(job_id)
        if self.verbose:
            print(f"[{job_id}] done; test: " + ", ".join(
                repr(m) for m in result.metrics().test_metrics))
        return result

    # ------------------------------------------------------------------ predict
    def predict(self, graph: Graph, prediction_table: Any = None,
                output_types: Any = None, output_connector: Any = None,
                output_table_name: Any = None, output_metadata_fields: Any = None,
                output_config: OutputConfig | dict | None = None,
                training_job_id: str | None = None,
                binary_classification_threshold: float | None = None,
                num_classes_to_return: int | None = None, num_workers: int = 1,
                non_blocking: bool = False, custom_tags: Mapping[str, str] | None = None,
                prediction_time: Any = None, explain: bool = False) -> Any:
        """Predict for every row of ``prediction_table`` and write the outputs.

        ``explain=True`` also explains every prediction (see :meth:`explain`); the result's
        ``explanations_df()`` holds them.

        ``prediction_table=None`` generates it from the training job's query at
        ``prediction_time`` (default: the latest data). ``num_workers > 1`` splits the
        rows into that many shards predicted by parallel processes. Returns a
        :class:`BatchPredictionJobResult`, or with ``non_blocking=True`` a
        :class:`BatchPredictionJob`.
        """
        if isinstance(output_types, (OutputConfig, dict)) and output_config is None:
            output_config, output_types = output_types, None  # positional output_config
        deprecated = {k for k, v in (("output_types", output_types),
                                     ("output_connector", output_connector),
                                     ("output_table_name", output_table_name),
                                     ("output_metadata_fields", output_metadata_fields))
                      if v is not None}
        if deprecated:
            raise DeprecatedArgumentError(
                f"Arguments {sorted(deprecated)} are deprecated; pass "
                "output_config=OutputConfig(output_types=..., output_connector=..., "
                "output_table_name=...) instead.")
        job = training_job_id or self._last_job_id
        if job is None:
            raise JobError("This trainer has not been fit; pass training_job_id or call fit.")
        trained = TrainingJobResult(job)  # raises unless the training job is DONE
        if num_workers < 1:
            raise JobError(f"num_workers must be at least 1, got {num_workers}.")
        table_job_id = None
        if prediction_table is None:
            pq = predictive_query_from_training_job(job, graph)
            prediction_table, table_job_id = generate_table_job(
                pq, JobKind.PREDICTION_TABLE, anchor_time=prediction_time)
        elif prediction_time is not None:
            raise JobError("prediction_time is only allowed without a prediction_table; "
                           "generate the table with anchor_time=... instead.")
        prediction_table = _resolve_table(prediction_table)
        output = OutputConfig.cast(output_config)
        conn = output.output_connector
        secrets: dict[str, str] = {}
        if isinstance(conn, DatabaseConnector):
            from relgraph.connector.exports import database_output

            # unreachable server, missing permission: fail now, not after predicting
            database_output(conn).check_writable(output_table_names(output), output.write_mode)
            # the password reaches a worker through its environment only (the job's files
            # describe the connector without it); this process keeps it in memory to stage,
            # publish or discard the job's tables itself (inline jobs, reaped workers)
            secrets = conn.secret_env()
            conn.share_secrets()
        request = {"training_job_id": job, "threshold": binary_classification_threshold,
                   "num_classes_to_return": num_classes_to_return,
                   "num_workers": int(num_workers), "task_type": trained.task_type,
                   "prediction_table": _table_summary(prediction_table),
                   "prediction_table_job_id": table_job_id, "explain": bool(explain),
                   "output": {"output_types": sorted(output.output_types),
                              "output_connector": repr(output.output_connector),
                              "output_table_name": output.output_table_name,
                              "file_type": output.file_type}}
        job_id, finished = submit_job(
            JobKind.BATCH_PREDICTION, graph, request,
            {"prediction_table": prediction_table, "output_config": output},
            tags=custom_tags, non_blocking=non_blocking, verbose=self.verbose, env=secrets)
        if not finished:
            return BatchPredictionJob(job_id)
        return BatchPredictionJobResult(job_id)

    # ------------------------------------------------------------------ explain
    def explain(self, graph: Graph, entities: Any, anchor_time: Any = None, *,
                training_job_id: str | None = None, top_columns: int = 10,
                top_rows: int = 5) -> list[EntityExplanation]:
        """Explain the predictions for ``entities`` (primary keys of the entity table) at
        ``anchor_time`` (one time, or one per entity; default: the latest time in
        ``graph``; ignored by static queries).

        Returns one :class:`~relgraph.training.explain.EntityExplanation` per entity: the
        prediction, the ``top_columns`` columns with their signed contributions and the
        ``top_rows`` related rows (table, primary key, time) that mattered most, every one
        visible at the entity's anchor time. Runs here, without a job.

        Example::

            for e in trainer.explain(graph, [17, 42], anchor_time="2011-09-01"):
                print(e)
        """
        import pandas as pd

        from relgraph.training.pipeline import Predictor

        job = training_job_id or self._last_job_id
        if job is None:
            raise JobError("This trainer has not been fit; pass training_job_id or call fit.")
        trained = TrainingJobResult(job)
        keys = [entities] if isinstance(entities, (str, bytes)) or not hasattr(
            entities, "__iter__") else list(entities)
        if not keys:
            raise JobError("explain needs at least one entity.")
        df = pd.DataFrame({"ENTITY": keys})
        if trained.is_temporal:
            if anchor_time is None:
                anchor_time = _latest_time(graph)
            anchors = list(anchor_time) if isinstance(anchor_time, (list, tuple)) or (
                hasattr(anchor_time, "__len__") and not isinstance(anchor_time, str)) \
                else [anchor_time] * len(keys)
            if len(anchors) != len(keys):
                raise JobError(f"anchor_time has {len(anchors)} values for {len(keys)} "
                               "entities; pass one time, or one per entity.")
            df["ANCHOR_TIMESTAMP"] = pd.to_datetime(pd.Series(anchors), utc=True) \
                .dt.tz_localize(None)
        predictor = Predictor.load(graph, job)
        table = graph[predictor.entity_table]
        known = set(table.data[table.primary_key]) if table.primary_key else set()
        missing = [k for k in keys if k not in known]
        if missing:
            raise JobError(f"Entities {missing[:5]} are not primary keys of table "
                           f"'{predictor.entity_table}' (column '{table.primary_key}').")
        return predictor.explain(predictor.seeds(df), top_columns=top_columns,
                                 top_rows=top_rows)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, job_id: str) -> Trainer:
        """A trainer holding the plan of finished training job ``job_id``, ready to predict."""
        result = TrainingJobResult(job_id)
        trainer = cls(result.model_plan)
        trainer._last_job_id = job_id
        return trainer

    @classmethod
    def load_from_tags(cls, tags: Mapping[str, str]) -> Trainer:
        """The trainer of the newest finished training job carrying all ``tags``."""
        store = JobStore.current()
        for job_id in store.search_by_tags(tags, kind=JobKind.TRAINING, limit=1000):
            if store.get(job_id).status is JobStatus.DONE:
                return cls.load(job_id)
        raise JobError(f"No finished training job has tags {dict(tags)}.")

    @staticmethod
    def get_encoders(job_id: str) -> dict[str, Any]:
        """The fitted column encoders of a training job: ``{table: TableFeatures}``."""
        from relgraph.training.artifacts import load_model

        _, features, _, _, _ = load_model(TrainingJobResult(job_id).dir)
        return features


def _latest_time(graph: Graph) -> Any:
    """The latest row time of ``graph`` (its tables' time columns)."""
    import pandas as pd

    times = [pd.to_datetime(t.data[t.time_column], utc=True).max()
             for t in graph.tables.values() if t.time_column is not None]
    times = [t for t in times if not pd.isna(t)]
    if not times:
        raise JobError("The graph has no timed rows; pass anchor_time.")
    return max(times)


# ---------------------------------------------------------------------- PredictiveQuery.fit
def excluded_target_columns(train_table: Any) -> set[tuple[str, str]]:
    from relgraph.training.features import excluded_target_columns as columns

    return columns(train_table)


def _distributed_options(value: int | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    options = {"nproc_per_node": value} if isinstance(value, int) else dict(value)
    if int(options.get("nproc_per_node", 0)) < 1:
        raise TrainingError(f"distributed needs nproc_per_node >= 1, got {value!r}.")
    return options


def fit_predictive_query(pq: Any, training_table_plan: Any = None, model_plan: Any = None, *,
                         non_blocking: bool = False,
                         custom_tags: Mapping[str, str] | None = None,
                         verbose: bool = True) -> tuple[Trainer, Any]:
    """``PredictiveQuery.fit``: generate the training table, suggest a plan, train.

    Returns ``(trainer, TrainingJobResult)``, or ``(trainer, TrainingJob)`` with
    ``non_blocking=True`` (the table is generated before returning).
    """
    table, _ = generate_table_job(pq, JobKind.TRAINING_TABLE, plan=training_table_plan)
    plan = model_plan if model_plan is not None else table.suggest_model_plan()
    trainer = Trainer(plan, verbose=verbose)
    out = trainer.fit(pq.graph, table, non_blocking=non_blocking, custom_tags=custom_tags)
    return trainer, out


def predictive_query_from_training_job(job_id: str, graph: Graph | None = None) -> Any:
    """``PredictiveQuery.load_from_training_job``: the query of a training job, bound to
    ``graph`` (default: the job's graph snapshot)."""
    from relgraph.jobs.worker import load_graph
    from relgraph.pquery import PredictiveQuery

    store = JobStore.current()
    request = store.get(job_id, reap=False).request
    query = request.get("query")
    if not query:
        raise JobError(f"Training job {job_id} was trained on a custom table with no "
                       "predictive query; pass a prediction_table.")
    if graph is None:
        if not request.get("graph_snapshot"):
            raise JobError(f"Training job {job_id} has no graph snapshot (its graph could not "
                           "be written as Parquet); pass the graph.")
        graph = load_graph(store.home, request["graph_snapshot"])
    return PredictiveQuery(graph, query)
