"""Process-wide settings: the home folder (job store and artifacts), the device and the
SQL engine (with DuckDB's out-of-core options)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relgraph.errors import ConfigError

if TYPE_CHECKING:
    import torch

_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(b|bytes|kb|mb|gb|tb|kib|mib|gib|tib|%)\s*$",
                     re.IGNORECASE)


@dataclass
class Settings:
    home: Path
    device: str = "auto"
    engine: str = "duckdb"
    spark_session: Any = None
    spark_conf: dict[str, str] | None = None
    duckdb_memory_limit: str | None = None
    duckdb_temp_directory: Path | None = None
    duckdb_threads: int | None = None

    def duckdb_config(self) -> dict[str, Any]:
        """The DuckDB settings chosen by ``init`` (passed to ``duckdb.connect(config=)``)."""
        out: dict[str, Any] = {}
        if self.duckdb_memory_limit is not None:
            out["memory_limit"] = self.duckdb_memory_limit
        if self.duckdb_temp_directory is not None:
            out["temp_directory"] = str(self.duckdb_temp_directory)
        if self.duckdb_threads is not None:
            out["threads"] = self.duckdb_threads
        return out

    def torch_device(self) -> torch.device:
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


_settings: Settings | None = None


def default_home() -> Path:
    return Path(os.environ.get("RELGRAPH_HOME", Path.home() / ".relgraph")).expanduser()


def init(home: str | Path | None = None, *, device: str = "auto",
         engine: str = "duckdb", spark_session: Any = None,
         spark_conf: dict[str, str] | None = None,
         duckdb_memory_limit: str | int | None = None,
         duckdb_temp_directory: str | Path | None = None,
         duckdb_threads: int | None = None) -> Settings:
    """Set the home folder (default ``$RELGRAPH_HOME`` or ``~/.relgraph``) and device.

    Jobs, their artifacts and graph-store caches live under the home folder, so any
    process that calls ``init`` with the same home sees the same jobs. ``engine="spark"``
    runs PQL's SQL on ``spark_session`` (or on one started from ``spark_conf``).

    The ``duckdb_*`` options apply to every DuckDB connection relgraph opens afterwards:
    ``duckdb_memory_limit`` caps DuckDB's memory (``"4GB"``, ``"512MiB"``, ``"50%"`` or
    bytes as an int), and operators that need more spill to ``duckdb_temp_directory``
    (created if missing) instead of failing; ``duckdb_threads`` sets its thread count.
    """
    global _settings
    memory_limit = _memory_limit(duckdb_memory_limit)
    temp_directory = _temp_directory(duckdb_temp_directory)
    threads = _threads(duckdb_threads)
    path = Path(home).expanduser() if home is not None else default_home()
    _private_home(path)
    _settings = Settings(home=path.resolve(), device=device, engine=engine,
                         spark_session=spark_session, spark_conf=spark_conf,
                         duckdb_memory_limit=memory_limit,
                         duckdb_temp_directory=temp_directory, duckdb_threads=threads)
    return _settings


def _private_home(path: Path) -> None:
    """Create the home with mode 0700; an existing relgraph home (one holding ``jobs.db``)
    is made private too. Other existing folders keep their mode (the job store, artifacts
    and snapshots inside are private either way)."""
    created = not path.exists()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if created or ((path / "jobs.db").exists() and path.stat().st_mode & 0o077):
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise ConfigError(f"Cannot make the home folder {path} private ({exc}); pass a "
                              "home=... you own.") from exc


def duckdb_config() -> dict[str, Any]:
    """DuckDB settings of the current ``init`` (empty before any ``init``: no home is made)."""
    return _settings.duckdb_config() if _settings is not None else {}


def _memory_limit(value: str | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return f"{value}B"
    if isinstance(value, str) and _MEMORY.match(value) and float(
            re.sub(r"[^\d.]", "", value)) > 0:
        return value.strip()
    raise ConfigError(
        f"duckdb_memory_limit={value!r} is not a memory size; pass a positive number with a "
        f"unit (e.g. '512MB', '4GiB'), a share of RAM ('50%') or a byte count as an int.")


def _temp_directory(value: str | Path | None) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigError(f"duckdb_temp_directory={value!r} is not a folder path; pass a "
                          f"path (str or Path) where DuckDB may write spill files.")
    path = Path(value).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"duckdb_temp_directory={str(value)!r} cannot be used as a folder "
                          f"({exc}); pass a writable directory.") from exc
    return path.resolve()


def _threads(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"duckdb_threads={value!r} is invalid; pass a positive int.")
    return value


def get_settings() -> Settings:
    """The current settings (``init()`` with defaults on first use)."""
    return _settings if _settings is not None else init()
