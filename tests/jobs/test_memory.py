"""NumPy's huge-page advice is off while jobs run, and back after."""

import threading

from relgraph.jobs.memory import _set_madvise_hugepage, without_hugepage_advice


def _advice() -> bool:
    """NumPy's current setting (reading it means setting it: put it back)."""
    now = bool(_set_madvise_hugepage(True))
    _set_madvise_hugepage(now)
    return now


def test_off_inside_and_restored(monkeypatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = _advice()
    _set_madvise_hugepage(True)
    try:
        with without_hugepage_advice():
            assert _advice() is False
            with without_hugepage_advice():  # a second job at once
                assert _advice() is False
            assert _advice() is False       # the first still runs
        assert _advice() is True
    finally:
        _set_madvise_hugepage(before)


def test_jobs_in_threads_share_the_count(monkeypatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    _set_madvise_hugepage(True)
    inside, leave = threading.Event(), threading.Event()

    def job() -> None:
        with without_hugepage_advice():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=job)
    worker.start()
    inside.wait(10)
    with without_hugepage_advice():
        leave.set()
        worker.join(10)
        assert _advice() is False  # the other job ending does not turn it back on
    assert _advice() is True


def test_user_setting_wins(monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    _set_madvise_hugepage(True)
    with without_hugepage_advice():
        assert _advice() is True
