"""Two foreign keys to the same table: a query names the key (``posts.OwnerUserId.*``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import PQLError
from relgraph.graph import Graph, Table
from relgraph.pquery import PredictiveQuery, parse_query
from relgraph.pquery.ast import ColumnRef


@pytest.fixture
def forum() -> Graph:
    """Users and posts; a post has an owner and a last editor, both users."""
    rng = np.random.default_rng(3)
    users = pd.DataFrame({"Id": np.arange(1, 31), "Reputation": rng.integers(1, 500, 30)})
    n = 400
    posts = pd.DataFrame({
        "PostId": np.arange(n),
        "OwnerUserId": rng.integers(1, 31, n),
        "LastEditorUserId": pd.array(rng.integers(1, 31, n), dtype="Int64"),
        "Score": rng.integers(-3, 20, n),
        "CreationDate": pd.Timestamp("2022-01-01") + pd.to_timedelta(
            np.sort(rng.integers(0, 360 * 24, n)), unit="h"),
    })
    posts.loc[rng.choice(n, 40, replace=False), "LastEditorUserId"] = pd.NA
    graph = Graph({"users": Table.from_dataframe(users, "users", primary_key="Id"),
                   "posts": Table.from_dataframe(posts, "posts", primary_key="PostId",
                                                 time_column="CreationDate")})
    graph.link("posts", "OwnerUserId", "users")
    graph.link("posts", "LastEditorUserId", "users")
    return graph


def test_parse_and_print() -> None:
    q = parse_query("PREDICT COUNT(posts.OwnerUserId.*, 0, 90, days) FOR EACH users.Id")
    assert q.target.column == ColumnRef("posts", "*", via="OwnerUserId")
    assert str(q.target) == "COUNT(posts.OwnerUserId.*, 0, 90, days)"
    again = parse_query(f"PREDICT {q.target} FOR EACH users.Id")
    assert again.target == q.target
    col = parse_query("PREDICT SUM(`my posts`.`owner id`.Score, 0, 7) FOR EACH users.Id")
    assert str(col.target.column) == "`my posts`.`owner id`.Score"


def test_ambiguous_path_names_the_fix(forum: Graph) -> None:
    with pytest.raises(PQLError, match="Ambiguous join path") as err:
        PredictiveQuery(forum, "PREDICT COUNT(posts.*, 0, 90, days) FOR EACH users.Id").validate(
            verbose=False)
    assert "posts.OwnerUserId.* or posts.LastEditorUserId.*" in str(err.value)
    with pytest.raises(PQLError, match="Ambiguous join path") as err:  # in a filter too
        PredictiveQuery(forum, "PREDICT COUNT(posts.OwnerUserId.*, 0, 90, days) FOR EACH "
                               "users.Id WHERE SUM(posts.Score, -30, 0) > 1").validate(False)
    assert "posts.OwnerUserId.Score" in str(err.value)


@pytest.mark.parametrize("query, match", [
    ("PREDICT COUNT(posts.Score.*, 0, 9) FOR EACH users.Id",
     "does not reference 'users'"),
    ("PREDICT COUNT(posts.Editor.*, 0, 9) FOR EACH users.Id", "is not a column of 'posts'"),
    ("PREDICT users.Reputation FOR EACH users.OwnerUserId.Id", "only aggregations"),
    ("PREDICT COUNT(posts.OwnerUserId.* WHERE posts.OwnerUserId.Score > 1, 0, 9) "
     "FOR EACH users.Id", "only aggregations"),
], ids=["not-a-key", "not-a-column", "entity", "inner-column"])
def test_bad_keys(forum: Graph, query: str, match: str) -> None:
    with pytest.raises(PQLError, match=match):
        PredictiveQuery(forum, query).validate(verbose=False)


def test_labels_follow_the_named_key(forum: Graph) -> None:
    """Each key counts its own rows; both edges stay in the graph."""
    posts = forum["posts"].data
    tables = {}
    for key in ("OwnerUserId", "LastEditorUserId"):
        pq = PredictiveQuery(forum, f"PREDICT SUM(posts.{key}.Score, 0, 30, days) FOR EACH "
                                    f"users.Id WHERE COUNT(posts.{key}.*, -30, 0, days) > 0")
        table = pq.generate_training_table()
        df = table.data_df()
        for anchor in df["ANCHOR_TIMESTAMP"].unique()[::3]:
            rows = df[df["ANCHOR_TIMESTAMP"] == anchor].set_index("ENTITY")["TARGET"]
            past = posts[(posts["CreationDate"] > anchor - pd.Timedelta(days=30))
                         & (posts["CreationDate"] <= anchor)][key].dropna().unique()
            assert sorted(rows.index) == sorted(int(u) for u in past)
            future = posts[(posts["CreationDate"] > anchor)
                           & (posts["CreationDate"] <= anchor + pd.Timedelta(days=30))]
            want = future.groupby(key)["Score"].sum()
            want.index = want.index.astype(int)
            assert np.allclose(rows.to_numpy(), want.reindex(rows.index).fillna(0).to_numpy())
        tables[key] = df
    assert not tables["OwnerUserId"].equals(tables["LastEditorUserId"])
    assert [e.fkey for e in forum.edges] == ["OwnerUserId", "LastEditorUserId"]


def test_graph_store_keeps_both_edges(forum: Graph) -> None:
    from relgraph.store.from_graph import build_store

    types = set(build_store(forum).edge_types)
    assert {("posts", "OwnerUserId", "users"), ("posts", "LastEditorUserId", "users"),
            ("users", "rev_OwnerUserId", "posts"),
            ("users", "rev_LastEditorUserId", "posts")} <= types
