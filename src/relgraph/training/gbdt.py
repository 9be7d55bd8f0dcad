"""A gradient-boosted-tree learner (LightGBM) on relational features: an AutoML candidate.

It fits the task's objective on the features of :mod:`relgraph.aggregates` (and the
entity's past targets where the training table has them), with early stopping on the
validation split, one model per forecast step. Each is a bag of :data:`BAG` boosters that
differ only in their seed (row and feature subsampling), averaged: one booster's choice
of rows and features is noise that the average removes. A bag can be cross-fitted: each
member skips one fold of the training rows, which it then predicts out of fold. Models are
saved as LightGBM's own text format (no pickle) with a JSON description, and predict
decoded values: probabilities (binary: ``[n]``; multiclass: ``[n, classes]``), values
``[n]`` or ``[n, horizon]``.
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
#: Boosters per model, averaged (seeds ``seed .. seed + BAG - 1``).
BAG = 3
PARAMS: dict[str, Any] = {"learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 20,
                          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                          "lambda_l2": 1.0, "verbose": -1, "num_threads": 2}


def _matrix(x: pd.DataFrame, categories: list[list[Any]] | None) -> np.ndarray | pd.DataFrame:
    """``x`` as LightGBM reads a DataFrame, converted once for all boosters: categorical
    columns as codes over the ``categories`` the boosters were fitted with (other values
    missing; float32 holds every code exactly), numbers as they are, in the widest float
    type. Without ``categories`` (a booster fitted on a subset of a Dataset keeps none),
    codes over each column's own categories, as LightGBM reads it then. ``x`` itself where
    its categorical columns are not those (LightGBM then fails with its own message)."""
    positions = [j for j, dtype in enumerate(x.dtypes) if isinstance(dtype, pd.CategoricalDtype)]
    if categories is None:
        categories = [list(x.iloc[:, j].cat.categories) for j in positions]
    if len(positions) != len(categories):
        return x
    data = x.copy(deep=False)
    for j, values in zip(positions, categories):
        column = x.iloc[:, j]
        if list(column.cat.categories) != list(values):
            column = column.cat.set_categories(values)
        codes = column.cat.codes.to_numpy()
        data.isetitem(j, np.where(codes >= 0, codes, np.nan).astype(np.float32))
    dtype = np.result_type(np.float32, *(t.type for t in data.dtypes))
    return data.to_numpy(dtype=dtype, na_value=np.nan)


def objective(task_type: TaskType, tune_metric: str) -> str:
    """LightGBM objective for a task and the metric trials are selected by."""
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return "binary"
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        return "multiclass"
    return "l1" if tune_metric.lower() in ("mae", "smape", "mape", "wape") else "l2"


@dataclass
class GBDTModel:
    """Fitted boosters and the feature columns they read: for each forecast step (one
    without forecasting), ``bag`` boosters in a row, averaged."""

    task_type: TaskType
    objective: str
    columns: list[str]
    boosters: list[Any]
    num_classes: int = 0
    bag: int = 1

    @classmethod
    def fit(cls, task_type: TaskType, x: pd.DataFrame, y: np.ndarray, split: np.ndarray,
            tune_metric: str, *, weight: np.ndarray | None = None, seed: int = 0,
            train_splits: tuple[str, ...] = ("train",), num_classes: int = 0,
            rounds: list[int] | None = None, bag: int = BAG,
            folds: np.ndarray | None = None) -> GBDTModel:
        """Fit on ``train_splits`` rows with early stopping on ``"val"`` (when present and
        not trained on); ``rounds`` fixes the boosting rounds per booster (refits).

        ``y`` holds class indices (classification), values ``[n]`` or ``[n, horizon]``
        (forecasting); NaN targets are skipped. With ``folds`` (one fold per row, ``-1``
        for none), member ``k`` of each bag skips the rows of fold ``k``: the bag is
        cross-fitted, and :meth:`predict` with ``member=k`` predicts those rows out of fold.
        """
        import lightgbm as lgb

        obj = objective(task_type, tune_metric)
        targets = y.reshape(len(y), -1) if task_type is TaskType.FORECASTING else y[:, None]
        train = np.isin(split, train_splits)
        val = (split == "val") & ~train
        boosters = []
        for j in range(targets.shape[1]):
            t = targets[:, j].astype(np.float64)
            known = ~np.isnan(t)
            tr, va = train & known, val & known
            data = lgb.Dataset(x[tr], t[tr], weight=None if weight is None else weight[tr],
                               free_raw_data=False)
            valid = lgb.Dataset(x[va], t[va], reference=data) if va.any() else None
            for k in range(bag):
                params = dict(PARAMS, objective=obj, seed=seed + k, deterministic=True)
                if obj == "multiclass":
                    params["num_class"] = num_classes
                member = data  # a cross-fitted member reuses the bins of all training rows
                if folds is not None:
                    member = data.subset(np.flatnonzero(folds[tr] != k).tolist())
                if rounds is not None:
                    booster = lgb.train(params, member,
                                        num_boost_round=max(1, rounds[j * bag + k]))
                elif valid is not None:
                    booster = lgb.train(params, member, num_boost_round=MAX_ROUNDS,
                                        valid_sets=[valid],
                                        callbacks=[lgb.early_stopping(EARLY_STOPPING,
                                                                      verbose=False)])
                else:
                    booster = lgb.train(params, member, num_boost_round=300)
                boosters.append(booster)
        return cls(task_type, obj, list(x.columns), boosters, num_classes, bag)

    @property
    def rounds(self) -> list[int]:
        """Boosting rounds of each booster (its best iteration after early stopping; a
        booster read back from text has none, ``-1``, and holds just those rounds)."""
        return [int(b.best_iteration if b.best_iteration > 0 else b.current_iteration())
                for b in self.boosters]

    @property
    def num_trees(self) -> int:
        """Trees one prediction evaluates per row: every booster's rounds, times the
        classes of a multiclass objective (one tree each per round)."""
        return sum(self.rounds) * (self.num_classes if self.objective == "multiclass" else 1)

    def predict(self, x: pd.DataFrame, member: int | None = None) -> np.ndarray:
        """Decoded predictions for the rows of ``x`` (which holds :attr:`columns`): the
        mean of each step's bag, or its ``member``-th booster alone."""
        missing = [c for c in self.columns if c not in x.columns]
        if missing:
            raise ArtifactError(f"The GBDT model needs features {missing[:5]} that the "
                                "feature table lacks; retrain the model.")
        x = x[self.columns]
        data = _matrix(x, self.boosters[0].pandas_categorical) if len(x) else x
        bags = [self.boosters[j:j + self.bag] for j in range(0, len(self.boosters), self.bag)]
        if member is not None:
            bags = [[bag[member]] for bag in bags]
        steps = [np.mean([b.predict(data, num_iteration=b.best_iteration or None)
                          for b in bag], axis=0) for bag in bags]
        if self.task_type is TaskType.FORECASTING:
            return np.stack(steps, axis=1).astype(np.float32)
        return np.asarray(steps[0], dtype=np.float32)

    # ------------------------------------------------------------------ disk
    def save(self, folder: Path) -> None:
        """``gbdt.json`` plus one LightGBM text model per booster (``gbdt_<j>.txt``)."""
        for j, booster in enumerate(self.boosters):
            (folder / f"gbdt_{j}.txt").write_text(booster.model_to_string())
        (folder / "gbdt.json").write_text(json.dumps({
            "task_type": self.task_type.value, "objective": self.objective,
            "columns": self.columns, "num_boosters": len(self.boosters),
            "num_classes": self.num_classes, "bag": self.bag}))

    @classmethod
    def from_saved(cls, meta: dict[str, Any], models: list[str]) -> GBDTModel:
        """The model :meth:`save` wrote: ``gbdt.json``'s content and the text models."""
        import lightgbm as lgb

        try:
            boosters = [lgb.Booster(model_str=text) for text in models]
            bag = int(meta.get("bag", 1))
            if bag < 1 or len(boosters) % bag:
                raise ValueError(f"{len(boosters)} boosters in bags of {bag}")
            return cls(TaskType(meta["task_type"]), meta["objective"], list(meta["columns"]),
                       boosters, int(meta.get("num_classes", 0)), bag)
        except (ValueError, KeyError, lgb.basic.LightGBMError) as err:
            raise ArtifactError(f"The saved GBDT model is unreadable ({err}); retrain the "
                                "model.") from err
