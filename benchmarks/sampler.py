"""Benchmark the graph store and the temporal neighbor sampler on a retail-shaped graph.

Usage::

    .venv/bin/python benchmarks/sampler.py [--scale 1.0] [--json] [--device cpu]

Builds 100k customers, 50k products and 2M timestamped transactions (times
``--scale``), reports store build time and bytes per edge, then for batch 512,
fan-outs [16,16] and [128,64] and strategies uniform/last: batches/s, subgraphs/s,
sampled node slots/s (seeds included) and peak memory, next to a per-seed numpy
reference doing the same sampling. ``--workers N`` adds a SubgraphLoader run with
N sampling threads. Seeds are random customers with random anchor times within
the data range. Peak memory is the process's peak RSS on CPU (graph, reference
adjacency and Python included) and ``torch.cuda.max_memory_allocated`` on CUDA.
Throughput is the best of ``--repeats`` timed runs; on a shared machine, check the
load average before trusting the numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable

import numpy as np
import torch

from relgraph.sampling import NeighborSampler, SubgraphLoader
from relgraph.store import GraphStore
from relgraph.testing.reference_sampler import adjacency_from_store, reference_sample
from relgraph.testing.synthetic_arrays import T_END, T_START, retail_arrays

FANOUTS = ([16, 16], [128, 64])
STRATEGIES = ("uniform", "last")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batches(
    fn: Callable[[int], int], num_batches: int, device: torch.device, repeats: int
) -> tuple[float, int]:
    """Best-of-``repeats`` seconds for ``num_batches`` calls, and node slots per pass."""
    best, nodes = float("inf"), 0
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        nodes = sum(fn(i) for i in range(num_batches))
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies table sizes")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--num-batches", type=int, default=40, help="timed batches per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--reference-batches", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="SubgraphLoader threads (0: skip)")
    parser.add_argument("--device", action="append", help="cpu/cuda (default: cpu + cuda if any)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    def emit(record: dict[str, object], text: str) -> None:
        print(json.dumps(record) if args.json else text, flush=True)

    tables, edges = retail_arrays(args.scale, seed=0)
    start = time.perf_counter()
    store = GraphStore.from_arrays(tables, edges)
    build_s = time.perf_counter() - start
    emit(
        {
            "kind": "store",
            "scale": args.scale,
            "num_fk_edges": store.num_fk_edges,
            "build_seconds": round(build_s, 3),
            "bytes_per_edge": round(store.nbytes_per_edge(), 3),
            "torch_threads": torch.get_num_threads(),
        },
        f"store: {store.num_fk_edges:,} FK edges built in {build_s:.2f} s, "
        f"{store.nbytes_per_edge():.2f} bytes/edge (torch threads={torch.get_num_threads()})",
    )
    adjacency = adjacency_from_store(store)
    devices = args.device or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    num_customers = store.num_nodes("customers")
    bs = args.batch_size
    gen = torch.Generator().manual_seed(0)
    total = args.num_batches + 3
    seed_rows = [torch.randint(0, num_customers, (bs,), generator=gen) for _ in range(total)]
    seed_time = [torch.randint(T_START, T_END, (bs,), generator=gen) for _ in range(total)]

    for dev_name in devices:
        device = torch.device(dev_name)
        dstore = store.to(device)
        rows_d = [r.to(device) for r in seed_rows]
        time_d = [t.to(device) for t in seed_time]
        for fanout in FANOUTS:
            for strategy in STRATEGIES:
                sampler = NeighborSampler(dstore, fanout, strategy=strategy)  # type: ignore[arg-type]

                def one(
                    i: int,
                    sampler: NeighborSampler = sampler,
                    rows_d: list[torch.Tensor] = rows_d,
                    time_d: list[torch.Tensor] = time_d,
                ) -> int:
                    return sampler.sample("customers", rows_d[i], time_d[i]).num_sampled_nodes

                for i in range(3):  # warm-up
                    one(args.num_batches + i)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                secs, nodes = time_batches(one, args.num_batches, device, args.repeats)
                peak = (
                    torch.cuda.max_memory_allocated(device)
                    if device.type == "cuda"
                    else peak_rss_bytes()
                )
                rng = np.random.default_rng(0)
                start = time.perf_counter()
                ref_nodes = 0
                for i in range(args.reference_batches):
                    trees = reference_sample(
                        adjacency,
                        sampler.num_neighbors,
                        "customers",
                        seed_rows[i].numpy(),
                        seed_time[i].numpy(),
                        strategy,
                        rng,
                    )
                    ref_nodes += sum(len(t) for t in trees)
                ref_s = time.perf_counter() - start
                nodes_per_s = nodes / secs
                ref_per_s = ref_nodes / ref_s
                record = {
                    "kind": "sampler",
                    "device": dev_name,
                    "strategy": strategy,
                    "fanout": fanout,
                    "batch_size": bs,
                    "batches_per_s": round(args.num_batches / secs, 2),
                    "subgraphs_per_s": round(args.num_batches * bs / secs, 1),
                    "sampled_nodes_per_s": round(nodes_per_s),
                    "nodes_per_batch": round(nodes / args.num_batches),
                    "reference_sampled_nodes_per_s": round(ref_per_s),
                    "speedup_vs_reference": round(nodes_per_s / ref_per_s, 1),
                    "peak_memory_bytes": int(peak),
                }
                emit(
                    record,
                    f"{dev_name:4s} {strategy:7s} fanout={fanout!s:9s} "
                    f"{record['batches_per_s']:8.1f} batches/s "
                    f"{record['subgraphs_per_s']:10.0f} subgraphs/s "
                    f"{nodes_per_s / 1e6:7.2f} M nodes/s "
                    f"(reference {ref_per_s / 1e6:6.3f} M/s, x{record['speedup_vs_reference']}) "
                    f"peak {peak / 2**20:.0f} MiB",
                )
                if args.workers > 0:
                    n_seeds = bs * args.num_batches
                    loader = SubgraphLoader(
                        sampler,
                        "customers",
                        torch.cat(rows_d[: args.num_batches]),
                        torch.cat(time_d[: args.num_batches]),
                        batch_size=bs,
                        num_workers=args.workers,
                    )
                    best = float("inf")
                    for _ in range(args.repeats):
                        sync(device)
                        start = time.perf_counter()
                        lnodes = sum(s.num_sampled_nodes for _, s in loader)
                        sync(device)
                        best = min(best, time.perf_counter() - start)
                    emit(
                        {
                            **record,
                            "kind": "loader",
                            "num_workers": args.workers,
                            "batches_per_s": round(len(loader) / best, 2),
                            "subgraphs_per_s": round(n_seeds / best, 1),
                            "sampled_nodes_per_s": round(lnodes / best),
                            "speedup_vs_reference": round(lnodes / best / ref_per_s, 1),
                        },
                        f"     loader workers={args.workers}: {len(loader) / best:8.1f} batches/s "
                        f"{lnodes / best / 1e6:7.2f} M nodes/s",
                    )


if __name__ == "__main__":
    main()
