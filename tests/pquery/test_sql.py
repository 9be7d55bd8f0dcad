"""SQL generation: quoting, bound values, one statement for all anchors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from relgraph.graph import Edge, Graph, Table
from relgraph.pquery import PredictiveQuery
from relgraph.pquery.sql import Params, quote_ident

DAY = 86400


def test_quote_ident_and_params() -> None:
    assert quote_ident('a"b') == '"a""b"'
    params = Params()
    assert params.add(1) == "$1" and params.add("x") == "$2"
    assert params.values == [1, "x"]


def _odd_graph() -> Graph:
    users = pd.DataFrame({'user "id"': np.array([1, 2], dtype=np.int64),
                          "na me": ["a'; DROP TABLE x; --", "b"]})
    events = pd.DataFrame({"event id": np.arange(4, dtype=np.int64),
                           'user "id"': np.array([1, 1, 2, 2], dtype=np.int64),
                           "when": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-02",
                                                   "2024-02-01"]),
                           "kind": ["x'y", "z", "x'y", "z"]})
    return Graph(tables={
        'we"ird users': Table.from_dataframe(users, name='we"ird users',
                                             primary_key='user "id"'),
        "event log": Table.from_dataframe(events, name="event log", primary_key="event id",
                                          time_column="when")},
        edges=[Edge("event log", 'user "id"', 'we"ird users')])


def test_odd_identifiers_and_hostile_values() -> None:
    graph = _odd_graph()
    query = ("PREDICT COUNT(`event log`.* WHERE `event log`.kind = 'x\\'y', 0, 7) "
             "FOR EACH `we\"ird users`.`user \"id\"` "
             "WHERE `we\"ird users`.`na me` != 'a\\'; DROP TABLE x; --'")
    pq = PredictiveQuery(graph, query)
    labels = pq.compute_labels([pd.Timestamp("2024-01-01")])
    assert labels["ENTITY"].tolist() == [2] and labels["TARGET"].tolist() == [1.0]
    sql = pq.explain().split("WITH", 1)[1].split("-- bound parameters")[0]
    assert "DROP" not in sql and "x'y" not in sql
    assert '"we""ird users"' in sql and '"user ""id"""' in sql
    assert graph.engine.sql('SELECT count(*) AS n FROM "we""ird users"')["n"][0] == 2


def test_one_statement_for_all_anchors() -> None:
    graph = _odd_graph()
    pq = PredictiveQuery(graph, "PREDICT COUNT(`event log`.*, 0, 1) FOR EACH "
                                "`we\"ird users`.`user \"id\"`")
    anchors = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=i) for i in range(40)]
    text = pq.explain()
    assert text.count("SELECT unnest(") == 1  # anchors enter once, as one bound array
    out = pq.compute_labels(anchors)
    assert out["ANCHOR_TIMESTAMP"].nunique() == 40
    assert out["TARGET"].sum() == 4  # every event lands in exactly one 1-day window


GOLDEN = Path(__file__).resolve().parent / "golden"


def test_golden_sql() -> None:
    """Pin the SQL of a typical query (regenerate with RELGRAPH_UPDATE_GOLDEN=1)."""
    users = pd.DataFrame({"user_id": np.array([1, 2], dtype=np.int64),
                          "tier": ["gold", "silver"]})
    orders = pd.DataFrame({"order_id": np.arange(3, dtype=np.int64),
                           "user_id": np.array([1, 1, 2], dtype=np.int64),
                           "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-03-01"]),
                           "amount": [1.0, 2.0, 3.0], "status": ["paid", "open", "paid"]})
    graph = Graph(tables={
        "users": Table.from_dataframe(users, name="users", primary_key="user_id"),
        "orders": Table.from_dataframe(orders, name="orders", primary_key="order_id",
                                       time_column="ts")},
        edges=[Edge("orders", "user_id", "users")])
    pq = PredictiveQuery(graph, "PREDICT SUM(orders.amount WHERE orders.status = 'paid', "
                                "0, 30, days) > 10 FOR EACH users.user_id "
                                "WHERE users.tier IN ('gold', 'silver') "
                                "AND COUNT(orders.*, -INF, 0) > 0")
    text = pq.explain()
    path = GOLDEN / "binary_filtered.sql"
    if os.environ.get("RELGRAPH_UPDATE_GOLDEN") or not path.exists():
        path.write_text(text)
    assert text == path.read_text()
