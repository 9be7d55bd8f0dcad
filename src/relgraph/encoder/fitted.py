"""Fitted column encoders: data-dependent state + vectorized transform + torch module.

A :class:`FittedEncoder` turns a column (``pandas.Series``) into the per-row tensor
kept in the feature store, and builds the ``nn.Module`` mapping a gathered slice
of that tensor to ``[n, channels]``:

============================  =========================  ===========================
encoder                       stored tensor              module
============================  =========================  ===========================
Numerical / Max/MinLog        float32 ``[N, 1]``         linear
  (``na_strategy="separate"``)  float32 ``[N, 2]`` (+NA)
Index / Hash                  int64 ``[N]``              embedding
MultiCategorical              int64 ``[N, k]``, ``-1``   masked mean of embeddings
Datetime                      float32 ``[N, d]``         linear
NumericalList                 float32 ``[N, L]``         linear
TextEmbedding / GloVe / Image float32 ``[N, d]``         linear
Null                          float32 ``[N, 0]``         zeros
============================  =========================  ===========================

Index layouts (Index, MultiCategorical): ``0`` = NA, ``1`` = rare/unseen values,
``2..`` = vocabulary by decreasing count. With ``na_strategy="zero"`` row 0 is a
fixed zero vector. Hash: buckets ``0..M-1`` and ``M`` = NA.

Numerical NA strategies fill the *raw* value (``mean``: column mean, ``zero``: 0)
before the transform; ``separate`` fills the mean and adds an NA indicator feature.
The default scaler (``scaler=None``) is a robust z-score, ``(x - median) / (IQR /
1.349)`` (std if the IQR is 0), with ``|z| > 3`` squashed to ``3 + log1p(|z| - 3)``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from relgraph.encoder._common import factorize_keys, stype_name, to_epoch_seconds, to_float
from relgraph.encoder.config import (
    Datetime,
    EmbeddingScaler,
    Encoder,
    GloVe,
    Hash,
    Image,
    Index,
    MaxLogNumerical,
    MinLogNumerical,
    MultiCategorical,
    NAStrategy,
    Null,
    Numerical,
    NumericalList,
    Scaler,
    TextEmbedding,
    parse_encoder,
)
from relgraph.encoder.stats import (
    ColumnStats,
    compute_column_stats,
    multicategory_counts,
    sequence_lengths_and_values,
    split_multicategorical,
)
from relgraph.encoder.text import TextEmbedder
from relgraph.errors import PlanError

NA_INDEX = 0
RARE_INDEX = 1
_SQUASH_AT = 3.0
_SECONDS_PER_YEAR = 365.2425 * 86400.0
IMAGE_EMBEDDING_DIM = 32


# --------------------------------------------------------------------------- modules
class LinearColumn(nn.Module):
    """``float [n, d] -> [n, channels]`` (a learned bias only when ``d == 0``)."""

    def __init__(self, in_dim: int, channels: int) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.lin = nn.Linear(in_dim, channels) if in_dim > 0 else None
        self.bias = nn.Parameter(torch.zeros(channels)) if in_dim == 0 else None

    def forward(self, x: Tensor) -> Tensor:
        if self.lin is not None:
            return self.lin(x.to(self.lin.weight.dtype).reshape(x.shape[0], -1))
        assert self.bias is not None
        return self.bias.expand(x.shape[0], -1)


class EmbeddingColumn(nn.Module):
    """``int64 [n] -> [n, channels]``; ``padding_idx`` rows stay zero."""

    def __init__(self, num: int, channels: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.emb = nn.Embedding(num, channels, padding_idx=padding_idx)

    def forward(self, x: Tensor) -> Tensor:
        return self.emb(x.reshape(-1).long())


class MultiEmbeddingColumn(nn.Module):
    """``int64 [n, k]`` (``-1`` padded) -> mean of the embeddings of each row."""

    def __init__(self, num: int, channels: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.emb = nn.Embedding(num, channels, padding_idx=padding_idx)

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], -1).long()
        mask = x >= 0
        vec = self.emb(x.clamp(min=0)) * mask.unsqueeze(-1).to(self.emb.weight.dtype)
        cnt = mask.sum(dim=1, keepdim=True).clamp(min=1).to(vec.dtype)
        return vec.sum(dim=1) / cnt


class ZeroColumn(nn.Module):
    """Any ``[n, ...]`` -> zeros ``[n, channels]`` (for :class:`Null`)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.zeros(x.shape[0], self.channels, device=x.device)


# --------------------------------------------------------------------------- base
class FittedEncoder(ABC):
    """An encoder fitted on one column.

    Attributes:
        encoder: the configuration (:class:`Encoder`).
        stype: canonical stype name of the column.
    """

    kind: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[FittedEncoder]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            FittedEncoder._registry[cls.kind] = cls

    def __init__(self, encoder: Encoder, stype: str) -> None:
        self.encoder = encoder
        self.stype = stype

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.encoder}, stype={self.stype!r})"

    @property
    def is_index(self) -> bool:
        """Whether :meth:`transform` yields int64 indices (else float32 features)."""
        return False

    @abstractmethod
    def transform(self, values: pd.Series) -> Tensor:
        """Per-row input tensor of ``values`` (the series is not modified)."""

    @abstractmethod
    def make_module(self, channels: int) -> nn.Module:
        """A fresh module mapping a slice ``[n, ...]`` of :meth:`transform` to ``[n, channels]``."""

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        """Fitted state as plain python / tensors."""

    @classmethod
    @abstractmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> FittedEncoder:
        """Inverse of :meth:`_params`."""

    def state_dict(self) -> dict[str, Any]:
        """Plain-python state, loadable by ``torch.load(weights_only=True)``."""
        return {
            "kind": self.kind,
            "encoder": str(self.encoder),
            "stype": self.stype,
            "params": self._params(),
        }

    @staticmethod
    def from_state_dict(state: dict[str, Any]) -> FittedEncoder:
        """Re-create a fitted encoder from :meth:`state_dict`."""
        try:
            cls = FittedEncoder._registry[state["kind"]]
            encoder = parse_encoder(state["encoder"])
            return cls._from_params(encoder, stype_name(state["stype"]), dict(state["params"]))
        except KeyError as err:
            raise PlanError(f"Invalid fitted-encoder state: missing or unknown {err}.") from None


# --------------------------------------------------------------------------- null
class NullFitted(FittedEncoder):
    """The column is dropped: an empty ``[N, 0]`` tensor and a zero module."""

    kind = "null"

    def transform(self, values: pd.Series) -> Tensor:
        return torch.zeros(len(values), 0, dtype=torch.float32)

    def make_module(self, channels: int) -> nn.Module:
        return ZeroColumn(channels)

    def _params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> NullFitted:
        return cls(encoder, stype)


# --------------------------------------------------------------------------- numerical
class NumericalFitted(FittedEncoder):
    """Numerical, MaxLogNumerical and MinLogNumerical."""

    kind = "numerical"

    def __init__(
        self,
        encoder: Encoder,
        stype: str,
        *,
        mode: str,
        shift: float,
        fill: float,
        center: float,
        scale: float,
        squash: bool,
        separate: bool,
    ) -> None:
        super().__init__(encoder, stype)
        self.mode = mode
        self.shift = shift
        self.fill = fill
        self.center = center
        self.scale = scale
        self.squash = squash
        self.separate = separate

    @staticmethod
    def _log(x: np.ndarray, mode: str, shift: float) -> np.ndarray:
        if mode == "maxlog":  # log(x - (min - 1)), clamped at the fitted min
            return np.log(np.maximum(x - (shift - 1.0), 1.0))
        if mode == "minlog":  # log((x - (max + 1)) / -1), clamped at the fitted max
            return np.log(np.maximum((shift + 1.0) - x, 1.0))
        return x

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        x = to_float(values)
        valid = x[~np.isnan(x)]
        mode = {MaxLogNumerical: "maxlog", MinLogNumerical: "minlog"}.get(type(encoder), "linear")
        if mode == "maxlog":
            shift = float(valid.min()) if valid.size else 0.0
        elif mode == "minlog":
            shift = float(valid.max()) if valid.size else 0.0
        else:
            shift = 0.0
        na = NAStrategy(encoder.na_strategy)  # type: ignore[attr-defined]
        mean = float(valid.mean()) if valid.size else 0.0
        fill = 0.0 if na is NAStrategy.ZERO else mean
        t = cls._log(valid, mode, shift)
        scaler = getattr(encoder, "scaler", None)
        squash = False
        if t.size == 0:
            center, scale = 0.0, 1.0
        elif scaler == Scaler.STANDARD:
            center, scale = float(t.mean()), float(t.std())
        elif scaler == Scaler.MINMAX:
            center, scale = float(t.min()), float(t.max() - t.min())
        elif scaler == Scaler.ROBUST:
            q1, med, q3 = np.quantile(t, [0.25, 0.5, 0.75])
            center, scale = float(med), float(q3 - q1)
        else:
            q1, med, q3 = np.quantile(t, [0.25, 0.5, 0.75])
            center, scale = float(med), float(q3 - q1) / 1.349
            if not scale > 0:
                scale = float(t.std())
            squash = True
        if not (math.isfinite(scale) and scale > 0):
            scale = 1.0
        return cls(
            encoder,
            stype,
            mode=mode,
            shift=shift,
            fill=fill,
            center=center,
            scale=scale,
            squash=squash,
            separate=na is NAStrategy.SEPARATE,
        )

    def transform(self, values: pd.Series) -> Tensor:
        x = to_float(values)
        na = np.isnan(x)
        x[na] = self.fill
        z = (self._log(x, self.mode, self.shift) - self.center) / self.scale
        if self.squash:
            a = np.abs(z)
            z = np.sign(z) * np.where(
                a > _SQUASH_AT, _SQUASH_AT + np.log1p(np.maximum(a - _SQUASH_AT, 0.0)), a
            )
        z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
        cols = [z, na.astype(np.float64)] if self.separate else [z]
        return torch.from_numpy(np.stack(cols, axis=1).astype(np.float32))

    def make_module(self, channels: int) -> nn.Module:
        return LinearColumn(2 if self.separate else 1, channels)

    def _params(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "shift": self.shift,
            "fill": self.fill,
            "center": self.center,
            "scale": self.scale,
            "squash": self.squash,
            "separate": self.separate,
        }

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> NumericalFitted:
        return cls(encoder, stype, **params)


# --------------------------------------------------------------------------- index
def _vocab(stats_counts: dict[str, int], min_occ: int) -> list[str]:
    return [k for k, c in stats_counts.items() if c >= min_occ]


class IndexFitted(FittedEncoder):
    """Index: ``0`` = NA, ``1`` = rare/unseen, ``2..`` = vocabulary."""

    kind = "index"

    def __init__(self, encoder: Encoder, stype: str, *, vocab: list[str], na_id: int) -> None:
        super().__init__(encoder, stype)
        self.vocab = list(vocab)
        self.na_id = na_id
        self._lookup = {k: i + 2 for i, k in enumerate(self.vocab)}

    @property
    def is_index(self) -> bool:
        return True

    @property
    def num_embeddings(self) -> int:
        """Rows of the embedding table."""
        return len(self.vocab) + 2

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        assert isinstance(encoder, Index)
        vocab = _vocab(stats.category_counts, encoder.min_occ)
        na = NAStrategy(encoder.na_strategy)
        na_id = NA_INDEX
        if na is NAStrategy.MOST_FREQUENT:
            top = stats.most_frequent
            na_id = (vocab.index(top) + 2) if top in vocab else RARE_INDEX
        return cls(encoder, stype, vocab=vocab, na_id=na_id)

    def transform(self, values: pd.Series) -> Tensor:
        codes, keys = factorize_keys(values)
        ids = np.fromiter((self._lookup.get(k, RARE_INDEX) for k in keys), np.int64, len(keys))
        out = np.full(len(codes), self.na_id, dtype=np.int64)
        m = codes >= 0
        out[m] = ids[codes[m]]
        return torch.from_numpy(out)

    def make_module(self, channels: int) -> nn.Module:
        zero = NAStrategy(self.encoder.na_strategy) is NAStrategy.ZERO  # type: ignore[attr-defined]
        return EmbeddingColumn(
            self.num_embeddings, channels, padding_idx=NA_INDEX if zero else None
        )

    def _params(self) -> dict[str, Any]:
        return {"vocab": list(self.vocab), "na_id": self.na_id}

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> IndexFitted:
        return cls(encoder, stype, vocab=list(params["vocab"]), na_id=int(params["na_id"]))


# --------------------------------------------------------------------------- hash
def stable_hash(keys: list[str]) -> np.ndarray:
    """Stable uint64 hashes of strings (pandas' SipHash with its fixed key)."""
    if not keys:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.Series(keys, dtype=object), index=False).to_numpy(
        dtype=np.uint64
    )


class HashFitted(FittedEncoder):
    """Hash: buckets ``0..M-1``; ``M`` = NA (``separate``)."""

    kind = "hash"

    def __init__(self, encoder: Encoder, stype: str, *, num_components: int, na_id: int) -> None:
        super().__init__(encoder, stype)
        self.num_components = num_components
        self.na_id = na_id

    @property
    def is_index(self) -> bool:
        return True

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        assert isinstance(encoder, Hash)
        m = encoder.num_components
        na_id = m
        if NAStrategy(encoder.na_strategy) is NAStrategy.MOST_FREQUENT and stats.most_frequent:
            na_id = int(stable_hash([stats.most_frequent])[0] % np.uint64(m))
        return cls(encoder, stype, num_components=m, na_id=na_id)

    def transform(self, values: pd.Series) -> Tensor:
        codes, keys = factorize_keys(values)
        buckets = (stable_hash(keys) % np.uint64(self.num_components)).astype(np.int64)
        out = np.full(len(codes), self.na_id, dtype=np.int64)
        m = codes >= 0
        out[m] = buckets[codes[m]]
        return torch.from_numpy(out)

    def make_module(self, channels: int) -> nn.Module:
        return EmbeddingColumn(self.num_components + 1, channels)

    def _params(self) -> dict[str, Any]:
        return {"num_components": self.num_components, "na_id": self.na_id}

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> HashFitted:
        return cls(
            encoder, stype, num_components=int(params["num_components"]), na_id=int(params["na_id"])
        )


# --------------------------------------------------------------------------- multicategorical
class MultiCategoricalFitted(FittedEncoder):
    """MultiCategorical: ``[N, k]`` indices padded with ``-1`` (layout as :class:`IndexFitted`)."""

    kind = "multicategorical"

    def __init__(
        self, encoder: Encoder, stype: str, *, vocab: list[str], sep: str | None, separate: bool
    ) -> None:
        super().__init__(encoder, stype)
        self.vocab = list(vocab)
        self.sep = sep
        self.separate = separate
        self._lookup = {k: i + 2 for i, k in enumerate(self.vocab)}

    @property
    def is_index(self) -> bool:
        return True

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        assert isinstance(encoder, MultiCategorical)
        sep = encoder.sep if encoder.sep is not None else stats.separator
        counts = stats.category_counts
        if encoder.sep is not None and encoder.sep != stats.separator:
            counts = multicategory_counts(values, sep)  # recount with the user's separator
        vocab = _vocab(counts, encoder.min_occ)
        separate = NAStrategy(encoder.na_strategy) is NAStrategy.SEPARATE
        return cls(encoder, stype, vocab=vocab, sep=sep, separate=separate)

    def transform(self, values: pd.Series) -> Tensor:
        codes, cell, cats = split_multicategorical(values, self.sep)
        cat_codes, keys = factorize_keys(cats)
        ids = np.fromiter((self._lookup.get(k, RARE_INDEX) for k in keys), np.int64, len(keys))
        item = ids[cat_codes] if len(cat_codes) else np.zeros(0, dtype=np.int64)
        pos = pd.Series(cell).groupby(cell).cumcount().to_numpy(dtype=np.int64)
        k = int(pos.max()) + 1 if pos.size else 1
        num_cells = int(codes.max()) + 1 if codes.size else 0
        # one padded row per distinct cell, plus a last row for null cells
        table = np.full((num_cells + 1, k), -1, dtype=np.int64)
        table[cell, pos] = item
        if self.separate:
            table[num_cells, 0] = NA_INDEX
        out = table[np.where(codes >= 0, codes, num_cells)]
        return torch.from_numpy(out)

    def make_module(self, channels: int) -> nn.Module:
        return MultiEmbeddingColumn(len(self.vocab) + 2, channels)

    def _params(self) -> dict[str, Any]:
        return {"vocab": list(self.vocab), "sep": self.sep, "separate": self.separate}

    @classmethod
    def _from_params(
        cls, encoder: Encoder, stype: str, params: dict[str, Any]
    ) -> MultiCategoricalFitted:
        return cls(
            encoder,
            stype,
            vocab=list(params["vocab"]),
            sep=params["sep"],
            separate=bool(params["separate"]),
        )


# --------------------------------------------------------------------------- datetime
class DatetimeFitted(FittedEncoder):
    """Datetime: sin/cos of minute, hour, day of week/month/year, plus the year."""

    kind = "datetime"

    def __init__(self, encoder: Encoder, stype: str, *, t_min: float, t_max: float) -> None:
        super().__init__(encoder, stype)
        self.t_min = t_min
        self.t_max = t_max

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        return cls(encoder, stype, t_min=stats.min or 0.0, t_max=stats.max or 0.0)

    @property
    def width(self) -> int:
        """Number of features."""
        enc = self.encoder
        assert isinstance(enc, Datetime)
        flags = [
            enc.include_minute,
            enc.include_hour,
            enc.include_day_of_week,
            enc.include_day_of_month,
            enc.include_day_of_year,
        ]
        year = (2 if enc.num_year_periods else 1) if enc.include_year else 0
        return 2 * sum(flags) + year

    def transform(self, values: pd.Series) -> Tensor:
        enc = self.encoder
        assert isinstance(enc, Datetime)
        secs = to_epoch_seconds(values)
        na = np.isnan(secs)
        s = np.where(na, 0.0, secs)
        sec = np.floor(s).astype(np.int64)
        day_sec = sec % 86400
        minute = (day_sec // 60) % 60
        hour = day_sec // 3600
        days = sec // 86400
        d = days.astype("datetime64[D]")
        month = d.astype("datetime64[M]")
        year = d.astype("datetime64[Y]")
        fracs: list[np.ndarray] = []
        if enc.include_minute:
            fracs.append((minute + (day_sec % 60) / 60.0) / 60.0)
        if enc.include_hour:
            fracs.append((hour + minute / 60.0) / 24.0)
        if enc.include_day_of_week:  # 1970-01-01 was a Thursday; Monday = 0
            fracs.append(((days + 3) % 7) / 7.0)
        if enc.include_day_of_month:
            dim = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(
                np.int64
            )
            fracs.append((d - month.astype("datetime64[D]")).astype(np.int64) / dim)
        if enc.include_day_of_year:
            diy = ((year + 1).astype("datetime64[D]") - year.astype("datetime64[D]")).astype(
                np.int64
            )
            fracs.append((d - year.astype("datetime64[D]")).astype(np.int64) / diy)
        if enc.include_year and enc.num_year_periods:
            fracs.append(s / _SECONDS_PER_YEAR / enc.num_year_periods)
        out = np.empty((len(s), self.width), dtype=np.float32)
        for j, f in enumerate(fracs):
            ang = 2.0 * np.pi * f
            out[:, 2 * j] = np.sin(ang)
            out[:, 2 * j + 1] = np.cos(ang)
        if enc.include_year and not enc.num_year_periods:
            span = max(self.t_max - self.t_min, _SECONDS_PER_YEAR)
            out[:, -1] = 2.0 * (s - self.t_min) / span - 1.0
        out[na] = 0.0
        return torch.from_numpy(out)

    def make_module(self, channels: int) -> nn.Module:
        return LinearColumn(self.width, channels)

    def _params(self) -> dict[str, Any]:
        return {"t_min": self.t_min, "t_max": self.t_max}

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> DatetimeFitted:
        return cls(encoder, stype, t_min=float(params["t_min"]), t_max=float(params["t_max"]))


# --------------------------------------------------------------------------- sequence
class NumericalListFitted(FittedEncoder):
    """NumericalList: fixed length ``L`` (fitted max length; padded with 0 / truncated)."""

    kind = "numerical_list"

    def __init__(
        self, encoder: Encoder, stype: str, *, length: int, mean: float, std: float
    ) -> None:
        super().__init__(encoder, stype)
        self.length = length
        self.mean = mean
        self.std = std

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        std = stats.std if stats.std and stats.std > 0 else 1.0
        return cls(
            encoder, stype, length=max(1, stats.max_length or 0), mean=stats.mean or 0.0, std=std
        )

    def transform(self, values: pd.Series) -> Tensor:
        rows, pos, vals = sequence_lengths_and_values(values)
        keep = pos < self.length
        out = np.zeros((len(values), self.length), dtype=np.float64)
        v = np.nan_to_num(vals[keep], nan=0.0, posinf=0.0, neginf=0.0)
        scaler = getattr(self.encoder, "scaler", None)
        if scaler == EmbeddingScaler.STANDARD:
            v = (v - self.mean) / self.std
        out[rows[keep], pos[keep]] = v
        if scaler == EmbeddingScaler.COSINE:
            norm = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norm, out=out, where=norm > 0)
        return torch.from_numpy(out.astype(np.float32))

    def make_module(self, channels: int) -> nn.Module:
        return LinearColumn(self.length, channels)

    def _params(self) -> dict[str, Any]:
        return {"length": self.length, "mean": self.mean, "std": self.std}

    @classmethod
    def _from_params(
        cls, encoder: Encoder, stype: str, params: dict[str, Any]
    ) -> NumericalListFitted:
        return cls(
            encoder,
            stype,
            length=int(params["length"]),
            mean=float(params["mean"]),
            std=float(params["std"]),
        )


# --------------------------------------------------------------------------- text
class TextFitted(FittedEncoder):
    """TextEmbedding, GloVe (mapped to the text embedder) and Image (hashed URL)."""

    kind = "text"

    def __init__(self, encoder: Encoder, stype: str, *, backend: str, dim: int) -> None:
        super().__init__(encoder, stype)
        self.embedder = TextEmbedder.from_backend(backend, dim)

    @property
    def width(self) -> int:
        """Embedding width."""
        return self.embedder.dim

    @classmethod
    def fit(cls, encoder: Encoder, stype: str, values: pd.Series, stats: ColumnStats) -> Any:
        if isinstance(encoder, Image):
            emb = TextEmbedder("hash", IMAGE_EMBEDDING_DIM)
        elif isinstance(encoder, GloVe):
            emb = TextEmbedder(None, encoder.embedding_dim)
        else:
            assert isinstance(encoder, TextEmbedding)
            emb = TextEmbedder(encoder.model_name, encoder.embedding_dim)
        return cls(encoder, stype, backend=emb.backend, dim=emb.dim)

    def transform(self, values: pd.Series) -> Tensor:
        codes, keys = factorize_keys(values)
        out = np.zeros((len(codes), self.width), dtype=np.float32)
        if keys:
            emb = self.embedder.embed(keys)
            m = codes >= 0
            out[m] = emb[codes[m]]
        return torch.from_numpy(out)

    def make_module(self, channels: int) -> nn.Module:
        return LinearColumn(self.width, channels)

    def _params(self) -> dict[str, Any]:
        return {"backend": self.embedder.backend, "dim": self.embedder.dim}

    @classmethod
    def _from_params(cls, encoder: Encoder, stype: str, params: dict[str, Any]) -> TextFitted:
        return cls(encoder, stype, backend=str(params["backend"]), dim=int(params["dim"]))


_FITTERS: dict[type[Encoder], Any] = {
    Numerical: NumericalFitted.fit,
    MaxLogNumerical: NumericalFitted.fit,
    MinLogNumerical: NumericalFitted.fit,
    Index: IndexFitted.fit,
    Hash: HashFitted.fit,
    MultiCategorical: MultiCategoricalFitted.fit,
    Datetime: DatetimeFitted.fit,
    NumericalList: NumericalListFitted.fit,
    TextEmbedding: TextFitted.fit,
    GloVe: TextFitted.fit,
    Image: TextFitted.fit,
}


def fit_encoder(
    encoder: Encoder | str,
    values: pd.Series,
    stype: Any,
    stats: ColumnStats | None = None,
    *,
    column: str | None = None,
) -> FittedEncoder:
    """Fit ``encoder`` (object or string form) on a column of ``stype``.

    ``stats`` are computed when not given. Raises :class:`PlanError` if the
    encoder does not support the stype. ``values`` is not modified.
    """
    enc = parse_encoder(encoder)
    st = stype_name(stype)
    enc.validate_stype(st, column)
    if isinstance(enc, Null):
        return NullFitted(enc, st)
    if stats is None:
        stats = compute_column_stats(values, st)
    fitted: FittedEncoder = _FITTERS[type(enc)](enc, st, values, stats)
    return fitted


__all__ = [
    "DatetimeFitted",
    "EmbeddingColumn",
    "FittedEncoder",
    "HashFitted",
    "IndexFitted",
    "LinearColumn",
    "MultiCategoricalFitted",
    "MultiEmbeddingColumn",
    "NullFitted",
    "NumericalFitted",
    "NumericalListFitted",
    "TextFitted",
    "ZeroColumn",
    "fit_encoder",
    "stable_hash",
]
