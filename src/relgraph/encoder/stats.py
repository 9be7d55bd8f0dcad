"""Column statistics used to choose and fit encoders."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from relgraph.encoder._common import (
    factorize_keys,
    stype_name,
    to_epoch_seconds,
    to_float,
)

#: Quantiles stored for numerical columns.
QUANTILES: tuple[float, ...] = (0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0)
#: Separators tried (in this order of preference on ties) for multicategorical strings.
SEPARATORS: tuple[str, ...] = ("|", ",", ";", "\t", " ")


@dataclasses.dataclass
class ColumnStats:
    """Statistics of one column.

    ``count`` is the number of rows, ``num_na`` of null rows. Numerical (and
    timestamp, in epoch seconds) columns fill ``mean``/``std``/``min``/``max``/
    ``quantiles``/``skew``; categorical and ID fill ``category_counts`` (key ->
    count, most frequent first, ties in order of first appearance); multicategorical
    fills ``category_counts`` with per-category row counts and ``separator``;
    sequence fills ``min_length``/``max_length`` and ``mean``/``std`` over all elements.
    """

    stype: str
    count: int
    num_na: int
    num_unique: int = 0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[float, float] = dataclasses.field(default_factory=dict)
    skew: float | None = None
    category_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    separator: str | None = None
    min_length: int | None = None
    max_length: int | None = None

    @property
    def na_fraction(self) -> float:
        """Fraction of null rows (0 for an empty column)."""
        return self.num_na / self.count if self.count else 0.0

    @property
    def most_frequent(self) -> str | None:
        """Most frequent category key, if any."""
        return next(iter(self.category_counts), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain-python form (``torch.save(weights_only=True)``-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnStats:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def _numeric_summary(x: np.ndarray, stats: ColumnStats) -> None:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return
    stats.mean = float(x.mean())
    stats.std = float(x.std())
    stats.min = float(x.min())
    stats.max = float(x.max())
    qs = np.quantile(x, QUANTILES)
    stats.quantiles = {q: float(v) for q, v in zip(QUANTILES, qs)}
    stats.skew = float(pd.Series(x).skew()) if x.size > 2 else 0.0
    if not np.isfinite(stats.skew):
        stats.skew = 0.0


def _count_keys(codes: np.ndarray, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    per_code = np.bincount(codes[codes >= 0], minlength=len(keys))
    counts = pd.Series(per_code, index=pd.Index(keys, dtype=object))
    if not counts.index.is_unique:  # e.g. 1 and "1" share a key
        counts = counts.groupby(level=0, sort=False).sum()
    names = counts.index.tolist()
    values = counts.to_numpy()
    order = np.argsort(-values, kind="stable")  # count desc, ties in order of appearance
    return dict(zip([names[i] for i in order.tolist()], values[order].tolist()))


def _is_list_like_column(values: pd.Series) -> bool:
    if values.dtype != object:
        return False
    non_null = values.dropna()
    if non_null.empty:
        return False
    first = non_null.iloc[0]
    return isinstance(first, (list, tuple, np.ndarray, set, frozenset))


def detect_separator(values: pd.Series) -> str | None:
    """Separator of a multicategorical string column (``None``: one category per cell).

    The candidate found in the most distinct non-null values wins ("|" > "," > ";" >
    tab > space on ties); a space is used only when no other candidate occurs.
    """
    s = pd.Series(pd.unique(values.dropna().astype(str)))
    if s.empty:
        return None
    best, best_n = None, 0
    for sep in SEPARATORS:
        n = int(s.str.contains(sep, regex=False).sum())
        if sep == " " and best is not None:
            break
        if n > best_n:
            best, best_n = sep, n
    return best


def is_list_like_column(values: pd.Series) -> bool:
    """Whether the cells of an object column are lists/arrays (checks the first non-null)."""
    return _is_list_like_column(values)


def split_multicategorical(
    values: pd.Series, sep: str | None
) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Split a multicategorical column at the level of its distinct cells.

    Returns ``(codes, cell, category)``: ``codes [N]`` maps each row to a distinct
    cell (``-1`` for null), and ``(cell[i], category[i])`` lists the categories of
    each distinct cell in order. String cells are split on ``sep`` once per distinct
    value (whitespace, list brackets and quotes stripped, empty parts dropped);
    list/array cells are taken as is (one "distinct cell" per row).
    """
    n = len(values)
    if _is_list_like_column(values):
        na = values.isna().to_numpy()
        codes = np.where(na, -1, np.arange(n, dtype=np.int64))
        exploded = values.reset_index(drop=True).explode()
    else:
        codes, keys = factorize_keys(values)
        parts = pd.Series(keys, dtype=object).str.strip().str.strip("[]")
        if sep is not None:
            parts = parts.str.split(sep, regex=False)
        else:
            parts = parts.map(lambda v: [v])
        exploded = parts.explode()
    exploded = exploded[exploded.notna()]
    # clean each distinct category string once, then broadcast back
    ecodes, ekeys = factorize_keys(exploded)
    clean = pd.Series(ekeys, dtype=object).str.strip().str.strip("'\"").str.strip()
    cats = clean.to_numpy(dtype=object)[ecodes] if ecodes.size else np.zeros(0, dtype=object)
    keep = cats != ""
    cell = np.asarray(exploded.index.to_numpy()[keep], dtype=np.int64)
    return np.asarray(codes, dtype=np.int64), cell, pd.Series(cats[keep], dtype=object)


def multicategory_counts(values: pd.Series, sep: str | None) -> dict[str, int]:
    """Number of rows containing each category (most frequent first)."""
    codes, cell, cats = split_multicategorical(values, sep)
    if cats.empty:
        return {}
    rows_per_cell = np.bincount(codes[codes >= 0], minlength=int(cell.max()) + 1)
    # a category repeated inside one cell counts once for that row
    pairs = pd.DataFrame({"cell": cell, "cat": cats.to_numpy()}).drop_duplicates()
    pairs["w"] = rows_per_cell[pairs["cell"].to_numpy()]
    counts = pairs.groupby("cat", sort=False)["w"].sum()
    counts = counts[counts > 0]
    counts = counts.iloc[np.argsort(-counts.to_numpy(), kind="stable")]
    return {str(k): int(v) for k, v in counts.items()}


def sequence_lengths_and_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row_index, position, value)`` triples of a sequence column (lists or "[1,2]")."""
    s = values.reset_index(drop=True)
    if not _is_list_like_column(s):
        str_vals = s.dropna().astype(str).str.strip().str.strip("[]")
        s = str_vals.str.split(",", regex=False).reindex(range(len(values)))
    exploded = s.explode()
    exploded = exploded[exploded.notna()]
    if exploded.dtype == object:
        exploded = exploded[exploded.astype(str).str.strip() != ""]
    rows = np.asarray(exploded.index.to_numpy(), dtype=np.int64)
    pos = pd.Series(rows).groupby(rows).cumcount().to_numpy(dtype=np.int64)
    vals = pd.to_numeric(pd.Series(exploded.to_numpy()), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return rows, pos, vals


def compute_column_stats(values: pd.Series, stype: Any) -> ColumnStats:
    """Compute the statistics of one column for ``stype`` (input is not modified)."""
    st = stype_name(stype)
    n = len(values)
    if st in ("multicategorical", "sequence"):
        na_mask = values.isna().to_numpy()
    else:
        na_mask = None
    if st == "numerical":
        x = to_float(values)
        stats = ColumnStats(st, n, int(np.isnan(x).sum()))
        _numeric_summary(x, stats)
        stats.num_unique = int(pd.Series(x).nunique(dropna=True))
    elif st == "timestamp":
        x = to_epoch_seconds(values)
        stats = ColumnStats(st, n, int(np.isnan(x).sum()))
        _numeric_summary(x, stats)
        stats.num_unique = int(pd.Series(x).nunique(dropna=True))
    elif st in ("categorical", "ID", "text", "image"):
        codes, keys = factorize_keys(values)
        stats = ColumnStats(st, n, int((codes < 0).sum()))
        if st in ("categorical", "ID"):
            stats.category_counts = _count_keys(codes, keys)
            stats.num_unique = len(stats.category_counts)
        else:
            stats.num_unique = len(set(keys))
    elif st == "multicategorical":
        assert na_mask is not None
        sep = None if _is_list_like_column(values) else detect_separator(values)
        stats = ColumnStats(st, n, int(na_mask.sum()), separator=sep)
        stats.category_counts = multicategory_counts(values, sep)
        stats.num_unique = len(stats.category_counts)
        codes, cell, _ = split_multicategorical(values, sep)
        if codes.size and (codes >= 0).any():
            per_cell = np.bincount(cell, minlength=int(codes.max()) + 1)
            lengths = per_cell[codes[codes >= 0]]
            stats.min_length, stats.max_length = int(lengths.min()), int(lengths.max())
        else:
            stats.min_length = stats.max_length = 0
    elif st == "sequence":
        assert na_mask is not None
        rows, _, vals = sequence_lengths_and_values(values)
        stats = ColumnStats(st, n, int(na_mask.sum()))
        lengths = np.bincount(rows, minlength=n) if n else np.zeros(0, dtype=np.int64)
        valid = lengths[~na_mask] if n else lengths
        stats.min_length = int(valid.min()) if valid.size else 0
        stats.max_length = int(valid.max()) if valid.size else 0
        finite = vals[np.isfinite(vals)]
        if finite.size:
            stats.mean = float(finite.mean())
            stats.std = float(finite.std())
            stats.min = float(finite.min())
            stats.max = float(finite.max())
    else:
        stats = ColumnStats(st, n, int(values.isna().sum()))
    return stats
