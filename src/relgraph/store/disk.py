"""On-disk format of a GraphStore: raw ``.npy`` arrays plus ``manifest.json``.

Layout of a store directory::

    manifest.json        format, version, fingerprint, node and edge type metadata
    node_<i>_time.npy    int64 row times of node type i (temporal tables only)
    node_<i>_end_time.npy int64 row end times of node type i (tables with one only)
    edge_<j>_<array>.npy the stored arrays of edge type j's CSR (rowptr_data,
                         col_data, time_key, direct, direct_time, end_time,
                         direct_end_time, key_values)

Writes go to a temporary sibling directory that is renamed into place, so readers
never see a half-written store. Loading with ``mmap=True`` maps the arrays
copy-on-write: a graph larger than RAM still opens and pages are shared between
processes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from relgraph.errors import GraphError
from relgraph.store.csr import CSR
from relgraph.store.graph_store import FKeyInfo, GraphStore

FORMAT = "relgraph-graph-store"
VERSION = 2  # 2: ties ordered by primary key, end times
MANIFEST = "manifest.json"


def _write(directory: Path, name: str, tensor: Tensor) -> str:
    np.save(directory / name, tensor.detach().cpu().numpy(), allow_pickle=False)
    return name


def save_store(store: GraphStore, path: Path) -> Path:
    """Write ``store`` to ``path`` (a directory), replacing it atomically."""
    num_nodes, times, csrs, infos, ends = store._parts()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        node_meta: list[dict[str, Any]] = []
        for i, (name, n) in enumerate(num_nodes.items()):
            t, e = times[name], ends[name]
            node_meta.append(
                {
                    "name": name,
                    "num_rows": n,
                    "time": None if t is None else _write(tmp, f"node_{i}_time.npy", t),
                    "end_time": None if e is None else _write(tmp, f"node_{i}_end_time.npy", e),
                }
            )
        edge_meta: list[dict[str, Any]] = []
        for j, (et, c) in enumerate(csrs.items()):
            files = {name: _write(tmp, f"edge_{j}_{name}.npy", t) for name, t in c.arrays().items()}
            edge_meta.append(
                {"edge_type": list(et), "fkey_info": list(infos[et]), **c.meta(), "files": files}
            )
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "fingerprint": store.fingerprint,
            "num_fk_edges": store.num_fk_edges,
            "node_types": node_meta,
            "edge_types": edge_meta,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _replace_dir(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path``; an existing ``path`` is moved aside then removed."""
    try:
        os.rename(tmp, path)
        return
    except OSError:
        if not path.exists():
            raise
    trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    os.rename(path, trash / "store")
    os.rename(tmp, path)
    shutil.rmtree(trash, ignore_errors=True)


def load_store(path: Path, mmap: bool = True) -> GraphStore:
    """Open a store directory written by :func:`save_store`."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise GraphError(
            f"No graph store at {path} ({MANIFEST} missing); build one with "
            f"GraphStore.from_arrays(...) and save it with store.save(path)."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as err:
        raise GraphError(
            f"{manifest_path} is not valid JSON ({err}); delete the directory and rebuild it."
        ) from err
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("version") != VERSION
    ):
        raise GraphError(
            f"{manifest_path} is not a version-{VERSION} relgraph graph store "
            f"(format={_get(manifest, 'format')!r}, version={_get(manifest, 'version')!r}); "
            f"delete the directory and rebuild it."
        )
    mode: Literal["c"] | None = "c" if mmap else None
    try:
        return _read_store(path, manifest, mode)
    except (KeyError, TypeError, ValueError, OSError) as err:
        if isinstance(err, GraphError):
            raise
        raise GraphError(
            f"Graph store at {path} is corrupted or incomplete ({type(err).__name__}: {err}); "
            f"delete the directory and rebuild it."
        ) from err


def _get(obj: object, key: str) -> object:
    """``obj[key]`` for a dict, else ``None``."""
    return obj.get(key) if isinstance(obj, dict) else None


def _read_store(path: Path, manifest: dict[str, Any], mode: Literal["c"] | None) -> GraphStore:
    """Build the store from a validated manifest (raises KeyError etc. if malformed)."""

    def read(name: str) -> Tensor:
        arr = np.load(path / name, mmap_mode=mode, allow_pickle=False)
        return torch.from_numpy(arr)

    num_nodes: dict[str, int] = {}
    times: dict[str, Tensor | None] = {}
    ends: dict[str, Tensor | None] = {}
    for meta in manifest["node_types"]:
        num_nodes[meta["name"]] = int(meta["num_rows"])
        times[meta["name"]] = None if meta["time"] is None else read(meta["time"])
        ends[meta["name"]] = None if meta["end_time"] is None else read(meta["end_time"])
    csrs: dict[tuple[str, str, str], CSR] = {}
    infos: dict[tuple[str, str, str], FKeyInfo] = {}
    for meta in manifest["edge_types"]:
        et = (str(meta["edge_type"][0]), str(meta["edge_type"][1]), str(meta["edge_type"][2]))
        fields: dict[str, Any] = {k: meta[k] for k in CSR(0, 0, 0).meta()}
        fields.update({name: read(f) for name, f in meta["files"].items()})
        c = CSR(**fields)
        if not _consistent(c, num_nodes[et[0]]):
            raise GraphError(
                f"Graph store at {path} is corrupted (edge type {et} has inconsistent "
                f"array sizes); delete the directory and rebuild it."
            )
        csrs[et] = c
        s, f, d, direction = meta["fkey_info"]
        infos[et] = FKeyInfo(s, f, d, direction)
    return GraphStore(
        num_nodes, times, csrs, infos, int(manifest["num_fk_edges"]), manifest.get("fingerprint"),
        ends,
    )


def _consistent(c: CSR, num_rows: int) -> bool:
    """Cheap size checks of a loaded CSR."""
    if c.num_rows != num_rows:
        return False
    if c.direct is not None:
        return c.direct.numel() == num_rows and all(
            t is None or t.numel() == num_rows for t in (c.direct_time, c.direct_end_time)
        )
    if c.rowptr_data is None or c.col_data is None:
        return False
    return c.rowptr_data.numel() == num_rows + 1 and all(
        t is None or t.numel() == c.col_data.numel() for t in (c.time_key, c.end_time)
    )
