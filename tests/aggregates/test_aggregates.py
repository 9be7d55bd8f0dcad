"""Relational features: brute-force values, visibility, truncation invariance, caching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relgraph.aggregates import compute, compute_features, feature_names, plan_features
from relgraph.aggregates.spec import FeatureSpec
from relgraph.graph import Edge, Graph, Table

T0 = pd.Timestamp("2023-01-01")
DAY = 86_400


def shop(seed: int = 0, drop_after: pd.Timestamp | None = None, *,
         any_second: bool = False) -> Graph:
    """Users, their orders (ties, NULL amounts; at midnight, or ``any_second`` of the day),
    order lines (two hops), products (parents of lines), subscriptions with end times, and
    a users -> countries parent."""
    rng = np.random.default_rng(seed)
    n_users, n_orders, n_lines = 30, 400, 900
    countries = pd.DataFrame({"code": ["fr", "de", "uk"], "gdp": [2.9, 4.1, 3.1]})
    users = pd.DataFrame({"user_id": np.arange(n_users) + 10,
                          "age": rng.integers(18, 80, n_users).astype(float),
                          "tier": rng.choice(["gold", "silver", "bronze"], n_users),
                          "country": rng.choice(countries["code"], n_users)})
    days = rng.integers(0, 400, n_orders)
    orders = pd.DataFrame({"order_id": np.arange(n_orders),
                           "user_id": rng.choice(users["user_id"], n_orders),
                           "ts": T0 + pd.to_timedelta(days, unit="D")
                           + pd.to_timedelta(rng.integers(0, DAY, n_orders) if any_second
                                             else 0, unit="s"),
                           "amount": rng.integers(1, 100, n_orders).astype(float),
                           "channel": rng.choice(["web", "app", "shop"], n_orders)})
    orders.loc[::17, "amount"] = np.nan
    products = pd.DataFrame({"sku": [f"p{i}" for i in range(20)],
                             "price": rng.integers(1, 50, 20).astype(float)})
    lines = pd.DataFrame({"line_id": np.arange(n_lines),
                          "order_id": rng.choice(orders["order_id"], n_lines),
                          "sku": rng.choice(products["sku"], n_lines),
                          "qty": rng.integers(1, 6, n_lines).astype(float)})
    lines["ts"] = orders.set_index("order_id").loc[lines["order_id"], "ts"].to_numpy()
    start = T0 + pd.to_timedelta(rng.integers(0, 400, 60), unit="D")
    subs = pd.DataFrame({"sub_id": np.arange(60), "user_id": rng.choice(users["user_id"], 60),
                         "start": start,
                         "stop": start + pd.to_timedelta(rng.integers(5, 90, 60), unit="D"),
                         "fee": rng.integers(1, 20, 60).astype(float)})
    subs.loc[::5, "stop"] = pd.NaT
    if drop_after is not None:
        orders = orders[orders["ts"] <= drop_after]
        lines = lines[lines["ts"] <= drop_after]
        subs = subs[subs["start"] <= drop_after]
    tables = {
        "countries": Table.from_dataframe(countries, "countries", primary_key="code"),
        "users": Table.from_dataframe(users, "users", primary_key="user_id"),
        "orders": Table.from_dataframe(orders.reset_index(drop=True), "orders",
                                       primary_key="order_id", time_column="ts"),
        "products": Table.from_dataframe(products, "products", primary_key="sku"),
        "lines": Table.from_dataframe(lines.reset_index(drop=True), "lines",
                                      primary_key="line_id", time_column="ts"),
        "subs": Table.from_dataframe(subs.reset_index(drop=True), "subs", primary_key="sub_id",
                                     time_column="start", end_time_column="stop"),
    }
    for table in tables.values():
        table.infer_metadata()
    tables["users"]["tier"].stype = "categorical"
    tables["orders"]["channel"].stype = "categorical"
    for name, col in [("orders", "amount"), ("lines", "qty"), ("subs", "fee"),
                      ("products", "price"), ("users", "age"), ("countries", "gdp")]:
        tables[name][col].stype = "numerical"
    return Graph(tables, [Edge("users", "country", "countries"),
                          Edge("orders", "user_id", "users"),
                          Edge("lines", "order_id", "orders"), Edge("lines", "sku", "products"),
                          Edge("subs", "user_id", "users")])


def seeds(graph: Graph, n: int = 40, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, graph["users"].num_rows, n)
    anchors = (T0 + pd.to_timedelta(rng.integers(-10, 420, n), unit="D")).astype(
        "datetime64[s]").astype(np.int64)
    return rows, np.asarray(anchors)


def test_child_aggregates_match_pandas() -> None:
    graph = shop()
    fit_time = int((T0 + pd.Timedelta(days=300)).timestamp())
    spec = plan_features(graph, "users", fit_time)
    rows, anchors = seeds(graph)
    feats = compute_features(graph, spec, rows, anchors)
    assert list(feats.columns) == feature_names(spec)
    users, orders = graph["users"].data, graph["orders"].data
    ts = orders["ts"].astype("datetime64[s]").astype(np.int64).to_numpy()
    for i, (row, t) in enumerate(zip(rows, anchors, strict=True)):
        mine = orders[(orders["user_id"] == users["user_id"].iloc[row]).to_numpy() & (ts <= t)]
        mine_ts = ts[mine.index]
        recent = mine[mine_ts > t - 30 * DAY]
        p = "orders.user_id"
        assert feats[f"{p}.count_all"].iloc[i] == len(mine)
        assert feats[f"{p}.count_30d"].iloc[i] == len(recent)
        np.testing.assert_allclose(feats[f"{p}.amount.sum_30d"].iloc[i],
                                   recent["amount"].sum() if recent["amount"].notna().any()
                                   else np.nan, rtol=1e-6)
        np.testing.assert_allclose(feats[f"{p}.amount.max_all"].iloc[i],
                                   mine["amount"].max(), rtol=1e-6)
        if len(mine):
            assert feats[f"{p}.days_since_last"].iloc[i] == pytest.approx(
                (t - mine_ts.max()) / DAY, rel=1e-6)
            known = mine[mine["amount"].notna()]
            last_ts = ts[known.index]
            latest = known[last_ts == last_ts.max()]
            assert feats[f"{p}.amount.last"].iloc[i] == latest["amount"].iloc[-1]
            assert feats[f"{p}.channel=web.count_all"].iloc[i] == (mine["channel"] == "web").sum()
        else:
            assert np.isnan(feats[f"{p}.days_since_last"].iloc[i])
    # a parent's column and the entity's own categorical
    gdp = graph["countries"].data.set_index("code")["gdp"]
    np.testing.assert_allclose(feats["countries.country.gdp"].to_numpy(),
                               gdp.loc[users["country"].iloc[rows]].to_numpy(), rtol=1e-6)
    assert list(feats["self.tier"].cat.categories) == spec.blocks[0].categorical["tier"]


def test_categories_outside_the_vocabulary_are_missing(recwarn) -> None:
    """A value the spec's vocabulary lacks (a new tier after fitting) reads as missing,
    with no warning (pandas deprecates building such a categorical from raw values)."""
    graph = shop()
    spec = plan_features(graph, "users")
    spec.blocks[0].categorical["tier"].remove("gold")  # as if no user was gold at fit time
    tiers = graph["users"].data["tier"]
    feats = compute_features(graph, spec, np.arange(len(tiers)), np.zeros(len(tiers), int))
    assert (tiers == "gold").any()
    assert feats["self.tier"].isna().tolist() == (tiers == "gold").tolist()
    assert (feats["self.tier"].astype(object)[tiers != "gold"] == tiers[tiers != "gold"]).all()
    assert not [w for w in recwarn if "categories" in str(w.message)]


def test_end_times_and_two_hops_follow_the_visibility_rule() -> None:
    graph = shop()
    spec = plan_features(graph, "users")
    rows, anchors = seeds(graph)
    feats = compute_features(graph, spec, rows, anchors)
    subs = graph["subs"].data
    start = subs["start"].astype("datetime64[s]").astype(np.int64).to_numpy()
    stop = subs["stop"].astype("datetime64[s]").astype(np.int64).to_numpy()
    stop = np.where(subs["stop"].isna().to_numpy(), np.iinfo(np.int64).max, stop)
    uid = graph["users"].data["user_id"]
    lines, orders = graph["lines"].data, graph["orders"].data
    line_ts = lines["ts"].astype("datetime64[s]").astype(np.int64).to_numpy()
    for i, (row, t) in enumerate(zip(rows, anchors, strict=True)):
        active = (subs["user_id"] == uid.iloc[row]).to_numpy() & (start <= t) & (stop > t)
        assert feats["subs.user_id.count_all"].iloc[i] == active.sum()
        mine = orders["order_id"][orders["user_id"] == uid.iloc[row]]
        visible = lines["order_id"].isin(mine).to_numpy() & (line_ts <= t)
        assert feats["orders.user_id.lines.order_id.count_all"].iloc[i] == visible.sum()


@pytest.mark.parametrize("repeated", [0, 3], ids=["joined", "windowed"])
def test_features_on_the_full_database_equal_those_on_the_database_cut_at_the_anchor(
        repeated: int) -> None:
    """No future row changes a feature, nor the choice of columns and vocabularies (on
    both SQL paths: entities once, or ``repeated`` of them twice)."""
    cut_day = T0 + pd.Timedelta(days=200)
    anchor = int(cut_day.timestamp())
    full, cut = shop(), shop(drop_after=cut_day)
    specs = [plan_features(g, "users", fit_time=anchor - 30 * DAY) for g in (full, cut)]
    assert specs[0].to_dict() == specs[1].to_dict()
    rows = np.arange(full["users"].num_rows)
    rows = np.r_[rows, rows[:repeated]]
    anchors = np.full(len(rows), anchor)
    a = compute_features(full, specs[0], rows, anchors)
    b = compute_features(cut, specs[1], rows, anchors)
    pd.testing.assert_frame_equal(a, b)


def test_cache_and_spec_round_trip(tmp_path) -> None:
    graph = shop()
    spec = plan_features(graph, "users")
    assert FeatureSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()
    rows, anchors = seeds(graph)
    first = compute_features(graph, spec, rows, anchors, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 1
    again = compute_features(graph, spec, rows, anchors, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)


def test_features_of_another_version_are_not_read_from_the_cache(tmp_path, monkeypatch) -> None:
    """A home filled by an older relgraph (another ``VERSION``) is recomputed, not served."""
    graph = shop()
    spec = plan_features(graph, "users")
    rows, anchors = seeds(graph)
    compute_features(graph, spec, rows, anchors, cache_dir=tmp_path)
    (old,) = tmp_path.glob("*.parquet")
    stale = pd.read_parquet(old)
    stale[stale.columns[0]] = -12345  # what an older computation might have written
    stale.to_parquet(old)
    assert (compute_features(graph, spec, rows, anchors, cache_dir=tmp_path)
            .iloc[:, 0] == -12345).all()  # same version: the cached file is served
    monkeypatch.setattr(compute, "VERSION", compute.VERSION + 1)
    fresh = compute_features(graph, spec, rows, anchors, cache_dir=tmp_path)
    assert not (fresh.iloc[:, 0] == -12345).any()
    assert len(list(tmp_path.glob("*.parquet"))) == 2


def test_static_plans_keep_all_time_aggregates_only() -> None:
    spec = plan_features(shop(), "users", temporal=False)
    names = feature_names(spec)
    assert names and not any(n.endswith(("_7d", "_30d", "_90d", "_365d")) for n in names)
    assert not any("days_since" in n or n.endswith(".last") for n in names)


def test_one_anchor_per_entity_joins_and_computes_what_windows_compute(monkeypatch) -> None:
    """Seeds with one anchor per entity (a prediction table) take the join, repeated
    entities (a training table) the window functions; a seed's features do not depend on
    which."""
    graph = shop(2)
    spec = plan_features(graph, "users", int((T0 + pd.Timedelta(days=250)).timestamp()))
    n = graph["users"].num_rows
    rows = np.random.default_rng(0).permutation(n)
    anchors = np.full(n, int((T0 + pd.Timedelta(days=380)).timestamp()))
    paths: list[bool] = []
    block_sql = compute._block_sql
    monkeypatch.setattr(compute, "_block_sql",
                        lambda *a, **k: paths.append(a[-1]) or block_sql(*a, **k))
    once = compute_features(graph, spec, rows, anchors)
    assert not any(paths)
    paths.clear()
    twice = compute_features(graph, spec, np.r_[rows, rows[:5]], np.r_[anchors, anchors[:5]])
    assert all(paths)
    assert once.notna().sum().sum() > 0.5 * once.size
    pd.testing.assert_frame_equal(once, twice.iloc[:n], rtol=1e-6)
    pd.testing.assert_frame_equal(twice.iloc[n:].reset_index(drop=True),
                                  once.iloc[:5].reset_index(drop=True), rtol=1e-6)


@pytest.mark.parametrize(("anchor_unit", "any_second"), [("D", False), ("D", True),
                                                        ("s", True)])
def test_window_functions_equal_the_per_pair_join(anchor_unit: str, any_second: bool) -> None:
    """The window-function SQL (used where no table on the path has an end time) gives
    what joining every seed to its visible rows gives: over rows grouped by day where
    the anchors are whole days apart, by time where they are not."""
    from relgraph.aggregates.compute import _block_sql

    graph = shop(3, any_second=any_second)
    checked = set()
    for entity in ("users", "orders"):
        n = graph[entity].num_rows
        rng = np.random.default_rng(5)
        rows = rng.integers(0, n, 60)
        steps = rng.integers(-10, 420, 60) * (1 if anchor_unit == "D" else DAY)
        if anchor_unit == "s":
            steps += rng.integers(0, DAY, 60)
        steps[:3] = steps[3]  # seeds at the same anchor
        anchors = (T0 + pd.to_timedelta(steps, unit=anchor_unit)).astype(
            "datetime64[s]").astype(np.int64).to_numpy()
        offsets = np.unique(anchors % DAY)
        day_offset = int(offsets[0]) if anchor_unit == "D" else None
        assert (len(offsets) == 1) == (anchor_unit == "D")
        spec = plan_features(graph, entity, int((T0 + pd.Timedelta(days=250)).timestamp()))
        frame = pd.DataFrame({"__idx": np.arange(60), "__row": rows, "__anchor": anchors})
        with graph.engine.temp_relation(frame) as rel:
            for block in spec.blocks:
                if block.kind in ("entity", "parent") or block.table == "subs":
                    continue
                a = graph.engine.sql(_block_sql(graph, entity, block, rel,
                                                day_offset=day_offset)).set_index("__idx")
                b = graph.engine.sql(_block_sql(graph, entity, block, rel, windowed=False)) \
                    .set_index("__idx")
                a, b = a.reindex(range(60))[b.columns], b.reindex(range(60))
                counts = [c for c in b.columns if "count_" in c]
                a[counts], b[counts] = a[counts].fillna(0), b[counts].fillna(0)
                pd.testing.assert_frame_equal(a.astype(float), b.astype(float), rtol=1e-9)
                checked.add(block.kind)
    assert checked == {"child", "grandchild", "child_parent"}


def test_window_functions_over_a_table_without_time_equal_the_join() -> None:
    """A child table without a time column is visible at every anchor: its window block
    (one group per entity row) gives what the join gives."""
    from relgraph.aggregates.compute import _block_sql

    graph = shop(4)
    rng = np.random.default_rng(2)
    devices = pd.DataFrame({"device_id": np.arange(50),
                            "user_id": rng.choice(graph["users"].data["user_id"], 50),
                            "screen": rng.integers(4, 30, 50).astype(float)})
    graph.add_table("devices", Table.from_dataframe(devices, "devices",
                                                    primary_key="device_id"))
    graph.link("devices", "user_id", "users")
    spec = plan_features(graph, "users", int((T0 + pd.Timedelta(days=250)).timestamp()))
    blocks = [b for b in spec.blocks if b.table == "devices"]
    assert blocks
    n = graph["users"].num_rows
    rows = np.r_[np.arange(n), np.arange(n)]  # every user at two anchors
    anchors = np.repeat(int(T0.timestamp()) + DAY * np.array([30, 300]), n)
    frame = pd.DataFrame({"__idx": np.arange(2 * n), "__row": rows, "__anchor": anchors})
    with graph.engine.temp_relation(frame) as rel:
        for block in blocks:
            a = graph.engine.sql(_block_sql(graph, "users", block, rel,
                                            day_offset=int(T0.timestamp()) % DAY))
            b = graph.engine.sql(_block_sql(graph, "users", block, rel, windowed=False))
            a = a.set_index("__idx").reindex(range(2 * n))[b.columns[1:]]
            b = b.set_index("__idx").reindex(range(2 * n))
            counts = [c for c in b.columns if "count_" in c]
            a[counts], b[counts] = a[counts].fillna(0), b[counts].fillna(0)
            assert b.notna().to_numpy().mean() > 0.5
            pd.testing.assert_frame_equal(a.astype(float), b.astype(float), rtol=1e-9)
