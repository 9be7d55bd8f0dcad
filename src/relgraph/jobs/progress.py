"""Job progress: a JSON state built from the pipeline's events, its reference-shaped
views (``AutoTrainerProgress``, ``PredictionProgress``) and the live progress bar.

The worker folds every event into a :class:`ProgressState` and stores ``state.data`` in the
job store; :class:`ProgressBar` renders that same dict, so a blocking call (fed directly)
and ``job.attach()`` from another process (fed by polling the store) show the same bar.
When stderr is not a terminal (CI logs, output redirected to a file) and not a notebook,
the bar prints one plain line per epoch (per shard or stage when predicting) instead of
carriage-return frames.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EpochMetrics:
    time_taken: float
    train_metrics: dict[str, float]
    validation_metrics: dict[str, float | None]


@dataclass
class TrainerProgress:
    start_time: float | None
    num_epochs_completed: int
    elapsed_time: float
    estimated_train_time: float | None
    metrics: dict[int, EpochMetrics] = field(default_factory=dict)
    final_validation_metrics: dict[str, float | None] | None = None


@dataclass
class AutoTrainerProgress:
    """Progress of a training job (reference ``AutoTrainerProgress``)."""

    start_time: float | None
    total_trials: int
    completed_trials: int
    elapsed_training_time: float
    estimated_training_time: float | None
    trial_progress: dict[int, TrainerProgress] = field(default_factory=dict)
    stage: str | None = None


@dataclass
class PredictionProgress:
    """Progress of a batch-prediction job (reference ``PredictionProgress``)."""

    start_time: float | None
    total_iterations: int
    completed_iterations: int
    elapsed_prediction_time: float
    estimated_prediction_time: float | None
    stage: str | None = None


class ProgressState:
    """Folds pipeline events into a JSON-friendly progress dict."""

    def __init__(self, kind: str, tune_metric: str | None = None) -> None:
        self.data: dict[str, Any] = {"kind": kind, "stage": "starting",
                                     "start_time": time.time(), "tune_metric": tune_metric,
                                     "total_trials": 0, "completed_trials": 0,
                                     "current_trial": None, "trials": {},
                                     "total_iterations": 0, "completed_iterations": 0}
        self.version = 0

    def update(self, event: dict[str, Any]) -> None:
        d = self.data
        kind = event.get("event")
        now = time.time()
        if kind == "stage":
            d["stage"] = event.get("stage")
            if "total" in event:
                d["total_iterations"] = int(event["total"])
        elif kind == "iteration":
            d["completed_iterations"] = int(event.get("completed", 0))
            d["total_iterations"] = int(event.get("total", d["total_iterations"]))
        elif kind == "trial_start":
            i = int(event["trial"])
            d["stage"] = "train"
            d["total_trials"] = int(event.get("total_trials", d["total_trials"]))
            d["current_trial"] = i
            prev = d["trials"].get(str(i - 1))
            if prev is not None:
                prev["done"] = True
            d["completed_trials"] = i
            d["trials"][str(i)] = {"start_time": now, "max_epochs": None, "epochs": [],
                                   "done": False}
        elif kind == "epoch":
            i = int(event["trial"])
            trial = d["trials"].setdefault(str(i), {"start_time": now, "epochs": [],
                                                    "done": False})
            trial["max_epochs"] = event.get("max_epochs")
            trial["epochs"].append({"epoch": int(event["epoch"]),
                                    "train_loss": event.get("train_loss"),
                                    "val": dict(event.get("val") or {}),
                                    "seconds": event.get("seconds")})
            d["total_trials"] = int(event.get("total_trials", d["total_trials"]))
            d["current_trial"] = i
        elif kind == "done":
            for trial in d["trials"].values():
                trial["done"] = True
            d["completed_trials"] = d["total_trials"]
            d["completed_iterations"] = d["total_iterations"]
            d["stage"] = "done"
        self.version += 1


# ---------------------------------------------------------------------- views
def training_progress(d: dict[str, Any]) -> AutoTrainerProgress:
    """The reference view of a training job's progress dict."""
    now = time.time()
    start = d.get("start_time")
    trials: dict[int, TrainerProgress] = {}
    for key, t in (d.get("trials") or {}).items():
        epochs = t.get("epochs", [])
        elapsed = float(sum(e.get("seconds") or 0.0 for e in epochs))
        max_epochs = t.get("max_epochs")
        est = (elapsed / len(epochs) * max_epochs) if epochs and max_epochs else None
        trials[int(key)] = TrainerProgress(
            start_time=t.get("start_time"), num_epochs_completed=len(epochs),
            elapsed_time=elapsed, estimated_train_time=est,
            metrics={int(e["epoch"]): EpochMetrics(
                float(e.get("seconds") or 0.0),
                {"loss": e["train_loss"]} if e.get("train_loss") is not None else {},
                dict(e.get("val") or {})) for e in epochs},
            final_validation_metrics=dict(epochs[-1].get("val") or {})
            if t.get("done") and epochs else None)
    elapsed = now - start if start else 0.0
    total, completed = int(d.get("total_trials") or 0), int(d.get("completed_trials") or 0)
    est = None
    if total and trials:
        per_trial = [t.estimated_train_time for t in trials.values()
                     if t.estimated_train_time is not None]
        if per_trial:
            est = float(sum(per_trial) / len(per_trial) * total)
    return AutoTrainerProgress(start_time=start, total_trials=total,
                               completed_trials=completed, elapsed_training_time=elapsed,
                               estimated_training_time=est, trial_progress=trials,
                               stage=d.get("stage"))


def prediction_progress(d: dict[str, Any]) -> PredictionProgress:
    start = d.get("start_time")
    elapsed = time.time() - start if start else 0.0
    total, done = int(d.get("total_iterations") or 0), int(d.get("completed_iterations") or 0)
    est = elapsed / done * total if done and total else None
    return PredictionProgress(start, total, done, elapsed, est, d.get("stage"))


# ---------------------------------------------------------------------- the bar
class ProgressBar:
    """A tqdm bar over a progress dict: trial, epoch, train loss and validation metric."""

    def __init__(self, job_id: str, *, disable: bool = False,
                 lines: bool | None = None) -> None:
        self.job_id = job_id
        self.disable = disable
        self.lines = _plain_output() if lines is None else lines
        self._bar: Any = None
        self._last_key: tuple[Any, ...] | None = None

    def _ensure(self, total: int | None) -> Any:
        if self.lines:
            if self._bar is None:
                self._bar = _LineBar(self.job_id, total, self.disable)
            self._bar.total = total
            return self._bar
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=self.job_id, unit="epoch",
                             disable=self.disable, leave=True, dynamic_ncols=True)
        elif total is not None and self._bar.total != total:
            self._bar.total = total
        return self._bar

    def render(self, d: dict[str, Any]) -> None:
        """Update the bar from a progress dict (idempotent for an unchanged dict)."""
        if d.get("kind") == "batch_prediction":
            total = int(d.get("total_iterations") or 0) or None
            bar = self._ensure(total)
            bar.unit = "shard"
            bar.n = int(d.get("completed_iterations") or 0)
            bar.set_description_str(f"{self.job_id} [{d.get('stage')}]", refresh=False)
            bar.refresh()
            return
        trials = d.get("trials") or {}
        n_trials = int(d.get("total_trials") or 0)
        done_epochs = sum(len(t.get("epochs", [])) for t in trials.values())
        max_epochs = [t.get("max_epochs") for t in trials.values() if t.get("max_epochs")]
        total = None
        if n_trials and max_epochs:
            total = int(max(max_epochs) * n_trials)
            total = max(total, done_epochs)
        key = (d.get("stage"), d.get("current_trial"), done_epochs, n_trials)
        if key == self._last_key and self._bar is not None:
            return
        self._last_key = key
        bar = self._ensure(total)
        bar.n = done_epochs
        cur = d.get("current_trial")
        stage = d.get("stage")
        if cur is not None and n_trials:
            bar.set_description_str(f"trial={int(cur) + 1}/{n_trials}"
                                    + (f" [{stage}]" if stage not in (None, "train") else ""),
                                    refresh=False)
        else:
            bar.set_description_str(f"{self.job_id} [{stage or 'queued'}]", refresh=False)
        post: dict[str, str] = {}
        epochs = trials.get(str(cur), {}).get("epochs", []) if cur is not None else []
        if epochs:
            last = epochs[-1]
            post["epoch"] = str(last["epoch"])
            if last.get("train_loss") is not None:
                post["train_loss"] = f"{last['train_loss']:.4f}"
            metric = d.get("tune_metric")
            val = last.get("val") or {}
            if metric not in val and val:
                metric = next(iter(val))
            if metric is not None and isinstance(val.get(metric), (int, float)):
                post[f"val_{metric}"] = f"{val[metric]:.4f}"
        bar.set_postfix(post, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _plain_output() -> bool:
    """Whether progress goes to a log rather than a live terminal or notebook."""
    if "ipykernel" in sys.modules:  # a notebook kernel: tqdm draws a widget
        return False
    stream = sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


class _LineBar:
    """The few tqdm calls :class:`ProgressBar` makes, printing one line per change."""

    def __init__(self, job_id: str, total: int | None, disable: bool) -> None:
        self.job_id = job_id
        self.total = total
        self.disable = disable
        self.n = 0
        self.unit = "epoch"
        self._desc = job_id
        self._post: dict[str, str] = {}
        self._last: str | None = None

    def set_description_str(self, desc: str, refresh: bool = True) -> None:
        self._desc = desc

    def set_postfix(self, post: dict[str, str], refresh: bool = True) -> None:
        self._post = dict(post)

    def refresh(self) -> None:
        count = f"{self.n}/{self.total}" if self.total else str(self.n)
        post = " ".join(f"{k}={v}" for k, v in self._post.items())
        line = f"{self._desc} {self.unit}s {count} {post}".rstrip()
        if line != self._last and not self.disable:
            print(line, file=sys.stderr, flush=True)
        self._last = line

    def close(self) -> None:
        pass
