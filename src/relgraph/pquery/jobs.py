"""Future-like jobs returned by ``generate_*_table(non_blocking=True)``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["PredictionTableJob", "TableJob", "TrainingTableJob"]

T = TypeVar("T")
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="relgraph-pquery")


class TableJob(Generic[T]):
    """A table being generated in a background thread."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._future: Future[T] = _POOL.submit(fn)

    def status(self) -> str:
        """``running``, ``done``, ``failed`` or ``cancelled``."""
        f = self._future
        if f.cancelled():
            return "cancelled"
        if not f.done():
            return "running"
        return "failed" if f.exception() is not None else "done"

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> T:
        """Wait for the table (re-raises the generation error, if any)."""
        return self._future.result(timeout)

    def attach(self) -> T:
        return self.result()

    def future(self) -> Future[T]:
        return self._future

    def cancel(self) -> bool:
        """Cancel if not started yet."""
        return self._future.cancel()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status()!r})"


class TrainingTableJob(TableJob[T]):
    """A training table being generated."""


class PredictionTableJob(TableJob[T]):
    """A prediction table being generated."""
