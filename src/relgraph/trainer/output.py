"""Where batch predictions go: output configuration and atomic writers."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.errors import JobError

OUTPUT_TYPES = ("predictions", "embeddings")


@dataclass
class OutputConfig:
    """What to write and where (reference ``OutputConfig``).

    ``output_connector`` is a :class:`~relgraph.LocalFileConnector` (or a folder path): each
    output type is written as ``<output_table_name>_<type>.parquet`` (``.csv`` with
    ``file_type="csv"``). ``None`` keeps the results in the job folder only.
    """

    output_types: set[str] = field(default_factory=lambda: {"predictions"})
    output_connector: Any = None
    output_table_name: str | None = None
    output_metadata_fields: list[str] = field(default_factory=list)
    file_type: str = "parquet"

    def __post_init__(self) -> None:
        self.output_types = set(self.output_types)
        bad = self.output_types - set(OUTPUT_TYPES)
        if bad or not self.output_types:
            raise JobError(f"output_types must be a non-empty subset of {set(OUTPUT_TYPES)}; "
                           f"got {sorted(self.output_types)}.")
        if self.output_connector is not None and not self.output_table_name:
            raise JobError("OutputConfig needs output_table_name when an output_connector is "
                           "given, e.g. output_table_name='churn'.")
        if self.file_type not in ("parquet", "csv"):
            raise JobError(f"file_type must be 'parquet' or 'csv', got {self.file_type!r}.")
        for name in self.output_metadata_fields:
            if name not in ("ANCHOR_TIMESTAMP", "JOB_TIMESTAMP"):
                raise JobError(f"Unknown output metadata field {name!r}; use ANCHOR_TIMESTAMP "
                               "or JOB_TIMESTAMP.")

    @classmethod
    def cast(cls, value: OutputConfig | dict | None) -> OutputConfig:
        if value is None:
            return cls()
        if isinstance(value, dict):
            return cls(**value)
        return value

    def target_folder(self) -> Path | None:
        conn = self.output_connector
        if conn is None:
            return None
        folder = Path(getattr(conn, "root_dir", conn))
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def write_frame_atomic(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` (parquet or csv by suffix) via a temporary file and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
