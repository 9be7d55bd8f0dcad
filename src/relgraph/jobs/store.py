"""The job store: one SQLite database (WAL mode) under the home folder.

Every job (training, batch prediction, baseline, table generation) has a row in ``jobs``
with its status, timestamps, request, progress, metrics, error and worker pid; ``events``
holds its event log and ``tags`` its custom tags. Any number of processes may open the
same home: every write is one short ``BEGIN IMMEDIATE`` transaction, readers never block
writers (WAL), and a busy timeout rides out lock contention.

A job whose worker process disappears without reporting (``SIGKILL``, OOM killer, power
loss) is found by :meth:`JobStore.reap`: the pid is gone, or its heartbeat is stale, so
the job is marked ``FAILED`` with a reason and its unfinished artifacts are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relgraph.errors import JobError
from relgraph.integrity import check_job_id
from relgraph.str_enum import StrEnum

SCHEMA_VERSION = 1
HEARTBEAT_S = 2.0
# A worker on another host (or whose pid cannot be checked) is presumed dead when its
# heartbeat is older than this.
STALE_HEARTBEAT_S = 60.0
STAGING = ".staging"
KEEP_IN_FOLDER = {"request", "worker.log", STAGING}


class JobStatus(StrEnum):
    """Job states of the reference; DONE, FAILED and CANCELLED are terminal.

    ``UNTRAINED`` is the status of a :class:`~relgraph.trainer.Trainer` that has no fit
    job, ``MISSING`` that of a job id the home's job store does not know
    (:meth:`JobStore.status_of`); no stored job ever has either.
    """

    NOT_STARTED = "NOT_STARTED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNTRAINED = "UNTRAINED"
    MISSING = "MISSING"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class JobKind(StrEnum):
    TRAINING = "training"
    BATCH_PREDICTION = "batch_prediction"
    BASELINE = "baseline"
    TRAINING_TABLE = "training_table"
    PREDICTION_TABLE = "prediction_table"


_PREFIX = {JobKind.TRAINING: "trainingjob", JobKind.BATCH_PREDICTION: "bp-job",
           JobKind.BASELINE: "baselinejob", JobKind.TRAINING_TABLE: "traintablejob",
           JobKind.PREDICTION_TABLE: "predtablejob"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    heartbeat_at REAL,
    worker_pid INTEGER,
    worker_host TEXT,
    worker_start TEXT,
    runner TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT,
    request TEXT NOT NULL DEFAULT '{}',
    progress TEXT NOT NULL DEFAULT '{}',
    metrics TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    ts REAL NOT NULL,
    stage TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id, seq);
CREATE TABLE IF NOT EXISTS tags (
    job_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (job_id, key)
);
CREATE INDEX IF NOT EXISTS tags_kv ON tags(key, value);
CREATE TABLE IF NOT EXISTS outputs (
    location TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    identity TEXT,
    written_at REAL NOT NULL
);
"""
#: The event that marks a job's commit point: its artifacts are complete, and the job ends
#: DONE even if its worker dies now (:meth:`JobStore.reap` finishes the commit).
COMMIT_EVENT = "commit"


@dataclass
class JobRecord:
    """One row of the ``jobs`` table, decoded."""

    id: str
    kind: JobKind
    status: JobStatus
    created_at: float
    started_at: float | None
    ended_at: float | None
    heartbeat_at: float | None
    worker_pid: int | None
    worker_host: str | None
    worker_start: str | None
    runner: str | None
    cancel_requested: bool
    parent_id: str | None
    request: dict[str, Any]
    progress: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row, tags: dict[str, str]) -> JobRecord:
        return cls(
            id=row["id"], kind=JobKind(row["kind"]), status=JobStatus(row["status"]),
            created_at=row["created_at"], started_at=row["started_at"],
            ended_at=row["ended_at"], heartbeat_at=row["heartbeat_at"],
            worker_pid=row["worker_pid"], worker_host=row["worker_host"],
            worker_start=row["worker_start"], runner=row["runner"],
            cancel_requested=bool(row["cancel_requested"]), parent_id=row["parent_id"],
            request=json.loads(row["request"] or "{}"),
            progress=json.loads(row["progress"] or "{}"),
            metrics=json.loads(row["metrics"]) if row["metrics"] else None,
            error=row["error"], tags=tags)


@dataclass(frozen=True)
class EventRecord:
    seq: int
    job_id: str
    ts: float
    stage: str
    detail: str


# ---------------------------------------------------------------------- process identity
def process_start_token(pid: int) -> str | None:
    """A token that identifies process ``pid`` across pid reuse (Linux: its start time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may contain spaces; fields after the closing paren are fixed
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def pid_alive(pid: int, start_token: str | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as dead; a reused pid as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _proc_state(pid)
    if state is None:  # no /proc: trust kill(0)
        return not Path("/proc/self").exists()
    if state in ("Z", "X"):
        with contextlib.suppress(ChildProcessError):  # reap our own zombie children
            os.waitpid(pid, os.WNOHANG)
        return False
    if start_token is not None:
        current = process_start_token(pid)
        if current is not None and current != start_token:
            return False
    return True


def process_tree(pid: int) -> list[Any]:
    """``pid`` and its descendants as ``psutil.Process`` objects (safe against pid reuse)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def signal_procs(procs: list[Any], sig: int) -> None:
    """Send ``sig`` to each process that still exists."""
    import psutil

    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


def wait_procs_gone(procs: list[Any], timeout: float) -> bool:
    """Wait until every process is gone (zombies count as gone); True if they are."""
    import psutil

    def gone(p: Any) -> bool:
        try:
            return bool(p.status() == psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return True

    deadline = time.monotonic() + timeout
    while not all(gone(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------------- the store
_READY: set[str] = set()  # databases whose schema this process has already set up


class JobStore:
    """The SQLite job store of one home folder (``<home>/jobs.db``)."""

    def __init__(self, home: str | Path) -> None:
        from relgraph.integrity import private_dir

        self.home = Path(home)
        self.jobs_dir = private_dir(self.home / "jobs")
        for sub in ("snapshots", "stores"):  # graph copies: private like the job store
            private_dir(self.home / sub)
        self.path = self.home / "jobs.db"
        key = str(self.path.resolve())
        if key in _READY and self.path.exists():
            return
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            con.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))
        for suffix in ("", "-wal", "-shm"):  # the job store is private to its user
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)
        _READY.add(key)

    @classmethod
    def current(cls) -> JobStore:
        """The store of the home folder set by :func:`relgraph.init`."""
        from relgraph.config import get_settings

        return cls(get_settings().home)

    # -- connections ----------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA busy_timeout=60000")
            con.execute("PRAGMA synchronous=NORMAL")
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: takes the write lock up front)."""
        with self._connect() as con:
            for attempt in range(50):
                try:
                    con.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    time.sleep(0.05 * (attempt + 1))
            else:
                raise JobError(f"The job store {self.path} stayed locked; is another process "
                               "stuck holding it?")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- creation -------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        """The job's folder (``job_id`` is checked: it cannot name a path elsewhere)."""
        return self.jobs_dir / check_job_id(job_id)

    def create(self, kind: JobKind | str, request: Mapping[str, Any], *,
               tags: Mapping[str, str] | None = None, parent_id: str | None = None,
               status: JobStatus = JobStatus.NOT_STARTED) -> str:
        """Insert a new job (and its folder); returns its id."""
        import uuid

        kind = JobKind(kind)
        job_id = f"{_PREFIX[kind]}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.folder(job_id).mkdir(mode=0o700)
        now = time.time()
        with self._write() as con:
            con.execute("INSERT INTO jobs(id, kind, status, created_at, request, parent_id) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (job_id, kind.value, status.value, now,
                         json.dumps(dict(request), default=str), parent_id))
            con.executemany("INSERT INTO tags(job_id, key, value) VALUES (?, ?, ?)",
                            [(job_id, str(k), str(v)) for k, v in (tags or {}).items()])
            con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?, ?, ?, ?)",
                        (job_id, now, "created", f"{kind.value} job created"))
        return job_id

    # -- reading --------------------------------------------------------------------
    def get(self, job_id: str, *, reap: bool = True) -> JobRecord:
        """The job's record; a job whose worker died is marked FAILED first."""
        check_job_id(job_id)
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobError(f"No job '{job_id}' in {self.path}. Check the id, or call "
                               "relgraph.init(home=...) with the home the job ran in.")
            tags = {r[0]: r[1] for r in con.execute(
                "SELECT key, value FROM tags WHERE job_id = ?", (job_id,)).fetchall()}
        rec = JobRecord.from_row(row, tags)
        if reap and rec.status in (JobStatus.QUEUED, JobStatus.RUNNING) and self._dead(rec):
            self.reap(job_id)
            return self.get(job_id, reap=False)
        return rec

    def status_of(self, job_id: str) -> JobStatus:
        """The job's status, or ``MISSING`` when the store has no such job."""
        return self.get(job_id).status if self.exists(job_id) else JobStatus.MISSING

    def exists(self, job_id: str) -> bool:
        check_job_id(job_id)
        with self._connect() as con:
            return con.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() \
                is not None

    def list_jobs(self, *, kind: JobKind | str | None = None, status: JobStatus | str | None = None,
             limit: int | None = 50) -> list[JobRecord]:
        """Jobs, newest first."""
        sql, args = "SELECT id FROM jobs WHERE 1=1", []
        if kind is not None:
            sql += " AND kind = ?"
            args.append(JobKind(kind).value)
        if status is not None:
            sql += " AND status = ?"
            args.append(JobStatus(status).value)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            ids = [r[0] for r in con.execute(sql, args).fetchall()]
        return [self.get(i) for i in ids]

    def events(self, job_id: str, after: int = 0) -> list[EventRecord]:
        with self._connect() as con:
            rows = con.execute("SELECT seq, job_id, ts, stage, detail FROM events "
                               "WHERE job_id = ? AND seq > ? ORDER BY seq",
                               (job_id, after)).fetchall()
        return [EventRecord(*r) for r in rows]

    def search_by_tags(self, tags: Mapping[str, str], *, kind: JobKind | str | None = None,
                       limit: int = 10) -> list[str]:
        """Ids of jobs carrying every ``key: value`` of ``tags``, newest first."""
        sql = "SELECT j.id FROM jobs j WHERE 1=1"
        args: list[Any] = []
        for k, v in tags.items():
            sql += " AND EXISTS (SELECT 1 FROM tags t WHERE t.job_id = j.id AND t.key = ? " \
                   "AND t.value = ?)"
            args += [str(k), str(v)]
        if kind is not None:
            sql += " AND j.kind = ?"
            args.append(JobKind(kind).value)
        sql += " ORDER BY j.created_at DESC, j.id DESC LIMIT ?"
        args.append(int(limit))
        with self._connect() as con:
            return [r[0] for r in con.execute(sql, args).fetchall()]

    # -- tags -----------------------------------------------------------------------
    def update_tags(self, job_id: str, tags: Mapping[str, str | None]) -> None:
        """Set tags; a ``None`` value deletes the tag."""
        self.get(job_id, reap=False)
        with self._write() as con:
            for k, v in tags.items():
                if v is None:
                    con.execute("DELETE FROM tags WHERE job_id = ? AND key = ?", (job_id, k))
                else:
                    con.execute("INSERT OR REPLACE INTO tags(job_id, key, value) "
                                "VALUES (?, ?, ?)", (job_id, str(k), str(v)))

    def delete_tags(self, job_id: str, keys: list[str]) -> bool:
        self.get(job_id, reap=False)
        with self._write() as con:
            cur = con.executemany("DELETE FROM tags WHERE job_id = ? AND key = ?",
                                  [(job_id, k) for k in keys])
            return cur.rowcount > 0

    # -- transitions ----------------------------------------------------------------
    def add_event(self, job_id: str, stage: str, detail: str = "") -> None:
        with self._write() as con:
            con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?, ?, ?, ?)",
                        (job_id, time.time(), stage, detail))

    def mark_queued(self, job_id: str, pid: int, runner: str) -> None:
        """The job has a worker (``runner``: ``worker`` process or ``inline``)."""
        with self._write() as con:
            con.execute("UPDATE jobs SET status = ?, worker_pid = ?, worker_host = ?, "
                        "worker_start = ?, runner = ?, heartbeat_at = ? "
                        "WHERE id = ? AND status = ?",
                        (JobStatus.QUEUED.value, pid, socket.gethostname(),
                         process_start_token(pid), runner, time.time(), job_id,
                         JobStatus.NOT_STARTED.value))

    def mark_running(self, job_id: str, pid: int, runner: str) -> bool:
        """Claim the job for process ``pid``; False when it was cancelled meanwhile."""
        now = time.time()
        with self._write() as con:
            cur = con.execute(
                "UPDATE jobs SET status = ?, started_at = ?, heartbeat_at = ?, worker_pid = ?, "
                "worker_host = ?, worker_start = ?, runner = ? "
                "WHERE id = ? AND status IN (?, ?) AND cancel_requested = 0",
                (JobStatus.RUNNING.value, now, now, pid, socket.gethostname(),
                 process_start_token(pid), runner, job_id, JobStatus.NOT_STARTED.value,
                 JobStatus.QUEUED.value))
            if cur.rowcount:
                con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?,?,?,?)",
                            (job_id, now, "running", f"started by {runner} pid {pid}"))
            return cur.rowcount > 0

    def heartbeat(self, job_id: str, progress: Mapping[str, Any] | None = None) -> bool:
        """Record liveness (and progress); returns whether cancellation was requested."""
        with self._write() as con:
            if progress is None:
                con.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?",
                            (time.time(), job_id))
            else:
                con.execute("UPDATE jobs SET heartbeat_at = ?, progress = ? WHERE id = ?",
                            (time.time(), json.dumps(dict(progress), default=str), job_id))
            row = con.execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                              (job_id,)).fetchone()
        return bool(row and row[0])

    def cancel_requested(self, job_id: str) -> bool:
        with self._connect() as con:
            row = con.execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                              (job_id,)).fetchone()
        return bool(row and row[0])

    def request_cancel(self, job_id: str) -> JobStatus:
        """Flag the job for cancellation; a job with no worker yet is cancelled at once."""
        now = time.time()
        with self._write() as con:
            row = con.execute("SELECT status, worker_pid FROM jobs WHERE id = ?",
                              (job_id,)).fetchone()
            if row is None:
                raise JobError(f"No job '{job_id}' in {self.path}.")
            status = JobStatus(row["status"])
            if status.is_terminal:
                return status
            con.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            if status is JobStatus.NOT_STARTED or (status is JobStatus.QUEUED
                                                  and row["worker_pid"] is None):
                con.execute("UPDATE jobs SET status = ?, ended_at = ? WHERE id = ?",
                            (JobStatus.CANCELLED.value, now, job_id))
                con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?,?,?,?)",
                            (job_id, now, "cancelled", "cancelled before it started"))
                return JobStatus.CANCELLED
            con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?,?,?,?)",
                        (job_id, now, "cancel_requested", "cancellation requested"))
            return status

    def finish(self, job_id: str, status: JobStatus, *, error: str | None = None,
               metrics: Mapping[str, Any] | None = None, detail: str = "") -> bool:
        """Move a live job to a terminal ``status``; False if it already ended."""
        assert status.is_terminal
        now = time.time()
        with self._write() as con:
            if status is not JobStatus.DONE and self._committed(con, job_id):
                return False  # past its commit point: the job ends DONE (see reap)
            cur = con.execute(
                "UPDATE jobs SET status = ?, ended_at = ?, error = COALESCE(?, error), "
                "metrics = COALESCE(?, metrics), heartbeat_at = ? "
                "WHERE id = ? AND status NOT IN (?, ?, ?)",
                (status.value, now, error,
                 json.dumps(dict(metrics), default=str) if metrics is not None else None,
                 now, job_id, JobStatus.DONE.value, JobStatus.FAILED.value,
                 JobStatus.CANCELLED.value))
            if cur.rowcount:
                con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?,?,?,?)",
                            (job_id, now, status.value.lower(), detail or (error or "")))
        if cur.rowcount and status is not JobStatus.DONE:
            self.discard_outputs(job_id)
        return cur.rowcount > 0

    @staticmethod
    def _committed(con: sqlite3.Connection, job_id: str) -> bool:
        return con.execute("SELECT 1 FROM events WHERE job_id = ? AND stage = ? LIMIT 1",
                           (job_id, COMMIT_EVENT)).fetchone() is not None

    def mark_committed(self, job_id: str) -> bool:
        """Record the job's commit point; False if the job already ended."""
        with self._write() as con:
            row = con.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or JobStatus(row["status"]).is_terminal:
                return False
            con.execute("INSERT INTO events(job_id, ts, stage, detail) VALUES (?, ?, ?, ?)",
                        (job_id, time.time(), COMMIT_EVENT, "artifacts complete"))
            return True

    def committed(self, job_id: str) -> bool:
        with self._connect() as con:
            return self._committed(con, job_id)

    # -- output registry ------------------------------------------------------------
    def record_output(self, location: str, job_id: str, identity: str | None) -> None:
        """Remember that relgraph wrote ``location`` (a file, or ``scheme://db#table``)."""
        with self._write() as con:
            con.execute("INSERT OR REPLACE INTO outputs(location, job_id, identity, written_at) "
                        "VALUES (?, ?, ?, ?)", (location, job_id, identity, time.time()))

    def output_record(self, location: str) -> tuple[str, str | None] | None:
        """``(job_id, identity)`` of an output relgraph wrote at ``location``, or None."""
        with self._connect() as con:
            row = con.execute("SELECT job_id, identity FROM outputs WHERE location = ?",
                              (location,)).fetchone()
        return None if row is None else (row[0], row[1])

    def delete(self, job_id: str) -> None:
        """Remove a finished job: its row, events, tags and folder."""
        rec = self.get(job_id, reap=False)
        if not rec.status.is_terminal:
            raise JobError(f"Job {job_id} is {rec.status.value}; cancel it before deleting it.")
        with self._write() as con:
            for table in ("events", "tags"):
                con.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
            con.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    # -- dead workers ---------------------------------------------------------------
    def _dead(self, rec: JobRecord) -> bool:
        if rec.worker_pid is None:
            return False
        if rec.worker_host == socket.gethostname():
            return not pid_alive(rec.worker_pid, rec.worker_start)
        beat = rec.heartbeat_at or rec.started_at or rec.created_at
        return time.time() - beat > STALE_HEARTBEAT_S

    def reap(self, job_id: str | None = None) -> list[str]:
        """Mark jobs whose worker is gone as FAILED (or CANCELLED if that was asked)."""
        ids = [job_id] if job_id else [r.id for r in self._live()]
        reaped = []
        for jid in ids:
            rec = self.get(jid, reap=False)
            if rec.status not in (JobStatus.QUEUED, JobStatus.RUNNING) or not self._dead(rec):
                continue
            if self.committed(jid):  # complete the commit the worker reached
                from relgraph.jobs.worker import complete_commit

                try:
                    done = complete_commit(self, jid, detail=f"commit completed after worker "
                                                             f"pid {rec.worker_pid} died")
                except Exception as exc:
                    done = self._force_fail(jid, f"The worker died after its commit point and "
                                                 f"the commit could not be completed: {exc}")
            elif rec.cancel_requested:
                done = self.finish(jid, JobStatus.CANCELLED,
                                   detail=f"worker pid {rec.worker_pid} stopped on cancellation")
            else:
                last = self.events(jid)
                where = f"; last event: {last[-1].stage} {last[-1].detail}".rstrip() \
                    if last else ""
                reason = (f"The worker process (pid {rec.worker_pid} on {rec.worker_host}) "
                          f"died without reporting a result: it was killed (e.g. SIGKILL or "
                          f"out of memory) or crashed{where}. See {self.folder(jid)}/worker.log;"
                          " start the job again to retry.")
                done = self.finish(jid, JobStatus.FAILED, error=reason,
                                   detail="worker process died")
            if done:
                reaped.append(jid)
        return reaped

    def _live(self) -> list[JobRecord]:
        with self._connect() as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM jobs WHERE status IN (?, ?)",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value)).fetchall()]
        return [self.get(i, reap=False) for i in ids]

    def _force_fail(self, job_id: str, error: str) -> bool:
        """FAILED even past the commit point (the commit cannot be completed)."""
        with self._write() as con:
            con.execute("DELETE FROM events WHERE job_id = ? AND stage = ?",
                        (job_id, COMMIT_EVENT))
        return self.finish(job_id, JobStatus.FAILED, error=error, detail=error)

    def discard_outputs(self, job_id: str) -> None:
        """Remove a job's unfinished artifacts (staging folder, artifact files, and the
        temporaries of its exports)."""
        from relgraph.connector.exports import discard_pending

        folder = self.folder(job_id)
        if not folder.is_dir():
            return
        discard_pending(folder)
        for path in folder.iterdir():
            if path.name in KEEP_IN_FOLDER - {STAGING}:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
