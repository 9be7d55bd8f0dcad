"""SubgraphLoader: batching, ordering, reproducibility across worker counts."""

from __future__ import annotations

import pytest
import torch

from relgraph.errors import GraphError
from relgraph.sampling import NeighborSampler, SubgraphLoader
from relgraph.store import GraphStore
from relgraph.testing.synthetic_arrays import T_START, random_arrays


@pytest.fixture(scope="module")
def sampler() -> NeighborSampler:
    store = GraphStore.from_arrays(*random_arrays(seed=0, hub=True))
    return NeighborSampler(store, [3, 2])


def _seeds(n: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 30, (n,), generator=g), T_START + torch.randint(
        0, 10**6, (n,), generator=g
    )


@pytest.mark.parametrize("num_workers", [0, 2])
def test_batches_cover_seeds_in_order(sampler: NeighborSampler, num_workers: int) -> None:
    rows, times = _seeds()
    loader = SubgraphLoader(sampler, "users", rows, times, batch_size=7, num_workers=num_workers)
    assert len(loader) == 5
    seen = []
    for positions, sub in loader:
        assert torch.equal(sub.node_dict["users"][: positions.numel()], rows[positions])
        assert torch.equal(sub.seed_time, times[positions])
        seen.append(positions)
    assert torch.equal(torch.cat(seen), torch.arange(30))


def test_shuffle_and_generator_reproducible_across_workers(sampler: NeighborSampler) -> None:
    rows, times = _seeds()

    def run(workers: int) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        loader = SubgraphLoader(
            sampler,
            "users",
            rows,
            times,
            batch_size=8,
            shuffle=True,
            generator=torch.Generator().manual_seed(5),
            num_workers=workers,
            prefetch=1,
        )
        return [(p, s.node_dict) for p, s in loader]

    a, b = run(0), run(2)
    assert not torch.equal(torch.cat([p for p, _ in a]), torch.arange(30))
    for (pa, na), (pb, nb) in zip(a, b):
        assert torch.equal(pa, pb)
        assert all(torch.equal(na[t], nb[t]) for t in na)


def test_drop_last_early_break_and_errors(sampler: NeighborSampler) -> None:
    rows, times = _seeds()
    loader = SubgraphLoader(
        sampler, "users", rows, times, batch_size=8, drop_last=True, num_workers=2
    )
    assert len(loader) == 3 and len(list(loader)) == 3
    for _ in loader:  # breaking out early shuts the pool down cleanly
        break
    static = SubgraphLoader(sampler, "users", rows, None, batch_size=30)
    ((_, sub),) = list(static)
    assert sub.batch_size == 30
    with pytest.raises(GraphError, match="batch_size"):
        SubgraphLoader(sampler, "users", rows, times, batch_size=0)
    with pytest.raises(GraphError, match="one anchor time"):
        SubgraphLoader(sampler, "users", rows, times[:3])
