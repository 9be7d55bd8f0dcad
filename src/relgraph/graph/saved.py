"""Saved tables, graphs and predictive-query templates under the home folder.

``Table.save`` / ``Graph.save`` / ``PredictiveQuery.save`` write one folder per object,
``<home>/saved/<kind>/<name>/`` with ``object.json`` (the definition: columns, keys, time
columns, edges, query text, and the snapshot file of each table's rows) and a
``manifest.json`` of its checksums; the rows themselves are Parquet snapshots under
``<home>/snapshots/`` named by their SHA-256 (:mod:`relgraph.graph.snapshot`). Loading
checks the manifest and every snapshot file's checksum before parsing; nothing is
unpickled. Without a name, an object is saved under an id derived from its content
(``table-…``, ``graph-…``, ``pquery-…``), so saving the same object twice gives the same id.
``relgraph.gc`` keeps every snapshot a saved object uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from relgraph.errors import ArtifactError, ConfigError
from relgraph.integrity import (
    private_dir,
    read_verified,
    write_bytes_atomic,
    write_manifest,
)

__all__ = ["KINDS", "load_object", "load_table", "save_object", "saved_names",
           "saved_snapshot_files", "snapshot_table", "table_spec"]

SAVED = "saved"
OBJECT = "object.json"
FORMAT_VERSION = 1
#: Object kinds and their folders under ``<home>/saved``.
KINDS = {"table": "tables", "graph": "graphs", "pquery": "queries"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _home() -> Path:
    from relgraph.config import get_settings

    return Path(get_settings().home)


def _folder(kind: str, name: str) -> Path:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ConfigError(f"{name!r} cannot name a saved {kind}: use letters, digits, '.', "
                          "'-' and '_' (e.g. 'churn_v2').")
    return _home() / SAVED / KINDS[kind] / name


def _content_id(kind: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return f"{kind}-{hashlib.sha256(body).hexdigest()[:20]}"


def save_object(kind: str, payload: dict[str, Any], name: str | None = None) -> str:
    """Write ``payload`` as saved object ``name`` of ``kind`` (replacing an older one of
    that name); returns the name, a content id when none is given."""
    name = name if name is not None else _content_id(kind, payload)
    folder = _folder(kind, name)
    parent = private_dir(folder.parent)
    body = {"version": FORMAT_VERSION, "kind": kind, "name": name, **payload}
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
    try:
        write_bytes_atomic(json.dumps(body, indent=1, default=str).encode(), tmp / OBJECT)
        write_manifest(tmp)
        old = parent / f".{name}.old-{os.getpid()}"
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return name


def load_object(kind: str, name: str) -> dict[str, Any]:
    """The payload of saved object ``name`` (checked against its manifest)."""
    folder = _folder(kind, name)
    if not folder.is_dir():
        known = saved_names(kind)
        hint = f" Saved {KINDS[kind]}: {known[:10]}." if known else ""
        raise ConfigError(f"No saved {kind} '{name}' under {folder.parent}.{hint} Save one "
                          f"with .save(name), or call relgraph.init(home=...) with the home "
                          "it was saved in.")
    body = json.loads(read_verified(folder, OBJECT))
    if body.get("version") != FORMAT_VERSION or body.get("kind") != kind:
        raise ArtifactError(f"{folder / OBJECT} is not a version-{FORMAT_VERSION} saved {kind}.")
    return dict(body)


def saved_names(kind: str) -> list[str]:
    """Names of the saved objects of ``kind``, sorted."""
    root = _home() / SAVED / KINDS[kind]
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not
                  p.name.startswith(".")) if root.is_dir() else []


def saved_snapshot_files(home: Path) -> set[str]:
    """Snapshot file names that saved objects use (kept by ``relgraph.gc``)."""
    from relgraph.graph.snapshot import snapshot_files

    out: set[str] = set()
    for folder in KINDS.values():
        root = Path(home) / SAVED / folder
        for path in root.glob(f"*/{OBJECT}") if root.is_dir() else []:
            try:
                body = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if isinstance(body.get("table"), dict):
                out.add(str(body["table"].get("file")))
            out |= snapshot_files(body.get("graph"))
    return out


# ---------------------------------------------------------------------- tables
def snapshot_table(table: Any) -> dict[str, Any]:
    """Write ``table``'s rows as a snapshot under the home; its spec (with the source)."""
    from relgraph.graph.snapshot import snapshot_table as write

    spec = write(_home(), table.name, table)
    source = getattr(table, "_source", None)
    if source is not None:  # where the rows came from (the snapshot holds them)
        spec["source"] = {"table": source.name, "location": str(source.source)}
    return spec


def table_spec(table: Any) -> dict[str, Any]:
    """Snapshot ``table``'s current rows (rewritten each time: the name is the content's
    SHA-256, so unchanged rows give the same file) and return its spec."""
    spec = snapshot_table(table)
    table._snapshot = spec
    return dict(spec)


def load_table(name: str, spec: dict[str, Any]) -> Any:
    from relgraph.graph.snapshot import load_table_snapshot

    return load_table_snapshot(_home(), name, spec)
