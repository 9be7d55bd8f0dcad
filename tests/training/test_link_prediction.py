"""Link-prediction modules, target embedding modes, embedding size and distance measure."""

from __future__ import annotations

import pytest
import torch

import relgraph as rg
from relgraph.nn.model import ModelSpec
from relgraph.store.from_graph import build_store
from relgraph.task import TaskType
from relgraph.testing.graphs import make_purchase_db, small_plan
from relgraph.training.examples import TargetInfo
from relgraph.training.features import fit_graph_features
from relgraph.training.fitting import GraphContext, model_spec
from relgraph.training.settings import HopSpec, TrialSettings

QUERY = "PREDICT LIST_DISTINCT(buys.item_id, 0, 14, days) RANK TOP 5 FOR EACH users.user_id"


@pytest.fixture(scope="module")
def graph() -> rg.Graph:
    return make_purchase_db()


@pytest.fixture(scope="module")
def ctx(graph, tmp_path_factory) -> GraphContext:
    store = build_store(graph, cache_dir=tmp_path_factory.mktemp("stores"))
    return GraphContext(store, fit_graph_features(graph), "users", torch.device("cpu"),
                        {"users": "user_id", "items": "item_id", "buys": "buy_id"}, "items")


def _spec(**kw: object) -> ModelSpec:
    info = TargetInfo(TaskType.TEMPORAL_LINK_PREDICTION, classes=list(range(40)))
    settings = TrialSettings(channels=16, num_neighbors=(HopSpec.of(4), HopSpec.of(4)),
                             **kw)  # type: ignore[arg-type]
    return model_spec(settings, info, "items")


def _names(ctx: GraphContext, **kw: object) -> set[str]:
    return {n.split(".")[0] for n, _ in ctx.model(_spec(**kw)).named_parameters()}


def test_fields_shape_the_model(ctx):
    base = _names(ctx)
    assert {"id_emb", "id_bias", "context_weight"} <= base and "target_tower" not in base
    assert "context_weight" not in _names(ctx, lp_module="shallow_rhs")
    two_tower = _names(ctx, lp_module="two_tower")
    assert "target_tower" in two_tower and "context_weight" not in two_tower
    feature = _names(ctx, target_embedding_mode="feature")
    assert "target_tower" in feature and "id_emb" not in feature
    assert {"target_tower", "id_emb"} <= _names(ctx, target_embedding_mode="fusion")
    shallow = ctx.model(_spec(target_embedding_mode="shallow_feature"))
    assert isinstance(shallow.target_tower, torch.nn.Linear)
    assert "cosine_scale" in _names(ctx, distance_measure="cosine")
    assert ctx.model(_spec(output_embedding_dim=8)).target_vectors().shape == (40, 8)
    assert ctx.model(_spec(output_embedding_dim=24)).target_vectors().shape == (40, 24)
    # deprecated module names map onto the current ones
    assert _spec(lp_module="ranking").lp_module == "context"
    assert _spec(lp_module="embedding").lp_module == "two_tower"


def test_cosine_scores_are_bounded_by_the_scale(ctx):
    model = ctx.model(_spec(distance_measure="cosine", lp_module="shallow_rhs"))
    vec = model.target_vectors()
    q = torch.randn(3, vec.shape[1])
    scores = model.cosine_scale * (torch.nn.functional.normalize(q, dim=-1)
                                   @ torch.nn.functional.normalize(vec, dim=-1).t())
    assert float(scores.abs().max()) <= float(model.cosine_scale) + 1e-5


@pytest.mark.parametrize("variant", [
    {"module": "shallow_rhs", "distance_measure": "cosine"},
    {"module": "two_tower", "target_embedding_mode": "fusion"},
    {"module": "context", "target_embedding_mode": "feature"},
    {"module": "context", "output_embedding_dim": 8, "ranking_embedding_loss_coeff": 0.5,
     "embedding_norm_reg_coeff": 1e-3},
], ids=lambda v: "-".join(str(x) for x in v.values()))
def test_link_prediction_variants_learn_preferences(graph, home, variant):
    pq = rg.PredictiveQuery(graph, QUERY)
    table = pq.generate_training_table()
    plan = small_plan(TaskType.TEMPORAL_LINK_PREDICTION, epochs=4)
    arch = plan.model_architecture
    arch.module = variant["module"]
    for key in ("target_embedding_mode", "distance_measure", "output_embedding_dim",
                "ranking_embedding_loss_coeff", "embedding_norm_reg_coeff"):
        if key in variant:
            setattr(arch, key, [variant[key]])
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    trial = result.best_trial
    assert trial["lp_module"] == variant["module"]
    # A random ranking of 40 items gives map@5 near 0.05; favourites make it far higher.
    assert result.metrics()[f"test_{plan.training_job.tune_metric}"] > 0.15


def test_lookup_optimization_uses_its_own_learning_rate(graph, home):
    from relgraph.plan.model_plan import OptimizerConfig

    table = rg.PredictiveQuery(graph, QUERY).generate_training_table()
    plan = small_plan(TaskType.TEMPORAL_LINK_PREDICTION, epochs=1)
    plan.optimization.lookup_optimization = [OptimizerConfig(optimizer="adagrad",
                                                             base_lr=0.05)]
    result = rg.Trainer(plan, verbose=False).fit(graph, table)
    assert result.best_trial["lookup_optimizer"] == "adagrad"
    assert result.best_trial["lookup_lr"] == 0.05
