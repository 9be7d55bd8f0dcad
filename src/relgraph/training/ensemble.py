"""Ensembles of AutoML trials.

The best trial on validation is often best by chance: on a small or heavy-tailed validation
set, the trials' scores differ by less than their noise, and picking the top one adds the
variance of that pick. The trials that validation cannot tell apart from the best one are
averaged instead (a paired bootstrap over the validation rows decides), and a trial that is
clearly worse stays out.

Members share the best trial's output head, so their decoded outputs (probabilities, scores
or target values before the validation recalibration) can be averaged; the recalibration is
then fitted and applied to the average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from relgraph.nn.model import ModelSpec, RelGraphModel
from relgraph.sampling import NeighborSampler
from relgraph.training.examples import Seeds, TargetInfo
from relgraph.training.fitting import (
    GraphContext,
    TrialResult,
    make_sampler,
    metric_predictions,
    predict_outputs,
)
from relgraph.training.gbdt import GBDTModel
from relgraph.training.losses import decode_outputs, decode_quantiles, recalibrate
from relgraph.training.metrics import compute_metrics, higher_is_better
from relgraph.training.settings import TrialSettings

#: A trial joins the best one unless it scores worse on at least this share of the
#: bootstrap resamples of the validation rows. Lenient on purpose: the best trial is the
#: maximum of several noisy scores, so the others look worse than they are.
WORSE_SHARE = 0.95
NUM_RESAMPLES = 100


def comparable_trials(results: list[TrialResult], best: int, info: TargetInfo,
                      target: Any, tune_metric: str, *, seed: int = 0) -> list[int]:
    """Indices of ``results`` to average: ``best`` first, then every trial with the same
    output head whose validation ``tune_metric`` is not reliably worse than the best's.

    ``target`` holds the validation targets at the positions ``results[best].val_pos``
    (the form :func:`relgraph.training.fitting.target_values` gives). Reliably worse: worse
    on at least :data:`WORSE_SHARE` of :data:`NUM_RESAMPLES` paired bootstrap resamples.
    """
    ref = results[best]
    if ref.val_raw is None or ref.val_pos is None or len(ref.val_pos) < 2:
        return [best]
    ref_info = info.for_loss(ref.settings.loss)
    sign = 1.0 if higher_is_better(tune_metric) else -1.0
    order = torch.argsort(ref.val_pos)
    preds = {best: _decoded(ref, info)[order]}
    for i, res in enumerate(results):
        if i == best or res.pruned or res.val_raw is None or res.val_pos is None:
            continue
        if info.for_loss(res.settings.loss).head != ref_info.head or \
                not torch.equal(torch.sort(res.val_pos).values, ref.val_pos[order]):
            continue
        preds[i] = _decoded(res, info)[torch.argsort(res.val_pos)]
    if len(preds) == 1:
        return [best]
    n = len(order)
    if info.task_type.is_regression:  # forecasting: one row of windows per example
        target = np.asarray(target).reshape(n, -1)
    target = _take(target, order.numpy())
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, n, n) for _ in range(NUM_RESAMPLES)]

    def scores(pred: Tensor) -> np.ndarray:
        mp = pred.numpy() if info.task_type.is_regression else metric_predictions(pred, ref_info)
        out = [_score(info, tune_metric, _take(target, s), _take(mp, s), sign) for s in samples]
        return np.asarray(out, dtype=float)

    ref_scores = scores(preds[best])
    chosen: list[tuple[float, int]] = []
    for i, pred in preds.items():
        if i == best:
            continue
        mine = scores(pred)
        valid = ~(np.isnan(mine) | np.isnan(ref_scores))
        if not valid.any():
            continue
        worse = float(np.mean(mine[valid] < ref_scores[valid]))
        if worse < WORSE_SHARE:
            chosen.append((-float(np.nanmean(mine)), i))
    return [best] + [i for _, i in sorted(chosen)]


def _decoded(res: TrialResult, info: TargetInfo) -> Tensor:
    assert res.val_raw is not None
    return decode_outputs(info.for_loss(res.settings.loss), res.val_raw, calibrated=False)


def _take(values: Any, idx: np.ndarray) -> Any:
    if isinstance(values, list):
        return [values[i] for i in idx]
    return values[idx]


def _score(info: TargetInfo, metric: str, target: Any, pred: Any, sign: float) -> float:
    if info.task_type.is_regression:
        target, pred = target.reshape(-1), pred.reshape(-1)
    value = compute_metrics(info.task_type, [metric], target, pred).get(metric)
    return math.nan if value is None or math.isnan(value) else sign * float(value)


@dataclass
class Member:
    """One trained trial of an ensemble, ready to predict."""

    settings: TrialSettings
    model: RelGraphModel
    sampler: NeighborSampler
    info: TargetInfo  # the member's output head, without the recalibration


@dataclass
class Parts:
    """An ensemble's components on the rows at ``idx``: the members' averaged decoded
    outputs (``gnn``, uncalibrated), their quantiles and the GBDT learner's predictions
    (``None``: none, or not asked for)."""

    idx: Tensor
    gnn: Tensor
    quantiles: Tensor | None
    gbdt: Tensor | None


class Ensemble:
    """The average of its members' decoded outputs, blended with a GBDT learner's
    predictions (weight :attr:`gbdt_weight`, when one is attached) and recalibrated with
    ``info``."""

    def __init__(self, members: list[Member], info: TargetInfo) -> None:
        if not members:
            raise ValueError("An ensemble needs at least one member.")
        self.members = members
        self.info = info
        self.gbdt: GBDTModel | None = None
        self.gbdt_weight = 0.0

    @property
    def residual(self) -> bool:
        """Whether a member corrects the GBDT learner (reads its predictions)."""
        return any(m.settings.residual for m in self.members)

    def attach_gbdt(self, model: GBDTModel, weight: float) -> None:
        """Blend ``weight * gbdt + (1 - weight) * GNN`` (seeds must carry ``features``)."""
        self.gbdt, self.gbdt_weight = model, float(weight)

    @classmethod
    def build(cls, ctx: GraphContext,
              trained: list[tuple[TrialSettings, ModelSpec, dict[str, Tensor]]],
              info: TargetInfo, *, seed: int) -> Ensemble:
        """Models from ``(settings, spec, state_dict)``; ``info`` carries the head of the
        first (best) one and the recalibration."""
        members = []
        for settings, spec, state in trained:
            member_info = info.uncalibrated().for_loss(settings.loss)
            model = ctx.model(spec)
            model.load_state_dict(state)
            sampler = make_sampler(ctx, settings, torch.Generator().manual_seed(seed))
            members.append(Member(settings, model, sampler, member_info))
        return cls(members, info)

    @property
    def best(self) -> Member:
        return self.members[0]

    def predict(self, ctx: GraphContext, seeds: Seeds, idx: Tensor,
                max_steps: int | None = None, *, calibrated: bool = True,
                quantiles: bool = False, blended: bool = True
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Positions predicted (``idx``, cut to ``max_steps`` batches of the best member),
        the averaged decoded predictions (blended with the GBDT learner unless
        ``blended=False``) and, with ``quantiles``, the averaged quantiles (``None`` when the
        head has none)."""
        parts = self.parts(ctx, seeds, idx, max_steps, quantiles=quantiles,
                           with_gbdt=blended and self.gbdt_weight > 0)
        pred, quant = self.finish(parts.gnn, parts.gbdt, parts.quantiles,
                                  calibrated=calibrated)
        return parts.idx, pred, quant

    def parts(self, ctx: GraphContext, seeds: Seeds, idx: Tensor, max_steps: int | None = None,
              *, quantiles: bool = False, with_gbdt: bool = False) -> Parts:
        """What :meth:`predict` combines, each component once: the members' averaged
        decoded outputs (and quantiles) and, ``with_gbdt`` (and a learner attached), the
        learner's predictions."""
        if max_steps is not None:
            idx = idx[: max_steps * self.best.settings.batch_size]
        preds: list[Tensor] = []
        qs: list[Tensor] = []
        for m in self.members:
            _, raw = predict_outputs(ctx, m.model, m.sampler, seeds, idx, m.settings.batch_size,
                                     m.info, raw=True)
            if raw.numel() == 0:
                return Parts(idx, raw, None, None)
            preds.append(decode_outputs(m.info, raw, calibrated=False))
            q = decode_quantiles(m.info, raw, calibrated=False) if quantiles else None
            if q is not None:
                qs.append(q)
        gbdt = self.gbdt_predict(seeds, idx) if with_gbdt and self.gbdt is not None else None
        return Parts(idx, torch.stack(preds).mean(0),  # one head: all or no quantiles
                     torch.stack(qs).mean(0) if qs else None, gbdt)

    def finish(self, gnn: Tensor, gbdt: Tensor | None, quantiles: Tensor | None = None, *,
               calibrated: bool = True) -> tuple[Tensor, Tensor | None]:
        """The prediction and quantiles of :meth:`predict` from the members' averaged
        outputs ``gnn`` (and ``quantiles``) and the learner's predictions ``gbdt`` (``None``:
        no blend)."""
        pred, quant = gnn, quantiles
        if pred.numel() == 0:
            return pred, None
        if gbdt is not None and self.gbdt is not None and self.gbdt_weight > 0:
            mixed = blend(pred, gbdt, self.gbdt_weight)
            if quant is not None:  # the quantiles move with the point prediction (median)
                quant = quant + (mixed - pred).reshape(quant.shape[0], -1, 1)
            pred = mixed
        if calibrated and self.info.task_type.is_regression:
            pred = recalibrate(self.info, pred)
            quant = recalibrate(self.info, quant) if quant is not None else None
        return pred, quant

    def combine(self, preds: list[Tensor], gbdt: Tensor | None, *,
                calibrated: bool = True) -> Tensor:
        """The ensemble's prediction from its members' decoded outputs (``calibrated=False``)
        and the GBDT learner's (``None`` without one): what :meth:`predict` computes."""
        return self.finish(torch.stack(preds).mean(0), gbdt, calibrated=calibrated)[0]

    def gbdt_predict(self, seeds: Seeds, idx: Tensor) -> Tensor:
        """The attached GBDT learner's decoded predictions for ``seeds`` at ``idx``."""
        assert self.gbdt is not None
        if seeds.features is None:
            raise ValueError("The ensemble blends a GBDT learner: its seeds need features.")
        rows = seeds.features.iloc[idx.numpy()]
        return torch.from_numpy(self.gbdt.predict(rows)).to(torch.float32)


def blend(gnn: Tensor, gbdt: Tensor, weight: float) -> Tensor:
    """``weight * gbdt + (1 - weight) * gnn`` (decoded predictions of the same shape)."""
    return (1.0 - weight) * gnn + weight * gbdt.reshape(gnn.shape).to(gnn.dtype)


#: Blend weights of the GBDT learner: the even blend, or one component alone.
BLEND_WEIGHTS = (0.0, 0.5, 1.0)
#: The weight kept unless validation reliably prefers another: the even blend.
DEFAULT_WEIGHT = 0.5
#: A component alone replaces the even blend when it scores better on at least this share
#: of the paired bootstrap resamples of the validation rows.
BETTER_SHARE = 0.9


def fit_blend(gnn: Tensor, gbdt: Tensor, target: Any, info: TargetInfo, tune_metric: str,
              *, seed: int = 0) -> tuple[float, dict[float, float]]:
    """The GBDT weight of the blend, and every weight's validation score (``tune_metric``,
    higher is better after orienting).

    Two different learners of similar quality are best averaged, and which one validation
    prefers is often noise (the validation split is small or heavy-tailed; a fine grid of
    weights would fit that noise). So the even blend is kept unless one component alone
    scores better and beats it on at least :data:`BETTER_SHARE` of :data:`NUM_RESAMPLES`
    paired bootstrap resamples of the validation rows: the other component then only adds
    error and is dropped.
    """
    sign = 1.0 if higher_is_better(tune_metric) else -1.0
    regression = info.task_type.is_regression
    n = len(gnn)
    if regression:
        target = np.asarray(target).reshape(n, -1)
    preds = {}
    for w in BLEND_WEIGHTS:
        pred = blend(gnn, gbdt, w)
        preds[w] = pred.numpy().reshape(n, -1) if regression else metric_predictions(pred, info)
    scores = {w: _score(info, tune_metric, target, p, sign) for w, p in preds.items()}
    valid = {w: v for w, v in scores.items() if not math.isnan(v)}
    if DEFAULT_WEIGHT not in valid or n < 2:
        return DEFAULT_WEIGHT, scores
    best = max(valid, key=lambda w: (valid[w], -abs(w - DEFAULT_WEIGHT)))
    if best == DEFAULT_WEIGHT:
        return DEFAULT_WEIGHT, scores
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(NUM_RESAMPLES):
        rows = rng.integers(0, n, n)
        t = _take(target, rows)
        mine = _score(info, tune_metric, t, _take(preds[best], rows), sign)
        even = _score(info, tune_metric, t, _take(preds[DEFAULT_WEIGHT], rows), sign)
        wins += int(mine > even)
    return (best if wins >= BETTER_SHARE * NUM_RESAMPLES else DEFAULT_WEIGHT), scores
