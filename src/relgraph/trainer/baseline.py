"""Baselines on the same training table: majority / mean, and LightGBM on hand-style features.

``entity`` features are the entity table's own columns (RelBench's LightGBM protocol);
``aggregated`` adds, for every table that references the entity table, counts and
sums/means of its numerical columns over the 7/30/90/365 days before each anchor time —
computed in one SQL query per linked table, only from rows at or before the anchor, on the
graph's engine (DuckDB, or Spark after ``relgraph.init(engine="spark")``: same features).
The graph must hold the tables' rows: a Spark engine reading tables from cluster
``sources`` (the graph holding only a sample) is refused.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from relgraph.engine import quote_ident
from relgraph.errors import GraphError
from relgraph.graph import Graph, Stype
from relgraph.task import TaskType
from relgraph.trainer.examples import STATIC_ANCHOR, fit_target_info, make_seeds
from relgraph.trainer.features import excluded_target_columns
from relgraph.trainer.metrics import compute_metrics

WINDOWS_DAYS = (7, 30, 90, 365)


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
                        anchors: np.ndarray) -> pd.DataFrame:
    """Window aggregates of every table referencing ``entity_table``, per (row, anchor)."""
    engine = graph.engine
    pk = graph[entity_table].primary_key
    seeds = pd.DataFrame({"__idx": np.arange(len(rows), dtype=np.int64),
                          "__row": np.asarray(rows, dtype=np.int64),
                          "__anchor": anchors.astype(np.int64)})
    frames = []
    with engine.temp_relation(seeds) as seed_rel:
        ent = engine.relation(entity_table)
        for edge in graph.edges:
            if edge.dst_table != entity_table:
                continue
            child = graph[edge.src_table]
            if child.time_column is None:
                continue
            rel = engine.relation(edge.src_table)
            nums = [c.name for c in child.columns if c.stype is Stype.numerical]
            parts = []
            prefix = f"{edge.src_table}.{edge.fkey}"
            for days in WINDOWS_DAYS:
                cond = f"c.__rg_time > s.__anchor - {days * 86400}"
                parts.append(f"COUNT(*) FILTER (WHERE {cond}) AS "
                             f"{quote_ident(f'{prefix}.count_{days}d')}")
                for n in nums:
                    q = quote_ident(n)
                    parts.append(f"SUM(c.{q}) FILTER (WHERE {cond}) AS "
                                 f"{quote_ident(f'{prefix}.{n}.sum_{days}d')}")
                    parts.append(f"AVG(c.{q}) FILTER (WHERE {cond}) AS "
                                 f"{quote_ident(f'{prefix}.{n}.mean_{days}d')}")
            parts.append(f"COUNT(c.__rg_row) AS {quote_ident(f'{prefix}.count_all')}")
            # double division on every engine (Spark would divide decimals)
            parts.append(f"CAST(MIN(s.__anchor - c.__rg_time) AS DOUBLE) / 86400 AS "
                         f"{quote_ident(f'{prefix}.days_since_last')}")
            sql = (f"SELECT s.__idx, {', '.join(parts)} FROM {seed_rel} s "
                   f"JOIN {ent} e ON e.__rg_row = s.__row "
                   f"LEFT JOIN {rel} c ON c.{quote_ident(edge.fkey)} = e.{quote_ident(pk or '')} "
                   f"AND c.__rg_time <= s.__anchor GROUP BY s.__idx")
            frames.append(engine.sql(sql).set_index("__idx").sort_index())
    if not frames:
        return pd.DataFrame(index=np.arange(len(rows)))
    out = pd.concat(frames, axis=1).reindex(np.arange(len(rows)))
    return out.reset_index(drop=True).astype(float)


def run_baselines(graph: Graph, train_table: Any, *, feature_sets: tuple[str, ...] = (
        "entity", "aggregated"), metrics: list[str] | None = None,
        seed: int = 0) -> dict[str, dict[str, dict[str, float | None]]]:
    """Majority/mean and LightGBM baselines: ``{name: {"test": {...}, "validation": {...}}}``."""
    import lightgbm as lgb

    from relgraph.trainer.metrics import default_metrics

    _check_engine(graph)
    df = train_table.data_df()
    task = TaskType(train_table.task_type)
    metrics = metrics or default_metrics(task)
    seeds = make_seeds(graph, train_table.entity_table, df)
    frame = seeds.frame
    info = fit_target_info(task, frame.loc[frame["SPLIT"] == "train", "TARGET"])
    y = _target(task, frame["TARGET"], info)
    split = frame["SPLIT"].to_numpy()
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    tr = split == "train"
    const = _constant(task, y[tr], info)
    out["majority" if task.is_classification else "mean"] = {
        s_name: compute_metrics(task, metrics, y[split == s],
                                _repeat(const, int((split == s).sum())))
        for s_name, s in (("test", "test"), ("validation", "val"))}
    rows = seeds.rows.numpy()
    anchors = seeds.time.numpy()
    exclude = excluded_target_columns(train_table)
    feats = entity_features(graph, train_table.entity_table, rows, exclude)
    for name in feature_sets:
        if name == "aggregated":
            has_time = anchors != STATIC_ANCHOR
            agg = aggregated_features(graph, train_table.entity_table, rows,
                                      np.where(has_time, anchors, np.iinfo(np.int64).max // 4))
            x = pd.concat([feats, agg], axis=1)
        else:
            x = feats
        if x.shape[1] == 0:
            x = pd.DataFrame({"__const": np.zeros(len(rows))})
        params: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31,
                                  "random_state": seed, "verbose": -1, "n_jobs": 2}
        va = split == "val"
        if task is TaskType.BINARY_CLASSIFICATION or task is TaskType.MULTICLASS_CLASSIFICATION:
            model = lgb.LGBMClassifier(**params)
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
        res = {}
        for s_name, s in (("test", "test"), ("validation", "val")):
            m = split == s
            if not m.any():
                continue
            if task is TaskType.BINARY_CLASSIFICATION:
                pred = np.asarray(model.predict_proba(x[m]))[:, 1]
            elif task is TaskType.MULTICLASS_CLASSIFICATION:
                proba = model.predict_proba(x[m])
                pred = np.zeros((int(m.sum()), len(info.classes)))
                pred[:, model.classes_.astype(int)] = proba
            else:
                pred = np.asarray(model.predict(x[m]))
            res[s_name] = compute_metrics(task, metrics, y[m], pred)
        out[f"lightgbm_{name}"] = res
    return out


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
    if task is TaskType.BINARY_CLASSIFICATION:
        return target.astype(float).to_numpy()
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        lookup = {c: i for i, c in enumerate(info.classes)}
        return target.map(lambda v: lookup.get(v, -1)).to_numpy()
    return pd.to_numeric(target, errors="coerce").astype(float).to_numpy()


def _repeat(const: np.ndarray, n: int) -> np.ndarray:
    """A constant prediction (scalar or class distribution) for ``n`` rows."""
    return np.tile(const, (n, 1)) if const.ndim else np.full(n, float(const))


def _constant(task: TaskType, y: np.ndarray, info: Any) -> np.ndarray:
    if task is TaskType.BINARY_CLASSIFICATION:
        return np.asarray(float(np.mean(y)))
    if task is TaskType.MULTICLASS_CLASSIFICATION:
        counts = np.bincount(y[y >= 0].astype(int), minlength=len(info.classes))
        return counts / max(1, counts.sum())
    return np.asarray(float(np.mean(y)) if len(y) else 0.0)
