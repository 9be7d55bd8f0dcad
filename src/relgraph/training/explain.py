"""Explanations of a trained model: which columns, which tables, which related rows.

Every answer is about the model that predicts (:class:`~relgraph.training.ensemble.Ensemble`:
the averaged GNN trials blended with the GBDT learner), keyed by ``(table, column)``; a
single GNN, an ensemble, the GBDT learner alone or any blend answer through the same API.
The model's inputs map to columns as follows: a GNN reads each sampled row's encoded
columns and the row's time (``(table, "(time)")``); the seed's relational features
(:mod:`relgraph.aggregates`, GNN seed input and GBDT features) come from the column they
aggregate (:func:`relgraph.aggregates.feature_sources`; row counts are
``(table, "(rows)")``); the entity's past targets are :data:`HISTORY`.

* **Global** (:func:`global_importance`, on the validation split): permutation importance
  (Breiman; scikit-learn's ``permutation_importance``), computed on the whole model. A
  column's values are shuffled across the sampled rows of each validation batch (and its
  relational features across the validation seeds, GNN and GBDT inputs alike, with one
  shared permutation), and the drop of the tune metric is its importance; a table's
  importance shuffles all its columns at once. Subgraphs are sampled once, so only the
  shuffle differs between runs. Model-agnostic, it needs no gradient and answers for the
  blend as deployed.
* **Per prediction** (:func:`explain_seeds`): signed contributions to the explained number
  (``TRUE_PROB``, ``TARGET_PRED``, the predicted class's score). For the GNN, Captum's
  Integrated Gradients (``captum.attr.IntegratedGradients``) on the column vectors of the
  sampled rows (baseline: each column's mean vector over rows visible at the anchor) and
  on the seed's standardized relational features and past targets (baseline 0, the
  training mean); for the GBDT learner, LightGBM's own TreeSHAP
  (``Booster.predict(pred_contrib=True)``), rescaled from margins to probabilities where
  the objective has a link. Both are additive, so the blend combines them with its own
  weights (members averaged, ``gbdt_weight`` for the learner, the recalibration scale).
  Related rows: Integrated Gradients on a gate over each sampled row's input state (0
  blanks the row, 1 keeps it; PyG's "object" node mask), summed per seed and row, averaged
  over the GNN members (the GBDT learner reads aggregates of rows, not rows: with a blend
  weight of 1 the rows named are still the GNN members'). The sampler only returns rows
  visible at the seed's anchor (``docs/CONTRACTS.md``), so every named row is visible
  there.

Why Captum and not ``torch_geometric.explain``: PyG's ``Explainer`` wraps a model called
as ``model(x_dict, edge_index_dict)`` over float node features, and its ``CaptumExplainer``
is Captum underneath; relgraph's model reads encoded columns of per-seed subgraphs plus
seed inputs, and the columns are only separable at the column-vector layer, so Captum is
called there directly. Its Integrated Gradients are complete (contributions add up to
the change of the output from the baseline), which GNNExplainer's learned masks are not,
and they cost a fixed number of passes per batch instead of an optimisation per entity.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from relgraph.aggregates import TIME as TIME_COLUMN
from relgraph.aggregates import FeatureSpec, feature_sources
from relgraph.encoder.table import TableEncoder
from relgraph.graph.visibility import visible
from relgraph.nn.batch import Batch
from relgraph.nn.layers import module_key
from relgraph.task import TaskType
from relgraph.training.ensemble import Ensemble, Member
from relgraph.training.examples import STATIC_ANCHOR, Examples, Seeds, TargetInfo
from relgraph.training.fitting import GraphContext, prediction_metrics
from relgraph.training.gbdt import GBDTModel
from relgraph.training.losses import decode_outputs
from relgraph.training.metrics import higher_is_better

Key = tuple[str, str]
#: The key of the entity's own past targets (a GNN seed input and ``PAST_j``/``LAG_j``).
HISTORY: Key = ("(history)", "past targets")
#: Permutations per column in :func:`global_importance` (the spread is reported as ``std``).
REPEATS = 3
#: Validation seeds used by :func:`global_importance`, at most: the step costs one pass
#: of the whole model per column and repeat, so it is kept to a fraction of training.
MAX_ROWS = 1024
#: Seed-passes of the GNN members that :func:`global_importance` may spend (rows x
#: shuffles x members): a model reading many columns is explained on fewer rows, at
#: least :data:`MIN_ROWS`, so its cost does not grow with the width of the graph.
ROW_PASSES = 32 * 1024
#: Tree evaluations of the GBDT learner that :func:`global_importance` may spend (rows x
#: shuffles x trees, about 7 s at 25 ns each): a learner with many trees (one per class
#: and round) is explained on fewer rows, at least :data:`MIN_ROWS`, so its cost does not
#: grow with the number of classes.
TREE_EVALUATIONS = 2**28
MIN_ROWS = 256
#: Integration steps of Integrated Gradients.
IG_STEPS = 16
#: Rows per table the attribution baselines are averaged over.
REFERENCE_ROWS = 1024


# ---------------------------------------------------------------------- input sources
@dataclass
class InputSources:
    """The ``(table, column)`` of every seed-level input of a model."""

    seed: list[Key] = field(default_factory=list)   # columns of ``Seeds.seed_x``
    gbdt: list[Key] = field(default_factory=list)   # feature columns of the GBDT learner

    @classmethod
    def of(cls, spec: FeatureSpec | None, seed_columns: Sequence[str],
           gbdt: GBDTModel | None) -> InputSources:
        """Sources of the seed features ``seed_columns`` and of ``gbdt``'s features."""
        known = feature_sources(spec) if spec is not None else {}
        return cls([source_of(c, known) for c in seed_columns],
                   [source_of(c, known) for c in (gbdt.columns if gbdt is not None else [])])


def source_of(name: str, known: dict[str, Key]) -> Key:
    """The ``(table, column)`` a relational feature is computed from."""
    if name in known:
        return known[name]
    if name.startswith(("PAST_", "LAG_")):
        return HISTORY
    return ("(other)", name)


def model_keys(ctx: GraphContext, sources: InputSources, with_history: bool) -> list[Key]:
    """Every ``(table, column)`` the model reads, in a stable order."""
    keys: list[Key] = [(t, c) for t, f in ctx.features.items() for c in f.columns]
    keys += [(t, TIME_COLUMN) for t in ctx.times if t in ctx.features]
    keys += sources.seed + sources.gbdt + ([HISTORY] if with_history else [])
    return list(dict.fromkeys(keys))


# ---------------------------------------------------------------------- global
@dataclass
class GlobalExplanation:
    """Column and table importance of a trained model on its validation split.

    Attributes:
        columns: ``table, column, importance, std`` (most important first).
        tables: ``table, importance, std`` (most important first).
        measure: what importance is: the drop of this validation metric when the column
            is shuffled (``"prediction_change"``, the mean absolute change of the
            prediction, where the metric is undefined).
        base_score: the metric without shuffling.
        num_rows: validation seeds used; ``repeats``: shuffles per column.
    """

    columns: pd.DataFrame
    tables: pd.DataFrame
    measure: str
    base_score: float
    num_rows: int
    repeats: int
    seconds: float = 0.0

    def top_columns(self, k: int = 5) -> list[str]:
        """``table.column`` of the ``k`` most important columns (those whose shuffle
        changed the score at all)."""
        cols = self.columns[self.columns["importance"] > 0]
        return [f"{t}.{c}" for t, c in cols[["table", "column"]].head(k)
                .itertuples(index=False)]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns.to_dict(orient="records"),
                "tables": self.tables.to_dict(orient="records"), "measure": self.measure,
                "base_score": self.base_score, "num_rows": self.num_rows,
                "repeats": self.repeats, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GlobalExplanation:
        columns = pd.DataFrame(data["columns"], columns=["table", "column", "importance", "std"])
        tables = pd.DataFrame(data["tables"], columns=["table", "importance", "std"])
        return cls(columns, tables, str(data["measure"]), float(data["base_score"]),
                   int(data["num_rows"]), int(data["repeats"]), float(data.get("seconds", 0)))

    def __str__(self) -> str:
        head = (f"importance = drop of validation {self.measure} when shuffled "
                f"({self.num_rows} rows, {self.repeats} shuffles)")
        return "\n".join([head, "tables:", self.tables.to_string(index=False),
                          "columns:", self.columns.to_string(index=False)])


@dataclass
class _Prepared:
    """One member's validation batches, sampled once."""

    member: Member
    batches: list[tuple[slice, Batch]]


def global_importance(ctx: GraphContext, ensemble: Ensemble, ex: Examples, idx: Tensor,
                      metric: str, sources: InputSources, *, repeats: int = REPEATS,
                      seed: int = 0) -> GlobalExplanation:
    """Permutation importance of every column and table the model reads, on the
    examples at ``idx`` (at most :data:`MAX_ROWS`, and fewer where the GNN passes would
    exceed :data:`ROW_PASSES`; drawn with ``seed``)."""
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    if len(idx) > MAX_ROWS:
        idx = idx[torch.randperm(len(idx), generator=gen)[:MAX_ROWS]].sort().values
    info = ensemble.info
    gbdt_alone = ensemble.gbdt is not None and ensemble.gbdt_weight >= 1.0
    prepared = [] if gbdt_alone else [_prepare(ctx, m, ex, idx) for m in ensemble.members]
    use_gbdt = ensemble.gbdt is not None and ensemble.gbdt_weight > 0
    residual = ensemble.gbdt is not None and ensemble.residual and not gbdt_alone
    keys = model_keys(ctx, sources, ex.past is not None)
    # a shuffle of inputs the model does not read cannot move a prediction: such keys
    # (tables the sampler never reaches, or every key under a constant recalibration)
    # are 0 without a pass
    def read_keys() -> set[Key]:
        return _read_keys(prepared, sources, use_gbdt or residual, ex.past is not None)

    read = set() if info.scale == 0.0 else read_keys()
    groups = len([k for k in keys if k in read]) + len({t for t, c in keys if (t, c) in read})
    gnn_passes = repeats * groups * len(prepared)
    tree_passes = repeats * groups * ensemble.gbdt.num_trees \
        if ensemble.gbdt is not None and (use_gbdt or residual) else 0
    limit = min([len(idx)] + [budget // passes for budget, passes in (
        (ROW_PASSES, gnn_passes), (TREE_EVALUATIONS, tree_passes)) if passes])
    if limit < len(idx) and len(idx) > MIN_ROWS:  # a wide model, or a large learner
        keep = max(MIN_ROWS, limit)
        idx = idx[torch.randperm(len(idx), generator=gen)[:keep]].sort().values
        prepared = [] if gbdt_alone else [_prepare(ctx, m, ex, idx) for m in ensemble.members]
        read = read_keys()
    seed_x = ex.seed_x[idx] if ex.seed_x is not None else None
    past = ex.past[idx] if ex.past is not None else None
    frame = ex.features.iloc[idx.numpy()].reset_index(drop=True) \
        if (use_gbdt or residual) and ex.features is not None else None
    base_rows = ex.base[idx] if residual and ex.base is not None else None
    sign = 1.0 if higher_is_better(metric) else -1.0
    # the learner on the rows as they are: what every shuffle of inputs it does not read gets
    unshuffled = torch.from_numpy(ensemble.gbdt.predict(frame)).to(torch.float32) \
        if frame is not None and ensemble.gbdt is not None else None

    def predict(shuffle: set[Key], g: torch.Generator | None) -> Tensor:
        perm = torch.randperm(len(idx), generator=g) if g is not None else None
        sx = _permute_columns(seed_x, sources.seed, shuffle, perm)
        pt = past[perm] if past is not None and perm is not None and HISTORY in shuffle \
            else past
        gbdt, bp = None, base_rows
        if frame is not None and ensemble.gbdt is not None:
            shuffled = _permute_frame(frame, ensemble.gbdt.columns, sources.gbdt, shuffle,
                                      perm)
            gbdt = unshuffled if shuffled is frame and unshuffled is not None else \
                torch.from_numpy(ensemble.gbdt.predict(shuffled)).to(torch.float32)
            if ensemble.gbdt_weight >= 1.0:  # the GNN's weight is 0: skip its passes
                return ensemble.combine([torch.zeros_like(gbdt)], gbdt)
            if bp is not None and perm is not None:  # residual GNNs read the same learner
                bp = gbdt.reshape(len(idx), -1)
        preds = []
        for prep in prepared:
            outs = []
            with torch.no_grad():
                for sl, batch in prep.batches:
                    b = _permute_rows(batch, shuffle, g) if g is not None else batch
                    b = replace(b, seed_features=None if sx is None else sx[sl].to(ctx.device),
                                past_targets=None if pt is None else pt[sl].to(ctx.device),
                                base_prediction=None if bp is None else bp[sl].to(ctx.device))
                    outs.append(prep.member.model(b).cpu())
            preds.append(decode_outputs(prep.member.info, torch.cat(outs), calibrated=False))
        return ensemble.combine(preds, gbdt if use_gbdt else None)

    base_pred = predict(set(), None)
    base = _metric(ex, idx, base_pred, info, metric)
    measure = metric if not math.isnan(base) else "prediction_change"

    def importance(shuffle: set[Key]) -> tuple[float, float]:
        drops = []
        for _ in range(repeats):
            pred = predict(shuffle, gen)
            if measure == metric:
                drops.append(sign * (base - _metric(ex, idx, pred, info, metric)))
            else:
                drops.append(float((pred - base_pred).abs().mean()))
        arr = np.asarray(drops, dtype=float)
        return float(np.nanmean(arr)), float(np.nanstd(arr))

    def exact(shuffle: set[Key]) -> tuple[float, float]:
        return importance(shuffle & read) if shuffle & read else (0.0, 0.0)

    col_rows = [(t, c, *exact({(t, c)})) for t, c in keys]
    tables = list(dict.fromkeys(t for t, _ in keys))
    tab_rows = [(t, *exact({k for k in keys if k[0] == t})) for t in tables]
    columns = pd.DataFrame(col_rows, columns=["table", "column", "importance", "std"]) \
        .sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    table_df = pd.DataFrame(tab_rows, columns=["table", "importance", "std"]) \
        .sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return GlobalExplanation(columns, table_df, measure, base, len(idx), repeats,
                             time.perf_counter() - t0)


def _read_keys(prepared: list[_Prepared], sources: InputSources, reads_gbdt: bool,
               with_history: bool) -> set[Key]:
    """The keys whose shuffle can change a prediction: columns of tables with sampled
    rows in some batch, the seed inputs, the learner's features and the past targets."""
    read: set[Key] = set(sources.gbdt) if reads_gbdt else set()
    if prepared:  # GNN members read the seed inputs and past targets
        read |= set(sources.seed) | ({HISTORY} if with_history else set())
    for prep in prepared:
        for _, batch in prep.batches:
            for t, nodes in batch.node_dict.items():
                if nodes.numel() == 0:
                    continue
                read |= {(t, c) for c in batch.x_dict.get(t, {})}
                read |= {(t, TIME_COLUMN)} if t in batch.time_dict else set()
    return read


def _prepare(ctx: GraphContext, member: Member, seeds: Seeds, idx: Tensor) -> _Prepared:
    member.model.eval()
    size = member.settings.batch_size
    batches = []
    for start in range(0, len(idx), size):
        pos = idx[start:start + size]
        batches.append((slice(start, start + len(pos)), ctx.prepare(member.sampler, seeds, pos)))
    return _Prepared(member, batches)


def _metric(ex: Examples, idx: Tensor, pred: Tensor, info: TargetInfo, metric: str) -> float:
    value = prediction_metrics(ex, idx, pred, info, [metric]).get(metric)
    return math.nan if value is None else float(value)


def _permute_rows(batch: Batch, shuffle: set[Key], gen: torch.Generator) -> Batch:
    """``batch`` with the shuffled columns (and times) permuted across each table's rows
    (one permutation per table)."""
    tables = {t for t, _ in shuffle}
    x_dict = dict(batch.x_dict)
    time_dict = dict(batch.time_dict)
    for t in tables:
        if t not in batch.node_dict:
            continue
        n = batch.node_dict[t].numel()
        perm = torch.randperm(n, generator=gen).to(batch.node_dict[t].device)
        cols = {c for tt, c in shuffle if tt == t}
        if t in x_dict:
            x_dict[t] = {c: (x[perm] if c in cols else x) for c, x in x_dict[t].items()}
        if TIME_COLUMN in cols and t in time_dict:
            time_dict[t] = time_dict[t][perm]
    return replace(batch, x_dict=x_dict, time_dict=time_dict)


def _permute_columns(x: Tensor | None, sources: list[Key], shuffle: set[Key],
                     perm: Tensor | None) -> Tensor | None:
    if x is None or perm is None:
        return x
    cols = [j for j, k in enumerate(sources) if k in shuffle]
    if not cols:
        return x
    out = x.clone()
    out[:, cols] = x[perm][:, cols]
    return out


def _permute_frame(frame: pd.DataFrame, columns: list[str], sources: list[Key],
                   shuffle: set[Key], perm: Tensor | None) -> pd.DataFrame:
    cols = [c for c, k in zip(columns, sources) if k in shuffle]
    if perm is None or not cols:
        return frame
    order = perm.numpy()
    if 2 * len(cols) <= frame.shape[1]:  # a few columns: move those
        out = frame.copy(deep=False)
        for c in cols:
            out[c] = frame[c].iloc[order].reset_index(drop=True)
        return out
    out = frame.take(order).set_axis(frame.index)  # most (a table): move all, put back the rest
    moved = set(cols)
    rest = [c for c in frame.columns if c not in moved]
    if rest:
        out[rest] = frame[rest]
    return out


# ---------------------------------------------------------------------- per prediction
@dataclass
class EntityExplanation:
    """Why the model predicts what it does for one entity at one anchor time.

    Attributes:
        entity: the entity's primary key; ``anchor_time`` (None for static queries).
        prediction: what batch prediction returns (probability, value, or class).
        explained: the number the contributions explain (``TRUE_PROB``, ``TARGET_PRED``,
            ``SCORE`` of the predicted class), and ``value`` its value.
        columns: ``table, column, contribution`` (signed, in the units of ``value``),
            largest first by magnitude.
        rows: ``table, primary_key, time, score``: the related rows that mattered most
            (signed attribution; every one visible at ``anchor_time``).
    """

    entity: Any
    anchor_time: pd.Timestamp | None
    prediction: Any
    explained: str
    value: float
    columns: pd.DataFrame
    rows: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON- and Parquet-ready)."""
        return {"entity": _plain(self.entity),
                "anchor_time": None if self.anchor_time is None else str(self.anchor_time),
                "prediction": _plain(self.prediction), "explained": self.explained,
                "value": self.value,
                "columns": [{k: _plain(v) for k, v in r.items()}
                            for r in self.columns.to_dict(orient="records")],
                "rows": [{"table": r["table"], "primary_key": str(_plain(r["primary_key"])),
                          "time": None if r["time"] is None or pd.isna(r["time"])
                          else str(r["time"]), "score": float(r["score"])}
                         for r in self.rows.to_dict(orient="records")]}

    def __str__(self) -> str:
        when = "" if self.anchor_time is None else f" at {self.anchor_time}"
        cols = "\n".join(f"  {r.table}.{r.column}: {r.contribution:+.4g}"
                         for r in self.columns.itertuples(index=False))
        rows = "\n".join(f"  {r.table} {r.primary_key!r}"
                         + ("" if r.time is None or pd.isna(r.time) else f" ({r.time})")
                         + f": {r.score:+.4g}" for r in self.rows.itertuples(index=False))
        return (f"entity {self.entity!r}{when}: prediction {self.prediction!r} "
                f"({self.explained} = {self.value:.4g})\ncolumns:\n{cols or '  -'}\n"
                f"related rows:\n{rows or '  -'}")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value)
    return value


@dataclass
class RowNamer:
    """Names sampled rows: ``(table, primary key, time)``."""

    keys: dict[str, np.ndarray]        # primary-key values per table (absent: row index)
    times: dict[str, np.ndarray]       # datetime64 row times of timed tables

    def name(self, table: str, row: int) -> tuple[Any, pd.Timestamp | None]:
        keys = self.keys.get(table)
        key = keys[row] if keys is not None else row
        tm = self.times.get(table)
        when = None if tm is None or pd.isna(tm[row]) else pd.Timestamp(tm[row])
        return _plain(key), when


def explain_seeds(ctx: GraphContext, ensemble: Ensemble, seeds: Seeds, sources: InputSources,
                  namer: RowNamer, *, top_columns: int = 10, top_rows: int = 5,
                  steps: int = IG_STEPS, prediction: Callable[[Tensor], list[Any]] | None = None
                  ) -> list[EntityExplanation]:
    """Explain the predictions for every seed of ``seeds`` (see the module docstring)."""
    n = len(seeds.rows)
    if n == 0:
        return []
    idx = torch.arange(n)
    info = ensemble.info
    use_gbdt = ensemble.gbdt is not None and ensemble.gbdt_weight > 0
    gbdt_pred = ensemble.gbdt_predict(seeds, idx) if use_gbdt else None
    prepared = [_prepare(ctx, m, seeds, idx) for m in ensemble.members]
    decoded = []
    with torch.no_grad():
        for prep in prepared:
            outs = [prep.member.model(b).cpu() for _, b in prep.batches]
            decoded.append(decode_outputs(prep.member.info, torch.cat(outs), calibrated=False))
    pred = ensemble.combine(decoded, gbdt_pred)
    cls = pred.argmax(dim=1) if pred.dim() == 2 and \
        info.task_type is not TaskType.FORECASTING else None
    explained = _explained_name(info.task_type)
    value = _select(pred, cls, info.task_type)
    scale = info.scale if info.task_type.is_regression else 1.0
    w = ensemble.gbdt_weight if use_gbdt else 0.0
    # residual members start from the GBDT learner's prediction, which the attributions
    # of their own inputs leave out: it is explained by the learner's contributions
    carried = (1.0 - w) * sum(m.settings.residual for m in ensemble.members) \
        / len(ensemble.members) if ensemble.gbdt is not None else 0.0
    contrib: list[dict[Key, float]] = [{} for _ in range(n)]
    rows: list[dict[tuple[str, int], float]] = [{} for _ in range(n)]
    anchor_min = int(seeds.time.min())
    for prep in prepared:
        refs = _references(ctx, prep.member, anchor_min)
        share = (1.0 - w) * scale / len(prepared)
        for sl, batch in prep.batches:
            sub_cls = None if cls is None else cls[sl]
            cols, row_attr = _attribute(ctx, prep.member, batch, refs, sources, sub_cls,
                                        info.task_type, steps, columns=share != 0.0)
            for i, per in enumerate(cols):
                acc = contrib[sl.start + i]
                for k, v in per.items():
                    acc[k] = acc.get(k, 0.0) + share * v
            for i, per_rows in enumerate(row_attr):
                racc = rows[sl.start + i]
                for r, v in per_rows.items():
                    racc[r] = racc.get(r, 0.0) + v / len(prepared)
    if (w + carried) > 0 and ensemble.gbdt is not None and seeds.features is not None:
        phi = gbdt_contributions(ensemble.gbdt, seeds.features, cls)
        for i in range(n):
            acc = contrib[i]
            for j, k in enumerate(sources.gbdt):
                acc[k] = acc.get(k, 0.0) + (w + carried) * scale * float(phi[i, j])
    shown = prediction(pred) if prediction is not None else value.tolist()
    out = []
    for i in range(n):
        anchor = int(seeds.time[i])
        cols_df = pd.DataFrame([(t, c, v) for (t, c), v in contrib[i].items()],
                               columns=["table", "column", "contribution"])
        cols_df = cols_df.reindex(cols_df["contribution"].abs()
                                  .sort_values(ascending=False, kind="stable").index) \
            .head(top_columns).reset_index(drop=True)
        ranked = sorted(rows[i].items(), key=lambda kv: -abs(kv[1]))[:top_rows]
        named = [(t, *namer.name(t, r), s) for (t, r), s in ranked]
        rows_df = pd.DataFrame(named, columns=["table", "primary_key", "time", "score"])
        entity = seeds.frame["ENTITY"].iloc[i]
        out.append(EntityExplanation(
            _plain(entity), None if anchor >= STATIC_ANCHOR else pd.Timestamp(anchor, unit="s"),
            shown[i], explained, float(value[i]), cols_df, rows_df))
    return out


def _explained_name(task_type: TaskType) -> str:
    if task_type is TaskType.BINARY_CLASSIFICATION:
        return "TRUE_PROB"
    if task_type is TaskType.FORECASTING:
        return "mean TARGET_PRED over the forecast windows"
    if task_type.is_regression:
        return "TARGET_PRED"
    return "SCORE of the predicted class"


def _select(decoded: Tensor, cls: Tensor | None, task_type: TaskType) -> Tensor:
    """The number explained per seed, from decoded outputs."""
    if task_type is TaskType.FORECASTING:
        return decoded.reshape(decoded.shape[0], -1).mean(1)
    if cls is not None:
        return decoded.gather(1, cls.to(decoded.device).unsqueeze(1)).squeeze(1)
    return decoded.reshape(-1)


def _references(ctx: GraphContext, member: Member, anchor: int) -> dict[str, Tensor]:
    """Each table's mean column vectors over (up to :data:`REFERENCE_ROWS`) rows visible
    at ``anchor``: the attribution baselines."""
    model = member.model
    gen = torch.Generator().manual_seed(0)
    out = {}
    with torch.no_grad():
        for t, f in ctx.features.items():
            if not f.columns or module_key(t) not in model.encoders:
                continue
            n = ctx.store.num_nodes(t)
            tm = ctx.store.time(t)
            if tm is not None:
                end = ctx.store.end_time(t)
                mask = visible(tm, torch.tensor(anchor), end)
                rows = torch.nonzero(mask).view(-1)
            else:
                rows = torch.arange(n)
            if len(rows) == 0:
                rows = torch.arange(n)
            if len(rows) > REFERENCE_ROWS:
                rows = rows[torch.randperm(len(rows), generator=gen)[:REFERENCE_ROWS]]
            rows = rows.to(ctx.device)
            x = {c: ctx.tensors[t][c][rows] for c in f.columns}
            encoder = cast(TableEncoder, model.encoders[module_key(t)])
            out[t] = encoder.column_vectors(x, len(rows)).mean(0)
    return out


def _attribute(ctx: GraphContext, member: Member, batch: Batch, refs: dict[str, Tensor],
               sources: InputSources, cls: Tensor | None, task_type: TaskType,
               steps: int, *, columns: bool = True
               ) -> tuple[list[dict[Key, float]], list[dict[tuple[str, int], float]]]:
    """Integrated Gradients of one member on one batch: per seed, the contribution of each
    ``(table, column)`` (unless ``columns=False``) and the attribution of each sampled
    related row."""
    from captum.attr import IntegratedGradients

    model = member.model
    info = member.info
    num = batch.num_seeds
    with torch.no_grad():
        vectors = model.column_vectors(batch)
    tables = [t for t, v in vectors.items() if v.shape[0] > 0 and t in refs]
    inputs: list[Tensor] = [vectors[t].unsqueeze(0) for t in tables]
    baselines: list[Tensor] = [refs[t].expand_as(vectors[t]).unsqueeze(0) for t in tables]
    has_seed = batch.seed_features is not None
    past = batch.past_targets
    known = ~torch.isnan(past) if past is not None else None
    if batch.seed_features is not None:
        inputs.append(batch.seed_features.unsqueeze(0))
        baselines.append(torch.zeros_like(inputs[-1]))
    if past is not None:
        inputs.append(torch.nan_to_num(past).unsqueeze(0))
        baselines.append(torch.zeros_like(inputs[-1]))

    def explained(out: Tensor) -> Tensor:
        return _select(decode_outputs(info, out, calibrated=False), cls, task_type).sum() \
            .reshape(1)

    def by_columns(*xs: Tensor) -> Tensor:
        parts = [x.squeeze(0) for x in xs]
        b = batch
        rest = parts[len(tables):]
        if has_seed:
            b = replace(b, seed_features=rest.pop(0))
        if past is not None and known is not None:
            b = replace(b, past_targets=torch.where(known, rest.pop(0),
                                                    torch.full_like(past, math.nan)))
        return explained(model(b, column_vectors=dict(zip(tables, parts[:len(tables)]))))

    cols: list[dict[Key, float]] = [{} for _ in range(num)]
    if inputs and columns:
        attrs = IntegratedGradients(by_columns).attribute(
            tuple(inputs), baselines=tuple(baselines), n_steps=steps, internal_batch_size=1)
        for t, a in zip(tables, attrs[:len(tables)]):
            per_row = a.squeeze(0).sum(-1).detach()                 # [rows, columns]
            per_seed = torch.zeros(num, per_row.shape[1], dtype=per_row.dtype,
                                   device=per_row.device)
            per_seed.index_add_(0, batch.batch_dict[t], per_row)
            names = ctx.features[t].columns
            values = per_seed.cpu().numpy()
            for i in range(num):
                for j, c in enumerate(names):
                    cols[i][(t, c)] = cols[i].get((t, c), 0.0) + float(values[i, j])
        rest = list(attrs[len(tables):])
        if has_seed:
            seed_attr = rest.pop(0).squeeze(0).detach().cpu().numpy()
            for j, k in enumerate(sources.seed):
                for i in range(num):
                    cols[i][k] = cols[i].get(k, 0.0) + float(seed_attr[i, j])
        if past is not None:
            hist = rest.pop(0).squeeze(0).detach().sum(1).cpu().numpy()
            for i in range(num):
                cols[i][HISTORY] = cols[i].get(HISTORY, 0.0) + float(hist[i])

    # related rows: a gate on every sampled row but the seeds themselves
    gate_tables = [t for t, rows in batch.node_dict.items()
                   if rows.numel() > 0 and module_key(t) in model.encoders]
    fixed = {t: batch.hop_dict[t] == 0 for t in gate_tables}

    def by_rows(*gates: Tensor) -> Tensor:
        gd = {t: torch.where(fixed[t], torch.ones_like(g.squeeze(0)), g.squeeze(0))
              for t, g in zip(gate_tables, gates)}
        return explained(model(batch, row_gates=gd))

    rows: list[dict[tuple[str, int], float]] = [{} for _ in range(num)]
    # the seed's own row, met again deeper in its subgraph, is not a related row
    own = batch.node_dict[ctx.entity_table][:num].cpu().numpy() \
        if ctx.entity_table in batch.node_dict else None
    if gate_tables:
        ones = tuple(torch.ones(1, batch.node_dict[t].numel(), device=ctx.device)
                     for t in gate_tables)
        gattr = IntegratedGradients(by_rows).attribute(
            ones, baselines=tuple(torch.zeros_like(o) for o in ones), n_steps=steps,
            internal_batch_size=1)
        for t, a in zip(gate_tables, gattr):
            score = a.squeeze(0).detach().cpu().numpy()
            owner = batch.batch_dict[t].cpu().numpy()
            node = batch.node_dict[t].cpu().numpy()
            hop = batch.hop_dict[t].cpu().numpy()
            for s, o, r, h in zip(score, owner, node, hop):
                if h == 0 or (own is not None and t == ctx.entity_table and r == own[o]):
                    continue
                key = (t, int(r))
                rows[o][key] = rows[o].get(key, 0.0) + float(s)
    return cols, rows


def gbdt_contributions(model: GBDTModel, features: pd.DataFrame,
                       cls: Tensor | None) -> np.ndarray:
    """``[n, features]`` TreeSHAP contributions of the GBDT learner to its decoded
    prediction (probability of the explained class, or value; forecasting: the mean over
    windows), from LightGBM's ``pred_contrib`` margins, rescaled through the link."""
    x = features[model.columns]
    n, f = len(x), len(model.columns)
    parts = []
    for booster in model.boosters:
        raw = np.asarray(booster.predict(x, num_iteration=booster.best_iteration or None,
                                         pred_contrib=True), dtype=np.float64)
        if model.objective == "multiclass":
            k = max(1, raw.shape[1] // (f + 1))
            full = raw.reshape(n, k, f + 1)
            c = cls.numpy() if cls is not None else full.sum(-1).argmax(1)
            margins, bases = full.sum(-1), full[..., -1]
            p = _softmax(margins)[np.arange(n), c]
            p0 = _softmax(bases)[np.arange(n), c]
            phi = full[np.arange(n), c, :-1]
            parts.append(phi * _ratio(p - p0, phi.sum(1), p * (1 - p))[:, None])
            continue
        phi, base = raw[:, :-1], raw[:, -1]
        if model.objective == "binary":
            margin = base + phi.sum(1)
            p, p0 = _sigmoid(margin), _sigmoid(base)
            phi = phi * _ratio(p - p0, phi.sum(1), p * (1 - p))[:, None]
        parts.append(phi)
    return np.mean(parts, axis=0) if parts else np.zeros((n, f))


def _ratio(num: np.ndarray, den: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``num / den``, the link's slope ``fallback`` where ``den`` is ~0."""
    safe = np.abs(den) > 1e-9
    return np.where(safe, num / np.where(safe, den, 1.0), fallback)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


__all__ = ["HISTORY", "EntityExplanation", "GlobalExplanation", "InputSources", "RowNamer",
           "explain_seeds", "gbdt_contributions", "global_importance", "model_keys",
           "source_of"]
