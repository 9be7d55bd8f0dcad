"""Anchor times and train/val/test splits.

Anchor rule (temporal queries). Let ``W = (s, e]`` be the target window in seconds (for
``FORECAST N`` the horizon is ``e + (N - 1) * (e - s)``) and ``t_max`` the latest timestamp of
the target table(s). The latest anchor is ``t_max - horizon_end`` (so the newest labels are
complete), or ``end_time`` when given. Anchors step back by ``timeframe_step`` (default: the
window length ``e - s``) while they are ``>= start_time``. The default start is the earliest
timestamp of the target table(s) plus the query's longest finite look-back (the entity
filter's window start, e.g. 90 days for ``WHERE COUNT(orders.*, -90, 0, days) > 0``), so every
anchor sees the filter's whole history, as Kumo's engine does. They are generated newest first.

Split rule (temporal). The default for node tasks is ``ApproxDateOffsetSplit([0.8, 0.1,
0.1])`` (link prediction: ``DateOffsetSplit([-horizon, 0])``, one test and one validation
window). Anchors are assigned newest first: ``test`` = the newest ``round(n * f_test)``
anchors (at least one when ``n >= 3``), ``val`` = the next ``round(n * f_val)`` (at least one
when ``n >= 3``), ``train`` = the rest; e.g. 21 anchors give 17 train, 2 val and 2 test.
Then the *gap rule*: a ``val`` anchor ``v`` is kept only if its label
window ends before every test label window starts, ``v + e <= min(test) + s``; a train anchor
``r`` only if ``r + e <= min(val + test) + s``. Anchors that break the rule (possible when
``timeframe_step`` is shorter than the window) are dropped, so no training label window
overlaps a validation or test label window, and no validation window overlaps a test one.
"""

from __future__ import annotations

import ast as _pyast
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import PlanError

__all__ = ["SplitSpec", "assign_static_splits", "assign_temporal_splits", "make_anchors",
           "parse_split"]

_SPLIT_RE = re.compile(r"^\s*([A-Za-z]+)\s*\((.*)\)\s*$", re.S)
_KINDS = {
    "approxdateoffsetsplit": "approx_date_offset",
    "dateoffsetsplit": "date_offset",
    "temporalsplit": "temporal",
    "randomsplit": "random",
    "timerangesplit": "time_range",
}
DAY = 86400


@dataclass(frozen=True)
class SplitSpec:
    """A parsed split strategy."""

    kind: str  # approx_date_offset | date_offset | temporal | random | time_range
    args: tuple[Any, ...]

    @property
    def is_temporal_only(self) -> bool:
        return self.kind in ("approx_date_offset", "date_offset", "time_range")


def parse_split(text: str) -> SplitSpec:
    """Parse a split string such as ``"ApproxDateOffsetSplit([0.8, 0.1, 0.1])"``."""
    match = _SPLIT_RE.match(text)
    kind = _KINDS.get(match.group(1).lower()) if match else None
    if match is None or kind is None:
        raise PlanError(
            f"Unknown split {text!r}; use ApproxDateOffsetSplit([0.8, 0.1, 0.1]), "
            "DateOffsetSplit([-30, 0]), TemporalSplit([0.8, 0.1, 0.1]), "
            "RandomSplit([0.8, 0.1, 0.1]) or TimeRangeSplit([[start, end], [start, end], "
            "[start, end]])")
    body = match.group(2).strip()
    try:
        args = _pyast.literal_eval(body) if body else None
    except (ValueError, SyntaxError):
        raise PlanError(f"Cannot read the arguments of split {text!r}") from None
    if kind in ("approx_date_offset", "temporal", "random"):
        fractions = [0.8, 0.1, 0.1] if args is None else args
        if (not isinstance(fractions, (list, tuple)) or len(fractions) != 3
                or not all(isinstance(f, (int, float)) and f >= 0 for f in fractions)
                or abs(sum(fractions) - 1.0) > 1e-6 or fractions[0] <= 0):
            raise PlanError(f"{match.group(1)} needs three non-negative fractions for "
                            f"train/val/test summing to 1 (got {args!r})")
        return SplitSpec(kind, tuple(float(f) for f in fractions))
    if kind == "date_offset":
        if (not isinstance(args, (list, tuple)) or len(args) != 2
                or not all(isinstance(o, (int, float)) for o in args) or args[0] > args[1]):
            raise PlanError("DateOffsetSplit needs [val_offset, test_offset] in days relative "
                            f"to the latest anchor, val_offset <= test_offset (got {args!r})")
        return SplitSpec(kind, (float(args[0]), float(args[1])))
    if (not isinstance(args, (list, tuple)) or len(args) != 3
            or not all(isinstance(r, (list, tuple)) and len(r) == 2 for r in args)):
        raise PlanError("TimeRangeSplit needs [[train_start, train_end], [val_start, val_end], "
                        f"[test_start, test_end]] (anchors in [start, end)); got {args!r}")
    try:
        ranges = tuple((_epoch(r[0]), _epoch(r[1])) for r in args)
    except (ValueError, TypeError):
        raise PlanError(f"TimeRangeSplit: cannot read the timestamps in {args!r}") from None
    return SplitSpec(kind, ranges)


def _epoch(value: Any) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.value // 1_000_000_000)


def make_anchors(latest: int, earliest: int, step: int, max_anchors: int | None = None
                 ) -> np.ndarray:
    """Anchor times (epoch seconds, newest first) from ``latest`` back to ``earliest``."""
    if step <= 0:
        raise PlanError(f"timeframe_step must be positive (got {step} seconds)")
    if latest < earliest:
        return np.zeros(0, dtype=np.int64)
    n = (latest - earliest) // step + 1
    if max_anchors is not None:
        n = min(n, max_anchors)
    return latest - step * np.arange(n, dtype=np.int64)


def _counts(n: int, fractions: tuple[float, ...]) -> tuple[int, int]:
    """Number of test and val anchors out of ``n``."""
    if n <= 1:
        return 0, 0
    _, f_val, f_test = fractions
    n_test = max(1, round(n * f_test)) if f_test > 0 else 0
    n_val = max(1, round(n * f_val)) if f_val > 0 and n >= 3 else 0
    while n_test + n_val >= n and (n_test > 0 or n_val > 0):
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n_test, n_val


def assign_temporal_splits(anchors: np.ndarray, spec: SplitSpec, win_start: int,
                           win_end: int) -> np.ndarray:
    """Split name per anchor (``""`` = dropped by the gap rule); ``anchors`` newest first."""
    n = len(anchors)
    splits = np.full(n, "", dtype=object)
    if n == 0:
        return splits
    if spec.kind in ("approx_date_offset", "temporal"):
        n_test, n_val = _counts(n, spec.args)
        order = np.argsort(-anchors, kind="stable")
        splits[order[:n_test]] = "test"
        splits[order[n_test:n_test + n_val]] = "val"
        splits[order[n_test + n_val:]] = "train"
    elif spec.kind == "date_offset":
        latest = int(anchors.max())
        b_val = latest + spec.args[0] * DAY
        b_test = latest + spec.args[1] * DAY
        splits[:] = np.where(anchors >= b_test, "test",
                             np.where(anchors >= b_val, "val", "train"))
    elif spec.kind == "time_range":
        for name, (lo, hi) in zip(("train", "val", "test"), spec.args):
            splits[(anchors >= lo) & (anchors < hi)] = name
    else:
        raise PlanError(f"Split {spec.kind} applies to static queries only; use "
                        "ApproxDateOffsetSplit, DateOffsetSplit or TimeRangeSplit")
    # gap rule: later splits' label windows must not overlap earlier splits' ones
    test = anchors[splits == "test"]
    if len(test):
        bound = int(test.min()) + win_start
        splits[(splits == "val") & (anchors + win_end > bound)] = ""
        splits[(splits == "train") & (anchors + win_end > bound)] = ""
    val = anchors[splits == "val"]
    if len(val):
        bound = int(val.min()) + win_start
        splits[(splits == "train") & (anchors + win_end > bound)] = ""
    return splits


def assign_static_splits(num_rows: int, spec: SplitSpec, order_key: np.ndarray | None,
                         seed: int = 42) -> np.ndarray:
    """Split name per row of a static training table.

    ``temporal``: rows sorted by ``order_key`` (time; ties by position), earliest ``f_train``
    train, then val, then test. ``random``: a seeded permutation.
    """
    if spec.is_temporal_only:
        raise PlanError(f"Split {spec.kind} needs a temporal query; use TemporalSplit or "
                        "RandomSplit for static queries")
    f_train, f_val, _ = spec.args
    n_train = round(num_rows * f_train)
    n_val = round(num_rows * f_val)
    if spec.kind == "temporal" and order_key is not None:
        order = np.argsort(order_key, kind="stable")
    else:
        order = np.random.default_rng(seed).permutation(num_rows)
    splits = np.full(num_rows, "test", dtype=object)
    splits[order[:n_train]] = "train"
    splits[order[n_train:n_train + n_val]] = "val"
    return splits
