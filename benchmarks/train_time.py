"""FAST training time against a reference commit, in the same run (issue 16's <= 1.5x bar).

For each task, ``quality.py`` trains relgraph's suggested plan once with the reference
commit's code (a temporary ``git worktree``, removed afterwards) and once with this
checkout, back to back, each in a fresh process and home. The ratio of the two
``train_seconds`` is what the bar reads; the machine's load at each start is printed,
since the ratio assumes both runs saw the same machine.

    python benchmarks/train_time.py                                  # retail-churn vs f87df4c
    python benchmarks/train_time.py --tasks retail-churn,movielens-user-count --json
    python benchmarks/train_time.py --ref main~5

The default reference, ``f87df4c``, is main just before the hybrid models of issue 16
(the code the issue's "today's training time" was measured on). Tasks the reference's
``quality.py`` does not know are reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REF = "f87df4c"
DEFAULT_TASKS = "retail-churn"


def run_quality(tree: Path, task: str, home: Path) -> dict[str, Any]:
    """``quality.py --tasks task --json`` of the checkout at ``tree``: its JSON row, with
    the load average at the start."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / "quality.py"), "--json", "--tasks", task,
         "--home", str(home)],
        cwd=tree, env=env, capture_output=True, text=True, check=False)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not rows:
        lines = (proc.stderr or proc.stdout or "no output").strip().splitlines()
        return {"status": "error", "message": lines[-1], "load": load}
    row = rows[0]
    if row.get("status") != "ok":
        row["message"] = row.get("error") or row.get("status")
    row["load"] = load
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=DEFAULT_TASKS, help="comma-separated task names")
    parser.add_argument("--ref", default=DEFAULT_REF,
                        help="reference commit (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per task")
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    ref = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if ref.returncode != 0:
        parser.error(f"--ref {args.ref!r} is not a commit of {ROOT}: {ref.stderr.strip()}")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()
    results = []
    with tempfile.TemporaryDirectory(prefix="relgraph-train-time-") as tmp:
        tree = Path(tmp) / "ref"
        # quality.py reads ../shared/data beside its checkout: the same data for both
        (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared", target_is_directory=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.ref], cwd=ROOT,
                       capture_output=True, text=True, check=True)
        try:
            for task in tasks:
                old = run_quality(tree, task, Path(tmp) / f"home-ref-{task}")
                new = run_quality(ROOT, task, Path(tmp) / f"home-new-{task}")
                row: dict[str, Any] = {"task": task, "ref": ref.stdout.strip(), "head": head}
                for name, r in (("ref", old), ("new", new)):
                    row[f"{name}_status"] = r.get("status")
                    row[f"{name}_seconds"] = r.get("train_seconds")
                    row[f"{name}_metric"] = r.get("relgraph")
                    row[f"{name}_load"] = round(float(r["load"]), 2)
                    if r.get("status") != "ok":
                        row[f"{name}_message"] = r.get("message", r.get("status"))
                if row["ref_seconds"] and row["new_seconds"]:
                    row["ratio"] = round(row["new_seconds"] / row["ref_seconds"], 3)
                results.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    if not args.json:
        print(f"{'task':<26}{'ref s':>9}{'new s':>9}{'ratio':>8}{'load':>12}  "
              f"(ref {results[0]['ref'] if results else args.ref}, head {head})")
        for r in results:
            ratio = f"{r['ratio']:.2f}" if "ratio" in r else r.get("new_message") or \
                r.get("ref_message", "")
            print(f"{r['task']:<26}{r['ref_seconds'] or '-':>9}{r['new_seconds'] or '-':>9}"
                  f"{ratio:>8}{r['ref_load']:>6}/{r['new_load']:<5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
