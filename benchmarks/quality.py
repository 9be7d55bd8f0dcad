"""Accuracy benchmark: relgraph's suggested plan against simple baselines on real data.

For each task (a predictive query over one of the four datasets in ``../shared/data``) the
script generates the training table once, then in the same run and on that same table:

* trains relgraph with ``pq.suggest_model_plan(run_mode)`` (FAST by default, unedited);
* computes the baselines of ``relgraph.baselines.run.run_baselines``: majority / training
  mean, LightGBM on the entity table's own columns, and LightGBM on aggregated features of the
  linked tables over the 7/30/90/365 days before each anchor time;
* for link prediction, global popularity and past interactions (computed here with pandas).

It prints one table (task, dataset, query, task type, metric, relgraph, baselines, training
time, seconds per epoch) and, with ``--json``, one JSON object per row. The peer query of
issue 5 (retail churn) also prints whether test AUROC >= 0.73 and training < 180 s.
Queries the PQL engine rejects and tasks the trainer does not support are reported as rows
(status ``skipped`` / ``unsupported`` / ``error``), never silently dropped. Control tasks
(labels that are noise in the data) are shown but left out of the "relgraph beats" tally.

    python benchmarks/quality.py                          # all default tasks, FAST plans
    python benchmarks/quality.py --tasks retail-churn --quick   # smoke test (1 trial/epoch)
    python benchmarks/quality.py --run-mode normal --json --home /tmp/rg-home
    python benchmarks/quality.py --tasks movielens-user-count --seed 1   # seed spread
    python benchmarks/quality.py --list                   # the tasks and their queries
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

PEER_QUERY = ("PREDICT COUNT(invoices.*, 0, 30, days) = 0 FOR EACH customers.customer_id "
              "WHERE COUNT(invoices.*, -90, 0, days) > 0")
PEER_AUROC = 0.73
PEER_SECONDS = 180.0

# Metrics where smaller is better; every other metric is "higher is better".
LOWER_IS_BETTER = {"mae", "mse", "rmse", "smape", "mape", "wape"}


# Sakila's rentals come in five 8-day bursts, exactly 21 days apart (2005-05-24, 06-14, 07-05,
# 07-26, 08-16; SOURCE.md), then nothing until 182 rentals on 2006-02-14. The suggested
# anchors (30-day steps back from 2006-01) fall in the empty months, so the sakila tasks put
# one anchor at the start of each burst and predict the 10 days after it (the burst): two
# train anchors (the first burst has no history), one validation, one test.
SAKILA_TABLE_PLAN = {"start_time": "2005-05-24 00:00:00", "end_time": "2005-08-16 00:00:00",
                     "timeframe_step": 21, "split": "DateOffsetSplit([-21, 0])"}


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str
    query: str
    metric: str  # the headline metric (relgraph's metric name, e.g. auroc, mae, acc, map@10)
    note: str = ""
    table_plan: dict[str, Any] | None = None  # overrides of the suggested table plan
    control: bool = False  # labels are noise: shows whether a model invents signal
    unlinks: tuple[str, ...] = ()  # "table.fkey.dst_table" links removed after loading
    stypes: tuple[tuple[str, str], ...] = ()  # ("table.column", stype) set after unlinking

    @property
    def graph_key(self) -> str:
        """Tasks with the same dataset and graph edits share one loaded graph."""
        return self.dataset + "".join(f" -{col}" for col in self.unlinks) + \
            "".join(f" {col}={stype}" for col, stype in self.stypes)


# Order: the peer query first, then the small datasets, the long ones last, so that a run
# that is cut off (Ctrl-C / SIGTERM prints what finished) still covers every task type.
TASKS: list[Task] = [
    Task("retail-churn", "online-retail-ii", PEER_QUERY, "auroc",
         "issue-5 peer query (Kumo local FAST: AUROC 0.73)"),
    Task("sakila-film-rating", "sakila",
         "PREDICT film.rating FOR EACH film.film_id", "acc",
         "control: Sakila's generated ratings are independent of every other column",
         control=True),
    Task("sakila-heavy-renter", "sakila",
         "PREDICT COUNT(rental.*, 0, 10, days) >= 6 FOR EACH customer.customer_id "
         "WHERE COUNT(rental.*, -30, 0, days) > 0", "auroc",
         "control: anchors at the rental bursts; Sakila's generated rentals per customer "
         "do not repeat from burst to burst (every method, LightGBM too, is at chance)",
         SAKILA_TABLE_PLAN, control=True),
    Task("sakila-spend", "sakila",
         "PREDICT SUM(payment.amount, 0, 10, days) FOR EACH customer.customer_id "
         "WHERE COUNT(payment.*, -30, 0, days) > 0", "mae", "anchors at the rental bursts",
         SAKILA_TABLE_PLAN),
    Task("movielens-user-count", "movielens-latest-small",
         "PREDICT COUNT(ratings.*, 0, 30, days) FOR EACH users.userId "
         "WHERE COUNT(ratings.*, -90, 0, days) > 0", "mae"),
    Task("movielens-movie-rating", "movielens-latest-small",
         "PREDICT AVG(ratings.rating, 0, 30, days) FOR EACH movies.movieId "
         "WHERE COUNT(ratings.*, -90, 0, days) > 0", "mae"),
    Task("movielens-next-movies", "movielens-latest-small",
         "PREDICT LIST_DISTINCT(ratings.movieId, 0, 30, days) RANK TOP 10 "
         "FOR EACH users.userId", "map@10"),
    Task("movielens-genres", "movielens-latest-small",
         "PREDICT movies.genres CLASSIFY FOR EACH movies.movieId", "auroc_macro",
         "multilabel: a movie's genres from its title, ratings and tags"),
    Task("flights-delay", "nycflights13",
         "PREDICT AVG(flights.arr_delay, 0, 7, days) FOR EACH planes.tailnum "
         "WHERE COUNT(flights.*, -14, 0, days) > 0", "mae", "the old quickstart query"),
    Task("retail-invoices", "online-retail-ii",
         "PREDICT COUNT(invoices.*, 0, 30, days) FOR EACH customers.customer_id "
         "WHERE COUNT(invoices.*, -90, 0, days) > 0", "mae"),
    Task("retail-product-forecast", "online-retail-ii",
         "PREDICT SUM(transactions.quantity, 0, 7, days) FORECAST 3 TIMEFRAMES "
         "FOR EACH products.stock_code WHERE COUNT(transactions.*, -30, 0, days) > 5", "mae",
         "forecasting: units sold per product in each of the next three weeks"),
    Task("flights-next-origin", "nycflights13",
         "PREDICT FIRST(flights.origin, 0, 7, days) FOR EACH planes.tailnum "
         "WHERE COUNT(flights.*, -14, 0, days) > 0", "acc",
         "multiclass: the New York airport (EWR, JFK, LGA) of a plane's next flight; "
         "flights.origin unlinked from airports and declared categorical",
         unlinks=("flights.origin.airports",), stypes=(("flights.origin", "categorical"),)),
    Task("retail-units", "online-retail-ii",
         "PREDICT SUM(transactions.quantity, 0, 30, days) FOR EACH customers.customer_id "
         "WHERE COUNT(transactions.*, -90, 0, days) > 0", "mae",
         "a customer's units bought in the next 30 days (their own history matters)"),
    Task("flights-plane-count", "nycflights13",
         "PREDICT COUNT(flights.*, 0, 7, days) FOR EACH planes.tailnum "
         "WHERE COUNT(flights.*, -14, 0, days) > 0", "mae",
         "a plane's flights in the next 7 days (its own schedule matters)"),
    Task("flights-next-dests", "nycflights13",
         "PREDICT LIST_DISTINCT(flights.dest, 0, 7, days) RANK TOP 10 "
         "FOR EACH planes.tailnum WHERE COUNT(flights.*, -14, 0, days) > 0", "map@10"),
]
TASKS_BY_NAME = {t.name: t for t in TASKS}
#: Tasks whose test period is a level shift no past data predicts (issue 5's closing
#: note): reported, not counted in the ">= 1%" tally.
REPORTED_MISSES = {"flights-delay"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- datasets
def _files_graph(name: str) -> Any:
    import relgraph as rg

    folder = DATA / name
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset {name} not found at {folder}")
    conn = rg.LocalFileConnector(folder)
    return rg.Graph({t: rg.Table.from_source_table(conn[t]).infer_metadata()
                     for t in conn.table_names()})


def load_retail() -> Any:
    return _files_graph("online-retail-ii").infer_links()


def load_flights() -> Any:
    """The shared Parquet files (weather included); the pip package's loader otherwise."""
    if (DATA / "nycflights13").is_dir():
        return _files_graph("nycflights13").infer_links()
    from relgraph.datasets import nycflights13

    return nycflights13.load_graph()


def load_sakila() -> Any:
    graph = _files_graph("sakila").infer_links()
    # SOURCE.md: create_date is 2006-02-14 for every customer, after nearly all rentals;
    # as a time column it would hide every customer from the 2005 snapshots.
    graph["customer"].time_column = None
    return graph


def load_movielens() -> Any:
    import relgraph as rg

    graph = _files_graph("movielens-latest-small")
    # No users table in MovieLens: one row per distinct ratings.userId.
    user_ids = pd.unique(pd.concat([graph["ratings"].data["userId"],
                                    graph["tags"].data["userId"]]))
    users = pd.DataFrame({"userId": np.sort(user_ids)})
    graph.add_table("users", rg.Table.from_dataframe(users, "users", primary_key="userId"))
    graph.infer_links()
    for src in ("ratings", "tags"):
        if not any(e.src_table == src and e.fkey == "userId" for e in graph.edges):
            graph.link(src, "userId", "users")
    return graph


LOADERS: dict[str, Callable[[], Any]] = {
    "online-retail-ii": load_retail,
    "nycflights13": load_flights,
    "sakila": load_sakila,
    "movielens-latest-small": load_movielens,
}


def load_task_graph(task: Task) -> Any:
    """The task's dataset with its graph edits (removed links, then stype overrides)."""
    graph = LOADERS[task.dataset]()
    for col in task.unlinks:
        graph.unlink(*col.split("."))
    for col, stype in task.stypes:
        table_name, column = col.split(".")
        graph[table_name][column].stype = stype
    return graph


# ----------------------------------------------------------------------------- helpers
def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def better(metric: str, a: float | None, b: float | None) -> bool | None:
    """Whether ``a`` beats ``b`` on ``metric`` (None if either is missing)."""
    if a is None or b is None:
        return None
    return a < b if metric.split("@")[0] in LOWER_IS_BETTER else a > b


def quick_plan(plan: Any) -> Any:
    """Shrink a plan for smoke tests: 1 trial, 1 epoch, a few steps."""
    plan.training_job.num_experiments = 1
    opt = plan.optimization
    opt.max_epochs = 1
    opt.min_steps_per_epoch = 1
    opt.max_steps_per_epoch = 4
    opt.max_val_steps = 2
    opt.max_test_steps = 4
    return plan


def split_sizes(table: Any) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in table.num_rows_per_split.items()}
    except Exception:  # informational only
        df = table.data_df()
        return {k: int(v) for k, v in df["SPLIT"].value_counts().items()}


# ----------------------------------------------------------------------------- link baselines
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    return list(value)


def average_precision_at_k(pred: list[Any], truth: set[Any], k: int) -> float:
    if not truth:
        return 0.0
    hits, score = 0, 0.0
    for i, item in enumerate(pred[:k]):
        if item in truth:
            hits += 1
            score += hits / (i + 1)
    return score / min(k, len(truth))


def link_baselines(graph: Any, pq: Any, table: Any, k: int) -> dict[str, dict[str, Any]]:
    """Global popularity and past interactions, map@k on the test (and validation) split.

    Events are the rows of the target's table (e.g. ``ratings``): popularity ranks items by
    their number of events at or before each anchor time; past interactions rank the
    entity's own items by how often and then how recently it had them before the anchor,
    padded with popular items. Rows with an empty target list are skipped (map is undefined).
    """
    df = table.data_df()
    events_name, target_col = _list_target(pq.query)
    event_table = graph[events_name]
    entity_col = _fkey_to(graph, events_name, pq.entity_table)
    times = pd.Series(event_table.time_values()).to_numpy()
    events = pd.DataFrame({"entity": event_table.data[entity_col].to_numpy(),
                           "item": event_table.data[target_col].to_numpy(),
                           "t": times})
    events = events.dropna().sort_values("t", kind="stable").reset_index(drop=True)
    anchors = pd.to_datetime(df["ANCHOR_TIMESTAMP"])
    if anchors.dt.tz is not None:
        anchors = anchors.dt.tz_convert("UTC").dt.tz_localize(None)
    anchor_sec = anchors.astype("datetime64[ns]").astype(np.int64) // 1_000_000_000
    df = df.assign(__anchor=anchor_sec.to_numpy())
    out: dict[str, dict[str, Any]] = {"popularity": {}, "past_interactions": {}}
    for split_name, split in (("test", "test"), ("validation", "val")):
        part = df[df["SPLIT"] == split]
        if part.empty:
            continue
        pop_scores, past_scores = [], []
        for anchor, group in part.groupby("__anchor"):
            before = events[events["t"] <= anchor]
            popular = before["item"].value_counts(sort=True).index[:k].tolist()
            stats = (before.groupby(["entity", "item"]).agg(n=("t", "size"), last=("t", "max"))
                     .reset_index().sort_values(["entity", "n", "last"],
                                                ascending=[True, False, False]))
            history = {e: g["item"].tolist()[:k] for e, g in stats.groupby("entity")}
            for entity, target in zip(group["ENTITY"], group["TARGET"], strict=True):
                truth = set(_as_list(target))
                if not truth:
                    continue
                pop_scores.append(average_precision_at_k(popular, truth, k))
                own = history.get(entity, [])
                padded = own + [i for i in popular if i not in set(own)]
                past_scores.append(average_precision_at_k(padded[:k], truth, k))
        metric = f"map@{k}"
        out["popularity"][split_name] = {metric: float(np.mean(pop_scores)) if pop_scores
                                         else None, "rows": len(pop_scores)}
        out["past_interactions"][split_name] = {metric: float(np.mean(past_scores))
                                                if past_scores else None,
                                                "rows": len(past_scores)}
    return out


def _list_target(query: str) -> tuple[str, str]:
    """(table, column) inside LIST_DISTINCT(table.column, ...) of the query."""
    match = re.search(r"LIST_DISTINCT\s*\(\s*(\w+)\.(\w+)", query, flags=re.I)
    if match is None:
        raise ValueError(f"no LIST_DISTINCT(table.column) in {query!r}")
    return match.group(1), match.group(2)


def static_target(query: str) -> tuple[str, str] | None:
    """(table, column) of a static query's target column (``PREDICT film.rating FOR ...``)."""
    match = re.match(r"\s*PREDICT\s+(\w+)\.(\w+)\s+FOR\b", query, flags=re.I)
    return (match.group(1), match.group(2)) if match else None


def _fkey_to(graph: Any, src: str, dst: str) -> str:
    for edge in graph.edges:
        if edge.src_table == src and edge.dst_table == dst:
            return str(edge.fkey)
    raise ValueError(f"no edge {src} -> {dst}")


# ----------------------------------------------------------------------------- one task
def new_row(task: Task, args: argparse.Namespace) -> dict[str, Any]:
    return {"task": task.name, "dataset": task.dataset, "query": task.query,
            "task_type": None, "metric": task.metric, "status": "ok",
            "relgraph": None, "baseline_1": None, "baseline_2": None,
            "baseline_3": None, "baseline_names": [],
            "train_seconds": None, "seconds_per_epoch": None,
            "run_mode": args.run_mode, "quick": args.quick,
            "device": str(args.device), "note": task.note, "control": task.control}


def run_task(task: Task, graph: Any, args: argparse.Namespace,
             row: dict[str, Any]) -> dict[str, Any]:
    """Fill ``row`` (baselines first, then relgraph, so an interrupted task keeps them)."""
    import relgraph as rg
    from relgraph.baselines.run import run_baselines

    pq = rg.PredictiveQuery(graph, task.query)
    try:
        pq.validate(verbose=False)
        task_type = pq.get_task_type()
    except Exception as exc:  # PQL still in progress: report and go on
        row.update(status="skipped", error=f"{type(exc).__name__}: {exc}")
        log(f"{task.name}: query rejected: {row['error']}")
        return row
    row["task_type"] = str(getattr(task_type, "value", task_type))
    is_link = "link" in row["task_type"]

    t0 = time.perf_counter()
    if task.table_plan:
        table_plan = pq.suggest_training_table_plan(run_mode=args.run_mode)
        for key, value in task.table_plan.items():
            setattr(table_plan, key, value)
        table = pq.generate_training_table(table_plan)
    else:
        table = pq.generate_training_table()
    row["table_seconds"] = round(time.perf_counter() - t0, 2)
    row["rows_per_split"] = split_sizes(table)
    target_col = static_target(task.query)
    if target_col and not getattr(table, "excluded_columns", None):
        # The target column of a static query must not be a feature, for relgraph or the
        # baselines (both read ``excluded_columns``); PQL does not set it yet.
        table.excluded_columns = {target_col}
        row["excluded_by_benchmark"] = ".".join(target_col)
    log(f"{task.name}: {row['task_type']}, training table {row['rows_per_split']} "
        f"in {row['table_seconds']} s")
    if row["task_type"] == "regression" and task.metric in HINDSIGHT_CONSTANTS:
        row["label_levels"] = label_levels(table.data_df(), task.metric)

    # baselines --------------------------------------------------------------------------
    t0 = time.perf_counter()
    try:
        if is_link:
            k = int(task.metric.split("@")[1])
            base = link_baselines(graph, pq, table, k)
            row["baseline_names"] = ["popularity", "past_interactions", None]
            row["baseline_1"] = base["popularity"].get("test", {}).get(task.metric)
            row["baseline_2"] = base["past_interactions"].get("test", {}).get(task.metric)
        else:
            base = run_baselines(graph, table, feature_sets=("entity", "aggregated"),
                                 metrics=[task.metric])
            first = "majority" if "majority" in base else "mean"
            row["baseline_names"] = [first, "lightgbm_entity", "lightgbm_aggregated"]
            for i, name in enumerate(row["baseline_names"], start=1):
                row[f"baseline_{i}"] = _num(base.get(name, {}).get("test", {}).get(task.metric))
        row["baselines"] = base
    except Exception as exc:
        row["baseline_error"] = f"{type(exc).__name__}: {exc}"
        log(f"{task.name}: baselines failed: {row['baseline_error']}")
        if args.verbose:
            traceback.print_exc()
    row["baseline_seconds"] = round(time.perf_counter() - t0, 2)
    log(f"{task.name}: baselines {row['baseline_names']}: {row['baseline_1']}, "
        f"{row['baseline_2']}, {row['baseline_3']} in {row['baseline_seconds']} s")

    # relgraph ---------------------------------------------------------------------------
    plan = pq.suggest_model_plan(run_mode=args.run_mode)
    if args.quick:
        plan = quick_plan(plan)
    if args.seed is not None:
        plan.training_job.manual_seed = args.seed
    opt = plan.optimization
    row["plan"] = {"num_experiments": plan.training_job.num_experiments,
                   "max_epochs": opt.max_epochs,
                   "max_steps_per_epoch": opt.max_steps_per_epoch,
                   "manual_seed": plan.training_job.manual_seed}
    log(f"{task.name}: fitting relgraph ({args.run_mode}, {row['plan']})")
    try:
        t0 = time.perf_counter()
        result = rg.Trainer(plan, verbose=args.verbose).fit(graph, table)
        row["wall_seconds"] = round(time.perf_counter() - t0, 2)
    except Exception as exc:  # report the trainer's error in the row
        msg = f"{type(exc).__name__}: {exc}"
        row.update(status="unsupported" if "not supported" in msg else "error", error=msg)
        log(f"{task.name}: trainer failed: {msg}")
        if row["status"] == "error" and args.verbose:
            traceback.print_exc()
    else:
        metrics = result.metrics()
        row["relgraph"] = _num(metrics[f"test_{task.metric}"])
        row["relgraph_validation"] = _num(_get(metrics, f"val_{task.metric}"))
        row["relgraph_test_metrics"] = metrics.to_dict()["test"]
        summary = result.summary()
        row["train_seconds"] = round(float(summary["total_elapsed_time"]), 2)
        row["trials"] = summary.get("automl_experiments_completed")
        curves = result.training_curves()
        if not curves.empty and "seconds" in curves:
            row["epochs"] = len(curves)
            row["seconds_per_epoch"] = round(float(curves["seconds"].mean()), 2)
        row["job_id"] = result.job_id
        row["recalibration"] = result.recalibration
        row["ensemble_trials"] = result.ensemble_trials
        gbdt = result.gbdt
        if gbdt is not None:
            row["blend_weight"] = gbdt.get("weight")
            tests = gbdt.get("test") or {}
            row["gnn_alone"] = _num((tests.get("gnn") or {}).get(task.metric))
            row["gbdt_alone"] = _num((tests.get("gbdt") or {}).get(task.metric))
        log(f"{task.name}: relgraph test {task.metric}={row['relgraph']} "
            f"in {row['train_seconds']} s")

    names = [n for n in row["baseline_names"] if n]
    row["beats"] = {n: better(task.metric, row["relgraph"], row[f"baseline_{i}"])
                    for i, n in enumerate(names, start=1)}
    if task.query == PEER_QUERY:
        row["peer"] = {"auroc_at_least_0.73": None if row["relgraph"] is None
                       else row["relgraph"] >= PEER_AUROC,
                       "train_under_180s": None if row["train_seconds"] is None
                       else row["train_seconds"] < PEER_SECONDS,
                       "load_average_1m": round(os.getloadavg()[0], 2)}
    return row


# The constant that minimises each metric: only computable on test labels in hindsight.
HINDSIGHT_CONSTANTS: dict[str, Callable[[np.ndarray], float]] = {
    "mae": lambda y: float(np.median(y)), "mse": lambda y: float(np.mean(y)),
    "rmse": lambda y: float(np.mean(y))}


def label_levels(df: pd.DataFrame, metric: str) -> dict[str, float] | None:
    """Median label per split and the test score of the best constant in hindsight: when
    the training mean scores near it, the test labels moved and no model of the past
    can do much better than a constant."""
    if "SPLIT" not in df.columns:
        return None
    y = {s: pd.to_numeric(df.loc[df["SPLIT"] == s, "TARGET"], errors="coerce").dropna()
         .to_numpy(dtype=float) for s in ("train", "val", "test")}
    if not len(y["test"]) or not len(y["train"]):
        return None
    best = HINDSIGHT_CONSTANTS[metric](y["test"])
    err = y["test"] - best
    score = float(np.mean(np.abs(err))) if metric == "mae" else float(np.mean(err ** 2))
    out = {f"{s}_median": float(np.median(v)) for s, v in y.items() if len(v)}
    out["hindsight_constant"] = best
    out[f"hindsight_constant_{metric}"] = math.sqrt(score) if metric == "rmse" else score
    return out


def _get(metrics: Any, key: str) -> Any:
    try:
        return metrics[key]
    except KeyError:
        return None


# ----------------------------------------------------------------------------- output
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _verdict(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return row["status"]
    beats = row.get("beats") or {}
    if not beats or row["relgraph"] is None:
        return "-"
    short = {"majority": "maj", "mean": "mean", "lightgbm_entity": "lgbm-ent",
             "lightgbm_aggregated": "lgbm-agg", "popularity": "pop",
             "past_interactions": "past"}
    won = [short.get(n, n) for n, b in beats.items() if b]
    lost = [short.get(n, n) for n, b in beats.items() if b is False]
    parts = (["chance-level control"] if row.get("control") else []) + \
        (["beats " + ",".join(won)] if won else []) + \
        (["loses " + ",".join(lost)] if lost else [])
    return "; ".join(parts)


HEADER = ["task", "dataset", "query", "task type", "metric", "relgraph", "GNN alone",
          "GBDT alone", "blend w", "majority/mean (link: popularity)",
          "LightGBM entity (link: past)", "LightGBM aggregated", "vs best baseline",
          "train s", "s/epoch", "verdict"]


def margin(row: dict[str, Any]) -> float | None:
    """relgraph's improvement over the best baseline, in % of that baseline's metric
    (positive = better; lower-is-better metrics counted the right way round)."""
    if row.get("relgraph") is None:
        return None
    names = [n for n in row["baseline_names"] if n]
    values = [row[f"baseline_{i}"] for i, n in enumerate(names, start=1)
              if row.get(f"baseline_{i}") is not None]
    if not values:
        return None
    lower = row["metric"].split("@")[0] in LOWER_IS_BETTER
    best = min(values) if lower else max(values)
    if best == 0:
        return None
    gain = (best - row["relgraph"]) if lower else (row["relgraph"] - best)
    return 100.0 * gain / abs(best)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"relgraph quality benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
          f"run mode {args.run_mode}{' (--quick: NOT the suggested plan)' if args.quick else ''}"
          f", device {args.device}, {os.cpu_count()} cores, test-split metrics; "
          f"train s = the training job's total time (all trials), s/epoch = mean epoch time\n")
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        arrow = "↓" if r["metric"].split("@")[0] in LOWER_IS_BETTER else "↑"
        gain = margin(r)
        cells = [r["task"], r["dataset"], f"`{r['query']}`", r["task_type"] or "-",
                 f"{r['metric']} {arrow}", _fmt(r["relgraph"]), _fmt(r.get("gnn_alone")),
                 _fmt(r.get("gbdt_alone")), _fmt(r.get("blend_weight"), 1),
                 _fmt(r["baseline_1"]), _fmt(r["baseline_2"]), _fmt(r["baseline_3"]),
                 "-" if gain is None else f"{gain:+.1f}%", _fmt(r["train_seconds"], 1),
                 _fmt(r["seconds_per_epoch"], 1), _verdict(r)]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    notes = []
    for r in rows:
        if r.get("error"):
            notes.append(f"- {r['task']}: {r['status']}: {r['error'].splitlines()[0][:300]}")
        if r.get("baseline_error"):
            notes.append(f"- {r['task']}: baselines failed: {r['baseline_error'][:300]}")
        if r.get("peer"):
            p = r["peer"]
            notes.append(f"- {r['task']} (peer, Kumo FAST AUROC {PEER_AUROC}): "
                         f"AUROC >= {PEER_AUROC}: {_yes(p['auroc_at_least_0.73'])}, "
                         f"training < {PEER_SECONDS:.0f} s: {_yes(p['train_under_180s'])} "
                         f"(1-min load average {p['load_average_1m']} on "
                         f"{os.cpu_count()} cores; the target assumes idle cores)")
        recal = r.get("recalibration")
        if recal and recal.get("scale") == 0:
            notes.append(f"- {r['task']}: the trained model did not beat a constant on "
                         f"validation, so relgraph predicts the validation median "
                         f"({recal['shift']:.4g}) for every row")
        elif recal:
            notes.append(f"- {r['task']}: predictions recalibrated on validation: "
                         f"{recal['scale']:g} x model {recal['shift']:+.4g}"
                         + (", rounded" if recal.get("rounded") else ""))
        levels = r.get("label_levels")
        if levels and (r.get("beats") or {}).get("mean") is False:
            hindsight = levels["hindsight_constant_" + r["metric"]]
            notes.append(
                f"- {r['task']}: loses to the training mean; label medians: train "
                f"{levels['train_median']:.4g}, validation {levels.get('val_median', math.nan):.4g}"
                f", test {levels['test_median']:.4g}. The best constant in hindsight (from the "
                f"test labels) scores {hindsight:.4g} and the training mean "
                f"{_fmt(r['baseline_1'])}: the test labels moved, and the mean happens to sit "
                "where they went")
        if r["status"] == "ok" and r.get("rows_per_split"):
            notes.append(f"- {r['task']}: rows {r['rows_per_split']}, plan {r.get('plan')}, "
                         f"epochs run {r.get('epochs')}, trials {r.get('trials')}, "
                         f"averaged trials {[i + 1 for i in r.get('ensemble_trials') or []]}, "
                         f"wall {r.get('wall_seconds')} s")
    tally: dict[str, list[int]] = {}
    for r in rows:
        if r.get("control"):  # chance-level labels: nothing can beat a constant there
            continue
        for name, won in (r.get("beats") or {}).items():
            if won is not None:
                key = {"majority": "majority/mean", "mean": "majority/mean"}.get(name, name)
                tally.setdefault(key, [0, 0])
                tally[key][0] += int(won)
                tally[key][1] += 1
    if tally:
        notes.append("- relgraph beats: " + ", ".join(
            f"{name} on {w}/{n} tasks" for name, (w, n) in tally.items())
            + " (chance-level control tasks not counted)")
    counted = [r for r in rows if not r.get("control") and r["status"] == "ok"
               and r["task"] not in REPORTED_MISSES and margin(r) is not None]
    if counted:
        by_one = [r["task"] for r in counted if (margin(r) or 0.0) >= 1.0]
        notes.append(f"- relgraph beats the best baseline by >= 1% of its metric on "
                     f"{len(by_one)}/{len(counted)} tasks (controls and the reported misses "
                     f"{sorted(REPORTED_MISSES)} not counted): {', '.join(by_one)}")
    if notes:
        print("\n" + "\n".join(notes))


def _yes(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "NO")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 trial, 1 epoch, a few steps per epoch")
    parser.add_argument("--run-mode", default="fast", choices=["fast", "normal", "best"])
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--home", default=None,
                        help="relgraph home (jobs, artifacts); default a temporary folder")
    parser.add_argument("--device", default="auto", help="torch device for rg.init")
    parser.add_argument("--seed", type=int, default=None,
                        help="manual_seed of relgraph's plan (default: the suggested one); "
                             "rerun with several seeds to see the spread on small splits")
    parser.add_argument("--verbose", action="store_true", help="trainer progress, tracebacks")
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    args = parser.parse_args(argv)

    if args.list:
        for t in TASKS:
            print(f"{t.name:24} {t.dataset:24} {t.metric:11} {t.query}")
        return 0
    names = [n.strip() for n in args.tasks.split(",") if n.strip()] or [t.name for t in TASKS]
    unknown = [n for n in names if n not in TASKS_BY_NAME]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; known: {list(TASKS_BY_NAME)}")

    import relgraph as rg

    home = args.home or tempfile.mkdtemp(prefix="relgraph-quality-")
    settings = rg.init(home=home, device=args.device)
    args.device = settings.torch_device()
    log(f"home {home}, device {args.device}, run mode {args.run_mode}"
        f"{' (quick)' if args.quick else ''}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}")

    graphs: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_all(names, graphs, rows, args)
    except KeyboardInterrupt:
        done = sum(r["status"] != "interrupted" for r in rows)
        log(f"interrupted: reporting the {done} finished task(s) of {len(names)}")

    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
    else:
        print_table(rows, args)
    return 0 if all(r["status"] in ("ok", "skipped", "unsupported") for r in rows) else 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_all(names: list[str], graphs: dict[str, Any], rows: list[dict[str, Any]],
            args: argparse.Namespace) -> None:
    for name in names:
        task = TASKS_BY_NAME[name]
        t0 = time.perf_counter()
        row = new_row(task, args)
        try:
            if task.graph_key not in graphs:
                log(f"loading {task.graph_key}")
                graphs[task.graph_key] = load_task_graph(task)
            run_task(task, graphs[task.graph_key], args, row)
        except KeyboardInterrupt:
            row.update(status="interrupted", error="stopped before it finished")
            rows.append(row)
            raise
        except Exception as exc:  # one failing task must not stop the others
            row.update(status="error", error=f"{type(exc).__name__}: {exc}")
            log(f"{task.name}: failed: {row['error']}")
            if args.verbose:
                traceback.print_exc()
        row["task_seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        # A partial record per finished task, so a long run that is cut off still reports.
        log(f"{task.name}: done in {row['task_seconds']} s: "
            + json.dumps({k: row.get(k) for k in ("status", "metric", "relgraph", "baseline_1",
                                                  "baseline_2", "baseline_3", "train_seconds",
                                                  "seconds_per_epoch")}, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
