"""LocalFileConnector, DataFrameConnector and SourceTable."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from relgraph.connector import DataFrameConnector, LocalFileConnector, SourceTable
from relgraph.errors import ConnectorError
from relgraph.graph import Dtype, Stype, Table


@pytest.fixture
def folder(tmp_path: Path, retail: dict[str, pd.DataFrame]) -> Path:
    """customers.csv, products.parquet, invoices/ (hive-partitioned Parquet),
    transactions/ (hive-partitioned CSV), plus files the connector must ignore."""
    retail["customers"].to_csv(tmp_path / "customers.csv", index=False)
    retail["products"].to_parquet(tmp_path / "products.parquet", index=False)
    inv = retail["invoices"].assign(month=retail["invoices"]["invoice_date"].dt.month)
    pq.write_to_dataset(pa.Table.from_pandas(inv, preserve_index=False),
                        root_path=str(tmp_path / "invoices"), partition_cols=["month"])
    tx = retail["transactions"]
    for region, part in ((1, tx.iloc[:70]), (2, tx.iloc[70:])):
        out = tmp_path / "transactions" / f"region={region}"
        out.mkdir(parents=True)
        part.to_csv(out / "part-0.csv", index=False)
    (tmp_path / "transactions" / "_SUCCESS").write_text("")
    (tmp_path / "notes.txt").write_text("not a table")
    (tmp_path / ".hidden.csv").write_text("a\n1\n")
    return tmp_path


def test_table_names_and_basic_reads(folder: Path, retail: dict[str, pd.DataFrame]) -> None:
    con = LocalFileConnector(folder)
    assert sorted(con.table_names()) == ["customers", "invoices", "products", "transactions"]
    assert "customers" in con and "notes" not in con and con.has_table("products")
    assert con.source_type == "local"

    customers = con["customers"].to_pandas()
    pd.testing.assert_frame_equal(customers, retail["customers"], check_dtype=False)
    products = con.table("products").to_pandas()
    assert list(products["stock_code"]) == list(retail["products"]["stock_code"])
    assert list(products["description"]) == list(retail["products"]["description"])


def test_hive_partitioned_parquet_folder(folder: Path, retail: dict[str, pd.DataFrame]) -> None:
    inv = LocalFileConnector(folder)["invoices"].to_pandas()
    assert len(inv) == 40
    assert set(inv.columns) == {"invoice_no", "customer_id", "invoice_date", "month"}
    inv = inv.sort_values("invoice_no").reset_index(drop=True)
    expected = retail["invoices"]
    assert list(inv["invoice_no"]) == list(expected["invoice_no"])
    assert (inv["month"] == pd.to_datetime(inv["invoice_date"]).dt.month).all()
    assert int(inv["customer_id"].isna().sum()) == 3


def test_hive_partitioned_csv_folder(folder: Path) -> None:
    tx = LocalFileConnector(folder)["transactions"].to_pandas()
    assert len(tx) == 120
    assert sorted(tx["region"].unique().tolist()) == [1, 2]
    assert (tx.loc[tx["line_id"] <= 70, "region"] == 1).all()
    assert sorted(tx["line_id"]) == list(range(1, 121))


def test_unknown_table_hints_close_names(folder: Path) -> None:
    con = LocalFileConnector(folder)
    with pytest.raises(ConnectorError, match=r"no table 'custmers'.*Did you mean \['customers'\]"):
        con["custmers"]
    with pytest.raises(ConnectorError, match="Available tables"):
        con.table("zzz")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="is not a directory"):
        LocalFileConnector(tmp_path / "missing")


def test_source_table_head_and_columns(folder: Path) -> None:
    st = LocalFileConnector(folder)["products"]
    assert isinstance(st, SourceTable)
    head = st.head(3)
    assert list(head["stock_code"]) == ["P000", "P001", "P002"]
    assert len(st.head()) == 5 and len(st) == 12
    cols = st.column_dict
    assert list(cols) == ["stock_code", "description"]
    assert cols["stock_code"].dtype is Dtype.string
    assert cols["stock_code"].stype is Stype.text  # reference default for strings
    tx_cols = {c.name: c for c in LocalFileConnector(folder)["transactions"].columns}
    assert tx_cols["quantity"].dtype.is_int and tx_cols["quantity"].stype is Stype.numerical
    assert tx_cols["unit_price"].dtype is Dtype.float64


def test_mixed_type_csv_columns_do_not_crash(tmp_path: Path) -> None:
    # A number column that turns into text far into the file, and a folder whose files
    # disagree on a column's type and on which columns exist.
    rows = ["id,code,amount"] + [f"{i},{i},{i}" for i in range(30000)] + ["30000,A-17,1.5"]
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("id,val\n1,2\n2,3\n")
    (tmp_path / "parts" / "b.csv").write_text("id,val,extra\n3,abc,x\n4,5,y\n")
    (tmp_path / "pq").mkdir()
    pd.DataFrame({"id": [1, 2], "v": [1, 2]}).to_parquet(tmp_path / "pq" / "a.parquet")
    pd.DataFrame({"id": [3], "v": ["x"], "w": [1.0]}).to_parquet(tmp_path / "pq" / "b.parquet")
    con = LocalFileConnector(tmp_path)

    big = con["big"].to_pandas()
    assert len(big) == 30001
    assert big["code"].iloc[-1] == "A-17" and big["code"].iloc[5] == "5"
    assert big["amount"].iloc[-1] == 1.5

    parts = con["parts"].to_pandas().sort_values("id")
    assert parts["val"].astype(str).tolist() == ["2", "3", "abc", "5"]
    assert parts["extra"].isna().tolist() == [True, True, False, False]

    pqt = con["pq"].to_pandas().sort_values("id")
    assert pqt["v"].astype(str).tolist() == ["1", "2", "x"] and "w" in pqt.columns
    table = Table(con["parts"]).infer_metadata()
    assert table["val"].dtype is Dtype.string


def test_unreadable_file_raises_connector_error(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ConnectorError, match="Cannot read parquet table"):
        LocalFileConnector(tmp_path)["broken"].to_pandas()


def test_data_is_read_once_and_reread_after_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import relgraph.connector.local_file as lf

    calls: list[Path] = []
    real = lf.read_file_table

    def counting(path: Path, kind: str) -> pd.DataFrame:
        calls.append(path)
        return real(path, kind)

    monkeypatch.setattr(lf, "read_file_table", counting)
    pd.DataFrame({"id": [1, 2, 3], "ts": ["2021-01-01", "2021-01-02", "2021-01-03"]}) \
        .to_csv(tmp_path / "t.csv", index=False)
    con = LocalFileConnector(tmp_path)
    con["t"].head()
    table = Table.from_source_table(con["t"], primary_key="id", time_column="ts")
    table.infer_metadata()
    table.validate(verbose=False)
    _ = table.metadata, con["t"].columns, table.time_values()
    from relgraph.graph import Graph

    graph = Graph({"t": table})
    graph.fingerprint()
    graph.engine.sql(f"SELECT * FROM {graph.engine.relation('t')}")
    assert len(calls) == 1

    pd.DataFrame({"id": [1, 2], "ts": ["2021-01-01", "2021-01-02"]}) \
        .to_csv(tmp_path / "t.csv", index=False)
    import os

    os.utime(tmp_path / "t.csv", ns=(1, 1))  # a different mtime even on coarse clocks
    assert len(con["t"]) == 2 and len(calls) == 2


def test_dataframe_connector(retail: dict[str, pd.DataFrame]) -> None:
    con = DataFrameConnector(retail)
    assert con.source_type == "dataframe"
    assert con.table_names() == ["customers", "products", "invoices", "transactions"]
    assert con["invoices"].to_pandas() is retail["invoices"]
    with pytest.raises(ConnectorError, match="Did you mean"):
        con["invoice"]
    with pytest.raises(ConnectorError, match="not a pandas DataFrame"):
        DataFrameConnector({"x": [1, 2]})  # type: ignore[dict-item]


def test_source_tables_and_tables_pickle(folder: Path, retail: dict[str, pd.DataFrame]) -> None:
    for con in (LocalFileConnector(folder), DataFrameConnector(retail)):
        st = con["customers"]
        back = pickle.loads(pickle.dumps(st))
        pd.testing.assert_frame_equal(back.to_pandas(), st.to_pandas())
        table = Table(st).infer_metadata()
        again = pickle.loads(pickle.dumps(table))
        assert again.primary_key == "customer_id" and again.num_rows == 20


def test_file_names_with_glob_characters_are_read_literally(tmp_path) -> None:
    from relgraph import LocalFileConnector

    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "t[1].csv", index=False)
    pd.DataFrame({"a": [9]}).to_csv(tmp_path / "t1.csv", index=False)
    pd.DataFrame({"a": [3]}).to_csv(tmp_path / "x*y?.csv", index=False)
    pd.DataFrame({"a": [7]}).to_csv(tmp_path / "xzyq.csv", index=False)
    conn = LocalFileConnector(tmp_path)
    assert conn["t[1]"].to_pandas()["a"].tolist() == [1]
    assert conn["t1"].to_pandas()["a"].tolist() == [9]
    assert conn["x*y?"].to_pandas()["a"].tolist() == [3]
    folder = tmp_path / "parts[a]"
    folder.mkdir()
    pd.DataFrame({"a": [4, 5]}).to_parquet(folder / "part[0].parquet")
    pd.DataFrame({"a": [6]}).to_parquet(folder / "part0.parquet")
    assert sorted(LocalFileConnector(tmp_path)["parts[a]"].to_pandas()["a"]) == [4, 5, 6]
