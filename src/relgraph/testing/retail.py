"""Seeded synthetic retail databases (customers, products, transactions) of any size, for
scale benchmarks and distributed tests. Churn is learnable: each customer buys at their own
rate during an active span, so recent activity predicts future activity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RETAIL_CHURN", "retail_frames", "retail_graph", "write_retail_parquet"]

#: The retail churn query of the issue (binary classification, temporal).
RETAIL_CHURN = ("PREDICT COUNT(transactions.*, 0, 30, days) = 0 FOR EACH customers.customer_id "
                "WHERE COUNT(transactions.*, -90, 0, days) > 0")

START = np.datetime64("2020-01-01T00:00:00", "s").astype(np.int64)
SPAN_DAYS = 730


def retail_frames(num_transactions: int, seed: int = 0, *, chunk: int | None = None,
                  chunk_index: int = 0) -> dict[str, pd.DataFrame]:
    """``customers`` (n/20 rows), ``products`` (max(200, n/500)) and ``transactions`` (n).

    With ``chunk``, only transactions ``[chunk_index * chunk, (chunk_index + 1) * chunk)``
    are produced (customers and products stay whole), so huge tables are generated piece
    by piece with bounded memory.
    """
    rng = np.random.default_rng(seed)
    nc = max(10, num_transactions // 20)
    npr = max(200, num_transactions // 500)
    day = 86400
    signup = START + rng.integers(0, SPAN_DAYS * day // 2, nc)
    life = rng.exponential(SPAN_DAYS * day / 2, nc).astype(np.int64) + 30 * day
    end = np.minimum(signup + life, START + SPAN_DAYS * day)
    rate = rng.lognormal(0.0, 1.0, nc) * np.maximum(end - signup, day) / day
    cdf = np.cumsum(rate)
    cdf /= cdf[-1]
    customers = pd.DataFrame({
        "customer_id": np.arange(nc, dtype=np.int64),
        "signup": pd.to_datetime(signup, unit="s"),
        "age": rng.integers(18, 80, nc).astype(np.int64),
        "region": rng.choice(np.array(["north", "south", "east", "west"]), nc),
    })
    products = pd.DataFrame({
        "product_id": np.arange(npr, dtype=np.int64),
        "category": rng.choice(np.array([f"cat{i}" for i in range(20)]), npr),
        "price": rng.lognormal(2.0, 0.8, npr).round(2),
    })
    lo, hi = 0, num_transactions
    if chunk is not None:
        lo, hi = chunk_index * chunk, min(num_transactions, (chunk_index + 1) * chunk)
    trng = np.random.default_rng((seed, 1 + (chunk_index if chunk is not None else 0)))
    n = max(0, hi - lo)
    cust = np.searchsorted(cdf, trng.random(n), side="right").clip(0, nc - 1)
    ts = signup[cust] + (trng.random(n) * (end[cust] - signup[cust])).astype(np.int64)
    prod = (trng.zipf(1.3, n) - 1) % npr
    transactions = pd.DataFrame({
        "transaction_id": np.arange(lo, hi, dtype=np.int64),
        "customer_id": cust.astype(np.int64),
        "product_id": prod.astype(np.int64),
        "ts": pd.to_datetime(ts, unit="s"),
        "quantity": trng.integers(1, 10, n).astype(np.int64),
    })
    return {"customers": customers, "products": products, "transactions": transactions}


def retail_graph(num_transactions: int, seed: int = 0) -> object:
    """A :class:`relgraph.graph.Graph` over :func:`retail_frames`."""
    from relgraph.graph import Edge, Graph, Stype, Table

    f = retail_frames(num_transactions, seed)
    tables = {
        "customers": Table.from_dataframe(f["customers"], name="customers",
                                          primary_key="customer_id"),
        "products": Table.from_dataframe(f["products"], name="products",
                                         primary_key="product_id"),
        "transactions": Table.from_dataframe(f["transactions"], name="transactions",
                                             primary_key="transaction_id", time_column="ts"),
    }
    tables["customers"]["region"].stype = Stype.categorical
    tables["products"]["category"].stype = Stype.categorical
    return Graph(tables=tables, edges=[Edge("transactions", "customer_id", "customers"),
                                       Edge("transactions", "product_id", "products")])


def write_retail_parquet(folder: str | Path, num_transactions: int, seed: int = 0,
                         chunk: int = 5_000_000) -> dict[str, Path]:
    """Write the database as Parquet (transactions as a folder of chunk files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(folder)
    (out / "transactions").mkdir(parents=True, exist_ok=True)
    n_chunks = max(1, -(-num_transactions // chunk))
    for i in range(n_chunks):
        f = retail_frames(num_transactions, seed, chunk=chunk, chunk_index=i)
        if i == 0:
            f["customers"].to_parquet(out / "customers.parquet", index=False)
            f["products"].to_parquet(out / "products.parquet", index=False)
        pq.write_table(pa.Table.from_pandas(f["transactions"], preserve_index=False),
                       out / "transactions" / f"part-{i:05d}.parquet")
        del f
    return {"customers": out / "customers.parquet", "products": out / "products.parquet",
            "transactions": out / "transactions"}
