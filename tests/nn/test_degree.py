"""Degree features: visible neighbor counts per window and recency, checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from relgraph.nn.degree import (
    DAY,
    NUM_FEATURES,
    WINDOWS_DAYS,
    DegreeCache,
    degree_edge_types,
    visible_degree,
)
from relgraph.store import GraphStore
from relgraph.testing.synthetic_arrays import T_START, random_arrays

SPREAD_DAYS = 800  # neighbor times spread over 800 days, so every window cuts somewhere


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_and_recency_match_brute_force(seed: int) -> None:
    tables, edges = random_arrays(seed=seed, num_times=200)
    txn_time = tables["transactions"].time
    assert txn_time is not None
    visible = txn_time < np.iinfo(np.int64).max  # NULL times are never visible
    # Stretch the synthetic times (about 12 days) over SPREAD_DAYS.
    txn_time[visible] = T_START + (txn_time[visible] - T_START) * (SPREAD_DAYS * DAY // 10**6)
    store = GraphStore.from_arrays(tables, edges)
    edge_type = ("users", "rev_user_id", "transactions")
    assert edge_type in degree_edge_types(store)["users"]
    edge = next(e for e in edges if (e.src_table, e.fkey) == ("transactions", "user_id"))

    g = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, store.num_nodes("users"), (48,), generator=g)
    anchor = T_START + torch.randint(-DAY, (SPREAD_DAYS + 10) * DAY, (48,), generator=g)
    # as in a subgraph, some (row, anchor) pairs repeat and some rows recur at other anchors
    rows = torch.cat([rows, rows[:16], rows[:16]])
    anchor = torch.cat([anchor, anchor[:16], anchor[16:32]])
    feats = visible_degree(store, [edge_type], rows, anchor)
    assert feats.shape == (80, NUM_FEATURES)
    torch.testing.assert_close(feats[48:64], feats[:16], rtol=0, atol=0)

    for i, (row, t) in enumerate(zip(rows.tolist(), anchor.tolist(), strict=True)):
        times = txn_time[edge.src_rows[edge.dst_rows == row]]
        times = times[times <= t]  # no leakage: nothing after the anchor is counted
        expected = [len(times)] + [int((times > t - d * DAY).sum()) for d in WINDOWS_DAYS]
        counts = torch.expm1(feats[i, : 1 + len(WINDOWS_DAYS)]).round().long().tolist()
        assert counts == expected, (row, t)
        age_days = float(torch.expm1(feats[i, -2]))
        if len(times):
            assert age_days == pytest.approx((t - times.max()) / DAY, rel=1e-4, abs=1e-4)
            assert float(feats[i, -1]) == 0.0
        else:
            assert age_days == 0.0 and float(feats[i, -1]) == 1.0


def test_cache_reads_exactly_what_is_computed_per_call() -> None:
    """The cache returns :func:`visible_degree`'s values bit for bit: on times it fills,
    on times already filled, on a batch mixing both, and past its memory budget (where it
    computes per call)."""
    tables, edges = random_arrays(seed=4, num_times=200)
    store = GraphStore.from_arrays(tables, edges)
    types = degree_edge_types(store)
    cache = DegreeCache(store, types)
    g = torch.Generator().manual_seed(0)
    # a training table's few anchors, met out of order
    grid = T_START + DAY * torch.arange(0, 40, 3)[torch.randperm(14, generator=g)]
    num_users = store.num_nodes("users")
    for step in range(4):
        times = grid[: 4 + 3 * step]  # each batch asks for some new times
        rows = torch.randint(0, num_users, (300,), generator=g)
        anchor = times[torch.randint(0, len(times), (300,), generator=g)]
        expected = visible_degree(store, types["users"], rows, anchor)
        assert torch.equal(cache("users", rows, anchor), expected)
    assert cache("users", rows[:0], anchor[:0]).shape == (0, expected.shape[1])
    small = DegreeCache(store, types)
    small.BYTES = num_users * expected.shape[1] * 4 * 2  # two times at most, of all types
    assert torch.equal(small("users", rows, anchor), expected)  # computed per call
    one = anchor[:1].expand(5)  # one time fits: cached
    assert torch.equal(small("users", rows[:5], one),
                       visible_degree(store, types["users"], rows[:5], one))
