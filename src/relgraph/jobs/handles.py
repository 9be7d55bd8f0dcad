"""Job objects: in-progress training, batch-prediction and baseline jobs.

A job object is a handle on a row of the job store; it holds no state of its own, so the
same job can be watched, awaited, tagged or cancelled from any process that opened the
same home (``relgraph.init(home=...)``), e.g. a notebook restarted mid-training::

    job = trainer.fit(graph, table, non_blocking=True)
    job_id = job.id
    # ... later, anywhere:
    result = TrainingJob(job_id).attach()
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Generic, TypeVar

from relgraph.errors import JobError
from relgraph.jobs.progress import (
    AutoTrainerProgress,
    PredictionProgress,
    ProgressBar,
    prediction_progress,
    training_progress,
)
from relgraph.jobs.store import (
    JobKind,
    JobRecord,
    JobStatus,
    JobStore,
    pid_alive,
    process_tree,
    signal_procs,
    wait_procs_gone,
)

R = TypeVar("R")

__all__ = ["BaselineJob", "BatchPredictionJob", "JobEventLogEntry", "JobStatus",
           "JobStatusReport", "PredictionTableJob", "TrainingJob", "TrainingTableJob",
           "job_for"]


def _ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value is not None else None


@dataclass(frozen=True)
class JobEventLogEntry:
    stage_name: str
    last_updated_at: datetime
    detail: str


@dataclass
class JobStatusReport:
    """A job's status (reference ``JobStatusReport``) plus its error, if it failed."""

    status: JobStatus
    tracking_url: str
    start_time: datetime | None
    end_time: datetime | None
    event_log: list[JobEventLogEntry] = field(default_factory=list)
    validation_response: Any = None
    error: str | None = None
    created_at: datetime | None = None
    worker_pid: int | None = None

    def __str__(self) -> str:
        extra = f" error={self.error!r}" if self.error else ""
        return f"{self.status.value} (started {self.start_time}, ended {self.end_time}){extra}"


class _Job(Generic[R]):
    """The common job interface (reference ``JobInterface`` / ``KumoProgressFuture``)."""

    kind: ClassVar[JobKind]

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._store = JobStore.current()
        rec = self._store.get(job_id, reap=False)
        if rec.kind is not self.kind:
            raise JobError(f"Job {job_id} is a {rec.kind.value} job, not {self.kind.value}; "
                           f"open it with relgraph.jobs.handles.job_for({job_id!r}).")

    # -- identity -----------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.job_id

    @property
    def folder(self) -> Any:
        return self._store.folder(self.job_id)

    @property
    def tracking_url(self) -> str:
        return self.folder.as_uri()

    def _record(self) -> JobRecord:
        return self._store.get(self.job_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r})"

    # -- status -------------------------------------------------------------------
    def status(self) -> JobStatusReport:
        """Status, timestamps, event log and error (a dead worker is detected here)."""
        rec = self._record()
        events = [JobEventLogEntry(e.stage, _ts(e.ts) or datetime.now(timezone.utc), e.detail)
                  for e in self._store.events(self.job_id)]
        return JobStatusReport(rec.status, self.tracking_url, _ts(rec.started_at),
                               _ts(rec.ended_at), events, None, rec.error,
                               _ts(rec.created_at), rec.worker_pid)

    def done(self) -> bool:
        return self._record().status.is_terminal

    def load_config(self) -> dict[str, Any]:
        """The submitted request (plan, query, graph definition, options)."""
        return dict(self._record().request)

    # -- tags ---------------------------------------------------------------------
    def get_tags(self) -> dict[str, str]:
        return dict(self._record().tags)

    def update_tags(self, tags: Mapping[str, str | None]) -> dict[str, str]:
        """Set tags (a ``None`` value deletes one); returns the job's tags."""
        self._store.update_tags(self.job_id, tags)
        return self.get_tags()

    def delete_tags(self, keys: list[str]) -> bool:
        return self._store.delete_tags(self.job_id, list(keys))

    @classmethod
    def search_by_tags(cls, tags: Mapping[str, str], limit: int = 10) -> list[Any]:
        """Jobs of this kind carrying all ``tags``, newest first."""
        ids = JobStore.current().search_by_tags(tags, kind=cls.kind, limit=limit)
        return [cls(i) for i in ids]

    # -- waiting ------------------------------------------------------------------
    def _result_object(self) -> R:  # pragma: no cover - overridden
        raise NotImplementedError

    def _wait(self, timeout: float | None, on_poll: Any = None,
              interval_s: float = 0.25) -> JobRecord:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = min(0.05, interval_s)
        while True:
            rec = self._record()
            if on_poll is not None:
                on_poll(rec)
            if rec.status.is_terminal:
                return rec
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Job {self.job_id} is still {rec.status.value} after "
                                   f"{timeout}s.")
            time.sleep(delay)
            delay = min(interval_s, delay * 2)

    def _outcome(self, rec: JobRecord) -> R:
        if rec.status is JobStatus.DONE:
            return self._result_object()
        if rec.status is JobStatus.CANCELLED:
            raise JobError(f"Job {self.job_id} was cancelled.")
        raise JobError(f"Job {self.job_id} failed: {rec.error or 'no reason recorded'}")

    def result(self, timeout: float | None = None) -> R:
        """Wait for the job; its result, or :class:`JobError` if it failed or was cancelled."""
        return self._outcome(self._wait(timeout))

    def future(self) -> Future[R]:
        """A ``concurrent.futures.Future`` resolved when the job ends."""
        import threading

        fut: Future[R] = Future()

        def wait() -> None:
            try:
                fut.set_result(self.result())
            except BaseException as exc:
                fut.set_exception(exc)

        fut.set_running_or_notify_cancel()
        threading.Thread(target=wait, daemon=True, name=f"relgraph-future-{self.id}").start()
        return fut

    def attach(self, interval_s: float = 4.0, *, verbose: bool = True) -> R | None:
        """Show a live progress bar until the job ends and return its result.

        Polls the store every ``interval_s`` seconds; Ctrl+C detaches (the job keeps
        running) and returns ``None``.
        """
        bar = ProgressBar(self.job_id, disable=not verbose)
        try:
            rec = self._wait(None, lambda r: bar.render(r.progress), max(0.05, interval_s))
        except KeyboardInterrupt:
            bar.close()
            print(f"Detached from {self.job_id}; it keeps running. Re-attach with "
                  f"{type(self).__name__}({self.job_id!r}).attach().")
            return None
        bar.close()
        return self._outcome(rec)

    # -- cancellation -------------------------------------------------------------
    def cancel(self, timeout: float = 30.0) -> bool:
        """Cancel the job and wait until its worker is gone; True if it ended CANCELLED.

        The worker gets ``SIGTERM`` (it stops at once and cleans up); one that has not
        stopped after ``timeout`` seconds is killed. An inline (blocking) run in another
        process stops at its next progress event.
        """
        store = self._store
        status = store.request_cancel(self.job_id)
        if status.is_terminal:
            return status is JobStatus.CANCELLED
        rec = store.get(self.job_id, reap=False)
        pid = rec.worker_pid
        if rec.runner == "worker" and pid is not None and pid_alive(pid, rec.worker_start):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = store.get(self.job_id)  # reaps a worker that exited without reporting
            gone = pid is None or rec.runner != "worker" or not pid_alive(pid, rec.worker_start)
            if rec.status.is_terminal and gone:
                return rec.status is JobStatus.CANCELLED
            time.sleep(0.05)
        if rec.runner == "worker" and pid is not None and pid_alive(pid, rec.worker_start):
            # the worker, its process group (torchrun, prediction pools) and every
            # descendant (torchrun's ranks run in sessions of their own)
            tree = process_tree(pid)
            signal_procs(tree, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            wait_procs_gone(tree, 10.0)
            store.finish(self.job_id, JobStatus.CANCELLED,
                         detail=f"worker pid {pid} killed after {timeout:.0f}s")
        rec = store.get(self.job_id)
        return rec.status is JobStatus.CANCELLED


class TrainingJob(_Job[Any]):
    """A training job, running or finished (reference ``TrainingJob``)."""

    kind = JobKind.TRAINING

    def progress(self) -> AutoTrainerProgress:
        """Trials, epochs, train loss and validation metrics so far."""
        return training_progress(self._record().progress)

    def _result_object(self) -> Any:
        from relgraph.jobs.results import TrainingJobResult

        return TrainingJobResult(self.job_id)

    def load_config(self) -> dict[str, Any]:
        """The request, with ``plan`` as a :class:`ModelPlan` when one was given."""
        config = super().load_config()
        if config.get("plan"):
            import json

            from relgraph.plan.model_plan import ModelPlan

            config["plan"] = ModelPlan.from_json(json.dumps(config["plan"]))
        return config


class BatchPredictionJob(_Job[Any]):
    """A batch-prediction job (reference ``BatchPredictionJob``)."""

    kind = JobKind.BATCH_PREDICTION

    def progress(self) -> PredictionProgress:
        return prediction_progress(self._record().progress)

    def _result_object(self) -> Any:
        from relgraph.jobs.results import BatchPredictionJobResult

        return BatchPredictionJobResult(self.job_id)


class _TableJob(_Job[Any]):
    """A stored table-generation job (see :mod:`relgraph.jobs.table_jobs`)."""

    def progress(self) -> dict[str, Any]:
        rec = self._record()
        return {"status": rec.status.value, **dict(rec.metrics or {})}

    def _result_object(self) -> Any:
        from relgraph.jobs.table_jobs import load_table_result

        return load_table_result(self.job_id)


class TrainingTableJob(_TableJob):
    """A training table being generated (reference ``TrainingTableJob``): returned by
    ``pq.generate_training_table(non_blocking=True)``, reopened by id from any process
    with the same home; ``result()`` is the :class:`~relgraph.pquery.TrainingTable`."""

    kind = JobKind.TRAINING_TABLE


class PredictionTableJob(_TableJob):
    """A prediction table being generated (reference ``PredictionTableJob``)."""

    kind = JobKind.PREDICTION_TABLE


class BaselineJob(_Job[Any]):
    """A baseline job (majority/mean and LightGBM)."""

    kind = JobKind.BASELINE

    def progress(self) -> dict[str, Any]:
        return dict(self._record().progress)

    def _result_object(self) -> Any:
        from relgraph.jobs.results import BaselineJobResult

        return BaselineJobResult(self.job_id)


_BY_KIND: dict[JobKind, type[_Job[Any]]] = {
    JobKind.TRAINING: TrainingJob, JobKind.BATCH_PREDICTION: BatchPredictionJob,
    JobKind.BASELINE: BaselineJob, JobKind.TRAINING_TABLE: TrainingTableJob,
    JobKind.PREDICTION_TABLE: PredictionTableJob}


def job_for(job_id: str) -> _Job[Any]:
    """The job object of the right class for ``job_id``."""
    rec = JobStore.current().get(job_id, reap=False)
    cls = _BY_KIND.get(rec.kind)
    if cls is None:
        raise JobError(f"Job {job_id} is a {rec.kind.value} job, which has no job object.")
    return cls(job_id)
