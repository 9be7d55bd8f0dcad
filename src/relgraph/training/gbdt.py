"""A gradient-boosted-tree learner (LightGBM) on relational features: an AutoML candidate.

It fits the task's objective on the features of :mod:`relgraph.aggregates` (and the
entity's past targets where the training table has them), with early stopping on the
validation split, one model per forecast step. Models are saved as LightGBM's own text
format (no pickle) with a JSON description, and predict decoded values: probabilities
(binary: ``[n]``; multiclass: ``[n, classes]``), values ``[n]`` or ``[n, horizon]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import ArtifactError
from relgraph.task import TaskType

#: Task types the learner supports.
SUPPORTED = (TaskType.BINARY_CLASSIFICATION, TaskType.MULTICLASS_CLASSIFICATION,
             TaskType.REGRESSION, TaskType.FORECASTING)
#: Boosting rounds at most; early stopping on validation picks fewer.
MAX_ROUNDS = 1000
EARLY_STOPPING = 50
PARAMS: dict[str, Any] = {"learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 20,
                          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                          "lambda_l2": 1.0, "verbose": -1, "num_threads": 2}


def objective(task_type: TaskType, tune_metric: str) -> str:
    """LightGBM objective for a task and the metric trials are selected by."""
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return "binary"
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        return "multiclass"
    return "l1" if tune_metric.lower() in ("mae", "smape", "mape", "wape") else "l2"


@dataclass
class GBDTModel:
    """Fitted boosters (one per forecast step) and the feature columns they read."""

    task_type: TaskType
    objective: str
    columns: list[str]
    boosters: list[Any]
    num_classes: int = 0

    @classmethod
    def fit(cls, task_type: TaskType, x: pd.DataFrame, y: np.ndarray, split: np.ndarray,
            tune_metric: str, *, weight: np.ndarray | None = None, seed: int = 0,
            train_splits: tuple[str, ...] = ("train",), num_classes: int = 0,
            rounds: list[int] | None = None) -> GBDTModel:
        """Fit on ``train_splits`` rows with early stopping on ``"val"`` (when present and
        not trained on); ``rounds`` fixes the boosting rounds per model (refits).

        ``y`` holds class indices (classification), values ``[n]`` or ``[n, horizon]``
        (forecasting); NaN targets are skipped.
        """
        import lightgbm as lgb

        obj = objective(task_type, tune_metric)
        params = dict(PARAMS, objective=obj, seed=seed, deterministic=True)
        if obj == "multiclass":
            params["num_class"] = num_classes
        targets = y.reshape(len(y), -1) if task_type is TaskType.FORECASTING else y[:, None]
        train = np.isin(split, train_splits)
        val = (split == "val") & ~train
        boosters = []
        for j in range(targets.shape[1]):
            t = targets[:, j].astype(np.float64)
            known = ~np.isnan(t)
            tr, va = train & known, val & known
            data = lgb.Dataset(x[tr], t[tr], weight=None if weight is None else weight[tr],
                               free_raw_data=True)
            if rounds is not None:
                booster = lgb.train(params, data, num_boost_round=max(1, rounds[j]))
            elif va.any():
                valid = lgb.Dataset(x[va], t[va], reference=data)
                booster = lgb.train(params, data, num_boost_round=MAX_ROUNDS,
                                    valid_sets=[valid],
                                    callbacks=[lgb.early_stopping(EARLY_STOPPING,
                                                                  verbose=False)])
            else:
                booster = lgb.train(params, data, num_boost_round=300)
            boosters.append(booster)
        return cls(task_type, obj, list(x.columns), boosters, num_classes)

    @property
    def rounds(self) -> list[int]:
        """Boosting rounds of each booster (its best iteration after early stopping)."""
        return [int(b.best_iteration or b.current_iteration()) for b in self.boosters]

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Decoded predictions for the rows of ``x`` (which holds :attr:`columns`)."""
        missing = [c for c in self.columns if c not in x.columns]
        if missing:
            raise ArtifactError(f"The GBDT model needs features {missing[:5]} that the "
                                "feature table lacks; retrain the model.")
        x = x[self.columns]
        outs = [b.predict(x, num_iteration=b.best_iteration or None) for b in self.boosters]
        if self.task_type is TaskType.FORECASTING:
            return np.stack(outs, axis=1).astype(np.float32)
        return np.asarray(outs[0], dtype=np.float32)

    # ------------------------------------------------------------------ disk
    def save(self, folder: Path) -> None:
        """``gbdt.json`` plus one LightGBM text model per booster (``gbdt_<j>.txt``)."""
        for j, booster in enumerate(self.boosters):
            (folder / f"gbdt_{j}.txt").write_text(booster.model_to_string())
        (folder / "gbdt.json").write_text(json.dumps({
            "task_type": self.task_type.value, "objective": self.objective,
            "columns": self.columns, "num_boosters": len(self.boosters),
            "num_classes": self.num_classes}))

    @classmethod
    def from_saved(cls, meta: dict[str, Any], models: list[str]) -> GBDTModel:
        """The model :meth:`save` wrote: ``gbdt.json``'s content and the text models."""
        import lightgbm as lgb

        try:
            boosters = [lgb.Booster(model_str=text) for text in models]
            return cls(TaskType(meta["task_type"]), meta["objective"], list(meta["columns"]),
                       boosters, int(meta.get("num_classes", 0)))
        except (ValueError, KeyError, lgb.basic.LightGBMError) as err:
            raise ArtifactError(f"The saved GBDT model is unreadable ({err}); retrain the "
                                "model.") from err
