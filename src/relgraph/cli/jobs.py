"""``relgraph jobs list|show|cancel|attach|report``: the job store from the shell."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

from relgraph.cli.commands import add_home, init_home


def add_parser(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="list, inspect, cancel and follow jobs")
    jsub = jobs.add_subparsers(dest="jobs_command", required=True)
    p = jsub.add_parser("list", help="jobs, newest first")
    p.add_argument("--kind", default=None,
                   choices=["training", "batch_prediction", "baseline", "training_table",
                            "prediction_table"])
    p.add_argument("--status", default=None,
                   choices=["NOT_STARTED", "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"])
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--limit", type=int, default=20)
    add_home(p)
    p.set_defaults(func=jobs_list)
    for name, func, text in (("show", jobs_show, "status, progress, metrics, events"),
                             ("cancel", jobs_cancel, "cancel a job and stop its worker"),
                             ("attach", jobs_attach, "follow a job with a progress bar"),
                             ("report", jobs_report, "write and open a training job's "
                                                     "HTML report")):
        p = jsub.add_parser(name, help=text)
        p.add_argument("job_id")
        add_home(p)
        if name == "show":
            p.add_argument("--json", action="store_true", help="machine-readable output")
            p.add_argument("--events", type=int, default=15, help="last N events")
        if name == "attach":
            p.add_argument("--interval", type=float, default=2.0)
        if name == "report":
            p.add_argument("--no-open", action="store_true", help="only print the path")
        p.set_defaults(func=func)


def add_gc_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gc", help="remove old jobs and the snapshots and stores no kept job "
                                  "needs", description="Without --keep-last/--older-than only "
                                  "snapshots, stores and spec folders no job uses are removed.")
    p.add_argument("--keep-last", type=int, default=None, metavar="N",
                   help="keep the N newest jobs")
    p.add_argument("--older-than", default=None, metavar="AGE",
                   help="remove only jobs that ended longer ago (e.g. 30d, 12h, 90m)")
    p.add_argument("--dry-run", action="store_true", help="list what would go, with sizes")
    add_home(p)
    p.set_defaults(func=gc_command)


def gc_command(args: argparse.Namespace) -> int:
    from relgraph.jobs.gc import gc

    init_home(args)
    print(gc(keep_last=args.keep_last, older_than=args.older_than, dry_run=args.dry_run))
    return 0


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def jobs_list(args: argparse.Namespace) -> int:
    from relgraph.jobs.store import JobStore

    init_home(args)
    store = JobStore.current()
    if args.tag:
        tags = dict(t.split("=", 1) for t in args.tag)
        records = [store.get(i) for i in store.search_by_tags(tags, kind=args.kind,
                                                               limit=args.limit)]
    else:
        records = store.list_jobs(kind=args.kind, status=args.status, limit=args.limit)
    if args.status and args.tag:
        records = [r for r in records if r.status.value == args.status]
    print(f"{'JOB ID':<40} {'KIND':<17} {'STATUS':<10} {'CREATED':<19} {'SECONDS':>8}  TAGS")
    for r in records:
        secs = ((r.ended_at or time.time()) - r.started_at) if r.started_at else None
        tag_text = ",".join(f"{k}={v}" for k, v in sorted(r.tags.items()))
        print(f"{r.id:<40} {r.kind.value:<17} {r.status.value:<10} {_when(r.created_at):<19} "
              f"{(f'{secs:.1f}' if secs is not None else '-'):>8}  {tag_text}")
    return 0


def _show_dict(job_id: str, n_events: int) -> dict[str, Any]:
    from relgraph.jobs.store import JobStore

    store = JobStore.current()
    r = store.get(job_id)
    progress = r.progress
    trials = progress.get("trials") or {}
    return {
        "id": r.id, "kind": r.kind.value, "status": r.status.value,
        "created": _when(r.created_at), "started": _when(r.started_at),
        "ended": _when(r.ended_at), "worker_pid": r.worker_pid, "runner": r.runner,
        "tags": r.tags, "error": r.error, "metrics": r.metrics,
        "progress": {"stage": progress.get("stage"),
                     "trials": f"{progress.get('completed_trials', 0)}/"
                               f"{progress.get('total_trials', 0)}",
                     "epochs": sum(len(t.get("epochs", [])) for t in trials.values())},
        "folder": str(store.folder(job_id)),
        "events": [f"{_when(e.ts)} {e.stage}: {e.detail}"
                   for e in store.events(job_id)[-n_events:]],
    }


def jobs_show(args: argparse.Namespace) -> int:
    init_home(args)
    info = _show_dict(args.job_id, args.events)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key in ("id", "kind", "status", "created", "started", "ended", "worker_pid",
                "runner", "tags", "progress", "folder"):
        print(f"{key:>11}: {info[key]}")
    if info["error"]:
        print(f"{'error':>11}: {info['error']}")
    if info["metrics"]:
        print(f"{'metrics':>11}:")
        for split, values in info["metrics"].items():
            if isinstance(values, dict):
                text = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in values.items())
            else:
                text = str(values)
            print(f"{'':>13}{split}: {text}")
    print(f"{'events':>11}:")
    for line in info["events"]:
        print(f"{'':>13}{line}")
    return 0


def jobs_cancel(args: argparse.Namespace) -> int:
    from relgraph.jobs.handles import job_for

    init_home(args)
    job = job_for(args.job_id)
    ok = job.cancel()
    print(f"{args.job_id}: {job.status().status.value}")
    return 0 if ok else 1


def jobs_attach(args: argparse.Namespace) -> int:
    from relgraph.errors import JobError
    from relgraph.jobs.handles import job_for

    init_home(args)
    job = job_for(args.job_id)
    try:
        result = job.attach(interval_s=args.interval)
    except JobError as err:
        print(f"{args.job_id}: {err}")
        return 1
    if result is None:
        return 130
    metrics = getattr(result, "metrics", None)
    print(f"{args.job_id}: DONE")
    if callable(metrics):
        print(metrics())
    return 0


def jobs_report(args: argparse.Namespace) -> int:
    from relgraph.jobs.results import TrainingJobResult

    init_home(args)
    path = TrainingJobResult(args.job_id).report_path()
    print(path)
    if not args.no_open:
        import webbrowser

        webbrowser.open(path.as_uri())
    return 0
