"""Seeded synthetic graphs for tests and benchmarks (plain arrays, no database)."""

from __future__ import annotations

import numpy as np

from relgraph.store.arrays import NEVER_VISIBLE, EdgeArrays, TableArrays

#: Time range of the synthetic data: 2017-07-14 .. 2020-09-13 (epoch seconds).
T_START, T_END = 1_500_000_000, 1_600_000_000


def retail_arrays(
    scale: float = 1.0, seed: int = 0
) -> tuple[dict[str, TableArrays], list[EdgeArrays]]:
    """Retail-shaped graph: customers, products and timestamped transactions.

    At ``scale=1``: 100k customers, 50k products (both static) and 2M transactions
    with uniform random times, each referencing one customer and one product.
    """
    rng = np.random.default_rng(seed)
    nc, np_, nt = (max(1, round(n * scale)) for n in (100_000, 50_000, 2_000_000))
    tables = {
        "customers": TableArrays(nc),
        "products": TableArrays(np_),
        "transactions": TableArrays(nt, rng.integers(T_START, T_END, nt, dtype=np.int64)),
    }
    txn = np.arange(nt, dtype=np.int64)
    edges = [
        EdgeArrays("transactions", "customer_id", "customers", txn, rng.integers(0, nc, nt)),
        EdgeArrays("transactions", "product_id", "products", txn, rng.integers(0, np_, nt)),
    ]
    return tables, edges


def random_arrays(
    seed: int = 0,
    num_users: int = 30,
    num_items: int = 12,
    num_txns: int = 300,
    num_reviews: int = 120,
    num_times: int = 50,
    null_time_frac: float = 0.05,
    dangling_frac: float = 0.1,
    hub: bool = False,
) -> tuple[dict[str, TableArrays], list[EdgeArrays]]:
    """Small random relational graph with the awkward cases tests need.

    Tables: ``users`` (static, with a self-referencing ``referrer_id``), ``items``
    (static), ``transactions`` (temporal; FKs ``user_id``, ``item_id``) and
    ``reviews`` (temporal; FKs ``user_id``, ``txn_id``). Times are drawn from
    ``num_times`` distinct values (so ties occur), a fraction are NULL
    (``INT64_MAX``) and a fraction of foreign keys dangle (no edge). ``hub=True``
    sends half of the transactions to user 0.
    """
    rng = np.random.default_rng(seed)
    times = T_START + np.sort(rng.choice(10**6, num_times, replace=False)).astype(np.int64)

    def draw_time(n: int) -> np.ndarray:
        t = rng.choice(times, n)
        t[rng.random(n) < null_time_frac] = NEVER_VISIBLE
        return t

    tables = {
        "users": TableArrays(num_users),
        "items": TableArrays(num_items),
        "transactions": TableArrays(num_txns, draw_time(num_txns)),
        "reviews": TableArrays(num_reviews, draw_time(num_reviews)),
    }

    def fk(src_table: str, fkey: str, dst_table: str, n_src: int, n_dst: int) -> EdgeArrays:
        src = np.arange(n_src, dtype=np.int64)
        dst = rng.integers(0, n_dst, n_src)
        if hub and src_table == "transactions" and dst_table == "users":
            dst[: n_src // 2] = 0
        keep = rng.random(n_src) >= dangling_frac
        return EdgeArrays(src_table, fkey, dst_table, src[keep], dst[keep])

    edges = [
        fk("users", "referrer_id", "users", num_users, num_users),
        fk("transactions", "user_id", "users", num_txns, num_users),
        fk("transactions", "item_id", "items", num_txns, num_items),
        fk("reviews", "user_id", "users", num_reviews, num_users),
        fk("reviews", "txn_id", "transactions", num_reviews, num_txns),
    ]
    return tables, edges
