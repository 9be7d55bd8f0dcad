"""Finished jobs: training results and batch-prediction results."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from relgraph.errors import JobError
from relgraph.integrity import read_manifest, read_verified

if TYPE_CHECKING:
    from relgraph.training.explain import GlobalExplanation


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None

    def __repr__(self) -> str:
        return f"{self.name}={self.value:.4f}" if self.value is not None else f"{self.name}=None"


@dataclass
class ModelEvaluationMetrics:
    """Metrics of the selected model on each split."""

    test_metrics: list[Metric]
    validation_metrics: list[Metric]
    training_metrics: list[Metric]

    @classmethod
    def from_dict(cls, d: dict[str, dict[str, float | None]]) -> ModelEvaluationMetrics:
        def conv(m: dict[str, float | None]) -> list[Metric]:
            return [Metric(k, v) for k, v in m.items()]
        return cls(conv(d.get("test", {})), conv(d.get("validation", {})),
                   conv(d.get("training", {})))

    def to_dict(self) -> dict[str, dict[str, float | None]]:
        return {"test": {m.name: m.value for m in self.test_metrics},
                "validation": {m.name: m.value for m in self.validation_metrics},
                "training": {m.name: m.value for m in self.training_metrics}}

    def __getitem__(self, key: str) -> float | None:
        """``metrics['test_auroc']``-style access by split prefix and metric name."""
        split, _, name = key.partition("_")
        table = {"test": self.test_metrics, "val": self.validation_metrics,
                 "validation": self.validation_metrics, "train": self.training_metrics,
                 "training": self.training_metrics}.get(split)
        for m in table or []:
            if m.name == name:
                return m.value
        raise KeyError(key)

    def __str__(self) -> str:
        rows = []
        for split, ms in (("test", self.test_metrics), ("validation", self.validation_metrics),
                          ("training", self.training_metrics)):
            if ms:
                rows.append(f"{split:>10}: " + ", ".join(repr(m) for m in ms))
        return "\n".join(rows)


def _job_dir(job_id: str) -> Path:
    """The folder of a finished job (a job known to the store must be DONE)."""
    from relgraph.config import get_settings
    from relgraph.jobs.store import JobStatus, JobStore

    home = get_settings().home
    store = JobStore(home)
    path = store.folder(job_id)  # checks the id: it cannot name a folder elsewhere
    if store.exists(job_id):
        rec = store.get(job_id)
        if rec.status is not JobStatus.DONE:
            why = f": {rec.error}" if rec.error else ""
            raise JobError(f"Job {job_id} is {rec.status.value}{why}; results exist only for "
                           "DONE jobs. Wait with job.result() or job.attach().")
    if not (path / "meta.json").is_file():
        raise JobError(f"No finished job '{job_id}' under {path.parent}. Check the id, or "
                       "call relgraph.init(home=...) with the home the job was run in.")
    return path


def _request(job_id: str) -> dict[str, Any]:
    from relgraph.jobs.store import JobStore

    store = JobStore.current()
    return store.get(job_id, reap=False).request if store.exists(job_id) else {}


class _JobResult:
    """A finished job: its id, folder and ``meta.json``."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.dir = _job_dir(job_id)
        self._meta: dict[str, Any] = json.loads(read_verified(self.dir, "meta.json"))

    @property
    def id(self) -> str:
        return self.job_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r})"


class TrainingJobResult(_JobResult):
    """A finished training job (reference ``TrainingJobResult``)."""

    @property
    def task_type(self) -> str:
        return str(self._meta["task_type"])

    @property
    def model_plan(self) -> Any:
        from relgraph.plan.model_plan import ModelPlan

        return ModelPlan.from_json(read_verified(self.dir, "plan.json").decode())

    @property
    def best_trial(self) -> dict[str, Any]:
        """The settings of the selected trial."""
        return dict(self._meta["best_settings"])

    def metrics(self) -> ModelEvaluationMetrics:
        return ModelEvaluationMetrics.from_dict(self._meta["metrics"])

    def baseline_metrics(self) -> dict[str, ModelEvaluationMetrics]:
        """Baseline metrics per baseline (majority/mean, LightGBM), computed on the same
        training table when the plan sets ``enable_baselines=True``; empty otherwise."""
        return {name: ModelEvaluationMetrics.from_dict(m)
                for name, m in self._meta.get("baselines", {}).items()}

    @property
    def recalibration(self) -> dict[str, Any] | None:
        """The validation post-processing of regression predictions, or None:
        ``{"shift", "scale"}`` (prediction = scale x model + shift; scale 0 means the model
        did not beat a constant on validation and predicts the validation median), plus
        ``"rounded": True`` when integer targets are predicted rounded, with ``"round_at"``:
        the fraction of the way to the next integer from which they round up (fitted on
        validation; 0.5 is ordinary rounding)."""
        value = self._meta.get("recalibration")
        return None if value is None else dict(value)

    @property
    def ensemble_trials(self) -> list[int]:
        """The AutoML trials (0-based) whose predictions the model averages, the best one
        first: those validation cannot tell apart from the best (``[best]`` alone when every
        other trial is reliably worse)."""
        return list(self._meta.get("ensemble_trials") or [])

    @property
    def gbdt(self) -> dict[str, Any] | None:
        """The GBDT learner blended with the GNN, or None: its blend ``weight`` (0 = GNN
        alone, 1 = GBDT alone, chosen on validation), boosting ``rounds``,
        ``num_features``, the validation score of each weight and, under ``"test"``, the
        test metrics of each component alone (``gnn``, ``gbdt``; before recalibration)."""
        value = self._meta.get("gbdt")
        return None if value is None else dict(value)

    @property
    def entity_table(self) -> str:
        """The table whose rows the model predicts for."""
        return str(self._meta["entity_table"])

    def graph(self) -> Any:
        """The graph the job was trained on (its snapshot), or None without one."""
        return self._graph()

    @property
    def is_temporal(self) -> bool:
        """Whether the model predicts at anchor times (a temporal query)."""
        if "temporal" in self._meta:
            return bool(self._meta["temporal"])
        return "ANCHOR_TIMESTAMP" in self.holdout_df().columns

    def explanations(self) -> GlobalExplanation:
        """Column and table importance on the validation split
        (:class:`~relgraph.training.explain.GlobalExplanation`): how much the validation
        metric drops when a column's values (or a whole table's) are shuffled."""
        from relgraph.training.explain import GlobalExplanation

        if "explanations.json" not in read_manifest(self.dir):
            why = "its plan set training_job.disable_explain=True" if \
                self.model_plan.training_job.disable_explain is True else \
                "it has no validation rows (or predates explanations)"
            raise JobError(f"Job {self.job_id} has no explanations: {why}. Per-entity "
                           "explanations still work: Trainer.load(job_id).explain(...).")
        return GlobalExplanation.from_dict(json.loads(read_verified(self.dir,
                                                                    "explanations.json")))

    def holdout_df(self) -> pd.DataFrame:
        """Test-split rows with the model's predictions."""
        return pd.read_parquet(io.BytesIO(read_verified(self.dir, "holdout.parquet")))

    def training_curves(self) -> pd.DataFrame:
        """One row per trial and epoch: train loss, validation metrics and time."""
        rows = []
        for trial in self._meta["trials"]:
            for rec in trial["history"]:
                row = {"trial": trial["trial"], "epoch": rec["epoch"],
                       "train_loss": rec["train_loss"], "seconds": rec["seconds"]}
                row.update({f"val_{k}": v for k, v in rec.get("val", {}).items()})
                rows.append(row)
        return pd.DataFrame(rows)

    def training_curves_by_trial(self) -> dict[int, pd.DataFrame]:
        """:meth:`training_curves`, one frame per trial."""
        curves = self.training_curves()
        if curves.empty:
            return {}
        return {int(t): g.drop(columns="trial").reset_index(drop=True)
                for t, g in curves.groupby("trial")}

    def summary(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "task_type": self.task_type,
                "total_elapsed_time": self._meta["seconds"],
                "automl_experiments_completed": len(self._meta["trials"])}

    def load_config(self) -> dict[str, Any]:
        """The request the job was started with (plan, query, graph definition)."""
        return dict(_request(self.job_id))

    @property
    def tracking_url(self) -> str:
        report = self.dir / "report.html"
        return (report if report.exists() else self.dir).as_uri()

    def holdout_url(self) -> str:
        return (self.dir / "holdout.parquet").as_uri()

    @property
    def training_table(self) -> Any:
        """The training table the job was trained on (rows and task metadata)."""
        from relgraph.jobs.worker import load_request_table

        if not (self.dir / "request" / "train_table.parquet").exists():
            raise JobError(f"Job {self.job_id} has no stored training table (its rows could "
                           "not be written as Parquet).")
        return load_request_table(self.dir, "train_table", self._graph())

    def _graph(self) -> Any:
        snap = _request(self.job_id).get("graph_snapshot")
        if snap:
            from relgraph.config import get_settings
            from relgraph.jobs.worker import load_graph

            return load_graph(get_settings().home, snap)
        return None

    @property
    def predictive_query(self) -> Any:
        """The predictive query the training table came from (None for custom tables)."""
        query = _request(self.job_id).get("query")
        if not query:
            return None
        from relgraph.pquery import PredictiveQuery

        graph = self._graph()
        if graph is None:
            raise JobError(f"The graph snapshot of job {self.job_id} is gone; rebuild "
                           f"PredictiveQuery(graph, {query!r}) yourself.")
        return PredictiveQuery(graph, query)

    def report_path(self) -> Path:
        """The job's HTML report (written now if missing; checked against the manifest
        when the job wrote it)."""
        path = self.dir / "report.html"
        if path.exists() and "report.html" in read_manifest(self.dir):
            read_verified(self.dir, "report.html")
        elif not path.exists():
            from relgraph.jobs.report import write_report

            write_report(self.dir, self.job_id, _request(self.job_id))
        return path


@dataclass(frozen=True)
class BatchPredictionJobSummary:
    """What a finished batch-prediction job predicted (reference
    ``BatchPredictionJobSummary``); ``summary["num_entities_predicted"]`` also works."""

    num_entities_predicted: int

    def __getitem__(self, key: str) -> int:
        if key != "num_entities_predicted":
            raise KeyError(key)
        return self.num_entities_predicted


@dataclass(frozen=True)
class ArtifactExportResult:
    """A finished export of one output type of a batch-prediction job (reference
    ``ArtifactExportResult``): ``location`` is where it was written."""

    job_id: str
    output_type: str
    location: str

    def tracking_url(self) -> str:
        return self.location if "://" in self.location else Path(self.location).as_uri()


class ArtifactExportJob:
    """An export running in a background thread (reference ``ArtifactExportJob``)."""

    def __init__(self, job_id: str, run: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.job_id = job_id
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relgraph-export")
        self._future = pool.submit(run)
        pool.shutdown(wait=False)

    @property
    def id(self) -> str:
        return self.job_id

    def status(self) -> Any:
        """``RUNNING``, ``DONE`` or ``FAILED`` (a :class:`JobStatus`)."""
        from relgraph.jobs.store import JobStatus

        if not self._future.done():
            return JobStatus.RUNNING
        return JobStatus.FAILED if self._future.exception() is not None else JobStatus.DONE

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> ArtifactExportResult:
        """Wait for the export; re-raises its error."""
        return self._future.result(timeout)  # type: ignore[no-any-return]

    def attach(self) -> ArtifactExportResult:
        return self.result()

    def future(self) -> Any:
        return self._future

    def cancel(self) -> bool:
        """Exports are short and atomic: a running one is not interrupted (False)."""
        return self._future.cancel()

    def __repr__(self) -> str:
        return f"ArtifactExportJob(job_id={self.job_id!r}, status={self.status().value!r})"


class BatchPredictionJobResult(_JobResult):
    """A finished batch-prediction job (reference ``BatchPredictionJobResult``)."""

    def summary(self) -> BatchPredictionJobSummary:
        return BatchPredictionJobSummary(int(self._meta["num_entities_predicted"]))

    @property
    def tracking_url(self) -> str:
        return self.dir.as_uri()

    @property
    def prediction_table(self) -> Any:
        from relgraph.jobs.worker import load_request_table

        return load_request_table(self.dir, "prediction_table")

    def load_config(self) -> dict[str, Any]:
        return dict(_request(self.job_id))

    def _urls(self, kind: str) -> list[str]:
        exported = self._meta.get("exports", {}).get(kind)
        if exported:
            return [exported]
        return [str(self._path(kind))] if kind in self._meta["outputs"] else []

    def predictions_urls(self) -> list[str]:
        """Where the predictions went (the export destination, else the job folder)."""
        return self._urls("predictions")

    def embeddings_urls(self) -> list[str]:
        return self._urls("embeddings")

    def _path(self, kind: str) -> Path:
        return self.dir / Path(self._meta["outputs"][kind]).name

    def export(self, output_config: Any, non_blocking: bool = True
               ) -> ArtifactExportJob | ArtifactExportResult:
        """Write one output type of this job to ``output_config``'s connector (atomic; a
        destination relgraph did not write is never replaced).

        Returns an :class:`ArtifactExportJob` (``.result()`` waits), or with
        ``non_blocking=False`` the :class:`ArtifactExportResult`, whose ``location`` says
        where the rows went. Bad arguments raise here, in either mode.
        """
        from relgraph.connector.output import OutputConfig, write_output

        cfg = OutputConfig.cast(output_config)
        if cfg.output_connector is None:
            raise JobError("export needs an OutputConfig with an output_connector.")
        if len(cfg.output_types) != 1:
            raise JobError("export writes one output type per call; pass "
                           "output_types={'predictions'} or {'embeddings'}.")
        kind = next(iter(cfg.output_types))
        if kind not in self._meta["outputs"]:
            self._read(kind)  # raises: the job did not produce it

        def run() -> ArtifactExportResult:
            return ArtifactExportResult(self.job_id, kind, write_output(self._read(kind), cfg,
                                                                        kind))

        return ArtifactExportJob(self.job_id, run) if non_blocking else run()

    def predictions_df(self) -> pd.DataFrame:
        return self._read("predictions")

    def embeddings_df(self) -> pd.DataFrame:
        return self._read("embeddings")

    def explanations_df(self) -> pd.DataFrame:
        """Per-entity explanations (``Trainer.predict(..., explain=True)``): ``ENTITY``,
        ``ANCHOR_TIMESTAMP``, ``PREDICTION`` (JSON), ``EXPLAINED``, ``VALUE``, ``COLUMNS``
        and ``ROWS`` (lists of records, see ``EntityExplanation``)."""
        if "explanations" not in self._meta["outputs"]:
            raise JobError(f"Job {self.job_id} did not explain its predictions; predict "
                           "with explain=True.")
        return pd.read_parquet(io.BytesIO(read_verified(self.dir, self._path(
            "explanations").name)))

    def _read(self, kind: str) -> pd.DataFrame:
        if kind not in self._meta["outputs"]:
            raise JobError(f"Job {self.job_id} did not produce {kind}; request it with "
                           f"OutputConfig(output_types={{'{kind}'}}).")
        data = io.BytesIO(read_verified(self.dir, self._path(kind).name))
        return pd.read_csv(data) if self._path(kind).suffix == ".csv" else pd.read_parquet(data)


class BaselineJobResult(_JobResult):
    """A finished baseline job: ``metrics()`` is ``{name: (test, validation)}``."""

    def metrics(self) -> dict[str, tuple[list[Metric], list[Metric]]]:
        out = {}
        for name, splits in self._meta["baselines"].items():
            m = ModelEvaluationMetrics.from_dict(splits)
            out[name] = (m.test_metrics, m.validation_metrics)
        return out

    def metrics_dict(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """``{baseline: {"test": {...}, "validation": {...}}}`` as plain floats."""
        return {k: dict(v) for k, v in self._meta["baselines"].items()}
