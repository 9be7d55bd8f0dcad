"""``customerltv_mini``: the dataset of the Kumo SDK's quick-start, built locally.

Kumo's tutorial reads ``s3://kumo-public-datasets/customerltv_mini/``: three tables cut
from the UCI *Online Retail* data, ``customer`` (``CustomerID``), ``stock``
(``StockCode``, ``Description``) and ``transaction`` (the eight UCI columns ``InvoiceNo``,
``StockCode``, ``Description``, ``Quantity``, ``InvoiceDate``, ``UnitPrice``,
``CustomerID``, ``Country``). :func:`write_mini` writes the same three tables as Parquet
from a local copy of *Online Retail II* (the UCI data it extends, e.g.
``../shared/data/online-retail-ii``): a seeded sample of customers and all their lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from relgraph.errors import ConnectorError

__all__ = ["write_mini"]

_COLUMNS = {"invoice_no": "InvoiceNo", "stock_code": "StockCode", "description": "Description",
            "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
            "customer_id": "CustomerID", "country": "Country"}


def write_mini(folder: str | Path, source: str | Path, *, num_customers: int = 300,
               start: str = "2010-12-01", seed: int = 0) -> Path:
    """Write ``customer``, ``stock`` and ``transaction`` Parquet files into ``folder``.

    Args:
        folder: where the three tables go (created; existing files are replaced).
        source: an Online Retail II folder with ``transactions.parquet`` (or ``.csv``)
            using its snake_case columns (``invoice_no``, ``stock_code``, ...).
        num_customers: customers sampled (seeded) among those with lines since ``start``.
        start: the first invoice date kept (UCI *Online Retail* starts on 2010-12-01).
        seed: the sample's seed.

    Returns the folder, ready for ``LocalFileConnector(folder)``.
    """
    src = Path(source)
    path = next((p for p in (src / "transactions.parquet", src / "transactions.csv")
                 if p.is_file()), None)
    if path is None:
        raise ConnectorError(f"No transactions.parquet or transactions.csv in {src}; pass the "
                             "Online Retail II folder.")
    lines = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = sorted(set(_COLUMNS) - set(lines.columns))
    if missing:
        raise ConnectorError(f"{path} lacks the Online Retail II columns {missing}.")
    lines = lines[list(_COLUMNS)].rename(columns=_COLUMNS)
    lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"])
    lines = lines[lines["CustomerID"].notna() & (lines["InvoiceDate"] >= pd.Timestamp(start))]
    ids = np.sort(lines["CustomerID"].unique())
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(ids, size=min(num_customers, len(ids)), replace=False))
    lines = lines[lines["CustomerID"].isin(keep)].reset_index(drop=True)
    lines["CustomerID"] = lines["CustomerID"].astype("int64")
    stock = lines.groupby("StockCode", as_index=False)["Description"].first()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"CustomerID": keep.astype("int64")}).to_parquet(out / "customer.parquet",
                                                                  index=False)
    stock.to_parquet(out / "stock.parquet", index=False)
    lines.to_parquet(out / "transaction.parquet", index=False)
    return out
