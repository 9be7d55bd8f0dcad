"""Bad input to training-table generation gets an error that names its cause and fix."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import EmptyTrainingTableError, GraphError, NonFiniteTargetError
from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import PredictiveQuery


def shop(created: str = "2020-01-01", amount: float | None = None,
         customers_edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> Graph:
    """30 customers created at ``created`` (then edited by ``customers_edit``); 300 orders
    during 2021."""
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"customer_id": np.arange(30),
                              "created": pd.Timestamp(created)})
    orders = pd.DataFrame({"order_id": np.arange(300), "customer_id": rng.integers(0, 30, 300),
                           "amount": rng.gamma(2.0, 10.0, 300),
                           "ts": pd.Timestamp("2021-01-01")
                           + pd.to_timedelta(rng.integers(0, 365, 300), unit="D")})
    if amount is not None:
        orders.loc[7, "amount"] = amount
    if customers_edit is not None:
        customers = customers_edit(customers)
    return Graph(tables={
        "customers": Table.from_dataframe(customers, "customers", primary_key="customer_id",
                                          time_column="created"),
        "orders": Table.from_dataframe(orders, "orders", primary_key="order_id",
                                       time_column="ts")},
        edges=[Edge("orders", "customer_id", "customers")])


CHURN = "PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH customers.customer_id"


def test_entity_time_column_after_every_event_is_explained() -> None:
    graph = shop(created="2023-06-01")  # every customer "created" after the last order
    with pytest.raises(EmptyTrainingTableError) as err:
        PredictiveQuery(graph, CHURN).generate_training_table()
    text = str(err.value)
    assert "entity time column 'customers.created' removed every row" in text
    assert "2023-06-01" in text and "graph['customers'].time_column = None" in text
    graph["customers"].time_column = None  # the fix the message gives
    assert len(PredictiveQuery(graph, CHURN).generate_training_table()) > 0


@pytest.mark.dataset
def test_sakila_customer_create_date_is_explained(shared_data) -> None:
    d = shared_data / "sakila"
    if not d.is_dir():
        pytest.skip("sakila not in ../shared/data")
    customer = pd.read_csv(d / "customer.csv").drop(columns=["last_update"])
    customer["create_date"] = pd.to_datetime(customer["create_date"])
    rental = pd.read_csv(d / "rental.csv").drop(columns=["last_update", "return_date"])
    rental["rental_date"] = pd.to_datetime(rental["rental_date"])
    graph = Graph(tables={
        "customer": Table.from_dataframe(customer, "customer", primary_key="customer_id",
                                         time_column="create_date"),
        "rental": Table.from_dataframe(rental, "rental", primary_key="rental_id",
                                       time_column="rental_date")},
        edges=[Edge("rental", "customer_id", "customer")])
    query = "PREDICT COUNT(rental.*, 0, 30, days) = 0 FOR EACH customer.customer_id"
    with pytest.raises(EmptyTrainingTableError,
                       match=r"entity time column 'customer\.create_date' removed every row"):
        PredictiveQuery(graph, query).generate_training_table()


def test_filter_and_target_window_are_explained() -> None:
    graph = shop()
    with pytest.raises(EmptyTrainingTableError, match=r"entity filter WHERE COUNT\(orders"):
        PredictiveQuery(graph, CHURN + " WHERE COUNT(orders.*, -30, 0, days) > 500") \
            .generate_training_table()
    with pytest.raises(EmptyTrainingTableError, match="the target removed every row: AVG"):
        PredictiveQuery(graph, "PREDICT AVG(orders.amount WHERE orders.amount < 0, 0, 30, "
                               "days) FOR EACH customers.customer_id").generate_training_table()


def test_empty_val_split_warns_with_the_reason() -> None:
    graph = shop()
    pq = PredictiveQuery(graph, CHURN)
    plan = pq.suggest_training_table_plan()
    plan.split = "TimeRangeSplit([['2021-01-01', '2021-10-01'], ['2030-01-01', '2030-02-01'], " \
                 "['2021-10-01', '2021-12-01']])"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pq.generate_training_table(plan).num_rows_per_split["val"] == 0
    texts = [str(w.message) for w in caught if "split of the training table is empty" in
             str(w.message)]
    assert texts and "'val'" in texts[0] and "no anchor time" in texts[0]


def test_inf_in_a_regression_target_names_the_column() -> None:
    graph = shop(amount=float("inf"))
    with pytest.raises(NonFiniteTargetError, match=r"'orders\.amount' holds 1 infinite"):
        PredictiveQuery(graph, "PREDICT SUM(orders.amount, 0, 30, days) FOR EACH "
                               "customers.customer_id").generate_training_table()


def _repeat_customer_3(customers: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([customers, customers.iloc[[3]]], ignore_index=True)


def _blank_customer_5(customers: pd.DataFrame) -> pd.DataFrame:
    customers = customers.assign(customer_id=customers["customer_id"].astype(float))
    customers.loc[5, "customer_id"] = np.nan
    return customers


@pytest.mark.parametrize(("edit", "expected"), [
    (_repeat_customer_3, "is not unique: 1 values occur more than once (e.g. [3])"),
    (_blank_customer_5, "has 1 null values")])
def test_entity_keys_that_repeat_or_are_missing_are_refused(
        edit: Callable[[pd.DataFrame], pd.DataFrame], expected: str) -> None:
    # a repeated key would repeat its rows, a null one drop them, without a word
    pq = PredictiveQuery(shop(customers_edit=edit), CHURN)
    for generate in (pq.generate_training_table, pq.generate_prediction_table):
        with pytest.raises(GraphError, match=r"customers\.customer_id") as err:
            generate()
        assert expected in str(err.value)
