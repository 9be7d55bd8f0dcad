"""Training and inference of one model on sampled subgraphs."""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor

from relgraph.encoder import TableFeatures
from relgraph.errors import TrainingError
from relgraph.nn.batch import Batch
from relgraph.nn.degree import DegreeCache, degree_dim, degree_edge_types
from relgraph.nn.gnn import EdgeType
from relgraph.nn.model import ModelSpec, RelGraphModel
from relgraph.sampling import NeighborSampler
from relgraph.store import GraphStore
from relgraph.task import TaskType
from relgraph.training.examples import Examples, Seeds, TargetInfo
from relgraph.training.features import gather
from relgraph.training.losses import check_targets, compute_loss, decode_outputs, output_offset
from relgraph.training.metrics import compute_metrics, higher_is_better
from relgraph.training.parallel import ParallelStrategy
from relgraph.training.schedule import make_scheduler
from relgraph.training.settings import TrialSettings

ProgressFn = Callable[[dict[str, Any]], None]
T = TypeVar("T")
R = TypeVar("R")

#: Validation outputs up to this many elements are kept with a trial, for the ensemble
#: selection (:mod:`relgraph.training.ensemble`); larger ones (link prediction over very
#: many items) are not, and such trials are not averaged.
MAX_KEPT_OUTPUTS = 5_000_000
#: Sample the next batch in a background thread (see :func:`prefetched`): ``True``,
#: ``False``, or ``None`` = when it has a core to itself (the model runs on a GPU, or the
#: machine has more cores than torch's intra-op threads). On 2 busy-free cores it made a
#: retail-churn epoch slower (9.6-12.6 s vs 7.7-9.2 s); with a spare core it hides sampling.
PREFETCH: bool | None = None


def _prefetch_enabled(device: torch.device) -> bool:
    if PREFETCH is not None:
        return PREFETCH
    return device.type == "cuda" or (os.cpu_count() or 1) > torch.get_num_threads()


@dataclass
class GraphContext:
    """Everything about the graph a model needs, on the training device."""

    store: GraphStore
    features: dict[str, TableFeatures]
    entity_table: str
    device: torch.device
    pkeys: dict[str, str] = field(default_factory=dict)
    target_table: str | None = None      # link prediction: the table of the target items
    tensors: dict[str, dict[str, Tensor]] = field(default_factory=dict)
    times: dict[str, Tensor] = field(default_factory=dict)

    degree_types: dict[str, list[EdgeType]] = field(default_factory=dict)
    degrees: DegreeCache = field(init=False)
    seed_width: int = 0       # relational features per seed (Seeds.seed_x), 0 = none
    past_steps: int = 0       # past targets per seed (Seeds.past), 0 = none

    def __post_init__(self) -> None:
        self.degree_types = degree_edge_types(self.store)
        self.degrees = DegreeCache(self.store, self.degree_types)
        self.tensors = {t: {c: x.to(self.device) for c, x in f.tensors.items()}
                        for t, f in self.features.items()}
        self.times = {t: tm.to(self.device) for t in self.store.node_types
                      if (tm := self.store.time(t)) is not None}

    def model_spec(self, settings: TrialSettings, info: TargetInfo) -> ModelSpec:
        """The architecture of a trial on this graph (with its seed inputs)."""
        return model_spec(settings, info, self.target_table, self.seed_width, self.past_steps)

    def model(self, spec: ModelSpec) -> RelGraphModel:
        model = RelGraphModel(self.features, list(self.times), self.store.edge_types,
                              self.entity_table, spec,
                              {t: degree_dim(self.store, ets)
                               for t, ets in self.degree_types.items()}
                              ).to(self.device)
        table = spec.id_table
        if table is not None and table in self.tensors:
            model.set_target_features(self.tensors[table])
        return model

    def prepare(self, sampler: NeighborSampler, seeds: Seeds, pos: Tensor) -> Batch:
        """Sample the subgraphs of ``seeds`` at positions ``pos`` and gather the model
        inputs (on the device)."""
        rows, anchor = seeds.rows[pos], seeds.time[pos]
        sub = sampler.sample(self.entity_table, rows, anchor)
        node_dict = {t: n for t, n in sub.node_dict.items() if n.numel() > 0}
        batch_dict = {t: b for t, b in sub.batch_dict.items() if t in node_dict}
        degree_dict = {t: self.degrees(t, n, anchor[batch_dict[t]])
                       for t, n in node_dict.items() if self.degree_types.get(t)}
        dev = self.device
        node_dict = {t: n.to(dev) for t, n in node_dict.items()}
        x_dict = gather(self.features, node_dict, self.tensors)
        time_dict = {t: self.times[t].index_select(0, n) for t, n in node_dict.items()
                     if t in self.times}
        return Batch(x_dict, node_dict, {t: b.to(dev) for t, b in batch_dict.items()},
                     {t: h.to(dev) for t, h in sub.hop_dict.items()}, time_dict, anchor.to(dev),
                     {et: ei.to(dev) for et, ei in sub.edge_index_dict.items()},
                     {t: d.to(dev) for t, d in degree_dict.items()},
                     None if seeds.seed_x is None else seeds.seed_x[pos].to(dev),
                     None if seeds.past is None else seeds.past[pos].to(dev),
                     None if seeds.base is None else seeds.base[pos].to(dev))

    def forward(self, model: Any, sampler: NeighborSampler, seeds: Seeds, pos: Tensor, *,
                embed: bool = False, inputs: Batch | None = None) -> Tensor:
        """Run the model on the subgraphs of ``seeds`` at ``pos`` (``embed``: seed
        embeddings); ``inputs`` from :meth:`prepare` skips sampling here."""
        batch = inputs if inputs is not None else self.prepare(sampler, seeds, pos)
        return model.embed(batch) if embed else model(batch)


def prefetched(fn: Callable[[T], R], items: Sequence[T], enabled: bool = True
               ) -> Iterator[tuple[T, R]]:
    """Yield ``(item, fn(item))`` in order, computing the next item's ``fn`` in a background
    thread while the caller works on the current one (sampling overlaps training).

    ``fn`` runs on one thread, strictly in order, so a sampler's generator is consumed
    exactly as without prefetching: results are identical either way.
    """
    if not enabled or len(items) < 2:
        for item in items:
            yield item, fn(item)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="relgraph-prefetch") as pool:
        future = pool.submit(fn, items[0])
        for i, item in enumerate(items):
            result = future.result()
            if i + 1 < len(items):
                future = pool.submit(fn, items[i + 1])
            yield item, result


@dataclass
class TrialResult:
    settings: TrialSettings
    state_dict: dict[str, Tensor]
    best_epoch: int
    val_metrics: dict[str, float | None]
    history: list[dict[str, Any]]
    pruned: bool = False
    seconds: float = 0.0
    # Validation positions and raw outputs of the best epoch (for the ensemble selection);
    # None without validation or when the outputs are too large to keep.
    val_pos: Tensor | None = None
    val_raw: Tensor | None = None


def model_spec(settings: TrialSettings, info: TargetInfo, id_table: str | None = None,
               seed_width: int = 0, past_steps: int = 0) -> ModelSpec:
    info = info.for_loss(settings.loss)
    module = settings.lp_module
    if module == "ranking":        # deprecated names
        module = "context" if info.task_type is TaskType.TEMPORAL_LINK_PREDICTION \
            else "shallow_rhs"
    elif module == "embedding":
        module = "two_tower"
    mode = settings.target_embedding_mode
    if settings.handle_new_target_entities and mode == "lookup":
        mode = "fusion"  # targets unseen in training still get a vector from their columns
    return ModelSpec(id_table=id_table if info.task_type.is_link_pred else None,
                     prediction_time_encodings=settings.prediction_time_encodings,
                     lp_module=module, target_embedding_mode=mode,
                     embedding_dim=settings.output_embedding_dim,
                     distance_measure=settings.distance_measure,
                     model=settings.model, transformer_layers=settings.transformer_layers,
                     num_heads=settings.num_heads,
                     positional_encodings=tuple(settings.positional_encodings),
                     channels=settings.channels, num_layers=settings.num_layers,
                     aggr=tuple(settings.aggr), num_pre_layers=settings.num_pre_layers,
                     num_post_layers=settings.num_post_layers, act=settings.activation,
                     norm=settings.normalization, dropout=settings.dropout,
                     out_channels=info.out_channels, seed_features=seed_width,
                     past_steps=past_steps if settings.past_encoder else 0,
                     past_encoder=settings.past_encoder if past_steps else None,
                     offset=output_offset(info) if settings.residual else None)


def make_sampler(ctx: GraphContext, settings: TrialSettings,
                 generator: torch.Generator | None = None) -> NeighborSampler:
    return NeighborSampler(ctx.store, settings.num_neighbors,
                           strategy="last" if settings.sampling_strategy == "last" else "uniform",
                           adaptive=settings.adaptive_sampling, generator=generator,
                           max_target_neighbors_per_entity=(
                               settings.max_target_neighbors_per_entity),
                           pkeys=ctx.pkeys)


def _epoch_order(ex: Examples, idx: Tensor, settings: TrialSettings, info: TargetInfo,
                 gen: torch.Generator) -> Tensor:
    """Training example order for one epoch (majority down-sampling / weighted sampling)."""
    if settings.weight_mode == "sample" and ex.weight is not None:
        w = ex.weight[idx].clamp(min=0)
        return idx[torch.multinomial(w, len(idx), replacement=True, generator=gen)]
    ratio = settings.majority_sampling_ratio
    if ratio and info.task_type is TaskType.BINARY_CLASSIFICATION:
        y = ex.y[idx]
        pos, neg = idx[y > 0.5], idx[y <= 0.5]
        major, minor = (neg, pos) if len(neg) >= len(pos) else (pos, neg)
        keep = min(len(major), math.ceil(ratio * max(1, len(minor))))
        major = major[torch.randperm(len(major), generator=gen)[:keep]]
        idx = torch.cat([minor, major])
    return idx[torch.randperm(len(idx), generator=gen)]


@torch.no_grad()
def predict_outputs(ctx: GraphContext, model: RelGraphModel, sampler: NeighborSampler,
                    seeds: Seeds, idx: Tensor, batch_size: int, info: TargetInfo,
                    max_steps: int | None = None, *, raw: bool = False
                    ) -> tuple[Tensor, Tensor]:
    """Decoded predictions for ``seeds`` at positions ``idx`` (up to ``max_steps`` batches).

    ``info`` must carry the trial's output head (:meth:`TargetInfo.for_loss`); ``raw``
    returns the model outputs undecoded.
    """
    model.eval()
    if max_steps is not None:
        idx = idx[: max_steps * batch_size]
    outs = []
    batches = [pos for pos in idx.split(batch_size) if len(pos)]

    def prepare(pos: Tensor) -> Batch:
        return ctx.prepare(sampler, seeds, pos)

    for pos, inputs in prefetched(prepare, batches, _prefetch_enabled(ctx.device)):
        out = ctx.forward(model, sampler, seeds, pos, inputs=inputs)
        outs.append((out if raw else decode_outputs(info, out)).cpu())
    if not outs:
        return idx, torch.empty(0)
    return idx, torch.cat(outs)


def evaluate(ctx: GraphContext, model: RelGraphModel, sampler: NeighborSampler, ex: Examples,
             idx: Tensor, settings: TrialSettings, info: TargetInfo, metrics: list[str],
             max_steps: int | None) -> tuple[dict[str, float | None], Tensor, Tensor]:
    """Metrics on ``idx``; also returns the positions used and the raw model outputs."""
    info = info.for_loss(settings.loss)
    pos, raw = predict_outputs(ctx, model, sampler, ex, idx, settings.batch_size, info,
                               max_steps, raw=True)
    return metrics_from_outputs(ex, pos, raw, info, metrics), pos, raw


def metrics_from_outputs(ex: Examples, pos: Tensor, raw: Tensor, info: TargetInfo,
                         metrics: list[str]) -> dict[str, float | None]:
    """``metrics`` of the raw outputs ``raw`` for the examples at positions ``pos``."""
    pred = decode_outputs(info, raw) if raw.numel() else raw
    return prediction_metrics(ex, pos, pred, info, metrics)


def prediction_metrics(ex: Examples, pos: Tensor, pred: Tensor, info: TargetInfo,
                       metrics: list[str]) -> dict[str, float | None]:
    """``metrics`` of the decoded predictions ``pred`` for the examples at ``pos``."""
    return compute_metrics(info.task_type, metrics, target_values(ex.y[pos], info),
                           metric_predictions(pred, info))


def target_values(y: Tensor, info: TargetInfo) -> Any:
    """Encoded targets in the form metrics expect (item lists for ranking tasks)."""
    if info.task_type.is_regression:  # forecasting: every window is one value
        return (y * info.std + info.mean).reshape(-1).numpy()
    if info.is_list_target:
        if info.task_type.is_ranking:
            return [row[row >= 0].tolist() for row in y.numpy()]
        from relgraph.training.examples import multi_hot

        return multi_hot(y, len(info.classes)).numpy()
    return y.numpy()


RANKING_DEPTH = 100


def metric_predictions(pred: Tensor, info: TargetInfo) -> Any:
    """Predictions in the form metrics expect (top item indices for ranking tasks)."""
    if info.task_type.is_ranking:
        k = min(RANKING_DEPTH, pred.shape[1])
        return torch.topk(pred, k, dim=1).indices.numpy()
    if info.task_type.is_regression:
        return pred.reshape(-1).numpy()
    return pred.numpy()


def train_trial(ctx: GraphContext, ex: Examples, settings: TrialSettings, info: TargetInfo,
                metrics: list[str], tune_metric: str, *, train_splits: tuple[str, ...] = ("train",),
                val_split: str | None = "val", fixed_epochs: int | None = None, seed: int = 0,
                progress: ProgressFn | None = None,
                should_prune: Callable[[list[float]], bool] | None = None,
                dist: ParallelStrategy | None = None) -> TrialResult:
    """Train one model; keep the weights of the best validation epoch.

    ``dist`` (a DDP rank's strategy; ``None``: this process trains alone): wraps the model
    in DDP, trains on this rank's shard of the seeds, validates on all ranks.
    """
    start = time.perf_counter()
    info = info.for_loss(settings.loss)
    if info.task_type.is_regression:
        check_targets(info, settings.loss, ex.y[ex.index(train_splits)])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    sampler = make_sampler(ctx, settings, torch.Generator().manual_seed(seed + 1))
    model = ctx.model(ctx.model_spec(settings, info))
    net = dist.wrap_model(model) if dist is not None else model
    optimizer, lookup_opt = _optimizers(model, settings)
    params = list(model.parameters())  # clipped every step: walk the modules once
    train_idx = ex.index(train_splits)
    if len(train_idx) == 0:
        raise TrainingError(f"The training table has no rows in split(s) {train_splits}.")
    if dist is not None:
        train_idx = dist.shard(train_idx)
    val_idx = ex.index(val_split) if val_split else torch.empty(0, dtype=torch.long)
    epochs = fixed_epochs or settings.max_epochs
    steps_per_epoch = max(settings.min_steps_per_epoch,
                          min(settings.max_steps_per_epoch,
                              math.ceil(len(train_idx) / settings.batch_size)))
    scheduler = make_scheduler(optimizer, settings.lr_scheduler, epochs * steps_per_epoch,
                               steps_per_epoch)
    use_weight = settings.weight_mode == "weighted_loss" and ex.weight is not None
    stopping = settings.early_stopping
    patience = stopping.patience if stopping is not None else None
    min_delta = float(stopping.min_delta or 0.0) if stopping is not None else 0.0
    sign = 1.0 if higher_is_better(tune_metric) else -1.0
    best_score, best_epoch, bad_epochs = -math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    best_val: dict[str, float | None] = {}
    best_outputs: tuple[Tensor | None, Tensor | None] = (None, None)
    history: list[dict[str, Any]] = []
    scores: list[float] = []
    for epoch in range(1, epochs + 1):
        net.train()
        t0 = time.perf_counter()
        order = _epoch_order(ex, train_idx, settings, info, gen)
        batches: list[Tensor] = []
        while len(batches) < steps_per_epoch:
            for begin in range(0, len(order), settings.batch_size):
                if len(batches) >= steps_per_epoch:
                    break
                batches.append(order[begin:begin + settings.batch_size])
            order = _epoch_order(ex, train_idx, settings, info, gen)
        total, count = 0.0, 0

        def prepare(pos: Tensor) -> Batch:
            return ctx.prepare(sampler, ex, pos)

        for pos, inputs in prefetched(prepare, batches, _prefetch_enabled(ctx.device)):
            out = ctx.forward(net, sampler, ex, pos, inputs=inputs)
            y = ex.y[pos]
            if settings.target_fraction < 1.0 and info.is_list_target:
                y = subsample_targets(y, settings.target_fraction, gen)
            y = y.to(ctx.device)
            w = ex.weight[pos].to(ctx.device) if use_weight and ex.weight is not None \
                else None
            loss = compute_loss(info, settings.loss, out, y, w)
            if model.aux:
                loss = loss + _auxiliary_loss(model, settings, info, y, w)
            optimizer.zero_grad(set_to_none=True)
            if lookup_opt is not None:
                lookup_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
            optimizer.step()
            if lookup_opt is not None:
                lookup_opt.step()
            if scheduler is not None:
                scheduler.step()
            total += float(loss.detach()) * len(pos)
            count += len(pos)
        record: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(1, count),
                                  "seconds": time.perf_counter() - t0}
        if len(val_idx):
            val, val_pos, val_raw = (dist.evaluate if dist is not None else evaluate)(
                ctx, model, sampler, ex, val_idx, settings, info, metrics,
                settings.max_val_steps)
            record["val"] = val
            value = val.get(tune_metric)
            score = sign * value if value is not None and not math.isnan(value) else -math.inf
            scores.append(score)
            if score > best_score + min_delta or epoch == 1:
                best_score, best_epoch, best_val, bad_epochs = score, epoch, val, 0
                best_state = copy.deepcopy(model.state_dict())
                best_outputs = (val_pos, val_raw) if val_raw.numel() <= MAX_KEPT_OUTPUTS \
                    else (None, None)
            else:
                bad_epochs += 1
        else:
            best_epoch, best_state = epoch, copy.deepcopy(model.state_dict())
        history.append(record)
        if progress is not None:
            progress(record)
        if patience is not None and bad_epochs >= int(patience):
            break
        if should_prune is not None and should_prune(scores):
            return TrialResult(settings, best_state, best_epoch, best_val, history, True,
                               time.perf_counter() - start, *best_outputs)
    return TrialResult(settings, best_state, best_epoch, best_val, history, False,
                       time.perf_counter() - start, *best_outputs)


def subsample_targets(y: Tensor, fraction: float, gen: torch.Generator) -> Tensor:
    """Keep each target item of ``[n, max_len]`` (``-1`` padded) with probability
    ``fraction``, at least one per row that has any (``target_fraction``)."""
    valid = y >= 0
    keep = (torch.rand(y.shape, generator=gen) < fraction) & valid
    # the row's item with the smallest random key is always kept
    key = torch.rand(y.shape, generator=gen).masked_fill(~valid, 2.0)
    first = key.argmin(dim=1, keepdim=True)
    keep.scatter_(1, first, valid.gather(1, first))
    return torch.where(keep, y, torch.full_like(y, -1))


_OPTIMIZERS: dict[str, Any] = {
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad}


def _optimizers(model: RelGraphModel, settings: TrialSettings
                ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
    """The model's optimizer, and a separate one for the link-prediction lookup
    embeddings when ``lookup_optimization`` sets one. Both update all parameters in a
    few multi-tensor steps (``foreach``, also on CPU: the same values as one tensor at a
    time, and faster for the many small tensors of per-column encoders)."""
    lookup = [p for name, p in model.named_parameters()
              if name.startswith(("id_emb.", "id_bias"))]
    if settings.lookup_lr is None or not lookup:
        opt = _OPTIMIZERS[settings.optimizer.lower()](
            model.parameters(), lr=settings.base_lr, weight_decay=settings.weight_decay,
            foreach=True)
        return opt, None
    ids = {id(p) for p in lookup}
    rest = [p for p in model.parameters() if id(p) not in ids]
    opt = _OPTIMIZERS[settings.optimizer.lower()](
        rest, lr=settings.base_lr, weight_decay=settings.weight_decay, foreach=True)
    lookup_cls = _OPTIMIZERS[(settings.lookup_optimizer or settings.optimizer).lower()]
    return opt, lookup_cls(lookup, lr=settings.lookup_lr, foreach=True)


def _auxiliary_loss(model: RelGraphModel, settings: TrialSettings, info: TargetInfo,
                    y: Tensor, weight: Tensor | None) -> Tensor:
    """Link prediction: ``ranking_embedding_loss_coeff`` x the loss of the embedding-only
    scores (so embeddings rank well without ID context) plus ``embedding_norm_reg_coeff``
    x the mean squared norm of entity and target vectors."""
    aux = model.aux
    total = torch.zeros((), device=y.device)
    if settings.ranking_embedding_loss_coeff > 0 and "embedding_scores" in aux:
        total = total + settings.ranking_embedding_loss_coeff * compute_loss(
            info, settings.loss, aux["embedding_scores"], y, weight)
    if settings.embedding_norm_reg_coeff > 0 and "entity_vectors" in aux:
        norms = (aux["entity_vectors"].pow(2).sum(-1).mean()
                 + aux["target_vectors"].pow(2).sum(-1).mean())
        total = total + settings.embedding_norm_reg_coeff * norms
    return total

