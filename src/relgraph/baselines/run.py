"""Baselines on the same training table: a constant, and LightGBM on hand-style features.

The constant is the majority class (class shares), the training mean (per forecast step),
the label prevalences (multilabel) or global popularity (link prediction, which has no
LightGBM baseline).

``entity`` features are the entity table's own columns (RelBench's LightGBM protocol);
``aggregated`` are the relational features of :mod:`relgraph.aggregates` (the entity's and
its parents' columns, counts, sums, means, extremes, last values and recency of linked rows
one and two hops away over 7/30/90/365 days and all time) — the implementation the GBDT
learner and the GNN's seed inputs use, computed in SQL only from rows visible at each
anchor, on the graph's engine (DuckDB, or Spark after ``relgraph.init(engine="spark")``).
The graph must hold the tables' rows: a Spark engine reading tables from cluster
``sources`` (the graph holding only a sample) is refused.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from relgraph.aggregates import compute_features, plan_features
from relgraph.errors import GraphError
from relgraph.graph import Graph, Stype
from relgraph.task import TaskType
from relgraph.training.examples import (
    STATIC_ANCHOR,
    encode_item_lists,
    fit_target_info,
    make_seeds,
    multi_hot,
    numeric_targets,
)
from relgraph.training.features import excluded_target_columns
from relgraph.training.metrics import compute_metrics


def entity_features(graph: Graph, entity_table: str, rows: np.ndarray,
                    exclude: set[tuple[str, str]] = frozenset()) -> pd.DataFrame:  # type: ignore
    """The entity table's own numerical and categorical columns for ``rows``."""
    table = graph[entity_table]
    fkeys = {e.fkey for e in graph.edges if e.src_table == entity_table}
    out = {}
    for col in table.columns:
        if col.name in {table.primary_key, table.time_column} | fkeys or \
                (entity_table, col.name) in exclude:
            continue
        values = table.data[col.name].iloc[rows].reset_index(drop=True)
        if col.stype is Stype.numerical:
            out[col.name] = pd.to_numeric(values, errors="coerce").astype(float)
        elif col.stype is Stype.categorical:
            out[col.name] = values.astype("string").astype("category")
    return pd.DataFrame(out)


def aggregated_features(graph: Graph, entity_table: str, rows: np.ndarray,
                        anchors: np.ndarray, fit_time: int | None = None,
                        exclude: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
                        temporal: bool = True, cache_dir: Any = None) -> pd.DataFrame:
    """The relational features of :mod:`relgraph.aggregates` per (row, anchor): the same
    implementation the GBDT learner and the GNN's seed inputs use (the entity's own
    columns, its parents' columns, aggregates of linked rows one and two hops away over
    7/30/90/365 days and all time, last values, recency), from rows visible at each
    anchor; columns and vocabularies from rows visible at ``fit_time``. With
    ``cache_dir`` they are read from (or written to) the cache the training job uses."""
    spec = plan_features(graph, entity_table, fit_time, exclude, temporal=temporal)
    return compute_features(graph, spec, rows, anchors, cache_dir)


def run_baselines(graph: Graph, train_table: Any, *, feature_sets: tuple[str, ...] = (
        "entity", "aggregated"), metrics: list[str] | None = None,
        seed: int = 0, cache_dir: Any = None) -> dict[str, dict[str, dict[str, float | None]]]:
    """Majority/mean and LightGBM baselines: ``{name: {"test": {...}, "validation": {...}}}``.

    Every task type has the constant baseline: the majority class or class shares, the
    training mean (per step when forecasting), label prevalences (multilabel) or global
    popularity (link prediction: the items most often in training targets). LightGBM
    fits one model per forecast step and, for multilabel tasks, one per label among the
    :data:`MAX_LIGHTGBM_LABELS` most frequent (the others keep their prevalence); link
    prediction has no LightGBM baseline. ``cache_dir``: where the training job cached the
    relational features of the same pairs (computed once for both).
    """
    from relgraph.training.metrics import default_metrics

    _check_engine(graph)
    df = train_table.data_df()
    task = TaskType(train_table.task_type)
    metrics = metrics or default_metrics(task, getattr(train_table, "top_k", None))
    seeds = make_seeds(graph, train_table.entity_table, df)
    frame = seeds.frame
    info = fit_target_info(task, frame.loc[frame["SPLIT"] == "train", "TARGET"])
    split = frame["SPLIT"].to_numpy()
    tr = split == "train"
    parts = (("test", "test"), ("validation", "val"))
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    if task.is_link_pred:
        top = _popular_items(frame.loc[tr, "TARGET"], _largest_k(metrics))
        out["popularity"] = {
            name: compute_metrics(task, metrics, _item_lists(frame.loc[split == s, "TARGET"]),
                                  [top] * int((split == s).sum()))
            for name, s in parts}
        return out
    y = _target(task, frame["TARGET"], info)
    const = _constant(task, y[tr], info)
    out["majority" if task.is_classification or task.is_multilabel else "mean"] = {
        name: compute_metrics(task, metrics, y[split == s],
                              _repeat(const, int((split == s).sum())))
        for name, s in parts}
    rows = seeds.rows.numpy()
    anchors = seeds.time.numpy()
    exclude = excluded_target_columns(train_table)
    feats = entity_features(graph, train_table.entity_table, rows, exclude)
    temporal = bool((anchors != STATIC_ANCHOR).any())
    train_times = anchors[tr]
    fit_time = int(train_times.max()) if temporal and len(train_times) else None
    for name in feature_sets:
        if name == "aggregated":
            x = aggregated_features(graph, train_table.entity_table, rows, anchors, fit_time,
                                    exclude, temporal=temporal, cache_dir=cache_dir)
        else:
            x = feats
        if x.shape[1] == 0:
            x = pd.DataFrame({"__const": np.zeros(len(rows))})
        pred = _lightgbm_predictions(task, x, y, split, const, metrics, seed)
        out[f"lightgbm_{name}"] = {
            part: compute_metrics(task, metrics, y[split == s], pred[split == s])
            for part, s in parts if (split == s).any()}
    return out


# Multilabel LightGBM fits one model per label for at most this many labels.
MAX_LIGHTGBM_LABELS = 32


def _lightgbm_predictions(task: TaskType, x: pd.DataFrame, y: np.ndarray, split: np.ndarray,
                          const: np.ndarray, metrics: list[str], seed: int) -> np.ndarray:
    """LightGBM predictions for every row, fitted on the train split (early stopping on
    validation): probabilities, class distributions, values, or one column per forecast
    step / label."""
    if task is TaskType.FORECASTING:
        return np.stack([_lightgbm_column(TaskType.REGRESSION, x, y[:, j], split, metrics,
                                          seed) for j in range(y.shape[1])], axis=1)
    if task.is_multilabel:
        pred = _repeat(const, len(y)).astype(float)
        counts = y[split == "train"].sum(axis=0)
        for j in np.argsort(-counts, kind="stable")[:MAX_LIGHTGBM_LABELS]:
            if 0 < counts[j] < int((split == "train").sum()):  # both classes seen
                pred[:, j] = _lightgbm_column(TaskType.BINARY_CLASSIFICATION, x, y[:, j],
                                              split, metrics, seed)
        return pred
    return _lightgbm_column(task, x, y, split, metrics, seed, num_classes=const.size)


def _lightgbm_column(task: TaskType, x: pd.DataFrame, y: np.ndarray, split: np.ndarray,
                     metrics: list[str], seed: int, num_classes: int = 0) -> np.ndarray:
    """One LightGBM model (binary, multiclass over ``num_classes``, or regression)
    predicting every row."""
    import lightgbm as lgb

    params: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31,
                              "random_state": seed, "verbose": -1, "n_jobs": 2}
    known = ~np.isnan(y) if y.dtype.kind == "f" else np.ones(len(y), dtype=bool)
    tr, va = (split == "train") & known, (split == "val") & known
    if task is TaskType.BINARY_CLASSIFICATION or task is TaskType.MULTICLASS_CLASSIFICATION:
        model: Any = lgb.LGBMClassifier(**params)
    else:
        model = lgb.LGBMRegressor(objective="l1" if "mae" in metrics[:1] else "huber",
                                  **params)
    fit_kw: dict[str, Any] = {}
    if va.any():
        # LightGBM >= 4.7 takes eval_X/eval_y and deprecates eval_set
        fit_kw = ({"eval_X": x[va], "eval_y": y[va]}
                  if "eval_X" in inspect.signature(model.fit).parameters
                  else {"eval_set": [(x[va], y[va])]})
        fit_kw["callbacks"] = [lgb.early_stopping(30, verbose=False)]
    model.fit(x[tr], y[tr], **fit_kw)
    if task is TaskType.BINARY_CLASSIFICATION:
        return np.asarray(model.predict_proba(x))[:, 1]
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        proba = model.predict_proba(x)
        pred = np.zeros((len(x), num_classes))
        pred[:, model.classes_.astype(int)] = proba
        return pred
    return np.asarray(model.predict(x), dtype=float)


def _largest_k(metrics: list[str]) -> int:
    ks = [int(m.split("@")[1]) for m in metrics if "@" in m]
    return max(ks, default=10)


def _item_lists(targets: pd.Series) -> list[list[Any]]:
    return [list(v) if isinstance(v, (list, tuple, np.ndarray)) else [] for v in targets]


def _popular_items(targets: pd.Series, k: int) -> list[Any]:
    """The ``k`` items most often in ``targets`` (ties by first appearance)."""
    counts = pd.Series([x for v in _item_lists(targets) for x in v], dtype=object)
    return counts.value_counts(sort=True).index[:k].tolist()


def _check_engine(graph: Graph) -> None:
    """Baselines read the graph's own rows; refuse an engine whose tables live elsewhere."""
    sources = getattr(graph.engine, "sources", None)
    if sources:
        raise GraphError(
            f"Baselines read the rows the graph holds, but tables {sorted(sources)} are read by "
            f"the Spark engine from sources ({', '.join(sorted(sources.values()))}) and the "
            f"graph holds only their metadata or a sample. Build the graph from the full "
            f"tables (the Spark engine then registers them itself) to run baselines.")


def _target(task: TaskType, target: pd.Series, info: Any) -> np.ndarray:
    """Labels as arrays: 0/1, class indices, values (``[n, horizon]`` when forecasting)
    or a ``[n, num_labels]`` 0/1 matrix (multilabel)."""
    if task is TaskType.BINARY_CLASSIFICATION:
        return target.astype(float).to_numpy()
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        lookup = {c: i for i, c in enumerate(info.classes)}
        return target.map(lambda v: lookup.get(v, -1)).to_numpy()
    if task.is_multilabel:
        return multi_hot(encode_item_lists(info.classes, target), len(info.classes)).numpy()
    return numeric_targets(target)


def _repeat(const: np.ndarray, n: int) -> np.ndarray:
    """A constant prediction (scalar or class distribution) for ``n`` rows."""
    return np.tile(const, (n, 1)) if const.ndim else np.full(n, float(const))


def _constant(task: TaskType, y: np.ndarray, info: Any) -> np.ndarray:
    """The training split's constant prediction: positive share, class shares, label
    prevalences, or the mean (per forecast step)."""
    if task is TaskType.BINARY_CLASSIFICATION:
        return np.asarray(float(np.mean(y)))
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        counts = np.bincount(y[y >= 0].astype(int), minlength=len(info.classes))
        return counts / max(1, counts.sum())
    if task.is_multilabel or y.ndim == 2:
        return np.nan_to_num(np.nanmean(y, axis=0)) if len(y) else np.zeros(y.shape[1])
    return np.asarray(float(np.mean(y)) if len(y) else 0.0)
