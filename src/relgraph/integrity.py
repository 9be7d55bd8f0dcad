"""Checksums and private permissions for what relgraph writes under its home.

Every artifact folder (a job folder, its ``request/`` folder) holds ``manifest.json``,
``{"version": 1, "files": {relative path: {"sha256": hex, "size": bytes}}, "sha256": hex}``
(the last one the checksum of ``files`` itself), written once the folder's files are
complete. Reading an artifact back goes through
:func:`read_verified`: the bytes are hashed and compared with the manifest *before* they
are parsed, so a corrupted or replaced file raises :class:`~relgraph.errors.ArtifactError`
naming it. Nothing read back is unpickled (Parquet, JSON, ``torch.load(weights_only=True)``).

Files are written ``0600`` (``tempfile.mkstemp`` + rename) and folders ``0700``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from relgraph.errors import ArtifactError, JobError

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing folder is kept."""
    missing = []
    p = Path(path)
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask
    return Path(path)


def write_bytes_atomic(data: bytes, path: Path) -> Path:
    """Write ``data`` to ``path`` (mode 0600) through a temporary sibling and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_manifest(folder: Path, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Hash every regular file under ``folder`` (except ``skip``ped top-level names and
    the manifest) into ``folder/manifest.json``; returns the manifest."""
    skipped = {MANIFEST, *skip}
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in skipped or not path.is_file() or path.is_symlink():
            continue
        os.chmod(path, 0o600)  # artifacts are private to their user
        files[rel.as_posix()] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    manifest = {"version": 1, "files": files, "sha256": _files_digest(files)}
    write_bytes_atomic(json.dumps(manifest, indent=1, sort_keys=True).encode(),
                       folder / MANIFEST)
    return manifest


def _files_digest(files: dict[str, Any]) -> str:
    return sha256_bytes(json.dumps(files, sort_keys=True).encode())


def read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """The ``files`` of ``folder/manifest.json``; :class:`ArtifactError` when it is missing
    or unreadable."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
        if manifest.get("sha256") != _files_digest(files):
            raise ValueError("its own checksum does not match")
    except FileNotFoundError:
        raise ArtifactError(
            f"{path} is missing, so the artifacts in {folder} cannot be checked. They were "
            "written by an older relgraph or tampered with; run the job again.") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is corrupted ({type(exc).__name__}: {exc}); the "
                            "artifacts it lists cannot be trusted. Run the job again.") from exc
    return files


def read_verified(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name`` after checking them against ``folder``'s manifest."""
    entry = read_manifest(folder).get(name)
    path = folder / name
    if entry is None:
        raise ArtifactError(f"{path} is not listed in {folder / MANIFEST}; it was not written "
                            "by this job. Remove it, or run the job again.")
    return read_expected(path, str(entry.get("sha256")))


def read_expected(path: Path, sha256: str) -> bytes:
    """The bytes of ``path`` if they hash to ``sha256``, else :class:`ArtifactError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"Artifact {path} is missing; run the job again.") from None
    except OSError as exc:
        raise ArtifactError(f"Artifact {path} cannot be read ({exc}).") from exc
    if sha256_bytes(data) != sha256:
        raise ArtifactError(f"Artifact {path} does not match its SHA-256 checksum in the "
                            f"folder's {MANIFEST}: it "
                            "was corrupted or tampered with after it was written. Run the job "
                            "again (or restore the file).")
    return data


def has_file(folder: Path, name: str) -> bool:
    """Whether ``folder``'s manifest lists ``name`` (False without a manifest)."""
    try:
        return name in read_manifest(folder)
    except ArtifactError:
        return False


#: What a job id may look like (it names a folder under ``<home>/jobs``).
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def check_job_id(job_id: str) -> str:
    """``job_id`` if it can name a job folder, else :class:`JobError`."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise JobError(f"{job_id!r} is not a job id (letters, digits, '-' and '_'; e.g. "
                       "'trainingjob-20240101-120000-1a2b3c4d'). Copy the id from job.id or "
                       "`relgraph jobs list`.")
    return job_id
