"""Seeds and labels: a training or prediction table turned into tensors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from relgraph.errors import TrainingError
from relgraph.graph import Graph
from relgraph.store.from_graph import key_index, lookup_keys
from relgraph.task import TaskType

#: Anchor used for static queries: later than any row, so every row is visible.
STATIC_ANCHOR = int(np.iinfo(np.int64).max // 2)


@dataclass
class TargetInfo:
    """How targets are encoded for the loss, and decoded back for predictions."""

    task_type: TaskType
    classes: list = field(default_factory=list)   # multiclass / multilabel labels
    mean: float = 0.0                             # regression standardisation
    std: float = 1.0

    @property
    def out_channels(self) -> int:
        if self.task_type in (TaskType.MULTICLASS_CLASSIFICATION,
                              TaskType.MULTILABEL_CLASSIFICATION, TaskType.MULTILABEL_RANKING):
            return len(self.classes)
        return 1

    def to_dict(self) -> dict:
        return {"task_type": self.task_type.value, "classes": [_plain(c) for c in self.classes],
                "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> TargetInfo:
        return cls(TaskType(d["task_type"]), list(d["classes"]), d["mean"], d["std"])


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Seeds:
    """Rows of the entity table to predict for, at their anchor times."""

    rows: Tensor            # int64 row index in the entity table
    time: Tensor            # int64 anchor, epoch seconds
    frame: pd.DataFrame     # the table rows kept (aligned with rows/time)


@dataclass
class Examples(Seeds):
    """Seeds with encoded targets, split names and optional weights."""

    y: Tensor = field(default_factory=lambda: torch.empty(0))
    split: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    weight: Tensor | None = None

    def index(self, split: str | tuple[str, ...]) -> Tensor:
        names = (split,) if isinstance(split, str) else split
        return torch.from_numpy(np.flatnonzero(np.isin(self.split, names)))


def make_seeds(graph: Graph, entity_table: str, df: pd.DataFrame) -> Seeds:
    """Resolve ENTITY values to rows and ANCHOR_TIMESTAMP to epoch seconds."""
    table = graph[entity_table]
    if table.primary_key is None:
        raise TrainingError(f"Entity table '{entity_table}' has no primary key.")
    pos = lookup_keys(key_index(table.data[table.primary_key]), df["ENTITY"])
    keep = pos >= 0
    if not keep.all():
        warnings.warn(f"{int((~keep).sum())} rows name entities missing from "
                      f"'{entity_table}'; they are skipped.", stacklevel=3)
    frame = df.loc[keep].reset_index(drop=True)
    if "ANCHOR_TIMESTAMP" in frame.columns:
        ts = pd.to_datetime(frame["ANCHOR_TIMESTAMP"], utc=True).dt.tz_localize(None)
        time = ts.to_numpy().astype("datetime64[s]").astype(np.int64)
    else:
        time = np.full(len(frame), STATIC_ANCHOR, dtype=np.int64)
    return Seeds(torch.from_numpy(pos[keep].astype(np.int64)), torch.from_numpy(time), frame)


def fit_target_info(task_type: TaskType, train_targets: pd.Series,
                    classes: list | None = None) -> TargetInfo:
    """Target statistics from the training split."""
    if task_type in (TaskType.REGRESSION, TaskType.FORECASTING):
        values = pd.to_numeric(train_targets, errors="coerce").astype(float)
        std = float(values.std()) if len(values) > 1 else 1.0
        return TargetInfo(task_type, mean=float(values.mean()), std=std if std > 0 else 1.0)
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        labels = classes or sorted(train_targets.dropna().unique().tolist(), key=str)
        return TargetInfo(task_type, classes=list(labels))
    if task_type.is_multilabel:
        labels = classes or sorted({x for v in train_targets.dropna() for x in v}, key=str)
        return TargetInfo(task_type, classes=list(labels))
    return TargetInfo(task_type)


def encode_targets(info: TargetInfo, targets: pd.Series) -> Tensor:
    """Targets as the float/long tensor the loss expects."""
    tt = info.task_type
    if tt is TaskType.BINARY_CLASSIFICATION:
        values = targets.map(_to_bool).astype(float).to_numpy()
        return torch.tensor(values, dtype=torch.float32)
    if tt in (TaskType.REGRESSION, TaskType.FORECASTING):
        values = pd.to_numeric(targets, errors="coerce").astype(float).to_numpy()
        return torch.tensor((values - info.mean) / info.std, dtype=torch.float32)
    if tt is TaskType.MULTICLASS_CLASSIFICATION:
        lookup = {c: i for i, c in enumerate(info.classes)}
        return torch.tensor([lookup.get(v, -1) for v in targets], dtype=torch.long)
    if tt.is_multilabel:
        lookup = {c: i for i, c in enumerate(info.classes)}
        y = torch.zeros(len(targets), len(info.classes))
        for r, items in enumerate(targets):
            for item in items if items is not None else []:
                if item in lookup:
                    y[r, lookup[item]] = 1.0
        return y
    raise TrainingError(f"Task type '{tt}' is not supported by this trainer yet.")


def _to_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return bool(value)


def make_examples(graph: Graph, entity_table: str, df: pd.DataFrame, info: TargetInfo) -> Examples:
    """Seeds plus encoded targets, splits and weights from a training-table frame."""
    seeds = make_seeds(graph, entity_table, df)
    frame = seeds.frame
    y = encode_targets(info, frame["TARGET"])
    split = frame["SPLIT"].astype(str).str.lower().to_numpy() if "SPLIT" in frame.columns \
        else np.full(len(frame), "train", dtype=object)
    weight = torch.tensor(frame["WEIGHT"].to_numpy(dtype=float), dtype=torch.float32) \
        if "WEIGHT" in frame.columns else None
    valid = ~torch.isnan(y) if y.is_floating_point() and y.dim() == 1 else y != -1 \
        if y.dim() == 1 else torch.ones(len(y), dtype=torch.bool)
    if not bool(valid.all()):
        keep = valid.numpy()
        return Examples(seeds.rows[valid], seeds.time[valid], frame.loc[keep].reset_index(
            drop=True), y[valid], split[keep], None if weight is None else weight[valid])
    return Examples(seeds.rows, seeds.time, frame, y, split, weight)
