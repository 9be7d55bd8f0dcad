"""Explanation benchmark (issue 19): retail churn on online-retail-ii.

Trains the churn model (the suggested FAST plan, shrunk like the end-to-end retail test:
one trial, 3 epochs of at most 25 steps), then prints:

- the global explanation computed at the end of training (permutation importance on the
  validation split, ``TrainingJobResult.explanations()``): the top five columns and tables
  and its time;
- the time to explain N entities (default 100, the test split's first anchor) with
  ``Trainer.explain`` and the same with ``Trainer.predict(..., explain=True)`` against a
  plain ``predict`` (the cost of the ``explain`` option), plus one example explanation.

    python benchmarks/explain.py [--entities 100] [--home /tmp/rg-explain] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "online-retail-ii"
CHURN = ("PREDICT COUNT(invoices.*, 0, 30, days) = 0 FOR EACH customers.customer_id "
         "WHERE COUNT(invoices.*, -90, 0, days) > 0")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--home", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"missing {DATA}", file=sys.stderr)
        return 1

    import relgraph as rg
    from relgraph.plan.model_plan import RunMode
    from relgraph.plan.suggest import suggest_model_plan
    from relgraph.pquery.prediction_table import PredictionTable
    from relgraph.task import TaskType

    rg.init(home=args.home or tempfile.mkdtemp(prefix="rg-explain-"))
    conn = rg.LocalFileConnector(DATA)
    graph = rg.Graph({n: rg.Table.from_source_table(conn[n]).infer_metadata()
                      for n in conn.table_names()})
    graph.infer_links()
    table = rg.PredictiveQuery(graph, CHURN).generate_training_table()
    plan = suggest_model_plan(TaskType.BINARY_CLASSIFICATION, RunMode.FAST,
                              num_train_examples=40000)
    plan.training_job.num_experiments = 1
    plan.training_job.manual_seed = 0
    plan.optimization.max_epochs = 3
    plan.optimization.min_steps_per_epoch = 1
    plan.optimization.max_steps_per_epoch = 25
    plan.optimization.max_val_steps = 8
    plan.optimization.batch_size = [512]
    trainer = rg.Trainer(plan, verbose=False)
    t0 = time.perf_counter()
    result = trainer.fit(graph, table)
    train_s = time.perf_counter() - t0
    glob = result.explanations()

    df = table.data_df()
    test = df[df["SPLIT"] == "test"]
    first = test[test["ANCHOR_TIMESTAMP"] == test["ANCHOR_TIMESTAMP"].min()]
    rows = first.head(args.entities)[["ENTITY", "ANCHOR_TIMESTAMP"]].reset_index(drop=True)
    t0 = time.perf_counter()
    out = trainer.explain(graph, list(rows["ENTITY"]), list(rows["ANCHOR_TIMESTAMP"]))
    explain_s = time.perf_counter() - t0
    pt = PredictionTable(rows, anchor_time=None, entity_table="customers")
    t0 = time.perf_counter()
    trainer.predict(graph, pt)
    predict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    job = trainer.predict(graph, pt, explain=True)
    predict_explain_s = time.perf_counter() - t0
    assert len(job.explanations_df()) == len(rows)

    report = {"task": "retail-churn", "test_auroc": result.metrics()["test_auroc"],
              "train_s": round(train_s, 1), "global_measure": glob.measure,
              "global_rows": glob.num_rows, "global_s": round(glob.seconds, 1),
              "top_columns": glob.columns.head(5).to_dict(orient="records"),
              "top_tables": glob.tables.head(5).to_dict(orient="records"),
              "entities": len(out), "explain_s": round(explain_s, 2),
              "predict_s": round(predict_s, 2),
              "predict_explain_s": round(predict_explain_s, 2)}
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    print(f"retail churn: test AUROC {report['test_auroc']:.4f}, trained in {train_s:.0f}s")
    print(f"\nglobal (validation, {glob.num_rows} rows, drop of {glob.measure} when shuffled; "
          f"{glob.seconds:.1f}s):")
    print("  top five columns:")
    for r in glob.columns.head(5).itertuples(index=False):
        print(f"    {r.table}.{r.column:<28} {r.importance:+.4f} (+- {r.std:.4f})")
    print("  tables:")
    for r in glob.tables.head(5).itertuples(index=False):
        print(f"    {r.table:<34} {r.importance:+.4f} (+- {r.std:.4f})")
    print(f"\nexplain {len(out)} entities: {explain_s:.2f}s "
          f"({1000 * explain_s / max(1, len(out)):.0f} ms/entity)")
    print(f"batch prediction of {len(rows)}: {predict_s:.2f}s plain, "
          f"{predict_explain_s:.2f}s with explain=True")
    print("\nexample:\n" + str(out[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
