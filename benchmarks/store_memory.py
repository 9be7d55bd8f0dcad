"""Peak memory of building the graph store, compared with the size of the store it builds.

Usage::

    .venv/bin/python benchmarks/store_memory.py --sizes 1M,10M [--chunk-rows N]

For each size a fresh process builds the synthetic retail graph
(:func:`relgraph.testing.retail.retail_graph`: customers, products, transactions with
two foreign keys), then runs :func:`relgraph.store.from_graph.build_store` with a cache folder
(fingerprint, build, save) and prints one JSON line: the resident memory of the loaded graph
(``graph_rss_gb``), the peak resident memory *above* it during the build (``build_peak_gb``,
read from the kernel's exact high-water mark ``VmHWM`` after resetting it; Linux only),
the build's wall time, and the bytes of the store it produced (``store_gb``: row times and
CSRs). ``--phases`` also measures fingerprint / arrays / CSR build / save separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * mult)


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS counter to the current RSS; return the current RSS."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status("VmRSS")


def _gb(n: float) -> float:
    return round(n / 2**30, 3)


def child(size: int, chunk_rows: int | None, phases: bool) -> dict[str, Any]:
    import gc

    from relgraph.store import from_graph
    from relgraph.store.from_graph import build_store
    from relgraph.store.graph_store import GraphStore
    from relgraph.testing.retail import retail_graph

    if chunk_rows:
        from_graph.CHUNK_ROWS = chunk_rows
    graph: Any = retail_graph(size)
    for table in graph.tables.values():  # what any use of the graph computes once anyway
        if table.time_column is not None:
            table.time_values()
    gc.collect()
    out: dict[str, Any] = {"size": size, "chunk_rows": getattr(from_graph, "CHUNK_ROWS", None)}
    base = _reset_peak()
    out["graph_rss_gb"] = _gb(base)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        store = build_store(graph, cache_dir=cache)
        out["build_s"] = round(time.perf_counter() - t0, 2)
        out["build_peak_gb"] = _gb(_status("VmHWM") - base)
    times = sum(int(t.numel()) * 8 for n in store.node_types if (t := store.time(n)) is not None)
    out["store_gb"] = _gb(store.nbytes() + times)
    del store
    gc.collect()
    if phases:
        from relgraph.store.from_graph import graph_arrays

        base = _reset_peak()
        graph.fingerprint()
        out["fingerprint_peak_gb"] = _gb(_status("VmHWM") - base)
        base = _reset_peak()
        tables, edges = graph_arrays(graph)
        out["arrays_peak_gb"] = _gb(_status("VmHWM") - base)
        out["arrays_held_gb"] = _gb(_status("VmRSS") - base)
        base = _reset_peak()
        GraphStore._build(tables, edges, None)
        out["csr_peak_gb"] = _gb(_status("VmHWM") - base)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--chunk-rows", type=int, default=0,
                        help="override relgraph.store.from_graph.CHUNK_ROWS")
    parser.add_argument("--phases", action="store_true", help="also measure each step")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.chunk_rows or None, args.phases)), flush=True)
        return
    for size in (parse_size(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--child", str(size), "--chunk-rows",
               str(args.chunk_rows)] + (["--phases"] if args.phases else [])
        # glibc then returns every freed array to the OS at once, so the peak is exact
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536",
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
        print(lines[-1] if lines else json.dumps({"size": size, "error": res.stderr[-1500:]}),
              flush=True)


if __name__ == "__main__":
    main()
