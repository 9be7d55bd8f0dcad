"""GraphStore disk cache: round trip, memory mapping, fingerprints, atomic writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_checks import assert_same_store

from relgraph.errors import GraphError
from relgraph.store import GraphStore, fingerprint_arrays
from relgraph.testing.synthetic_arrays import random_arrays


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path: Path, mmap: bool) -> None:
    store = GraphStore.from_arrays(*random_arrays(seed=4))
    store.save(tmp_path / "g")
    loaded = GraphStore.load(tmp_path / "g", mmap=mmap)
    assert_same_store(store, loaded)
    assert loaded.nbytes_per_edge() == store.nbytes_per_edge()


def test_rank_mode_round_trip(tmp_path: Path) -> None:
    store = GraphStore._build(*random_arrays(seed=4), None, key_mode="rank")
    store.save(tmp_path / "g")
    assert_same_store(store, GraphStore.load(tmp_path / "g"))


def test_save_replaces_existing_and_leaves_no_temp_dirs(tmp_path: Path) -> None:
    a = GraphStore.from_arrays(*random_arrays(seed=1))
    b = GraphStore.from_arrays(*random_arrays(seed=2, num_users=7))
    a.save(tmp_path / "g")
    b.save(tmp_path / "g")
    assert_same_store(b, GraphStore.load(tmp_path / "g"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]


def test_cache_dir_builds_once_then_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, edges = random_arrays(seed=6)
    first = GraphStore.from_arrays(tables, edges, cache_dir=tmp_path, fingerprint="v1")
    assert (tmp_path / "v1" / "manifest.json").is_file()

    def no_build(*args: object, **kwargs: object) -> GraphStore:
        raise AssertionError("the cached store should have been loaded")

    monkeypatch.setattr(GraphStore, "_build", classmethod(no_build))
    second = GraphStore.from_arrays(tables, edges, cache_dir=tmp_path, fingerprint="v1")
    assert second.fingerprint == "v1"
    assert_same_store(first, second)


def test_changed_fingerprint_rebuilds(tmp_path: Path) -> None:
    tables, edges = random_arrays(seed=6)
    GraphStore.from_arrays(tables, edges, cache_dir=tmp_path, fingerprint="v1")
    tables2, edges2 = random_arrays(seed=7)
    store = GraphStore.from_arrays(tables2, edges2, cache_dir=tmp_path, fingerprint="v2")
    assert_same_store(store, GraphStore.from_arrays(tables2, edges2))
    assert (tmp_path / "v2").is_dir()


def test_default_fingerprint_hashes_content(tmp_path: Path) -> None:
    tables, edges = random_arrays(seed=8)
    fp = fingerprint_arrays(tables, edges)
    assert fp == fingerprint_arrays(*random_arrays(seed=8))
    assert fp != fingerprint_arrays(*random_arrays(seed=9))
    GraphStore.from_arrays(tables, edges, cache_dir=tmp_path)
    assert (tmp_path / fp / "manifest.json").is_file()


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    tables, edges = random_arrays(seed=6)
    GraphStore.from_arrays(tables, edges, cache_dir=tmp_path, fingerprint="v1")
    manifest = tmp_path / "v1" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["version"] = 999
    manifest.write_text(json.dumps(data))
    store = GraphStore.from_arrays(tables, edges, cache_dir=tmp_path, fingerprint="v1")
    assert_same_store(store, GraphStore.load(tmp_path / "v1"))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match=r"manifest\.json missing"):
        GraphStore.load(tmp_path / "none")
    GraphStore.from_arrays(*random_arrays(seed=0)).save(tmp_path / "g")
    (tmp_path / "g" / "edge_0_direct.npy").unlink()
    with pytest.raises(GraphError, match="corrupted or incomplete"):
        GraphStore.load(tmp_path / "g")
    (tmp_path / "g" / "manifest.json").write_text("{not json")
    with pytest.raises(GraphError, match="not valid JSON"):
        GraphStore.load(tmp_path / "g")
    with pytest.raises(GraphError, match="fingerprint"):
        GraphStore.from_arrays(*random_arrays(seed=0), cache_dir=tmp_path, fingerprint="a/b")


@pytest.mark.slow  # a fresh interpreter imports torch and relgraph (~10-20 s)
def test_second_process_opens_memory_mapped_store(tmp_path: Path) -> None:
    store = GraphStore.from_arrays(*random_arrays(seed=3))
    store.save(tmp_path / "g")
    code = (
        "import sys; from relgraph.store import GraphStore; "
        "s = GraphStore.load(sys.argv[1], mmap=True); "
        "print(s.num_fk_edges, s.num_edges(('users', 'rev_user_id', 'transactions')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "g")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) == store.num_fk_edges
    assert int(out[1]) == store.num_edges(("users", "rev_user_id", "transactions"))
