"""Scale benchmark: synthetic retail databases of 1M / 10M / 50M transactions.

Usage::

    .venv/bin/python benchmarks/scale.py --sizes 1M,10M,50M [--phases gen,duckdb,spark,
        store,epoch1,epoch2] [--work /tmp/relgraph-scale] [--memory-limit 8GB]
        [--steps 100] [--batch-size 512]

For each size, each phase runs in a fresh subprocess and prints one JSON line with its wall
time and the peak resident memory of its whole process tree (Spark's JVM and torchrun's
ranks included; sampled every 0.1 s):

* ``gen``: write the database as Parquet (transactions in 5M-row chunks).
* ``duckdb``: the retail churn training table (``RETAIL_CHURN``) computed by DuckDB and
  written as Parquet partitioned by SPLIT (``memory_limit`` + ``temp_directory``: spills to
  disk instead of failing). The graph is loaded from Parquet first (``load_s``).
* ``spark``: the same table on Spark local mode (``local[*]``), tables read by Spark from the
  Parquet files (``sources=``), graph metadata from a 1000-row sample: nothing but the
  result rows passes through Python.
* ``store``: graph store build (time-sorted CSR, memory-mapped cache).
* ``epoch1`` / ``epoch2``: one training epoch (``--steps`` steps of ``--batch-size`` seeds per
  process, or the whole training split if smaller) with 1 process and with 2 DDP processes
  (torchrun, gloo on CPU / NCCL on GPU), ``--threads`` torch threads per process (default
  1: the 2-process run uses twice the cores, without oversubscription); ``epoch_s`` is rank
  0's epoch time from the job history. With 2 processes each step trains on 2 batches.

Numbers depend on the machine: check ``nproc`` and the load average (printed first).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

PHASES = ("gen", "duckdb", "spark", "store", "epoch1", "epoch2")


def parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KMB")) * mult)


# ----------------------------------------------------------------------------- memory
def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_phase(args: argparse.Namespace, size: int, phase: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", phase, "--size", str(size),
           "--work", str(args.work), "--memory-limit", args.memory_limit,
           "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    done.set()
    thread.join()
    record: dict[str, Any] = {"size": size, "phase": phase,
                              "seconds": round(time.perf_counter() - t0, 2),
                              "peak_rss_gb": round(peak / 2**30, 3)}
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        record["error"] = (err or out)[-1500:]
    else:
        record.update(json.loads(lines[-1]))
    return record


# ----------------------------------------------------------------------------- phases
def _paths(work: Path, size: int) -> dict[str, Path]:
    base = work / f"retail_{size}"
    return {"base": base, "data": base / "data", "home": base / "home",
            "table_duckdb": base / "table_duckdb", "table_spark": base / "table_spark"}


def _load_graph(data: Path) -> Any:
    import pandas as pd

    from relgraph.graph import Edge, Graph, Stype, Table

    tx = pd.read_parquet(data / "transactions")
    t = {
        "customers": Table.from_dataframe(pd.read_parquet(data / "customers.parquet"),
                                          name="customers", primary_key="customer_id"),
        "products": Table.from_dataframe(pd.read_parquet(data / "products.parquet"),
                                         name="products", primary_key="product_id"),
        "transactions": Table.from_dataframe(tx, name="transactions",
                                             primary_key="transaction_id", time_column="ts"),
    }
    t["customers"]["region"].stype = Stype.categorical
    t["products"]["category"].stype = Stype.categorical
    return Graph(tables=t, edges=[Edge("transactions", "customer_id", "customers"),
                                  Edge("transactions", "product_id", "products")])


def _plan(steps: int, batch: int) -> Any:
    from relgraph.plan.suggest import suggest_model_plan

    plan = suggest_model_plan("binary_classification", "fast", num_train_examples=100_000)
    plan.training_job.num_experiments = 1
    opt = plan.optimization
    opt.max_epochs, opt.min_steps_per_epoch, opt.max_steps_per_epoch = 1, 1, steps
    opt.max_val_steps, opt.max_test_steps, opt.batch_size = 1, 1, [batch]
    return plan


def child(phase: str, size: int, work: Path, memory_limit: str, steps: int,
          batch: int) -> dict[str, Any]:
    p = _paths(work, size)
    out: dict[str, Any] = {}
    if phase == "gen":
        from relgraph.testing.retail import write_retail_parquet

        write_retail_parquet(p["data"], size)
        out["bytes_on_disk"] = sum(f.stat().st_size for f in p["data"].rglob("*.parquet"))
        return out

    import relgraph
    from relgraph.pquery import PredictiveQuery
    from relgraph.testing.retail import RETAIL_CHURN

    # DuckDB (the ``duckdb`` phase) spills to disk past ``memory_limit`` instead of failing
    relgraph.init(p["home"], device="auto", duckdb_memory_limit=memory_limit,
                  duckdb_temp_directory=p["base"] / "duckdb-tmp")
    if phase == "spark":
        import pandas as pd

        from relgraph.engine import use_engine
        from relgraph.engine.spark import SparkEngine, local_spark_session
        from relgraph.graph import Edge, Graph, Stype, Table
        from relgraph.pquery.export import write_training_table

        t0 = time.perf_counter()
        spark = local_spark_session({"spark.driver.memory": "6g",
                                     "spark.sql.shuffle.partitions": "32",
                                     "spark.local.dir": str(p["base"] / "spark-tmp")})
        spark.sparkContext.setLogLevel("ERROR")
        out["session_s"] = round(time.perf_counter() - t0, 2)
        sample = {
            "customers": pd.read_parquet(p["data"] / "customers.parquet").head(1000),
            "products": pd.read_parquet(p["data"] / "products.parquet").head(1000),
            "transactions": pd.read_parquet(
                next(iter(sorted((p["data"] / "transactions").glob("*.parquet"))))).head(1000),
        }
        t = {"customers": Table.from_dataframe(sample["customers"], name="customers",
                                               primary_key="customer_id"),
             "products": Table.from_dataframe(sample["products"], name="products",
                                              primary_key="product_id"),
             "transactions": Table.from_dataframe(sample["transactions"], name="transactions",
                                                  primary_key="transaction_id",
                                                  time_column="ts")}
        t["customers"]["region"].stype = Stype.categorical
        t["products"]["category"].stype = Stype.categorical
        graph = Graph(tables=t, edges=[Edge("transactions", "customer_id", "customers"),
                                       Edge("transactions", "product_id", "products")])
        use_engine(graph, SparkEngine(graph, spark, sources={
            "customers": str(p["data"] / "customers.parquet"),
            "products": str(p["data"] / "products.parquet"),
            "transactions": str(p["data"] / "transactions")}))
        # the plan the DuckDB phase used: a suggested plan caps anchors by the entity
        # table's size, which the sample-based metadata here does not know
        plan = None
        if (p["base"] / "table_plan.pkl").exists():
            plan = pickle.loads((p["base"] / "table_plan.pkl").read_bytes())
        t1 = time.perf_counter()
        write_training_table(PredictiveQuery(graph, RETAIL_CHURN), p["table_spark"], plan)
        out["table_s"] = round(time.perf_counter() - t1, 2)
        out["rows"] = int(spark.read.parquet(str(p["table_spark"])).count())
        return out

    t0 = time.perf_counter()
    graph = _load_graph(p["data"])
    out["load_s"] = round(time.perf_counter() - t0, 2)
    if phase == "duckdb":
        import pyarrow.dataset as ds

        from relgraph.pquery.export import write_training_table

        graph.engine.con.execute("SET preserve_insertion_order = false")
        t1 = time.perf_counter()
        graph.engine.register_all()
        out["register_s"] = round(time.perf_counter() - t1, 2)
        pq = PredictiveQuery(graph, RETAIL_CHURN)
        plan = pq.suggest_training_table_plan()
        (p["base"] / "table_plan.pkl").write_bytes(pickle.dumps(plan))
        t1 = time.perf_counter()
        write_training_table(pq, p["table_duckdb"], plan)
        out["table_s"] = round(time.perf_counter() - t1, 2)
        out["rows"] = ds.dataset(str(p["table_duckdb"]), partitioning="hive").count_rows()
        return out
    if phase == "store":
        from relgraph.config import get_settings
        from relgraph.store.from_graph import build_store

        t1 = time.perf_counter()
        store = build_store(graph, cache_dir=get_settings().home / "stores")
        out["build_s"] = round(time.perf_counter() - t1, 2)
        out["num_edges"] = int(sum(store.num_edges(et) for et in store.edge_types)) \
            if hasattr(store, "num_edges") else None
        return out
    if phase in ("epoch1", "epoch2"):
        from relgraph.pquery import TrainingTable
        from relgraph.pquery.export import read_table
        from relgraph.task import QueryType, TaskType
        from relgraph.training.pipeline import fit_training_job

        df = read_table(p["table_duckdb"])[["ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT"]]
        df["TARGET"] = df["TARGET"].astype(bool)
        table = TrainingTable(df, task_type=TaskType.BINARY_CLASSIFICATION,
                              query_type=QueryType.TEMPORAL, entity_table="customers",
                              graph=graph)
        plan = _plan(steps, batch)
        folder = p["base"] / f"job_{phase}"
        folder.mkdir(parents=True, exist_ok=True)
        t1 = time.perf_counter()
        if phase == "epoch1":
            meta = fit_training_job(graph, table, plan, folder, phase, verbose=False)
        else:
            from relgraph.distributed import launch

            meta = launch(graph, table, plan, nproc_per_node=2, folder=folder, job_id=phase,
                          verbose=False)
            out["world_size"] = meta["distributed"]["world_size"]
            out["backend"] = meta["distributed"]["backend"]
        out["job_s"] = round(time.perf_counter() - t1, 2)
        hist = meta["trials"][0]["history"]
        out["epoch_s"] = round(float(hist[0]["seconds"]), 2)
        out["steps"] = min(steps, -(-int((df["SPLIT"] == "train").sum()) // batch))
        out["train_rows"] = int((df["SPLIT"] == "train").sum())
        return out
    raise ValueError(f"unknown phase {phase}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M,50M")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--work", type=Path, default=Path("/tmp/relgraph-scale"))
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per training process (epoch phases)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child.startswith("epoch"):
            import torch

            os.environ["OMP_NUM_THREADS"] = str(args.threads)  # torchrun's ranks too
            torch.set_num_threads(args.threads)
        res = child(args.child, args.size, args.work, args.memory_limit, args.steps,
                    args.batch_size)
        print(json.dumps(res), flush=True)
        return
    print(json.dumps({"machine": {"nproc": os.cpu_count(), "load_avg": os.getloadavg(),
                                  "mem_gb": round(os.sysconf("SC_PAGE_SIZE")
                                                  * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}}),
          flush=True)
    for size in (parse_size(s) for s in args.sizes.split(",")):
        for phase in args.phases.split(","):
            print(json.dumps(run_phase(args, size, phase.strip())), flush=True)


if __name__ == "__main__":
    main()
