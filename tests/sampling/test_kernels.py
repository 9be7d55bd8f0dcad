"""Sampling kernels: range expansion, distinct offsets, time-window search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from relgraph.sampling import kernels
from relgraph.store import csr as csr_module
from relgraph.store.csr import build_csr


@given(st.lists(st.integers(0, 5), max_size=40), st.integers(0, 100))
def test_expand_ranges_matches_repeat_interleave(counts: list[int], offset: int) -> None:
    count = torch.tensor(counts, dtype=torch.long)
    base = torch.arange(len(counts), dtype=torch.long) * 10 + offset
    parent, pos, ptr = kernels.expand_ranges(base, count)
    want_parent = torch.repeat_interleave(torch.arange(len(counts)), count)
    assert torch.equal(parent, want_parent)
    want_pos = [b + j for b, c in zip(base.tolist(), counts) for j in range(c)]
    assert pos.tolist() == want_pos
    assert torch.equal(ptr, count.cumsum(0))


@pytest.mark.parametrize("ratio", [4, 1], ids=["topk", "rejection"])
def test_distinct_offsets_are_distinct_and_in_range(
    ratio: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernels, "REJECTION_RATIO", ratio)
    gen = torch.Generator().manual_seed(0)
    avail = torch.tensor([5, 9, 40, 1000, 6])
    off = kernels.distinct_offsets(avail, 4, gen)
    assert off.shape == (5, 4)
    for row, a in zip(off.tolist(), avail.tolist()):
        assert len(set(row)) == 4 and all(0 <= x < a for x in row)
    assert kernels.distinct_offsets(avail[:0], 3, gen).shape == (0, 3)


@settings(max_examples=40, deadline=None)
@given(
    degrees=st.lists(st.integers(0, 40), min_size=1, max_size=15),
    seed=st.integers(0, 1000),
    mode=st.sampled_from(["window", "bisect", "searchsorted"]),
)
def test_visible_stop_window_and_searchsorted_agree(
    degrees: list[int], seed: int, mode: str
) -> None:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(len(degrees)), degrees).astype(np.int64)
    times = rng.integers(0, 20, rows.size).astype(np.int64)
    csr = build_csr(
        rows, np.arange(rows.size), times, len(degrees), max(rows.size, 1), allow_direct=False
    )
    q_rows = torch.tensor(rng.integers(0, len(degrees), 30))
    q_time = torch.tensor(rng.integers(-2, 23, 30))
    start = csr.rowptr.index_select(0, q_rows).long()
    csr_module.FORCE_SEARCH = mode
    try:
        stop = csr.visible_stop(q_rows, start, q_time)
    finally:
        csr_module.FORCE_SEARCH = None
    for r, t, a, b in zip(q_rows.tolist(), q_time.tolist(), start.tolist(), stop.tolist()):
        want = int((times[rows == r] <= t).sum())
        assert b - a == want


def test_topk_and_distinct_offsets_pad_short_rows() -> None:
    gen = torch.Generator().manual_seed(0)
    avail = torch.tensor([2, 7, 0, 5])
    for off in (kernels.topk_offsets(avail, 4, 7, gen), kernels.distinct_offsets(avail, 4, gen)):
        assert off.shape == (4, 4)
        for row, a in zip(off.tolist(), avail.tolist()):
            got = row[: min(a, 4)]
            assert len(set(got)) == len(got) and all(0 <= x < a for x in got)


def test_large_batches_of_queries_bisect_instead_of_copying_windows() -> None:
    cpu = torch.device("cpu")
    assert csr_module.search_mode(46, cpu, 512) == "window"
    assert csr_module.search_mode(46, cpu, csr_module.WINDOW_MAX_QUERIES) == "bisect"
    assert csr_module.search_mode(csr_module.WINDOW_MAX_DEGREE + 1, cpu, 512) == "bisect"
