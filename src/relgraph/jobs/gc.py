"""Garbage collection of a home: ``relgraph.gc(...)`` and ``relgraph gc``.

Jobs are removed when they ended and are neither among the ``keep_last`` newest jobs nor
newer than ``older_than``; a job a kept job needs (the training job of a kept prediction,
a warm start, the table job it was trained on) is kept with it, and so is every job that
is still running. Then every graph snapshot file, graph store and distributed spec folder
that no kept job uses (and, for snapshots, no saved table, graph or query) is removed.
``dry_run=True`` lists the same paths with their sizes
and removes nothing. Without ``keep_last`` and ``older_than`` no job is removed, only what
no job uses.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from relgraph.errors import ConfigError
from relgraph.graph.saved import saved_snapshot_files
from relgraph.graph.snapshot import SNAPSHOTS, snapshot_files
from relgraph.jobs.store import JobRecord, JobStore

__all__ = ["GcItem", "GcReport", "gc"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: Temporary files younger than this may belong to a write in progress.
_TEMP_GRACE_S = 3600.0


@dataclass(frozen=True)
class GcItem:
    """One path gc removes (or would remove): what it is, and its size in bytes."""

    path: Path
    kind: str  # "job", "snapshot", "store", "features", "distributed", "temporary"
    size: int
    job_id: str | None = None


@dataclass
class GcReport:
    """What :func:`gc` removed, or would remove with ``dry_run=True``."""

    items: list[GcItem] = field(default_factory=list)
    kept_jobs: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(i.size for i in self.items)

    @property
    def removed_jobs(self) -> list[str]:
        return [i.job_id for i in self.items if i.kind == "job" and i.job_id]

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"{_size(i.size):>10}  {i.kind:<11} {i.path}" for i in self.items]
        lines.append(f"{_size(self.total_bytes):>10}  total: {verb} {len(self.items)} paths "
                     f"({len(self.removed_jobs)} jobs); kept {len(self.kept_jobs)} jobs")
        return "\n".join(lines)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _seconds(older_than: str | float | timedelta | None) -> float | None:
    if older_than is None:
        return None
    if isinstance(older_than, timedelta):
        return older_than.total_seconds()
    if isinstance(older_than, (int, float)) and not isinstance(older_than, bool) \
            and older_than >= 0:
        return float(older_than) * 86400
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(older_than))
    if match is None:
        raise ConfigError(f"older_than={older_than!r} is not a duration; pass e.g. '30d', "
                          "'12h', '90m', a number of days, or a datetime.timedelta.")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _path_size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())


def _needs(rec: JobRecord) -> set[str]:
    """Ids of the jobs ``rec`` uses."""
    keys = ("training_job_id", "warm_start_job_id", "training_table_job_id",
            "prediction_table_job_id")
    return {str(rec.request[k]) for k in keys if rec.request.get(k)}


def gc(keep_last: int | None = None, older_than: str | float | timedelta | None = None, *,
       dry_run: bool = False, home: str | Path | None = None) -> GcReport:
    """Remove old jobs and the snapshots, stores and spec folders no kept job needs, and
    cached relational features (recomputed when a job needs them).

    Args:
        keep_last: keep the ``keep_last`` newest jobs (any kind).
        older_than: remove only jobs that ended longer ago than this (``"30d"``, ``"12h"``,
            a number of days, or a ``timedelta``).
        dry_run: list what would be removed (with sizes) and remove nothing.
        home: the home folder (default: the one of :func:`relgraph.init`).

    Example::

        print(relgraph.gc(keep_last=20, dry_run=True))   # what would go, and its size
        relgraph.gc(keep_last=20, older_than="30d")
    """
    if keep_last is not None and (isinstance(keep_last, bool) or not isinstance(keep_last, int)
                                  or keep_last < 0):
        raise ConfigError(f"keep_last={keep_last!r} must be a non-negative int.")
    age = _seconds(older_than)
    store = JobStore(home) if home is not None else JobStore.current()
    store.reap()
    records = store.list_jobs(limit=None)  # newest first
    by_id = {r.id: r for r in records}
    now = time.time()
    kept: set[str] = set()
    for i, rec in enumerate(records):
        beyond = keep_last is None or i >= keep_last
        old = age is None or now - (rec.ended_at or rec.created_at) >= age
        collect = (keep_last is not None or age is not None) and beyond and old
        if not rec.status.is_terminal or not collect:
            kept.add(rec.id)
    stack = list(kept)
    while stack:  # what kept jobs need is kept too
        for dep in _needs(by_id[stack.pop()]):
            if dep in by_id and dep not in kept:
                kept.add(dep)
                stack.append(dep)

    report = GcReport(kept_jobs=sorted(kept), dry_run=dry_run)
    for rec in records:
        if rec.id not in kept:
            folder = store.folder(rec.id)
            size = _path_size(folder) if folder.exists() else 0
            report.items.append(GcItem(folder, "job", size, rec.id))

    used_files: set[str] = saved_snapshot_files(store.home)  # saved tables, graphs, queries
    fingerprints: set[str] = set()
    unknown_live = False
    for jid in kept:
        snap = by_id[jid].request.get("graph_snapshot")
        used_files |= snapshot_files(snap)
        if isinstance(snap, dict) and snap.get("fingerprint"):
            fingerprints.add(str(snap["fingerprint"]))
        elif not by_id[jid].status.is_terminal:
            unknown_live = True  # a running job whose store we cannot name
        fp = _model_fingerprint(store.folder(jid))
        if fp:
            fingerprints.add(fp)
    snaps = store.home / SNAPSHOTS
    for path in sorted(snaps.iterdir()) if snaps.is_dir() else []:
        if path.name in used_files:
            continue
        if path.name.startswith(".") and now - path.lstat().st_mtime < _TEMP_GRACE_S:
            continue  # a snapshot being written
        report.items.append(GcItem(path, "snapshot", _path_size(path)))
    stores = store.home / "stores"
    for path in sorted(stores.iterdir()) if stores.is_dir() else []:
        if path.name in fingerprints:
            continue
        if (unknown_live or path.name.startswith(".")) \
                and now - path.lstat().st_mtime < _TEMP_GRACE_S:
            continue  # may be in use by a running job, or being written
        report.items.append(GcItem(path, "store", _path_size(path)))
    # relational-feature caches (relgraph.aggregates): recomputed on demand by any job
    cached = store.home / "features"
    for path in sorted(cached.iterdir()) if cached.is_dir() else []:
        if now - path.lstat().st_mtime >= _TEMP_GRACE_S:
            report.items.append(GcItem(path, "features", _path_size(path)))
    specs = store.home / "distributed"
    for path in sorted(specs.iterdir()) if specs.is_dir() else []:
        if path.name in kept or (path.name not in by_id
                                 and now - path.lstat().st_mtime < _TEMP_GRACE_S):
            continue
        report.items.append(GcItem(path, "distributed", _path_size(path)))

    if not dry_run:
        for item in report.items:
            if item.kind == "job" and item.job_id is not None:
                store.delete(item.job_id)
            elif item.path.is_dir() and not item.path.is_symlink():
                shutil.rmtree(item.path, ignore_errors=True)
            else:
                item.path.unlink(missing_ok=True)
    return report


def _model_fingerprint(folder: Path) -> str | None:
    """The graph-store fingerprint a training job's model was trained on (from the
    verified ``model.json``), or None."""
    from relgraph.integrity import has_file, read_verified

    if not has_file(folder, "model.json"):
        return None
    try:
        import json

        value: Any = json.loads(read_verified(folder, "model.json")).get("graph_fingerprint")
    except Exception:
        return None
    return str(value) if value else None
