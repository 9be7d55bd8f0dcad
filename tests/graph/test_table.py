"""Column and Table: metadata, column management and validation errors."""

from __future__ import annotations

import pandas as pd
import pytest

from relgraph.connector import DataFrameConnector, SourceTable
from relgraph.errors import GraphError
from relgraph.graph import Column, Dtype, Stype, Table


def test_column_coerces_and_rejects() -> None:
    col = Column("x", stype="numerical", dtype="float64")
    assert col.stype is Stype.numerical and col.dtype is Dtype.float64
    col.stype = "ID"
    assert col.stype is Stype.ID
    with pytest.raises(GraphError, match=r"Invalid stype 'numeric' for column 'x'.*numerical"):
        Column("x", stype="numeric")
    other = Column("x", stype="categorical", timestamp_format="%Y")
    assert col.update(other).stype is Stype.categorical and col.timestamp_format == "%Y"
    assert Column("y", dtype="int64").update(other, override=False).stype is Stype.categorical


def test_metadata_frame(retail: dict[str, pd.DataFrame]) -> None:
    table = Table.from_dataframe(retail["invoices"], "invoices")
    meta = table.metadata
    assert list(meta.columns) == ["name", "dtype", "stype", "is_primary_key", "is_time_column",
                                  "is_end_time_column"]
    assert meta["name"].tolist() == ["invoice_no", "customer_id", "invoice_date"]
    assert meta["dtype"].tolist() == ["string", "int64", "date"]
    assert meta["stype"].tolist() == ["ID", "ID", "timestamp"]
    assert meta["is_primary_key"].tolist() == [True, False, False]
    assert meta["is_time_column"].tolist() == [False, False, True]
    assert not meta["is_end_time_column"].any()


def test_columns_subset_and_roles(retail: dict[str, pd.DataFrame]) -> None:
    st = DataFrameConnector(retail)["transactions"]
    table = Table.from_source_table(st, ["line_id", "quantity", "invoice_date"],
                                    primary_key="line_id", time_column="invoice_date")
    assert [c.name for c in table.columns] == ["line_id", "quantity", "invoice_date"]
    assert table["line_id"].stype is Stype.ID  # the pk setter forces ID
    assert table["invoice_date"].stype is Stype.timestamp
    assert table["quantity"].stype is None and table["quantity"].dtype is Dtype.int64
    assert table.has_primary_key() and table.has_time_column() and not table.has_end_time_column()

    table.add_column("unit_price", stype="numerical")
    assert table.has_column("unit_price") and table["unit_price"].dtype is Dtype.float64
    with pytest.raises(GraphError, match="already has a column 'unit_price'"):
        table.add_column("unit_price")
    with pytest.raises(GraphError, match=r"'unit_pric' .*Did you mean \['unit_price'\]"):
        table.add_column("unit_pric")
    with pytest.raises(GraphError, match="does not exist"):
        table.column("nope")
    with pytest.raises(GraphError, match="end-time column must differ"):
        table.end_time_column = "invoice_date"

    table.remove_column("line_id")
    assert table.primary_key is None and not table.has_column("line_id")


def test_validate_ok(retail: dict[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]) -> None:
    Table.from_dataframe(retail["transactions"], "transactions").validate()
    assert "Table 'transactions' is valid (120 rows)" in capsys.readouterr().out


def test_validate_duplicate_primary_key(retail: dict[str, pd.DataFrame]) -> None:
    table = Table(retail["transactions"], name="transactions", primary_key="invoice_no")
    table.infer_metadata()
    with pytest.raises(GraphError, match=r"'transactions.invoice_no' is not unique.*"
                                         r"Deduplicate the table or choose a unique column"):
        table.validate()


def test_validate_null_primary_key(retail: dict[str, pd.DataFrame]) -> None:
    table = Table(retail["invoices"], name="invoices", primary_key="customer_id").infer_metadata()
    with pytest.raises(GraphError, match=r"'invoices.customer_id' has 3 null values. "
                                         r"Drop those rows or choose another primary key"):
        table.validate()


def test_validate_unparseable_time_column() -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "when": ["2021-01-01", "soon", "2021-01-03"]})
    table = Table(df, name="events", primary_key="id", time_column="when").infer_metadata()
    with pytest.raises(GraphError, match=r"Time column 'events.when' has 1 values that are not "
                                         r"timestamps, e.g. \['soon'\]\. Clean these values"):
        table.validate()
    table.time_column = None
    table["when"].stype = "categorical"
    table.validate(verbose=False)


def test_validate_stype_dtype_mismatch(retail: dict[str, pd.DataFrame]) -> None:
    table = Table.from_dataframe(retail["customers"], "customers")
    table["country"].stype = "numerical"
    with pytest.raises(GraphError, match=r"'customers.country' has dtype 'string', which stype "
                                         r"'numerical' cannot hold. Use one of these stypes: "
                                         r"\['ID', 'categorical'"):
        table.validate()


def test_validate_missing_stype(retail: dict[str, pd.DataFrame]) -> None:
    table = Table(retail["customers"], name="customers")
    with pytest.raises(GraphError, match=r"has no stype. Call table.infer_metadata\(\)"):
        table.validate()


def test_float_epoch_time_column_validates() -> None:
    df = pd.DataFrame({"id": [1, 2], "ts": [1.6e9, None]})
    table = Table(df, name="t", primary_key="id", time_column="ts").infer_metadata()
    table.validate(verbose=False)
    assert table.time_values().tolist()[0] == 1_600_000_000


def test_source_table_read_once() -> None:
    calls = []

    def loader() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"id": [1, 2], "ts": pd.to_datetime(["2021-01-01", "2021-01-02"])})

    st = SourceTable("t", loader, source="test")
    st.head()
    _ = st.columns
    table = Table(st).infer_metadata()
    table.validate(verbose=False)
    table.infer_metadata(inplace=False).validate(verbose=False)
    _ = table.metadata, table.num_rows, repr(table)
    assert table.name == "t" and table.primary_key == "id" and table.time_column == "ts"
    assert len(calls) == 1


def test_print_definition(retail: dict[str, pd.DataFrame],
                          capsys: pytest.CaptureFixture[str]) -> None:
    Table.from_dataframe(retail["invoices"], "invoices").print_definition()
    out = capsys.readouterr().out
    assert "Table invoices (40 rows)" in out
    assert "invoice_no: ID (string) [primary key]" in out
    assert "invoice_date: timestamp (date) [time]" in out
