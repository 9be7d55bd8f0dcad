"""The hybrid model: the GNN ensemble blended with a GBDT learner on relational features.

:func:`example_features` computes the features of :mod:`relgraph.aggregates` (plus the
entity's past targets, ``LAG_j`` columns of the training table) for every example;
:func:`fit_base_learner` fits the LightGBM learner on the training split before the GNN
trials, whose residual members correct its out-of-fold predictions;
:func:`fit_gbdt_blend` fits the blend weight on validation (weight 0 keeps the GNN alone,
1 the GBDT alone); attached to the ensemble (:meth:`Ensemble.attach_gbdt`), the blend
makes every prediction (holdout, batch).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from relgraph.aggregates import FeatureSpec, compute_features, plan_features
from relgraph.graph import Graph
from relgraph.pquery import PredictiveQuery
from relgraph.task import TaskType
from relgraph.training.ensemble import Ensemble, fit_blend
from relgraph.training.examples import Examples, Seeds, TargetInfo
from relgraph.training.fitting import GraphContext, target_values
from relgraph.training.gbdt import BAG, GBDTModel

#: Training rows below which no GBDT learner is fitted (too few to early-stop on).
MIN_TRAIN_ROWS = 50
#: Task types with past targets (one number per past window).
PAST_TASKS = (TaskType.BINARY_CLASSIFICATION, TaskType.REGRESSION, TaskType.FORECASTING)


def example_features(graph: Graph, spec: FeatureSpec, seeds: Seeds,
                     cache_dir: Path | None) -> pd.DataFrame:
    """Relational features of every seed at its anchor, then its ``LAG_j`` columns."""
    feats = compute_features(graph, spec, seeds.rows.numpy(), seeds.time.numpy(), cache_dir)
    for col in sorted(c for c in seeds.frame.columns if str(c).startswith("LAG_")):
        feats[col] = pd.to_numeric(seeds.frame[col], errors="coerce").astype("float32") \
            .to_numpy()
    return feats


def gbdt_targets(ex: Examples, info: TargetInfo) -> np.ndarray:
    """Targets as the GBDT learner fits them: 0/1, class indices (NaN unknown) or values
    (``[n, horizon]`` when forecasting)."""
    y = ex.y.numpy()
    tt = info.task_type
    if tt is TaskType.MULTICLASS_CLASSIFICATION:
        return np.where(y >= 0, y, np.nan).astype(np.float64)
    if tt.is_regression:
        return y.astype(np.float64) * info.std + info.mean
    return y.astype(np.float64)


def fit_gbdt(ex: Examples, info: TargetInfo, tune_metric: str, *, seed: int,
             train_splits: tuple[str, ...] = ("train",), rounds: list[int] | None = None,
             bag: int = BAG, split: np.ndarray | None = None,
             folds: np.ndarray | None = None) -> GBDTModel:
    """The GBDT learner on ``ex.features``: fitted on the ``train_splits`` rows of
    ``split`` (default ``ex.split``) with early stopping on validation, or for fixed
    ``rounds``; cross-fitted on ``folds`` (see :meth:`GBDTModel.fit`)."""
    assert ex.features is not None
    return GBDTModel.fit(info.task_type, ex.features, gbdt_targets(ex, info),
                         ex.split if split is None else split,
                         tune_metric, weight=None if ex.weight is None else ex.weight.numpy(),
                         seed=seed, train_splits=train_splits,
                         num_classes=len(info.classes), rounds=rounds, bag=bag, folds=folds)


#: Folds of the out-of-fold predictions that residual GNNs correct on their training rows.
BASE_FOLDS = 4
#: Training rows from which the learner's bag is cross-fitted instead (see
#: :func:`fit_base_learner`): 3 boosters on two thirds of the rows each, not 3 on all of them
#: plus 4 out-of-fold boosters on three quarters (2 boosters' worth of fitting, not 6). Two
#: thirds of 50,000 rows still fit a booster well, and the fits are what a large table pays.
CROSS_FIT_ROWS = 50_000


def base_predictions(model: GBDTModel, features: pd.DataFrame,
                     member: int | None = None) -> torch.Tensor:
    """``model``'s decoded predictions (of its bag's ``member``-th booster alone, if given)
    as residual GNNs read them: ``[n, C]`` float32."""
    pred = model.predict(features, member)
    return torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32)
                            .reshape(len(features), -1))


def fit_base_learner(ex: Examples, info: TargetInfo, tune_metric: str, *, seed: int,
                     train_splits: tuple[str, ...] = ("train",),
                     rounds: list[int] | None = None) -> GBDTModel:
    """Fit the GBDT learner on the ``train_splits`` rows (early-stopped on validation, or
    for fixed ``rounds`` when refitting) and set ``ex.base``, the prediction residual GNNs
    correct: on the rows it trains on from boosters that did not train on them, so that a
    GNN learns the learner's real errors and not its fit to the rows it saw; elsewhere
    from the learner itself.

    Below :data:`CROSS_FIT_ROWS` such rows the out-of-fold boosters are
    :data:`BASE_FOLDS` extra single boosters (with the learner's rounds); from it, the
    learner's own bag is cross-fitted: each member skips one fold of the rows and
    predicts it."""
    assert ex.features is not None
    train = np.flatnonzero(np.isin(ex.split, train_splits))
    order = np.random.default_rng(seed).permutation(train)
    parts: list[tuple[np.ndarray, GBDTModel, int | None]] = []  # rows, learner, member
    if len(train) >= CROSS_FIT_ROWS:
        folds = np.full(len(ex.split), -1)
        fold_rows = np.array_split(order, BAG)
        for k, rows in enumerate(fold_rows):
            folds[rows] = k
        model = fit_gbdt(ex, info, tune_metric, seed=seed, folds=folds,
                         train_splits=train_splits, rounds=rounds)
        parts = [(rows, model, k) for k, rows in enumerate(fold_rows)]
    else:
        model = fit_gbdt(ex, info, tune_metric, seed=seed, train_splits=train_splits,
                         rounds=rounds)
        if len(train) >= BASE_FOLDS * MIN_TRAIN_ROWS:
            step_rounds = [int(np.mean(model.rounds[j:j + model.bag]))
                           for j in range(0, len(model.rounds), model.bag)]
            for k, fold in enumerate(np.array_split(order, BASE_FOLDS)):
                held_out = ex.split.copy()
                held_out[fold] = "held_out"
                parts.append((fold, fit_gbdt(ex, info, tune_metric, seed=seed + 1 + k,
                                             train_splits=train_splits, rounds=step_rounds,
                                             bag=1, split=held_out), None))
    out_of_fold = np.zeros(len(ex.split), dtype=bool)
    for rows, _, _ in parts:
        out_of_fold[rows] = True
    pieces = [p for p in [(np.flatnonzero(~out_of_fold), model, None), *parts] if len(p[0])]
    pred = torch.cat([base_predictions(learner, ex.features.iloc[rows], member)
                      for rows, learner, member in pieces])
    where = torch.from_numpy(np.concatenate([rows for rows, _, _ in pieces]))
    ex.base = torch.empty_like(pred).index_copy_(0, where, pred)
    return model


def fit_gbdt_blend(ctx: GraphContext, ex: Examples, ensemble: Ensemble, info: TargetInfo,
                   tune_metric: str, model: GBDTModel, *, seed: int,
                   train_splits: tuple[str, ...], say: Callable[[str], None],
                   gnn_val: torch.Tensor | None = None
                   ) -> tuple[GBDTModel, float, dict[str, object]]:
    """Choose the blend weight of ``model`` (the GBDT learner fitted on the training split)
    on validation against ``ensemble``'s GNN predictions (the ensemble before any refit).
    With ``train_splits`` beyond ``("train",)`` the learner is refitted on them with its
    early-stopped rounds (for residual GNNs, with new out-of-fold bases: see
    :func:`fit_base_learner`). ``gnn_val``: the ensemble's uncalibrated validation
    predictions, when already computed. Returns the model, its weight and what the job
    records."""
    assert ex.features is not None
    val_idx = ex.index("val")
    weight, scores = 0.5, dict[float, float]()
    if len(val_idx):
        gnn = gnn_val if gnn_val is not None else \
            ensemble.predict(ctx, ex, val_idx, calibrated=False)[1]
        gbdt = torch.from_numpy(model.predict(ex.features.iloc[val_idx.numpy()]))
        weight, scores = fit_blend(gnn, gbdt, target_values(ex.y[val_idx], info),
                                   ensemble.best.info, tune_metric, seed=seed)
    if train_splits != ("train",):  # refit with the early-stopped rounds
        if ensemble.residual:  # and the bases of the residual GNNs' refit
            model = fit_base_learner(ex, info, tune_metric, seed=seed,
                                     train_splits=train_splits, rounds=model.rounds)
        else:
            model = fit_gbdt(ex, info, tune_metric, seed=seed, train_splits=train_splits,
                             rounds=model.rounds)
    say(f"GBDT learner: {len(model.columns)} features, rounds {model.rounds}; blend weight "
        f"{weight:g} on validation (0 = GNN alone, 1 = GBDT alone)")
    return model, weight, {"weight": weight, "rounds": model.rounds,
                           "num_features": len(model.columns),
                           "validation_scores": {str(k): v for k, v in scores.items()}}


#: Past targets per example (the query's target over the previous windows).
PAST_STEPS = 6


@dataclass
class SeedScaler:
    """Standardizes the numerical relational features into the GNN's seed input:
    ``sign(x) * log1p(|x|)``, centered and scaled with training statistics, NaN -> 0."""

    columns: list[str]
    center: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, features: pd.DataFrame, rows: np.ndarray) -> SeedScaler:
        return cls.fit_transform(features, rows)[0]

    @classmethod
    def fit_transform(cls, features: pd.DataFrame, rows: np.ndarray
                      ) -> tuple[SeedScaler, torch.Tensor]:
        """The scaler fitted on ``features`` at ``rows``, and what :meth:`transform` gives
        for all of ``features`` (each value's log taken once)."""
        columns = [c for c in features.columns
                   if not isinstance(features[c].dtype, pd.CategoricalDtype)
                   and pd.api.types.is_numeric_dtype(features[c].dtype)]
        logged = _signed_log(features[columns].to_numpy(dtype=np.float64))
        x = logged[rows]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: 0 and 1
            center = np.nan_to_num(np.nanmean(x, axis=0)) if len(x) else np.zeros(len(columns))
            scale = np.nanstd(x, axis=0) if len(x) else np.ones(len(columns))
        scale = np.where(np.isfinite(scale) & (scale > 1e-6), scale, 1.0)
        scaler = cls(columns, center.tolist(), scale.tolist())
        return scaler, scaler._standardized(logged)

    @property
    def width(self) -> int:
        return len(self.columns)

    def transform(self, features: pd.DataFrame) -> torch.Tensor:
        return self._standardized(_signed_log(
            features.reindex(columns=self.columns).to_numpy(dtype=np.float64)))

    def _standardized(self, logged: np.ndarray) -> torch.Tensor:
        """Centered and scaled signed logs (in place), NaN and infinities 0, as float32."""
        logged -= np.asarray(self.center)
        logged /= np.asarray(self.scale)
        return torch.from_numpy(np.nan_to_num(logged, copy=False, nan=0.0, posinf=0.0,
                                              neginf=0.0).astype(np.float32))

    def to_dict(self) -> dict[str, object]:
        return {"columns": self.columns, "center": self.center, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedScaler:
        return cls(list(data["columns"]), list(data["center"]), list(data["scale"]))


def _signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` (NaN stays NaN), in one new array."""
    out = np.abs(x)
    np.log1p(out, out=out)
    return np.copysign(out, x, out=out)


def encode_past(past: np.ndarray, info: TargetInfo) -> torch.Tensor:
    """Past targets in the target's standardized space (log space for skewed targets,
    like the loss); ``NaN`` stays unknown."""
    x = past.astype(np.float64)
    if info.task_type.is_regression:
        if info.skewed:
            x = (np.log1p(np.maximum(x, 0.0)) - info.log_mean) / info.log_std
        else:
            x = (x - info.mean) / info.std
    return torch.from_numpy(x.astype(np.float32))


def past_columns(past: np.ndarray) -> dict[str, np.ndarray]:
    """Past targets as named GBDT features ``PAST_1 .. PAST_K`` (most recent first)."""
    return {f"PAST_{j + 1}": past[:, j].astype(np.float32) for j in range(past.shape[1])}


@dataclass
class HybridInputs:
    """How a model's seed inputs are made: the relational features (spec), their scaling
    for the GNN, and the past targets (the query text they are computed with)."""

    spec: FeatureSpec
    scaler: SeedScaler
    past_query: str | None = None
    past_steps: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"features": self.spec.to_dict(), "scaler": self.scaler.to_dict(),
                "past_query": self.past_query, "past_steps": self.past_steps}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HybridInputs:
        return cls(FeatureSpec.from_dict(data["features"]), SeedScaler.from_dict(data["scaler"]),
                   data.get("past_query"), int(data.get("past_steps", 0)))


def prepare_hybrid(graph: Graph, entity_table: str, ex: Examples, info: TargetInfo,
                   query: PredictiveQuery | None, fit_time: int | None,
                   exclude: set[tuple[str, str]], *, temporal: bool,
                   cache_dir: Path | None) -> HybridInputs:
    """Plan and compute the relational features (and past targets, for a temporal binary,
    regression or forecasting query) of every example; set ``ex.features`` (GBDT),
    ``ex.seed_x`` and ``ex.past`` (GNN)."""
    spec = plan_features(graph, entity_table, fit_time, exclude, temporal=temporal)
    features = example_features(graph, spec, ex, cache_dir)
    past_query, steps = None, 0
    if query is not None and temporal and info.task_type in PAST_TASKS:
        past = query.past_targets(ex.frame["ENTITY"], ex.time.numpy(), PAST_STEPS)
        features = features.assign(**past_columns(past))
        ex.past = encode_past(past, info)
        past_query, steps = query.query, PAST_STEPS
    seeds_with_features(ex, features)
    scaler, ex.seed_x = SeedScaler.fit_transform(features, ex.index("train").numpy())
    return HybridInputs(spec, scaler, past_query, steps)


def apply_hybrid(graph: Graph, seeds: Seeds, inputs: HybridInputs, info: TargetInfo,
                 base_learner: GBDTModel | None = None) -> None:
    """Compute a saved model's seed inputs for new seeds (batch prediction); with
    ``base_learner``, also the base its residual GNNs correct."""
    features = example_features(graph, inputs.spec, seeds, None)
    if inputs.past_query is not None and inputs.past_steps:
        query = PredictiveQuery(graph, inputs.past_query)
        past = query.past_targets(seeds.frame["ENTITY"], seeds.time.numpy(), inputs.past_steps)
        features = features.assign(**past_columns(past))
        seeds.past = encode_past(past, info)
    seeds_with_features(seeds, features)
    seeds.seed_x = inputs.scaler.transform(features)
    if base_learner is not None:
        seeds.base = base_predictions(base_learner, features)


def seeds_with_features(seeds: Seeds, features: pd.DataFrame) -> Seeds:
    """``seeds`` carrying ``features`` (aligned rows)."""
    if len(features) != len(seeds.rows):
        raise ValueError(f"{len(features)} feature rows for {len(seeds.rows)} seeds")
    seeds.features = features.reset_index(drop=True)
    return seeds


__all__ = ["BASE_FOLDS", "CROSS_FIT_ROWS", "MIN_TRAIN_ROWS", "PAST_STEPS", "HybridInputs",
           "SeedScaler", "apply_hybrid", "base_predictions", "encode_past", "example_features",
           "fit_base_learner", "fit_gbdt", "fit_gbdt_blend", "gbdt_targets",
           "past_columns", "prepare_hybrid", "seeds_with_features"]
