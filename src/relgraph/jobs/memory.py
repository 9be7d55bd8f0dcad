"""NumPy's huge-page advice, turned off while jobs run.

NumPy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every
array of 4 MiB or more. Where the kernel then compacts memory on the fault (the common
``defrag=madvise`` setting) and free memory is fragmented, as on many VMs, a fresh array
costs far more than it saves: on the 2-core CI machine, filling a new 174 MB array takes
1.9 s with the advice and 0.06 s without, and the relational features of a FAST training
job on flights-next-origin (computed, scaled, cached) take 10-12 s instead of 15.5 s. Jobs
allocate many such arrays (features, scalers, predictions), so they run without it. A user's own
``NUMPY_MADVISE_HUGEPAGE`` setting wins; the advice is back once no job runs.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

try:  # NumPy 2
    from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - NumPy 1.x, or a NumPy without the setting
    try:
        from numpy.core.multiarray import _set_madvise_hugepage  # type: ignore[no-redef]
    except ImportError:
        def _set_madvise_hugepage(enabled: bool) -> bool:  # type: ignore[misc]
            """Nothing to turn off: this NumPy gives no advice that can be set."""
            return False

_LOCK = threading.Lock()
_running = 0
_before = True


@contextlib.contextmanager
def without_hugepage_advice() -> Iterator[None]:
    """NumPy gives no huge-page advice inside (jobs in threads share one count)."""
    global _running, _before
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    with _LOCK:
        if _running == 0:
            _before = bool(_set_madvise_hugepage(False))
        _running += 1
    try:
        yield
    finally:
        with _LOCK:
            _running -= 1
            if _running == 0:
                _set_madvise_hugepage(_before)
