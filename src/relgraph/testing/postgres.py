"""A throwaway PostgreSQL server for tests and benchmarks.

:class:`TemporaryPostgres` runs ``initdb`` and ``pg_ctl`` from Debian's ``postgresql``
package (``/usr/lib/postgresql/<version>/bin``) in a fresh temporary folder, listening on a
unix socket in that folder and on a free loopback port. PostgreSQL refuses to run as root,
so under root the server runs as the ``postgres`` system user the package creates.

Local (socket) connections are trusted; loopback TCP connections need a password
(``scram-sha-256``), so both the password path and the no-password path can be tested::

    with TemporaryPostgres() as pg:
        conn = rg.PostgresConnector(**pg.params())          # TCP with the password
        conn = rg.PostgresConnector(host=pg.socket_dir, user=pg.user, dbname=pg.dbname)
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def find_postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``, else ``None``."""
    found = [Path(p) for p in glob.glob(_BIN_GLOB) if (Path(p) / "initdb").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def unavailable_reason() -> str | None:
    """Why a temporary server cannot start here, or ``None`` when it can."""
    if find_postgres_bin() is None:
        return ("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
                "install Debian's 'postgresql' package (apt-get install -y postgresql)")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TemporaryPostgres:
    """A PostgreSQL server in a temporary folder, stopped and deleted on exit."""

    user: str = "rg_admin"
    password: str = "rg-test-secret"
    dbname: str = "relgraph"
    port: int = 0
    root: Path = field(default_factory=Path)
    socket_dir: str = ""
    _bin: Path = field(default_factory=Path)
    _run_as: str | None = None

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        extra: dict[str, object] = {"user": "postgres", "group": "postgres"} \
            if self._run_as else {}
        return subprocess.run(args, check=True, capture_output=True, text=True,  # type: ignore[call-overload, no-any-return]
                              timeout=120, **extra, **kwargs)

    def start(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        self._bin = find_postgres_bin()  # type: ignore[assignment]
        self._run_as = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="rg-pg-"))
        if self._run_as:
            shutil.chown(self.root, user="postgres", group="postgres")
        data = self.root / "data"
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            shutil.chown(pwfile, user="postgres", group="postgres")
        self._run([str(self._bin / "initdb"), "-D", str(data), "-U", self.user,
                   f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        pwfile.unlink()
        self.port = self.port or _free_port()
        self.socket_dir = str(self.root)
        opts = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=40 -c shared_buffers=64MB")
        try:
            self._run([str(self._bin / "pg_ctl"), "-D", str(data), "-l",
                       str(self.root / "server.log"), "-o", opts, "-w", "-t", "60", "start"])
            self._run([str(self._bin / "createdb"), "-h", self.socket_dir, "-p", str(self.port),
                       "-U", self.user, self.dbname])
        except subprocess.CalledProcessError as exc:
            log = (self.root / "server.log")
            detail = log.read_text()[-2000:] if log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{detail}") from exc

    def stop(self) -> None:
        if not self.root.name:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._run([str(self._bin / "pg_ctl"), "-D", str(data), "-m", "immediate",
                           "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = Path()

    def params(self, *, tcp: bool = True) -> dict[str, str]:
        """Connection settings: TCP on 127.0.0.1 with the password, or the unix socket."""
        if tcp:
            return {"host": "127.0.0.1", "port": str(self.port), "user": self.user,
                    "password": self.password, "dbname": self.dbname}
        return {"host": self.socket_dir, "port": str(self.port), "user": self.user,
                "dbname": self.dbname}

    def uri(self) -> str:
        """A password-less ``postgresql://`` URI over the unix socket."""
        return (f"postgresql://{self.user}@/{self.dbname}?host={self.socket_dir}"
                f"&port={self.port}")
