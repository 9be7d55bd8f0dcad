"""Shared fixtures: a tiny seeded retail database and the location of the real datasets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def restore_settings() -> Iterator[None]:
    """Put back the global ``relgraph.init`` settings a test changes."""
    from relgraph import config

    saved = config._settings
    try:
        yield
    finally:
        config._settings = saved


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh relgraph home (job store and artifacts) under ``tmp_path``."""
    import relgraph as rg

    rg.init(home=tmp_path / "home")
    return tmp_path


def make_retail(seed: int = 0) -> dict[str, pd.DataFrame]:
    """A small retail database with known quirks.

    * customers (20, pk customer_id), products (12, pk stock_code), invoices (40, pk invoice_no,
      time invoice_date), transactions (120, pk line_id, time invoice_date).
    * invoices.customer_id: 3 nulls and 2 rows pointing at customer 99, which does not exist.
    * transactions.stock_code: 4 rows point at "P999", which does not exist.
    * invoice dates repeat (ties): 40 invoices share 10 distinct timestamps.
    """
    rng = np.random.default_rng(seed)
    countries = np.array(["United Kingdom", "France", "Germany"])
    customers = pd.DataFrame({
        "customer_id": np.arange(1, 21, dtype=np.int64),
        "country": countries[rng.integers(0, 3, 20)],
    })
    words = ["red", "heart", "lantern", "glass", "wooden", "cake", "stand", "vintage", "box"]
    products = pd.DataFrame({
        "stock_code": [f"P{i:03d}" for i in range(12)],
        "description": [" ".join(rng.choice(words, 7)) + f" item number {i}" for i in range(12)],
    })
    cust = pd.array(rng.integers(1, 21, 40), dtype="Int64")
    cust[[3, 17, 30]] = pd.NA
    cust[[5, 6]] = 99
    stamps = pd.Timestamp("2021-01-01 08:00") + pd.to_timedelta(np.arange(10) * 36, unit="h")
    invoices = pd.DataFrame({
        "invoice_no": [f"INV{i:04d}" for i in range(40)],
        "customer_id": cust,
        "invoice_date": stamps[np.sort(rng.integers(0, 10, 40))],
    })
    pick = rng.integers(0, 40, 120)
    stock = np.array(products["stock_code"])[rng.integers(0, 12, 120)]
    stock[[10, 20, 30, 40]] = "P999"
    transactions = pd.DataFrame({
        "line_id": np.arange(1, 121, dtype=np.int64),
        "invoice_no": invoices["invoice_no"].to_numpy()[pick],
        "stock_code": stock,
        "quantity": rng.integers(-2, 12, 120),
        "unit_price": rng.integers(50, 2000, 120) / 100.0,
        "customer_id": invoices["customer_id"].to_numpy()[pick],
        "invoice_date": invoices["invoice_date"].to_numpy()[pick],
    })
    return {"customers": customers, "products": products, "invoices": invoices,
            "transactions": transactions}


@pytest.fixture
def retail() -> dict[str, pd.DataFrame]:
    """Fresh copies of the tiny retail database (see :func:`make_retail`)."""
    return make_retail()
