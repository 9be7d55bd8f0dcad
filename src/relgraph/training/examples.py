"""Seeds and labels: a training or prediction table turned into tensors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

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
#: Sample skewness above which non-negative regression targets count as heavy-tailed
#: (counts, sums, amounts): median-type losses then fit ``log1p(target)`` (see losses.py).
SKEWED = 2.0


@dataclass
class TargetInfo:
    """How targets are encoded for the loss, and decoded back for predictions."""

    task_type: TaskType
    classes: list = field(default_factory=list)   # multiclass / multilabel labels
    mean: float = 0.0                             # regression standardisation
    std: float = 1.0
    top_k: int | None = None                      # RANK TOP K
    horizon: int = 1                              # forecasting: windows per example
    log_mean: float = 0.0                         # standardisation of log1p(max(y, 0))
    log_std: float = 1.0
    head: str = ""                                # loss shaping the output (see losses.py)
    shift: float = 0.0                            # regression recalibration on validation:
    scale: float = 1.0                            # prediction = scale * model value + shift
    non_negative: bool = False                    # every training target is >= 0
    skewed: bool = False                          # ... and their skewness is > SKEWED
    log_space: bool = False                       # point/quantile losses fit log1p(target)
    integer: bool = False                         # every training target is an integer
    round_at: float | None = None                 # round up from this fraction (validation)

    @property
    def out_channels(self) -> int:
        if self.is_list_target or self.task_type is TaskType.MULTICLASS_CLASSIFICATION:
            return len(self.classes)
        if self.task_type.is_regression:
            from relgraph.training.losses import params_per_value

            return self.horizon * params_per_value(self.head)
        return 1

    @property
    def is_list_target(self) -> bool:
        """Targets are item lists (multilabel, ranking, link prediction)."""
        return self.task_type.is_multilabel or self.task_type.is_link_pred

    def for_loss(self, loss: object) -> TargetInfo:
        """This encoding with the output head that ``loss`` needs (a copy)."""
        from relgraph.training.losses import LOG_SPACE_LOSSES, head_name, loss_name

        return replace(self, head=head_name(self.task_type, loss),
                       log_space=self.skewed and loss_name(loss) in LOG_SPACE_LOSSES)

    def uncalibrated(self) -> TargetInfo:
        """This encoding without the validation recalibration and rounding (a copy)."""
        return replace(self, shift=0.0, scale=1.0, round_at=None)

    def to_dict(self) -> dict:
        return {"task_type": self.task_type.value, "classes": [_plain(c) for c in self.classes],
                "mean": self.mean, "std": self.std, "top_k": self.top_k,
                "horizon": self.horizon, "log_mean": self.log_mean, "log_std": self.log_std,
                "head": self.head, "shift": self.shift, "scale": self.scale,
                "non_negative": self.non_negative, "skewed": self.skewed,
                "log_space": self.log_space, "integer": self.integer, "round_at": self.round_at}

    @classmethod
    def from_dict(cls, d: dict) -> TargetInfo:
        return cls(TaskType(d["task_type"]), list(d["classes"]), d["mean"], d["std"],
                   d.get("top_k"), int(d.get("horizon", 1)), float(d.get("log_mean", 0.0)),
                   float(d.get("log_std", 1.0)), str(d.get("head", "")),
                   float(d.get("shift", 0.0)), float(d.get("scale", 1.0)),
                   bool(d.get("non_negative", False)), bool(d.get("skewed", False)),
                   bool(d.get("log_space", False)), bool(d.get("integer", False)),
                   _round_at(d))


def _round_at(d: dict) -> float | None:
    """The rounding threshold of a saved encoding (models saved before thresholds were
    fitted stored ``"rounded": true``: half-way rounding)."""
    if d.get("round_at") is not None:
        return float(d["round_at"])
    return 0.5 if d.get("rounded") else None


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Seeds:
    """Rows of the entity table to predict for, at their anchor times."""

    rows: Tensor            # int64 row index in the entity table
    time: Tensor            # int64 anchor, epoch seconds
    frame: pd.DataFrame     # the table rows kept (aligned with rows/time)
    features: pd.DataFrame | None = None  # relational features per row (GBDT learner)
    seed_x: Tensor | None = None  # [n, F] standardized relational features (GNN input)
    past: Tensor | None = None    # [n, K] standardized past targets (NaN unknown)
    base: Tensor | None = None    # [n, C] the GBDT learner's decoded predictions (residual)


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
        values = numeric_targets(train_targets)
        horizon = values.shape[1] if values.ndim == 2 else 1
        flat = values.reshape(-1)
        flat = flat[~np.isnan(flat)]
        mean, std = _moments(flat)
        log_mean, log_std = _moments(np.log1p(np.clip(flat, 0.0, None)))
        non_negative = len(flat) > 0 and float(flat.min()) >= 0.0
        integer = len(flat) > 0 and bool(np.all(flat == np.round(flat)))
        return TargetInfo(task_type, mean=mean, std=std, horizon=horizon, log_mean=log_mean,
                          log_std=log_std, non_negative=non_negative,
                          skewed=non_negative and _skewness(flat) > SKEWED, integer=integer)
    if task_type is TaskType.MULTICLASS_CLASSIFICATION:
        labels = classes or sorted(train_targets.dropna().unique().tolist(), key=str)
        return TargetInfo(task_type, classes=list(labels))
    if task_type.is_multilabel or task_type.is_link_pred:
        labels = classes or sorted({x for v in train_targets.dropna() for x in v}, key=str)
        return TargetInfo(task_type, classes=list(labels))
    return TargetInfo(task_type)


def _moments(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (1.0 when undefined or zero)."""
    if len(values) == 0:
        return 0.0, 1.0
    std = float(values.std(ddof=1)) if len(values) > 1 else 1.0
    return float(values.mean()), std if std > 0 and np.isfinite(std) else 1.0


def _skewness(values: np.ndarray) -> float:
    """Sample skewness (0 for fewer than three values or no spread)."""
    if len(values) < 3:
        return 0.0
    std = float(values.std())
    if not std > 0:
        return 0.0
    return float(np.mean(((values - values.mean()) / std) ** 3))


def numeric_targets(targets: pd.Series) -> np.ndarray:
    """Regression targets as ``[n]`` floats, or ``[n, horizon]`` for forecasting lists."""
    first = next((v for v in targets if v is not None and not (
        isinstance(v, float) and np.isnan(v))), None)
    if first is None or np.isscalar(first):
        return pd.to_numeric(targets, errors="coerce").astype(float).to_numpy()
    lists = [list(v) if v is not None and not np.isscalar(v) else [] for v in targets]
    lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    out = np.full((len(lists), int(lengths.max())), np.nan)
    flat = pd.to_numeric(pd.Series([x for v in lists for x in v], dtype=object),
                         errors="coerce").to_numpy(dtype=float)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[np.repeat(np.arange(len(lists)), lengths), np.arange(len(flat)) - starts] = flat
    return out


def encode_targets(info: TargetInfo, targets: pd.Series) -> Tensor:
    """Targets as the float/long tensor the loss expects."""
    tt = info.task_type
    if tt is TaskType.BINARY_CLASSIFICATION:
        values = targets.map(_to_bool).astype(float).to_numpy()
        return torch.tensor(values, dtype=torch.float32)
    if tt in (TaskType.REGRESSION, TaskType.FORECASTING):
        values = numeric_targets(targets)
        return torch.tensor((values - info.mean) / info.std, dtype=torch.float32)
    if tt is TaskType.MULTICLASS_CLASSIFICATION:
        lookup = {c: i for i, c in enumerate(info.classes)}
        return torch.tensor([lookup.get(v, -1) for v in targets], dtype=torch.long)
    if info.is_list_target:
        return encode_item_lists(info.classes, targets)
    raise TrainingError(f"Task type '{tt}' is not supported by this trainer yet.")


def encode_item_lists(classes: list, targets: pd.Series) -> Tensor:
    """Item lists as a ``[n, max_len]`` index tensor padded with ``-1`` (unknown items dropped)."""
    lookup = pd.Index(classes)
    lists = [[] if v is None or (isinstance(v, float) and np.isnan(v)) else list(v)
             for v in targets]
    lengths = np.array([len(v) for v in lists], dtype=np.int64)
    flat = lookup.get_indexer([x for v in lists for x in v]) if lengths.sum() else \
        np.empty(0, dtype=np.int64)
    out = np.full((len(lists), max(1, int(lengths.max(initial=0)))), -1, dtype=np.int64)
    row = np.repeat(np.arange(len(lists)), lengths)
    col = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[row, col] = flat
    out.sort(axis=1)
    return torch.from_numpy(out[:, ::-1].copy())


def multi_hot(y: Tensor, num_items: int) -> Tensor:
    """``[n, num_items]`` 0/1 float matrix from a padded index tensor."""
    out = torch.zeros(y.shape[0], num_items + 1, device=y.device)
    out.scatter_(1, torch.where(y >= 0, y, num_items), 1.0)
    return out[:, :num_items]


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
    if y.is_floating_point():  # regression; forecasting rows need every window's value
        valid = ~torch.isnan(y) if y.dim() == 1 else ~torch.isnan(y).any(dim=1)
    elif y.dim() == 2:          # item lists: rows without any known item carry no signal
        valid = (y >= 0).any(dim=1) if info.task_type.is_ranking else \
            torch.ones(len(y), dtype=torch.bool)
    else:
        valid = y != -1
    if not bool(valid.all()):
        keep = valid.numpy()
        return Examples(seeds.rows[valid], seeds.time[valid], frame.loc[keep].reset_index(
            drop=True), y=y[valid], split=split[keep],
            weight=None if weight is None else weight[valid])
    return Examples(seeds.rows, seeds.time, frame, y=y, split=split, weight=weight)


def last_training_anchor(ex: Examples) -> int | None:
    """The latest anchor time of the training split (epoch seconds): encoders are fitted
    on the rows visible then. ``None`` without training rows."""
    times = ex.time[ex.index("train")]
    return int(times.max()) if times.numel() else None
