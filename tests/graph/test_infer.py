"""dtype / stype / primary-key / time-column inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relgraph.graph import Dtype, Stype, Table
from relgraph.type_inference import infer_dtype, infer_primary_key, infer_stype, to_epoch_seconds
from relgraph.types import ALLOWED_DTYPES, default_stype


def _stype(values: list | np.ndarray | pd.Series, name: str) -> Stype:
    s = pd.Series(values)
    return infer_stype(s, infer_dtype(s), name)


@pytest.mark.parametrize(("values", "dtype"), [
    (pd.Series([1, 2], dtype="int64"), Dtype.int64),
    (pd.Series([1, 2], dtype="int32"), Dtype.int32),
    (pd.Series([1, 2], dtype="int8"), Dtype.byte),
    (pd.Series([1, None], dtype="Int64"), Dtype.int64),
    (pd.Series([1.5, None]), Dtype.float64),
    (pd.Series([1.5], dtype="float32"), Dtype.float32),
    (pd.Series([True, False]), Dtype.bool),
    (pd.Series(["a", None]), Dtype.string),
    (pd.Series(["a", "b"], dtype="category"), Dtype.string),
    (pd.Series(pd.to_datetime(["2020-01-01"])), Dtype.date),
    (pd.Series(pd.to_datetime(["2020-01-01"]).tz_localize("UTC")), Dtype.date),
    (pd.Series(pd.to_timedelta([1], unit="s")), Dtype.timedelta),
    (pd.Series([["a", "b"], ["c"]]), Dtype.stringlist),
    (pd.Series([[1, 2], [3]]), Dtype.intlist),
    (pd.Series([np.array([0.1, 0.2]), np.array([0.3, 0.4])]), Dtype.floatlist),
    (pd.Series([b"\x00", b"\x01"]), Dtype.binary),
])
def test_infer_dtype(values: pd.Series, dtype: Dtype) -> None:
    assert infer_dtype(values) is dtype


def test_numeric_and_id_like_names() -> None:
    rng = np.random.default_rng(0)
    assert _stype(rng.normal(size=100), "amount") is Stype.numerical
    assert _stype(rng.integers(0, 1000, 100), "quantity") is Stype.numerical
    for name in ("customer_id", "movieId", "userID", "id", "stock_code", "invoice_no", "sku_key"):
        assert _stype(rng.integers(0, 1000, 100), name) is Stype.ID, name
    assert _stype(np.arange(100.0), "customer_id") is Stype.ID  # integral floats (nullable ids)
    assert _stype(rng.integers(0, 2, 100), "is_active") is Stype.categorical
    assert _stype([f"C{i:05d}" for i in range(100)], "customer_code") is Stype.ID


def test_string_stypes() -> None:
    rng = np.random.default_rng(1)
    countries = rng.choice(["United Kingdom", "France", "Germany", "EIRE"], 500)
    assert _stype(countries, "country") is Stype.categorical

    words = np.array(["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog",
                      "while", "it", "rains"])
    reviews = [" ".join(rng.choice(words, 12)) + f" #{i}" for i in range(300)]
    assert _stype(reviews, "review") is Stype.text

    genres = np.array(["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"])
    multi = ["|".join(rng.choice(genres, rng.integers(1, 4), replace=False)) for _ in range(300)]
    assert _stype(multi, "genres") is Stype.multicategorical

    dates = pd.date_range("2020-01-01", periods=300, freq="7h").strftime("%Y-%m-%d %H:%M:%S")
    assert _stype(list(dates), "whatever") is Stype.timestamp  # ISO strings, any name
    assert _stype(list(pd.date_range("2020-01-01", periods=50).strftime("%Y-%m-%d")),
                  "signup_date") is Stype.timestamp
    assert _stype(["not", "a", "date"] * 10, "update_time") is not Stype.timestamp


def test_epoch_seconds_named_timestamp() -> None:
    secs = 1_500_000_000 + np.arange(100) * 3600
    assert _stype(secs, "timestamp") is Stype.timestamp
    assert _stype(secs * 1000, "created_at") is Stype.timestamp  # epoch milliseconds
    assert _stype(secs, "price") is Stype.numerical  # needs a time-like name
    assert _stype(np.arange(100), "timestamp") is Stype.numerical  # too small for epochs


def test_default_stypes_are_allowed() -> None:
    for dtype in Dtype:
        stype = default_stype(dtype)
        assert dtype in ALLOWED_DTYPES[stype], dtype
    # integer/float epochs of any width can back a time column
    for dtype in (Dtype.int32, Dtype.int64, Dtype.float64):
        assert dtype in ALLOWED_DTYPES[Stype.timestamp]


def test_primary_key_inference() -> None:
    df = pd.DataFrame({"name": ["a", "b", "c"], "order_id": [3, 1, 2], "x": [1.5, 2.5, 3.5]})
    assert infer_primary_key(df, "orders") == "order_id"
    df = pd.DataFrame({"customer_id": [1, 1, 2], "line_no": [1, 2, 3]})
    assert infer_primary_key(df, "lines") == "line_no"  # ID-like and unique
    df = pd.DataFrame({"id": [1, None, 3], "code": ["x", "y", "z"]})
    assert infer_primary_key(df, "t") == "code"  # nulls disqualify
    df = pd.DataFrame({"v": [1.5, 2.5], "w": [1, 1]})
    assert infer_primary_key(df, "t") is None
    # list-valued columns are never keys (and must not crash the uniqueness check)
    df = pd.DataFrame({"tags": [["a"], ["b"]], "emb": [np.zeros(2), np.ones(2)]})
    assert infer_primary_key(df, "t") is None


def test_table_infer_metadata_on_retail(retail: dict[str, pd.DataFrame]) -> None:
    inv = Table.from_dataframe(retail["invoices"], "invoices")
    assert inv.primary_key == "invoice_no" and inv.time_column == "invoice_date"
    assert inv["customer_id"].stype is Stype.ID and inv["invoice_date"].stype is Stype.timestamp
    tx = Table.from_dataframe(retail["transactions"], "transactions")
    assert tx.primary_key == "line_id" and tx.time_column == "invoice_date"
    assert tx["quantity"].stype is Stype.numerical
    assert tx["customer_id"].stype is Stype.ID  # float64 (nullable) but integral
    cust = Table.from_dataframe(retail["customers"], "customers")
    assert cust.primary_key == "customer_id" and cust.time_column is None
    assert cust["country"].stype is Stype.categorical


def test_time_column_prefers_event_times() -> None:
    n = 30
    df = pd.DataFrame({
        "rental_id": range(n),
        "rental_date": pd.date_range("2005-05-24", periods=n, freq="D"),
        "return_date": pd.date_range("2005-05-26", periods=n, freq="D"),
        "last_update": pd.Timestamp("2021-03-06"),
    })
    table = Table.from_dataframe(df, "rental")
    assert table.time_column == "rental_date"
    assert table["return_date"].stype is Stype.timestamp


def test_infer_keeps_user_choices(retail: dict[str, pd.DataFrame]) -> None:
    table = Table(retail["invoices"], name="invoices", primary_key="invoice_no")
    table["customer_id"].stype = "categorical"
    table.infer_metadata()
    assert table["customer_id"].stype is Stype.categorical
    copy = table.infer_metadata(inplace=False)
    assert copy is not table and copy.primary_key == "invoice_no"


def test_to_epoch_seconds() -> None:
    naive = pd.Series(pd.to_datetime(["1970-01-01 00:00:10", None, "2021-01-01 00:00:00"]))
    out = to_epoch_seconds(naive, "t", "x")
    assert out.dtype == np.int64
    assert out.tolist() == [10, np.iinfo(np.int64).min, 1609459200]
    aware = pd.Series(pd.to_datetime(["2021-01-01 01:00"]).tz_localize("Europe/Berlin"))
    assert to_epoch_seconds(aware, "t", "x").tolist() == [1609459200]
    strings = pd.Series(["2021-01-01T00:00:00Z", "2021-01-01 02:00:00+02:00", None, ""])
    assert to_epoch_seconds(strings, "t", "x").tolist()[:2] == [1609459200, 1609459200]
    assert to_epoch_seconds(pd.Series([1609459200, None], dtype="Int64"), "t", "x")[0] \
        == 1609459200
    assert to_epoch_seconds(pd.Series([1609459200123]), "t", "x").tolist() == [1609459200]
