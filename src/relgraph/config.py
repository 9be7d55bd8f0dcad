"""Process-wide settings: the home folder (job store and artifacts) and the device."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass
class Settings:
    home: Path
    device: str = "auto"
    engine: str = "duckdb"
    spark_session: Any = None
    spark_conf: dict[str, str] | None = None

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
         spark_conf: dict[str, str] | None = None) -> Settings:
    """Set the home folder (default ``$RELGRAPH_HOME`` or ``~/.relgraph``) and device.

    Jobs, their artifacts and graph-store caches live under the home folder, so any
    process that calls ``init`` with the same home sees the same jobs. ``engine="spark"``
    runs PQL's SQL on ``spark_session`` (or on one started from ``spark_conf``).
    """
    global _settings
    path = Path(home).expanduser() if home is not None else default_home()
    path.mkdir(parents=True, exist_ok=True)
    _settings = Settings(home=path.resolve(), device=device, engine=engine,
                         spark_session=spark_session, spark_conf=spark_conf)
    return _settings


def get_settings() -> Settings:
    """The current settings (``init()`` with defaults on first use)."""
    return _settings if _settings is not None else init()
