"""Saving and loading a trained model: weights, encoders, target encoding, settings."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from relgraph.encoder import TableFeatures
from relgraph.errors import ArtifactError
from relgraph.integrity import read_manifest, read_verified
from relgraph.nn.model import ModelSpec
from relgraph.nn.offset import OutputOffset
from relgraph.training.examples import TargetInfo
from relgraph.training.gbdt import GBDTModel


def save_torch_atomic(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, default=str)
    os.replace(tmp, path)


def save_model(folder: Path, state_dict: dict[str, torch.Tensor],
               features: dict[str, TableFeatures], spec: ModelSpec, info: TargetInfo,
               extra: dict[str, Any],
               members: Sequence[tuple[dict[str, torch.Tensor], dict[str, Any]]] = (),
               gbdt: tuple[GBDTModel, float] | None = None,
               hybrid: dict[str, Any] | None = None) -> None:
    """Write ``model.pt`` (weights), ``encoders.pt`` and ``model.json`` into ``folder``.

    ``members``: the other models of an ensemble, as ``(state_dict, {"settings": ...,
    "spec": ...})``; their weights go to ``ensemble.pt``, the rest to ``model.json`` →
    ``ensemble``. ``gbdt``: the blended GBDT learner and its weight (``gbdt.json`` +
    LightGBM text models; the weight in ``model.json``); ``hybrid``: how seed inputs are
    made (:class:`relgraph.training.hybrid.HybridInputs`, in ``model.json``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    save_torch_atomic(state_dict, folder / "model.pt")
    save_torch_atomic({t: f.state_dict() for t, f in features.items()}, folder / "encoders.pt")
    if members:
        save_torch_atomic([state for state, _ in members], folder / ENSEMBLE_FILE)
        extra = {**extra, "ensemble": [meta for _, meta in members]}
    if gbdt is not None:
        gbdt[0].save(folder)
        extra = {**extra, "gbdt_weight": gbdt[1]}
    if hybrid is not None:
        extra = {**extra, "hybrid": hybrid}
    write_json_atomic({"spec": asdict(spec), "target": info.to_dict(), **extra},
                      folder / "model.json")


def load_gbdt(folder: Path) -> tuple[GBDTModel, float] | None:
    """The blended GBDT learner of a saved model and its weight (or None), every file
    checked against the job's manifest."""
    if "gbdt.json" not in read_manifest(folder):
        return None
    try:
        meta = json.loads(read_verified(folder, "gbdt.json"))
        models = [read_verified(folder, f"gbdt_{j}.txt").decode()
                  for j in range(int(meta["num_boosters"]))]
        weight = float(json.loads(read_verified(folder, "model.json"))["gbdt_weight"])
    except ArtifactError:
        raise
    except (ValueError, KeyError) as exc:
        raise ArtifactError(f"The GBDT learner in {folder} is incomplete ({exc}); retrain "
                            "the model.") from exc
    return GBDTModel.from_saved(meta, models), weight


ENSEMBLE_FILE = "ensemble.pt"


def _torch_load(folder: Path, name: str) -> Any:
    """``torch.load(weights_only=True)`` of an artifact checked against the manifest."""
    return torch.load(io.BytesIO(read_verified(folder, name)), weights_only=True,
                      map_location="cpu")


def load_member_states(folder: Path) -> list[dict[str, torch.Tensor]]:
    """Weights of the other models of an ensemble (``[]`` for a single model)."""
    path = folder / ENSEMBLE_FILE
    try:
        return list(_torch_load(folder, ENSEMBLE_FILE))
    except ArtifactError:
        raise
    except Exception as exc:  # unpickling errors have many types
        raise ArtifactError(
            f"Ensemble weights in {path} cannot be loaded safely ({type(exc).__name__}: "
            f"{exc}). They may be corrupted or tampered with; retrain the model.") from exc


def load_model(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, TableFeatures],
                                      ModelSpec, TargetInfo, dict[str, Any]]:
    """Inverse of :func:`save_model`: each file is checked against the job's manifest, then
    only plain tensors and containers are unpickled (``weights_only=True``)."""
    try:
        state = _torch_load(folder, "model.pt")
        enc = _torch_load(folder, "encoders.pt")
        meta = json.loads(read_verified(folder, "model.json"))
    except ArtifactError:
        raise
    except Exception as exc:  # unpickling errors have many types
        raise ArtifactError(
            f"Model artifacts in {folder} cannot be loaded safely ({type(exc).__name__}: {exc})."
            " They may be corrupted or tampered with; retrain the model."
        ) from exc
    features = {t: TableFeatures.from_state_dict(s) for t, s in enc.items()}
    info = TargetInfo.from_dict(meta.pop("target"))
    return state, features, spec_from_dict(meta.pop("spec")), info, meta


def spec_from_dict(saved: dict[str, Any]) -> ModelSpec:
    """A :class:`ModelSpec` saved as JSON (``model.json``)."""
    values = dict(saved)
    values["aggr"] = tuple(values["aggr"])
    if values.get("offset") is not None:
        values["offset"] = OutputOffset(**values["offset"])
    return ModelSpec(**values)
