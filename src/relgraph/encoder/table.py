"""Table-level encoding: fit one encoder per column, and the module that sums them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from relgraph.encoder._common import stype_name
from relgraph.encoder.config import (
    Encoder,
    Hash,
    Index,
    Null,
    apply_na_strategy,
    default_encoder,
    parse_encoder,
)
from relgraph.encoder.fitted import FittedEncoder, fit_encoder
from relgraph.encoder.stats import ColumnStats, compute_column_stats
from relgraph.errors import PlanError


@dataclasses.dataclass
class TableFeatures:
    """Fitted encoders of a table's feature columns and their tensors.

    Attributes:
        encoders: ``{column: FittedEncoder}`` of the kept (non-``Null``) columns, in
            the order of ``col_to_stype``.
        tensors: ``{column: Tensor}``, the transform of the fitting frame.
        col_to_stype: stype of every kept column.
        dropped: ``{column: reason}`` of the columns encoded as ``Null``.
        col_stats: statistics of the columns (not saved by :meth:`state_dict`;
            ``category_counts`` trimmed to the :data:`MAX_KEPT_CATEGORIES` most frequent).
    """

    encoders: dict[str, FittedEncoder]
    tensors: dict[str, Tensor]
    col_to_stype: dict[str, str]
    dropped: dict[str, str] = dataclasses.field(default_factory=dict)
    col_stats: dict[str, ColumnStats] = dataclasses.field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Kept feature columns in encoder order."""
        return list(self.encoders)

    def encoder_configs(self) -> dict[str, Encoder]:
        """``{column: Encoder}`` for kept and dropped columns (dropped ones as ``Null()``)."""
        out: dict[str, Encoder] = {c: fe.encoder for c, fe in self.encoders.items()}
        out.update({c: Null() for c in self.dropped})
        return out

    def transform(self, df: pd.DataFrame) -> dict[str, Tensor]:
        """Transform the kept columns of ``df`` (which must contain them)."""
        missing = [c for c in self.encoders if c not in df.columns]
        if missing:
            raise PlanError(f"Columns {missing} are missing from the frame to transform.")
        return {c: fe.transform(df[c]) for c, fe in self.encoders.items()}

    def state_dict(self, include_tensors: bool = False) -> dict[str, Any]:
        """Plain-python state (``torch.load(weights_only=True)``-safe)."""
        state: dict[str, Any] = {
            "encoders": {c: fe.state_dict() for c, fe in self.encoders.items()},
            "col_to_stype": dict(self.col_to_stype),
            "dropped": dict(self.dropped),
        }
        if include_tensors:
            state["tensors"] = dict(self.tensors)
        return state

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> TableFeatures:
        """Inverse of :meth:`state_dict` (``tensors`` empty unless they were saved)."""
        return cls(
            encoders={c: FittedEncoder.from_state_dict(s) for c, s in state["encoders"].items()},
            tensors=dict(state.get("tensors", {})),
            col_to_stype=dict(state["col_to_stype"]),
            dropped=dict(state.get("dropped", {})),
        )


#: Categories kept per column in :attr:`TableFeatures.col_stats` (most frequent first).
MAX_KEPT_CATEGORIES = 1000


def _trimmed(stats: ColumnStats) -> ColumnStats:
    if len(stats.category_counts) <= MAX_KEPT_CATEGORIES:
        return stats
    top = dict(list(stats.category_counts.items())[:MAX_KEPT_CATEGORIES])
    return dataclasses.replace(stats, category_counts=top)


def _apply_default_na(
    enc: Encoder, stype: str, stats: ColumnStats, na_strategy: Mapping[Any, Any] | None
) -> Encoder:
    """Apply the global NA strategy to an inferred encoder.

    ``Hash`` has no ``"zero"`` strategy; for an inferred ``Hash`` it is replaced by
    ``Index(na_strategy="zero")`` with ``min_occ`` raised until the vocabulary fits
    ``num_components`` (rarer values share the rare bucket).
    """
    try:
        return apply_na_strategy(enc, stype, na_strategy)
    except PlanError:
        if not isinstance(enc, Hash):
            raise
        counts = np.fromiter(stats.category_counts.values(), dtype=np.int64)
        min_occ = 1
        if counts.size > enc.num_components:
            min_occ = int(np.sort(counts)[::-1][enc.num_components]) + 1
        return apply_na_strategy(Index(min_occ=min_occ), stype, na_strategy)


def fit_table_encoders(
    df: pd.DataFrame,
    col_to_stype: Mapping[str, Any],
    overrides: Mapping[str, Encoder | str] | None = None,
    na_strategy: Mapping[Any, Any] | None = None,
    fit_rows: np.ndarray | None = None,
) -> TableFeatures:
    """Fit an encoder per column of ``col_to_stype`` and transform ``df``.

    ``fit_rows`` (a boolean mask over ``df``, default all rows) selects the rows whose
    statistics fit the encoders and choose them (means, quantiles, vocabularies,
    skew); every row is transformed. Each column gets ``overrides[column]`` if given
    (object or string form; used as is), else :func:`default_encoder` with the global
    ``na_strategy`` (``{stype: NAStrategy}``) applied. Columns whose encoder is ``Null``
    are dropped. ``df`` is
    not modified. Raises :class:`PlanError` for unknown columns or invalid encoders.
    """
    overrides = dict(overrides or {})
    unknown = [c for c in overrides if c not in col_to_stype]
    if unknown:
        raise PlanError(
            f"Encoder overrides for unknown columns {unknown}; known feature columns: "
            f"{list(col_to_stype)}."
        )
    missing = [c for c in col_to_stype if c not in df.columns]
    if missing:
        raise PlanError(f"Columns {missing} of col_to_stype are not in the frame.")
    encoders: dict[str, FittedEncoder] = {}
    tensors: dict[str, Tensor] = {}
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    all_stats: dict[str, ColumnStats] = {}
    if fit_rows is not None and len(fit_rows) != len(df):
        raise PlanError(f"fit_rows has {len(fit_rows)} values for {len(df)} rows.")
    for col, stype in col_to_stype.items():
        st = stype_name(stype)
        all_values = df[col]
        values = all_values if fit_rows is None or fit_rows.all() else all_values[fit_rows]
        if col in overrides:
            try:
                enc = parse_encoder(overrides[col])
            except PlanError as err:
                raise PlanError(f"Column {col!r}: {err}") from None
            enc.validate_stype(st, col)
            if isinstance(enc, Null):
                dropped[col] = "override Null()"
                continue
            stats = compute_column_stats(values, st)
        else:
            stats = compute_column_stats(values, st)
            enc = default_encoder(st, stats)
            if isinstance(enc, Null):
                dropped[col] = f"default for stype {st!r}"
                all_stats[col] = _trimmed(stats)
                continue
            try:
                enc = _apply_default_na(enc, st, stats, na_strategy)
            except PlanError as err:
                raise PlanError(f"Column {col!r}: {err}") from None
        fe = fit_encoder(enc, values, st, stats, column=col)
        all_stats[col] = _trimmed(stats)
        encoders[col] = fe
        tensors[col] = fe.transform(all_values)
        kept[col] = st
    return TableFeatures(encoders, tensors, kept, dropped, all_stats)


class TableEncoder(nn.Module):
    """Sum of per-column vectors followed by LayerNorm: ``[n, channels]`` per row.

    A table without feature columns yields a learned constant vector per row.
    """

    def __init__(self, tf_spec: TableFeatures, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.columns = list(tf_spec.encoders)
        self.col_modules = nn.ModuleList(
            [tf_spec.encoders[c].make_module(channels) for c in self.columns]
        )
        self.const = nn.Parameter(torch.randn(channels) * 0.1) if not self.columns else None
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Mapping[str, Tensor], num_rows: int) -> Tensor:
        """Encode ``num_rows`` rows given ``{column: tensor slice [num_rows, ...]}``: what
        :meth:`pool` of :meth:`column_vectors` gives, summed as the columns are encoded
        (no ``[rows, columns, channels]`` tensor)."""
        if self.const is not None:
            return self.norm(self.const.expand(num_rows, -1))
        vectors = self._vectors(x)
        out = next(vectors)
        for k, v in enumerate(vectors):  # a sum of our own is added to in place
            out = out + v if k == 0 else out.add_(v)
        return self.norm(out)

    def column_vectors(self, x: Mapping[str, Tensor], num_rows: int) -> Tensor:
        """``[num_rows, num_columns, channels]``: each column's vector before the sum (what
        explanations attribute to columns)."""
        if self.const is not None:
            return self.const.new_zeros(num_rows, 0, self.channels)
        return torch.stack(list(self._vectors(x)), dim=1)

    def _vectors(self, x: Mapping[str, Tensor]) -> Iterator[Tensor]:
        """Each column's ``[rows, channels]`` vector, in column order."""
        for col, mod in zip(self.columns, self.col_modules):
            if col not in x:
                raise KeyError(f"TableEncoder input lacks column {col!r}")
            yield mod(x[col])

    def pool(self, vectors: Tensor, num_rows: int) -> Tensor:
        """Rows' vectors from their :meth:`column_vectors`: summed, then normalized."""
        if self.const is not None:
            return self.norm(self.const.expand(num_rows, -1))
        out = vectors[:, 0]
        for j in range(1, vectors.shape[1]):  # in column order, as a plain sum of columns
            out = out + vectors[:, j]
        return self.norm(out)
