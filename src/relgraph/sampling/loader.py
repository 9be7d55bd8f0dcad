"""SubgraphLoader: batches of seeds -> sampled subgraphs, sampled ahead in threads."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from torch import Tensor

from relgraph.errors import GraphError
from relgraph.sampling.neighbor_sampler import NeighborSampler
from relgraph.sampling.subgraph import SampledSubgraph


class SubgraphLoader:
    """Iterate ``(seed_positions, SampledSubgraph)`` over batches of seeds.

    ``seed_positions`` are indices into ``seed_rows`` (so callers can fetch labels).
    With ``num_workers > 0`` a thread pool samples up to ``num_workers * prefetch``
    batches ahead while the consumer works (torch ops release the GIL); batches are
    still yielded in order. Sampling is reproducible for a fixed ``generator``
    whatever ``num_workers`` is: each batch gets its own generator seeded from it.
    On a small CPU, ``num_workers=1`` is usually best: it overlaps sampling with the
    consumer without two sampling threads competing for the same cores.

    Args:
        sampler: the :class:`NeighborSampler`.
        seed_table: node type of the seeds.
        seed_rows: int64 ``[N]`` seed rows.
        seed_time: int64 ``[N]`` anchor times, or ``None`` (everything visible).
        batch_size: seeds per batch.
        shuffle: visit seeds in a random order each epoch.
        generator: CPU generator for shuffling and per-batch sampling seeds
            (default: the sampler's generator if on CPU, else torch's global RNG).
        num_workers: sampling threads (0 = sample in the consumer's thread).
        prefetch: batches in flight per worker.
        pin_memory: return subgraphs in page-locked memory (only when CUDA is
            available), so ``.to("cuda", non_blocking=True)`` overlaps the copy.
        drop_last: drop the last incomplete batch.
    """

    def __init__(
        self,
        sampler: NeighborSampler,
        seed_table: str,
        seed_rows: Tensor,
        seed_time: Tensor | None = None,
        batch_size: int = 512,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        num_workers: int = 0,
        prefetch: int = 2,
        pin_memory: bool = False,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise GraphError(f"batch_size must be >= 1 (got {batch_size}).")
        if num_workers < 0 or prefetch < 1:
            raise GraphError(
                f"num_workers must be >= 0 and prefetch >= 1 (got {num_workers}, {prefetch})."
            )
        self.sampler = sampler
        self.seed_table = seed_table
        self.seed_rows = torch.as_tensor(seed_rows).long().reshape(-1)
        self.seed_time = None
        if seed_time is not None:
            self.seed_time = torch.as_tensor(seed_time).long().reshape(-1)
        if self.seed_time is not None and self.seed_time.numel() != self.seed_rows.numel():
            raise GraphError(
                f"seed_time has {self.seed_time.numel()} values but seed_rows has "
                f"{self.seed_rows.numel()}; pass one anchor time per seed."
            )
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        gen = generator
        if gen is None and sampler.generator is not None and sampler.generator.device.type == "cpu":
            gen = sampler.generator
        self.generator = gen
        self.num_workers = int(num_workers)
        self.prefetch = int(prefetch)
        self.pin_memory = bool(pin_memory) and torch.cuda.is_available()
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = self.seed_rows.numel()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self) -> list[Tensor]:
        n = self.seed_rows.numel()
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        batches = list(order.split(self.batch_size))
        if self.drop_last and batches and batches[-1].numel() < self.batch_size:
            batches.pop()
        return batches

    def _sample(self, positions: Tensor, seed: int | None) -> SampledSubgraph:
        gen = None
        if seed is not None:
            gen = torch.Generator(device=self.sampler.store.device)
            gen.manual_seed(seed)
        times = None if self.seed_time is None else self.seed_time[positions]
        out = self.sampler.sample(self.seed_table, self.seed_rows[positions], times, generator=gen)
        return out.pin_memory() if self.pin_memory else out

    def __iter__(self) -> Iterator[tuple[Tensor, SampledSubgraph]]:
        batches = self._batches()
        seeds: list[int | None] = [None] * len(batches)
        if self.generator is not None:
            seeds = torch.randint(2**62, (len(batches),), generator=self.generator).tolist()
        if self.num_workers == 0:
            for positions, seed in zip(batches, seeds):
                yield positions, self._sample(positions, seed)
            return
        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="relgraph-sampler")
        pending: deque[tuple[Tensor, Future[SampledSubgraph]]] = deque()
        todo = iter(zip(batches, seeds))
        try:
            for positions, seed in todo:
                pending.append((positions, pool.submit(self._sample, positions, seed)))
                if len(pending) >= self.num_workers * self.prefetch:
                    break
            while pending:
                positions, future = pending.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt[0], pool.submit(self._sample, *nxt)))
                yield positions, future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
