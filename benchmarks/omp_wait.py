"""How OpenMP's waiting policy changes a training step, alone and with processes side by side.

torch runs its CPU kernels on OpenMP threads that spin for a while before they sleep.
Each row runs the same training step (a two-layer heterogeneous GraphSAGE, 8 tables and
22 edge types, ~30k sampled rows and ~35k edges, 64 channels, sum/mean/max aggregation:
the shape of a FAST sakila step) in fresh processes: one alone, then ``--procs`` at once on
the same cores. relgraph sets a short spin when it is imported before torch
(``relgraph/__init__.py``); the other rows set the environment explicitly.

    python benchmarks/omp_wait.py                # alone and 2 at once, 20 steps
    python benchmarks/omp_wait.py --procs 4 --steps 20 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (name, environment) of each row; relgraph's default sets nothing.
POLICIES: list[tuple[str, dict[str, str]]] = [
    ("libgomp default spin", {"GOMP_SPINCOUNT": "300000"}),
    ("passive (no spin)", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("relgraph default", {}),
    ("1 thread per process", {"OMP_NUM_THREADS": "1"}),
]
OVERRIDES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")


def child(steps: int) -> None:
    """Time ``steps`` training steps after 3 warm-up steps; print ms per step as JSON."""
    import relgraph  # before torch, as a user's script does: sets relgraph's default

    spin = os.environ.get("GOMP_SPINCOUNT")  # what torch's OpenMP will read
    import torch

    from relgraph.nn.gnn import HeteroGNN

    gen = torch.Generator().manual_seed(0)
    sizes = {"customer": 9400, "inventory": 6200, "staff": 5300, "payment": 4300,
             "rental": 4300, "address": 1000, "city": 500, "store": 500}
    pairs = [("customer", "payment"), ("customer", "rental"), ("payment", "rental"),
             ("staff", "payment"), ("staff", "rental"), ("inventory", "rental"),
             ("store", "customer"), ("store", "inventory"), ("store", "staff"),
             ("address", "customer"), ("city", "address")]
    edge_types = [(a, f"{a}_{b}", b) for a, b in pairs] + [(b, f"{b}_{a}", a) for a, b in pairs]
    channels = 64
    model = HeteroGNN(list(sizes), edge_types, channels, num_layers=2,
                      aggr=["sum", "mean", "max"])
    head = torch.nn.Linear(channels, 1)
    params = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    x_dict = {t: torch.randn(n, channels, generator=gen) for t, n in sizes.items()}
    edges = {et: torch.stack([torch.randint(sizes[et[0]], (1600,), generator=gen),
                              torch.randint(sizes[et[2]], (1600,), generator=gen)])
             for et in edge_types}
    target = torch.randn(512, 1, generator=gen)

    def step() -> None:
        out = model(x_dict, edges)
        loss = (head(out["customer"][:512]) - target).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    print(json.dumps({"ms_per_step": (time.perf_counter() - start) / steps * 1000,
                      "cpu_ms_per_step": (time.process_time() - cpu) / steps * 1000,
                      "threads": torch.get_num_threads(), "spin": spin,
                      "relgraph": relgraph.__version__}))


def run(env: dict[str, str], procs: int, steps: int) -> list[dict[str, float]]:
    """``procs`` children started together; their JSON results."""
    base = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    full = {**base, **env, "PYTHONPATH": str(ROOT / "src")}
    children = [subprocess.Popen([sys.executable, __file__, "--child", "--steps", str(steps)],
                                 env=full, stdout=subprocess.PIPE, text=True)
                for _ in range(procs)]
    out = []
    for proc in children:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark child failed with exit code {proc.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=2, help="processes side by side")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per process")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.steps)
        return 0
    rows = []
    for name, env in POLICIES:
        alone = run(env, 1, args.steps)[0]
        together = run(env, args.procs, args.steps)
        worst = max(r["ms_per_step"] for r in together)
        rows.append({"policy": name, "env": env, "threads": alone["threads"],
                     "spin": alone["spin"],
                     "alone_ms": round(alone["ms_per_step"], 1),
                     "together_ms": round(worst, 1), "procs": args.procs})
    ref = rows[0]["alone_ms"]
    print(f"{'policy':24} {'GOMP_SPINCOUNT':>14} {'threads':>7} {'alone ms':>9} {'vs libgomp':>10} "
          f"{f'{args.procs} at once ms':>14}")
    for row in rows:
        print(f"{row['policy']:24} {row['spin'] or '-':>14} {row['threads']:>7} "
              f"{row['alone_ms']:>9.1f} "
              f"{row['alone_ms'] / ref:>10.2f} {row['together_ms']:>14.1f}")
    print(f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"'at once': the slowest of the {args.procs} processes)")
    if args.json:
        for row in rows:
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
