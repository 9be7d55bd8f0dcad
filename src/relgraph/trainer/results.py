"""Finished jobs: training results and batch-prediction results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.errors import JobError


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
    from relgraph.config import get_settings

    path = get_settings().home / "jobs" / job_id
    if not path.is_dir():
        raise JobError(f"No job '{job_id}' under {path.parent}. Check the id, or call "
                       "relgraph.init(home=...) with the home the job was run in.")
    return path


class TrainingJobResult:
    """A finished training job (reference ``TrainingJobResult``)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.dir = _job_dir(job_id)
        self._meta: dict[str, Any] = json.loads((self.dir / "meta.json").read_text())

    @property
    def id(self) -> str:
        return self.job_id

    @property
    def task_type(self) -> str:
        return str(self._meta["task_type"])

    @property
    def model_plan(self) -> Any:
        from relgraph.trainer.plan import ModelPlan

        return ModelPlan.from_json((self.dir / "plan.json").read_text())

    @property
    def best_trial(self) -> dict[str, Any]:
        """The settings of the selected trial."""
        return dict(self._meta["best_settings"])

    def metrics(self) -> ModelEvaluationMetrics:
        return ModelEvaluationMetrics.from_dict(self._meta["metrics"])

    def holdout_df(self) -> pd.DataFrame:
        """Test-split rows with the model's predictions."""
        return pd.read_parquet(self.dir / "holdout.parquet")

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

    def summary(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "task_type": self.task_type,
                "total_elapsed_time": self._meta["seconds"],
                "automl_experiments_completed": len(self._meta["trials"])}

    def __repr__(self) -> str:
        return f"TrainingJobResult(job_id={self.job_id!r})"


class BatchPredictionJobResult:
    """A finished batch-prediction job (reference ``BatchPredictionJobResult``)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.dir = _job_dir(job_id)
        self._meta: dict[str, Any] = json.loads((self.dir / "meta.json").read_text())

    @property
    def id(self) -> str:
        return self.job_id

    def summary(self) -> dict[str, Any]:
        return {"num_entities_predicted": self._meta["num_entities_predicted"]}

    def predictions_urls(self) -> list[str]:
        return [self._meta["outputs"]["predictions"]] if "predictions" in self._meta[
            "outputs"] else []

    def embeddings_urls(self) -> list[str]:
        return [self._meta["outputs"]["embeddings"]] if "embeddings" in self._meta[
            "outputs"] else []

    def predictions_df(self) -> pd.DataFrame:
        return self._read("predictions")

    def embeddings_df(self) -> pd.DataFrame:
        return self._read("embeddings")

    def _read(self, kind: str) -> pd.DataFrame:
        path = self._meta["outputs"].get(kind)
        if path is None:
            raise JobError(f"Job {self.job_id} did not produce {kind}; request it with "
                           f"OutputConfig(output_types={{'{kind}'}}).")
        return pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)

    def __repr__(self) -> str:
        return f"BatchPredictionJobResult(job_id={self.job_id!r})"
