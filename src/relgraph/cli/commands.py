"""``relgraph graph|query|train|predict``: the spec-file driven commands."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from relgraph.cli.spec import apply_overrides, flatten, load_spec, parse_override


def add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", default=None,
                   help="job store folder (default: the spec's home, $RELGRAPH_HOME or "
                        "~/.relgraph)")


def init_home(args: argparse.Namespace, spec: Any = None) -> None:
    import relgraph as rg

    home = args.home or (spec.home if spec is not None else None)
    rg.init(home=home)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    graph = sub.add_parser("graph", help="inspect the graph of a spec file")
    gsub = graph.add_subparsers(dest="graph_command", required=True)
    p = gsub.add_parser("inspect", help="print tables, keys, columns, edges and checks")
    p.add_argument("spec", help="YAML spec file (see relgraph.cli.spec)")
    p.set_defaults(func=graph_inspect)

    query = sub.add_parser("query", help="validate or compile the predictive query")
    qsub = query.add_subparsers(dest="query_command", required=True)
    for name, func, text in (("validate", query_validate, "parse and check the query"),
                             ("compile", query_compile, "show the SQL of the training "
                                                       "table")):
        p = qsub.add_parser(name, help=text)
        p.add_argument("spec")
        p.add_argument("--query", default=None, help="override the spec's query")
        if name == "compile":
            p.add_argument("--run-mode", default=None)
        p.set_defaults(func=func)

    p = sub.add_parser("train", help="generate the training table and train a model",
                       description="Train on the spec's graph and query. Plan overrides: "
                                   "--set optimization.max_epochs=3 (repeatable).")
    p.add_argument("spec")
    p.add_argument("--query", default=None)
    p.add_argument("--run-mode", default=None, choices=["debug", "fast", "normal", "best"])
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.FIELD=VALUE", help="override a model plan field")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--non-blocking", action="store_true",
                   help="start a worker process and print the job id")
    p.add_argument("--warm-start", default=None, metavar="JOB_ID")
    p.add_argument("--nproc-per-node", type=int, default=None, metavar="N",
                   help="train with DDP in N torchrun processes (one per GPU on GPU machines)")
    add_home(p)
    p.set_defaults(func=train)

    p = sub.add_parser("predict", help="batch prediction with a trained model")
    p.add_argument("job_id", help="training job id")
    p.add_argument("--spec", default=None,
                   help="spec file of the graph to predict on (default: the training "
                        "job's graph snapshot)")
    p.add_argument("--output", default=None,
                   help="a folder (Parquet/CSV files), a .duckdb or a .sqlite file")
    p.add_argument("--table-name", default="output",
                   help="output name: files NAME_predictions.parquet (and "
                        "NAME_embeddings), or tables of that name")
    p.add_argument("--file-type", default="parquet", choices=["parquet", "csv"])
    p.add_argument("--embeddings", action="store_true", help="also write embeddings")
    p.add_argument("--num-workers", type=int, default=1)
    p.add_argument("--anchor-time", default=None, help="prediction time (default: latest)")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None, help="classes to return per entity")
    p.add_argument("--non-blocking", action="store_true")
    add_home(p)
    p.set_defaults(func=predict)


def add_explain_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="why a trained model predicts what it does for "
                                       "an entity: top columns and related rows")
    p.add_argument("job_id", help="training job id")
    p.add_argument("--entity", action="append", required=True, metavar="ID",
                   help="primary key of the entity (repeat for several)")
    p.add_argument("--at", default=None, metavar="TIME",
                   help="anchor time (default: the latest time in the graph)")
    p.add_argument("--spec", default=None,
                   help="spec file of the graph (default: the training job's snapshot)")
    p.add_argument("--top", type=int, default=10, help="columns to show")
    p.add_argument("--rows", type=int, default=5, help="related rows to show")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_home(p)
    p.set_defaults(func=explain)


def explain(args: argparse.Namespace) -> int:
    import relgraph as rg
    from relgraph.errors import JobError
    from relgraph.jobs.results import TrainingJobResult

    spec = load_spec(args.spec) if args.spec else None
    init_home(args, spec)
    result = TrainingJobResult(args.job_id)
    graph = spec.graph() if spec is not None else result.graph()
    if graph is None:
        raise JobError(f"Training job {args.job_id} has no graph snapshot; pass --spec.")
    table = graph[result.entity_table]
    keys = [_entity_key(table.data[table.primary_key], v) for v in args.entity]
    out = rg.Trainer.load(args.job_id).explain(graph, keys, args.at, top_columns=args.top,
                                               top_rows=args.rows)
    if args.json:
        print(json.dumps([e.to_dict() for e in out], indent=2, default=str))
    else:
        print("\n\n".join(str(e) for e in out))
    return 0


def _entity_key(column: Any, text: str) -> Any:
    """``text`` as a value of the primary-key ``column`` (numbers stay numbers)."""
    import pandas as pd

    from relgraph.errors import JobError

    try:
        if pd.api.types.is_integer_dtype(column.dtype):
            return int(text)
        if pd.api.types.is_float_dtype(column.dtype):
            return float(text)
    except ValueError:
        raise JobError(f"--entity {text!r} is not a value of the key column "
                       f"'{column.name}' ({column.dtype}).") from None
    return text


def graph_inspect(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    graph = spec.graph()
    graph.print_definition()
    print("\nRows: " + ", ".join(f"{n}={t.num_rows}" for n, t in graph.tables.items()))
    graph.validate(verbose=True)
    return 0


def _pq(args: argparse.Namespace) -> Any:
    from relgraph.pquery import PredictiveQuery

    spec = load_spec(args.spec, getattr(args, "query", None))
    return spec, PredictiveQuery(spec.graph(), spec.require_query())


def query_validate(args: argparse.Namespace) -> int:
    _, pq = _pq(args)
    pq.validate(verbose=True)
    return 0


def query_compile(args: argparse.Namespace) -> int:
    from relgraph.pquery import TrainingTableGenerationPlan

    spec, pq = _pq(args)
    plan = pq.suggest_training_table_plan(args.run_mode or spec.run_mode)
    for k, v in spec.training_table_plan.items():
        setattr(plan, k, v)
    if not isinstance(plan, TrainingTableGenerationPlan):  # pragma: no cover
        raise TypeError(type(plan))
    print(pq.explain(plan))
    return 0


def _kv(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise SystemExit(f"error: expected KEY=VALUE, got {item!r}")
        out[k] = v
    return out


def train(args: argparse.Namespace) -> int:
    import relgraph as rg

    spec = load_spec(args.spec, args.query)
    init_home(args, spec)
    pq = rg.PredictiveQuery(spec.graph(), spec.require_query())
    pq.validate(verbose=True)
    mode = args.run_mode or spec.run_mode
    overrides = flatten(spec.model_plan)
    overrides.update(dict(parse_override(o) for o in args.overrides))
    apply_overrides(pq.suggest_model_plan(run_mode=mode), overrides)  # fail before the table
    table_plan = pq.suggest_training_table_plan(mode)
    for k, v in spec.training_table_plan.items():
        setattr(table_plan, k, v)
    table = pq.generate_training_table(table_plan)
    print(f"training table: {len(table)} rows, splits {table.num_rows_per_split}")
    plan = pq.suggest_model_plan(run_mode=mode)  # sized by the table
    apply_overrides(plan, overrides)
    tags = {**spec.tags, **_kv(args.tag)}
    out = rg.Trainer(plan).fit(pq.graph, table, non_blocking=args.non_blocking,
                               custom_tags=tags, warm_start_job_id=args.warm_start,
                               distributed=args.nproc_per_node)
    if args.non_blocking:
        print(f"started {out.id}; follow it with: relgraph jobs attach {out.id}")
        print(out.id)
        return 0
    print(f"\nMetrics of {out.id}:\n{out.metrics()}")
    print(f"report: {out.report_path()}")
    print(out.id)
    return 0


def predict(args: argparse.Namespace) -> int:
    import relgraph as rg
    from relgraph.connector.output import OutputConfig
    from relgraph.trainer.trainer import predictive_query_from_training_job

    spec = load_spec(args.spec) if args.spec else None
    init_home(args, spec)
    types = {"predictions", "embeddings"} if args.embeddings else {"predictions"}
    output = OutputConfig(output_types=types, output_connector=args.output,
                          output_table_name=args.table_name if args.output else None,
                          file_type=args.file_type)  # checks the name before any work
    graph = spec.graph() if spec is not None else None
    pq = predictive_query_from_training_job(args.job_id, graph)
    table = pq.generate_prediction_table(anchor_time=args.anchor_time)
    trainer = rg.Trainer.load(args.job_id)
    out = trainer.predict(pq.graph, table, output_config=output,
                          binary_classification_threshold=args.threshold,
                          num_classes_to_return=args.top_k, num_workers=args.num_workers,
                          non_blocking=args.non_blocking)
    if args.non_blocking:
        print(f"started {out.id}; follow it with: relgraph jobs attach {out.id}")
        print(out.id)
        return 0
    print(json.dumps({"job_id": out.id, **dataclasses.asdict(out.summary()),
                      "predictions": out.predictions_urls()}, indent=2))
    return 0
