"""ModelPlan: defaults, bounds, assignment validation, round trips, applicability."""

# These tests feed loosely typed input on purpose (scalars for tunable lists, dicts for
# config objects, positional arguments) to check the runtime coercion.
# mypy: disable-error-code="list-item,arg-type,call-arg,assignment,union-attr"
# mypy: disable-error-code="index,misc,attr-defined,operator"

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from relgraph.errors import PlanError
from relgraph.plan.model_plan import (
    INFERRED,
    MISSING,
    ColumnProcessingPlan,
    EarlyStoppingConfig,
    FocalLossConfig,
    GNNModelPlan,
    GraphTransformerModelPlan,
    HopConfig,
    HuberLossConfig,
    LossType,
    LRSchedulerConfig,
    Metadata,
    MissingType,
    ModelArchitecturePlan,
    ModelPlan,
    NeighborSamplingPlan,
    NumNeighborsConfig,
    OptimizationPlan,
    OptimizerConfig,
    OrdinalLogLossConfig,
    PlanFieldError,
    PruningConfig,
    QuantileLossConfig,
    RunMode,
    TrainingJobPlan,
    is_missing,
    is_valid_option,
    valid_metric,
)
from relgraph.task import QueryType, TaskType

# ------------------------------------------------------------------------------ defaults


def test_sentinels_and_run_modes() -> None:
    assert MISSING == "???" and MissingType.VALUE == "???"
    assert INFERRED == "inferred"
    assert is_missing("???") and not is_missing("inferred") and not is_missing(None)
    assert [m.value for m in RunMode] == ["fast", "normal", "best", "debug"]
    assert RunMode("normal") is RunMode.NORMAL


def test_training_job_defaults() -> None:
    job = TrainingJobPlan()
    assert job.num_experiments == MISSING
    assert job.metrics == MISSING
    assert job.tune_metric == MISSING
    assert job.pruning == MISSING
    assert job.refit_trainval is True
    assert job.refit_full is False
    assert job.disable_compilation is True
    assert job.disable_explain is False
    assert job.manual_seed is None
    assert job.enable_baselines is False
    pruning = PruningConfig()
    assert (pruning.min_epochs, pruning.k, pruning.min_delta, pruning.patience) == (2, 3, 0.0, 1)


def test_column_processing_and_sampling_defaults() -> None:
    cp = ColumnProcessingPlan()
    assert cp.encoder_overrides is None and cp.na_strategy is None
    ns = NeighborSamplingPlan()
    assert ns.num_neighbors == MISSING
    assert ns.sample_from_entity_table == MISSING
    assert ns.adaptive_sampling is False
    assert ns.max_target_neighbors_per_entity == MISSING


def test_optimization_defaults() -> None:
    opt = OptimizationPlan()
    for name in (
        "max_epochs",
        "min_steps_per_epoch",
        "max_steps_per_epoch",
        "max_val_steps",
        "max_test_steps",
        "loss",
        "lookup_optimization",
        "weight_mode",
        "target_fraction",
        "overlap_ratio",
    ):
        assert getattr(opt, name) == MISSING, name
    assert opt.optimizer == ["Adam"]
    assert opt.base_lr == [1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2]
    assert opt.weight_decay == [0.0, 5e-8, 5e-7, 5e-6]
    assert opt.batch_size == [512, 1024]
    assert opt.early_stopping == [EarlyStoppingConfig(min_delta=0.0, patience=3)]
    assert [s.name for s in opt.lr_scheduler] == [
        "cosine_with_warmup_restarts",
        "constant_with_warmup",
        "linear_with_warmup",
        "cosine_with_warmup",
    ]
    assert all(s.interval == "step" for s in opt.lr_scheduler)
    assert opt.majority_sampling_ratio == [None]


def test_architecture_defaults() -> None:
    arch = ModelArchitecturePlan()
    assert arch.model == [GNNModelPlan()]
    gnn = arch.model[0]
    assert gnn.name == "GNN" and gnn.channels == [64, 128, 256]
    assert gnn.aggregation == [["sum", "mean", "max"], ["sum", "mean", "min", "max", "std"]]
    assert gnn.dropout == [0.0]
    gt = GraphTransformerModelPlan()
    assert gt.name == "GraphTransformer" and gt.channels == [64, 128]
    assert gt.num_layers == [4, 6, 8] and gt.num_heads == [8, 16]
    assert gt.dropout == [0.1, 0.5] and gt.positional_encodings == [None]
    assert arch.num_pre_message_passing_layers == [0, 1, 2]
    assert arch.num_post_message_passing_layers == [1, 2]
    assert arch.activation == ["relu", "leaky_relu", "elu", "gelu"]
    assert arch.normalization == ["layer_norm"]
    assert arch.module == MISSING
    assert arch.handle_new_target_entities is False
    assert arch.target_embedding_mode == ["lookup"]
    assert arch.output_embedding_dim == [32]
    assert arch.ranking_embedding_loss_coeff == [0.0]
    assert arch.embedding_norm_reg_coeff == [0.0]
    assert arch.distance_measure == ["dot_product"]
    assert arch.use_seq_id == [False]
    assert arch.prediction_time_encodings == [False]
    assert arch.past_encoder == ["decomposed"]
    assert arch.handle_new_entities is True
    assert arch.channels is None and arch.aggregation is None  # deprecated


def test_loss_config_defaults() -> None:
    assert FocalLossConfig().to_dict() == {"name": "focal", "alpha": 0.25, "gamma": 2.0}
    assert HuberLossConfig().delta == 1.0
    assert QuantileLossConfig(q=0.9).q == 0.9
    assert OrdinalLogLossConfig().alpha == 1.0
    assert {t.value for t in LossType} >= {
        "binary_cross_entropy",
        "cross_entropy",
        "focal",
        "ordinal_log",
        "mae",
        "mse",
        "huber",
        "normal_distribution",
        "negative_binomial_distribution",
        "log_normal_distribution",
        "multi_quantile",
        "wape",
    }


def test_model_plan_default_sections() -> None:
    plan = ModelPlan()
    assert isinstance(plan.training_job, TrainingJobPlan)
    assert isinstance(plan.optimization, OptimizationPlan)
    assert "optimization.max_epochs" in plan.missing_fields()


# -------------------------------------------------------------------------------- bounds

# (section, field, bad value, fragment of the rule)
BAD_VALUES: list[tuple[str, str, Any, str]] = [
    ("training_job", "num_experiments", 0, ">= 1"),
    ("training_job", "num_experiments", 2.5, "integer"),
    ("training_job", "metrics", [], "non-empty"),
    ("training_job", "tune_metric", "", "non-empty"),
    ("training_job", "pruning", 3, "PruningConfig"),
    ("training_job", "refit_trainval", "yes", "boolean"),
    ("training_job", "manual_seed", "x", "integer"),
    ("column_processing", "encoder_overrides", {"nodot": "Null()"}, "table.column"),
    ("column_processing", "na_strategy", {"numerical": "most_frequent"}, "numerical"),
    ("column_processing", "na_strategy", {"blob": "zero"}, "stypes"),
    ("neighbor_sampling", "num_neighbors", [[16, 129]], "[-1, 128]"),
    ("neighbor_sampling", "num_neighbors", [[-2]], "[-1, 128]"),
    ("neighbor_sampling", "num_neighbors", [[1, 1, 1, 1, 1, 1, 1]], "1 to 6 hops"),
    ("neighbor_sampling", "num_neighbors", [], "non-empty"),
    ("neighbor_sampling", "sample_from_entity_table", 1, "boolean"),
    ("neighbor_sampling", "max_target_neighbors_per_entity", [513], "[-1, 512]"),
    ("optimization", "max_epochs", 0, ">= 1"),
    ("optimization", "min_steps_per_epoch", 4001, "[1, 4000]"),
    ("optimization", "min_steps_per_epoch", 0, "[1, 4000]"),
    ("optimization", "max_steps_per_epoch", 0, ">= 1"),
    ("optimization", "max_val_steps", 8001, "[1, 8000]"),
    ("optimization", "max_test_steps", 0, "[1, 8000]"),
    ("optimization", "loss", ["nope"], "one of"),
    ("optimization", "optimizer", ["SGD"], "one of"),
    ("optimization", "base_lr", [0.0], "> 0"),
    ("optimization", "weight_decay", [-1e-3], ">= 0"),
    ("optimization", "batch_size", [2049], "[1, 2048]"),
    ("optimization", "batch_size", [0], "[1, 2048]"),
    ("optimization", "lookup_optimization", ["fast"], "OptimizerConfig"),
    ("optimization", "early_stopping", [{"patience": 0}], ">= 1"),
    ("optimization", "lr_scheduler", ["warp"], "one of"),
    ("optimization", "majority_sampling_ratio", [0.0], "> 0"),
    ("optimization", "weight_mode", ["heavy"], "one of"),
    ("optimization", "target_fraction", [1.5], "<= 1"),
    ("optimization", "overlap_ratio", [-0.1], ">= 0"),
    ("model_architecture", "channels", [3], "even"),
    ("model_architecture", "num_pre_message_passing_layers", [5], "[0, 4]"),
    ("model_architecture", "num_post_message_passing_layers", [0], "[1, 8]"),
    ("model_architecture", "num_post_message_passing_layers", [9], "[1, 8]"),
    ("model_architecture", "aggregation", [["sum", "median"]], "one of"),
    ("model_architecture", "activation", ["tanh"], "one of"),
    ("model_architecture", "normalization", ["group_norm"], "one of"),
    ("model_architecture", "module", "deep", "one of"),
    ("model_architecture", "target_embedding_mode", ["hash"], "one of"),
    ("model_architecture", "output_embedding_dim", [257], "[1, 256]"),
    ("model_architecture", "ranking_embedding_loss_coeff", [-1.0], ">= 0"),
    ("model_architecture", "embedding_norm_reg_coeff", [-1.0], ">= 0"),
    ("model_architecture", "distance_measure", ["l2"], "one of"),
    ("model_architecture", "use_seq_id", ["no"], "boolean"),
    ("model_architecture", "past_encoder", ["lstm"], "one of"),
    ("model_architecture", "handle_new_entities", None, "boolean"),
]


@pytest.mark.parametrize(("section", "name", "value", "rule"), BAD_VALUES)
def test_bad_values_on_assignment(section: str, name: str, value: Any, rule: str) -> None:
    plan = ModelPlan()
    before = copy.deepcopy(getattr(getattr(plan, section), name))
    with pytest.raises(PlanError) as info:
        setattr(getattr(plan, section), name, value)
    msg = str(info.value)
    assert f"{section}.{name}" in msg
    assert rule in msg
    assert isinstance(info.value, PlanFieldError)
    assert info.value.field.startswith(f"{section}.{name}")
    # the old value is kept
    assert getattr(getattr(plan, section), name) == before


@pytest.mark.parametrize(("section", "name", "value", "rule"), BAD_VALUES)
def test_bad_values_in_constructor(section: str, name: str, value: Any, rule: str) -> None:
    with pytest.raises(PlanError) as info:
        ModelPlan.from_dict({section: {name: value}})
    assert f"{section}.{name}" in str(info.value)
    assert rule in str(info.value)


def test_error_names_field_bound_and_value() -> None:
    plan = ModelPlan()
    with pytest.raises(PlanError) as info:
        plan.optimization.base_lr = [1e-3, -0.5]
    msg = str(info.value)
    assert "optimization.base_lr[1]" in msg and "> 0" in msg and "-0.5" in msg
    with pytest.raises(PlanError, match=r"optimization\.max_epochs.*>= 1.*got 0"):
        OptimizationPlan(max_epochs=0)
    assert isinstance(info.value, ValueError)  # PlanError is a ValueError


def test_nested_config_errors_have_full_paths() -> None:
    with pytest.raises(PlanError, match=r"optimization\.loss\[0\]\.alpha.*< 1.*got 2"):
        ModelPlan(optimization={"loss": [{"name": "focal", "alpha": 2}]})
    with pytest.raises(PlanError, match=r"model_architecture\.model\[0\]\.channels\[0\]"):
        ModelPlan.from_dict({"model_architecture": {"model": [{"name": "GNN", "channels": [7]}]}})
    with pytest.raises(PlanError, match=r"model\[0\]\.num_heads\[0\].*\[1, 32\]"):
        ModelArchitecturePlan(model=[{"name": "GraphTransformer", "num_heads": [33]}])
    with pytest.raises(PlanError, match=r"lr_scheduler\[0\]\.kwargs\.gamma"):
        OptimizationPlan(lr_scheduler=[{"name": "exponential", "kwargs": {"gamma": 2.0}}])
    with pytest.raises(PlanError, match="unknown keyword"):
        LRSchedulerConfig(name="constant_with_warmup", kwargs={"num_cycles": 2})
    with pytest.raises(PlanError, match=r"FocalLossConfig\.gamma.*>= 1"):
        FocalLossConfig(gamma=0.5)
    with pytest.raises(PlanError, match=r"QuantileLossConfig\.q"):
        QuantileLossConfig(q=1.5)
    with pytest.raises(PlanError, match=r"HuberLossConfig\.delta"):
        HuberLossConfig(delta=0)
    with pytest.raises(PlanError, match=r"OrdinalLogLossConfig\.alpha"):
        OrdinalLogLossConfig(alpha=-1)
    with pytest.raises(PlanError, match=r"PruningConfig\.patience"):
        PruningConfig(patience=0)
    with pytest.raises(PlanError, match=r"PruningConfig\.min_delta"):
        PruningConfig(min_delta=-1)
    with pytest.raises(PlanError, match=r"EarlyStoppingConfig\.min_delta"):
        EarlyStoppingConfig(min_delta=-1)
    with pytest.raises(PlanError, match=r"OptimizerConfig\.base_lr"):
        OptimizerConfig(optimizer="Adam", base_lr=0)
    with pytest.raises(PlanError, match=r"GNNModelPlan\.dropout\[0\].*< 1"):
        GNNModelPlan(dropout=[1.0])
    with pytest.raises(PlanError, match=r"GraphTransformerModelPlan\.num_layers\[0\]"):
        GraphTransformerModelPlan(num_layers=[13])


def test_unknown_fields_suggest_a_name() -> None:
    plan = ModelPlan()
    with pytest.raises(PlanError, match="did you mean 'max_epochs'"):
        plan.optimization.max_epoch = 3
    with pytest.raises(PlanError, match="unknown field"):
        ModelPlan(optimisation={})
    with pytest.raises(PlanError, match="did you mean 'base_lr'"):
        OptimizationPlan(base_lrs=[1e-3])


# ------------------------------------------------------------------ assignment and tunables


def test_assignment_validates_and_normalises() -> None:
    plan = ModelPlan()
    plan.optimization.max_epochs = 20
    assert plan.optimization.max_epochs == 20
    plan.optimization.max_epochs = "???"
    assert plan.optimization.max_epochs == MISSING
    plan.optimization.optimizer = ["adamw"]  # case-insensitive
    assert plan.optimization.optimizer == ["AdamW"]
    plan.model_architecture.module = "two_tower"
    assert plan.model_architecture.module == "two_tower"


def test_scalar_for_tunable_field_is_wrapped() -> None:
    plan = ModelPlan()
    plan.optimization.base_lr = 0.01
    assert plan.optimization.base_lr == [0.01]
    plan.optimization.batch_size = 256
    assert plan.optimization.batch_size == [256]
    plan.optimization.loss = "mae"
    assert plan.optimization.loss == ["mae"]
    plan.optimization.early_stopping = None
    assert plan.optimization.early_stopping == [None]
    plan.optimization.lr_scheduler = "cosine_with_warmup"
    assert plan.optimization.lr_scheduler == [LRSchedulerConfig(name="cosine_with_warmup")]
    plan.neighbor_sampling.num_neighbors = [16, 8]
    assert plan.neighbor_sampling.num_neighbors == [[16, 8]]
    plan.model_architecture.model = "GraphTransformer"
    assert plan.model_architecture.model == [GraphTransformerModelPlan()]
    gnn = GNNModelPlan(aggregation=["sum", "var"], channels=32)
    assert gnn.aggregation == [["sum", "var"]] and gnn.channels == [32]
    gt = GraphTransformerModelPlan(positional_encodings=["hop", "random_gnn"])
    assert gt.positional_encodings == [["hop", "random_gnn"]]


def test_num_neighbors_formats() -> None:
    rich = NumNeighborsConfig(
        hop1=HopConfig(default=16, **{"USERS.USER_ID->TRANSACTIONS.USER_ID": 128}),
        hop2=HopConfig(default=8, **{"TRANSACTIONS.STORE_ID->STORES.STORE_ID": 0}),
    )
    assert rich.num_hops == 2
    assert rich.hop1 is not None and rich.hop1.overrides == {
        "USERS.USER_ID->TRANSACTIONS.USER_ID": 128
    }
    ns = NeighborSamplingPlan(num_neighbors=[[16, 8], rich])
    assert ns.num_neighbors[1] == rich
    # dict (YAML) form and int shorthand
    ns2 = NeighborSamplingPlan(
        num_neighbors=[{"hop1": {"default": 16, "A.x->B.y": "inferred"}, "hop2": 8}]
    )
    cfg = ns2.num_neighbors[0]
    assert isinstance(cfg, NumNeighborsConfig)
    assert cfg.hop1 is not None and cfg.hop1["A.x->B.y"] == "inferred"
    assert cfg.hop2 == HopConfig(default=8)
    # -1 = all, 0 = none
    assert NeighborSamplingPlan(num_neighbors=[[-1, 0]]).num_neighbors == [[-1, 0]]


def test_num_neighbors_bounds() -> None:
    with pytest.raises(PlanError, match=r"hop3.*consecutive"):
        NumNeighborsConfig(hop1=4, hop3=4)
    with pytest.raises(PlanError, match="hop1 must be set"):
        NumNeighborsConfig(hop2=4)
    with pytest.raises(PlanError, match=r"default.*\[-1, 128\]"):
        HopConfig(default=129)
    with pytest.raises(PlanError, match=r"\[-1, 512\]"):
        HopConfig(default=1, **{"A.x->B.y": 513})
    assert HopConfig(default=1, **{"A.x->B.y": 512})["A.x->B.y"] == 512
    with pytest.raises(PlanError, match="->"):
        HopConfig(default=1, **{"A.x": 5})
    with pytest.raises(PlanError, match=r"num_neighbors\[0\]\.hop1\['A\.x->B\.y'\]"):
        NeighborSamplingPlan(num_neighbors=[{"hop1": {"default": 1, "A.x->B.y": 1000}}])
    hop = HopConfig(default=4)
    with pytest.raises(PlanError):
        setattr(hop, "A.x->B.y", 1000)
    assert hop.overrides == {}
    with pytest.raises(PlanError, match="adaptive_sampling needs non-negative"):
        NeighborSamplingPlan(num_neighbors=[[-1, 8]], adaptive_sampling=True)
    ns = NeighborSamplingPlan(num_neighbors=[[16, 8]], adaptive_sampling=True)
    with pytest.raises(PlanError, match="adaptive_sampling"):
        ns.num_neighbors = [[-1]]


def test_loss_forms() -> None:
    opt = OptimizationPlan(
        loss=[
            "binary_cross_entropy",
            FocalLossConfig(alpha=0.5),
            {"name": "huber", "delta": 2.0},
            {"name": "mae"},
        ]
    )
    assert opt.loss[0] == LossType.BINARY_CROSS_ENTROPY
    assert opt.loss[1] == FocalLossConfig(alpha=0.5)
    assert opt.loss[2] == HuberLossConfig(delta=2.0)
    assert opt.loss[3] == "mae"
    with pytest.raises(PlanError, match="QuantileLossConfig"):
        OptimizationPlan(loss=["quantile"])


def test_encoder_overrides_stored_as_given() -> None:
    class FakeEncoder:
        def __repr__(self) -> str:
            return 'Numerical(scaler="minmax")'

    enc = FakeEncoder()
    cp = ColumnProcessingPlan(
        encoder_overrides={"users.age": enc, "users.bio": 'GloVe(model_name="glove.6B")'},
        na_strategy={"numerical": "zero", "categorical": "separate"},
    )
    assert cp.encoder_overrides is not None and cp.encoder_overrides["users.age"] is enc
    plan = ModelPlan(column_processing=cp)
    back = ModelPlan.from_json(plan.as_json())
    assert back.column_processing.encoder_overrides == {
        "users.age": 'Numerical(scaler="minmax")',
        "users.bio": 'GloVe(model_name="glove.6B")',
    }
    assert back.column_processing.na_strategy == {"numerical": "zero", "categorical": "separate"}


def test_positional_arguments() -> None:
    assert EarlyStoppingConfig(0.1, 5) == EarlyStoppingConfig(min_delta=0.1, patience=5)
    assert OptimizerConfig("AdamW", 1e-3).optimizer == "AdamW"
    with pytest.raises(PlanError, match="multiple values"):
        EarlyStoppingConfig(0.1, min_delta=0.2)


# ------------------------------------------------------------------------------ round trips


def _rich_plan() -> ModelPlan:
    plan = ModelPlan()
    plan.training_job.num_experiments = 3
    plan.training_job.metrics = ["mae", "rmse"]
    plan.training_job.tune_metric = "mae"
    plan.training_job.pruning = PruningConfig(min_epochs=1, k=2, min_delta=0.01, patience=2)
    plan.training_job.manual_seed = 7
    plan.neighbor_sampling.num_neighbors = [
        [16, 8],
        NumNeighborsConfig(hop1=HopConfig(default=16, **{"A.x->B.y": 128}), hop2=4),
    ]
    plan.neighbor_sampling.max_target_neighbors_per_entity = [INFERRED, 32]
    plan.optimization.loss = ["mae", HuberLossConfig(delta=0.5), QuantileLossConfig(q=0.9)]
    plan.optimization.lookup_optimization = [OptimizerConfig("Adam", 1e-2), "inferred"]
    plan.optimization.early_stopping = [None, EarlyStoppingConfig(0.001, 2)]
    plan.optimization.lr_scheduler = [
        None,
        LRSchedulerConfig(
            name="cosine_with_warmup_restarts",
            interval="epoch",
            kwargs={"warmup_ratio_or_steps": 0.05, "num_cycles": 3},
        ),
        LRSchedulerConfig(name="exponential", kwargs={"gamma": 0.99}),
    ]
    plan.optimization.weight_mode = ["sample", None]
    plan.optimization.base_lr = [5e-5, 1e-3]
    plan.model_architecture.model = [
        GNNModelPlan(channels=[32], aggregation=[["sum", "var"]], dropout=[0.1]),
        GraphTransformerModelPlan(positional_encodings=[None, ["hop"]]),
    ]
    plan.model_architecture.normalization = [None, "batch_norm"]
    plan.model_architecture.past_encoder = [None, "mlp"]
    plan.model_architecture.forecast_type = ["direct"]
    return plan


def test_json_round_trip_exact() -> None:
    for plan in (ModelPlan(), _rich_plan()):
        text = plan.as_json()
        back = ModelPlan.from_json(text)
        assert back == plan
        assert back.to_dict() == plan.to_dict()
        assert back.as_json() == text
    assert ModelPlan.from_json(ModelPlan().to_json()).optimization.max_epochs == MISSING


def test_yaml_round_trip_exact() -> None:
    for plan in (ModelPlan(), _rich_plan()):
        text = plan.to_yaml()
        back = ModelPlan.from_yaml(text)
        assert back == plan
        assert back.to_yaml() == text


def test_dict_round_trip_and_types() -> None:
    plan = _rich_plan()
    data = plan.to_dict()
    assert data["optimization"]["max_epochs"] == "???"
    assert data["optimization"]["loss"][1] == {"name": "huber", "delta": 0.5}
    assert data["neighbor_sampling"]["num_neighbors"][1] == {
        "hop1": {"default": 16, "A.x->B.y": 128},
        "hop2": {"default": 4},
    }
    back = ModelPlan.from_dict(data)
    assert isinstance(back.optimization.loss[1], HuberLossConfig)
    assert isinstance(back.model_architecture.model[1], GraphTransformerModelPlan)
    assert back == plan


def test_hand_written_yaml() -> None:
    text = """
optimization:
  max_epochs: 20
  base_lr: 0.001
  loss: [{name: focal, alpha: 0.3}]
neighbor_sampling:
  num_neighbors: [{hop1: {default: 16, A.x->B.y: 128}, hop2: {default: 8}}]
"""
    plan = ModelPlan.from_yaml(text)
    assert plan.optimization.max_epochs == 20
    assert plan.optimization.base_lr == [0.001]
    assert plan.optimization.loss == [FocalLossConfig(alpha=0.3)]
    nn = plan.neighbor_sampling.num_neighbors[0]
    assert isinstance(nn, NumNeighborsConfig) and nn.num_hops == 2
    with pytest.raises(PlanError, match="YAML"):
        ModelPlan.from_yaml("a: [")
    with pytest.raises(PlanError, match="JSON"):
        ModelPlan.from_json("{")


def test_copy_is_deep() -> None:
    plan = _rich_plan()
    other = plan.copy()
    other.optimization.base_lr = [0.5]
    assert plan.optimization.base_lr == [5e-5, 1e-3]
    assert copy.deepcopy(plan) == plan
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_readable_str() -> None:
    text = str(_rich_plan())
    assert text.startswith("ModelPlan:")
    for section in (
        "training_job:",
        "column_processing:",
        "neighbor_sampling:",
        "optimization:",
        "model_architecture:",
    ):
        assert f"\n  {section}" in text
    assert "    max_epochs: ???" in text
    assert "base_lr: [5e-05, 0.001]" in text
    assert repr(_rich_plan()) == text
    assert len(text.splitlines()) > 40
    assert "OptimizationPlan:" in str(OptimizationPlan())


# ------------------------------------------------------------------------------ metadata


def test_items_and_metadata() -> None:
    plan = ModelPlan()
    items = {name: (value, meta) for name, value, meta in plan.items()}
    assert items["optimization.base_lr"][1].tunable
    assert not items["optimization.max_epochs"][1].tunable
    assert items["training_job.manual_seed"][1].hidden
    assert items["model_architecture.channels"][1].hidden
    assert items["neighbor_sampling.max_target_neighbors_per_entity"][1].hidden
    meta = items["optimization.majority_sampling_ratio"][1]
    assert meta.valid_task_types == (TaskType.BINARY_CLASSIFICATION,)
    section_items = list(plan.optimization.items())
    assert section_items[0][0] == "max_epochs"
    assert all(isinstance(m, Metadata) for _, _, m in section_items)


@pytest.mark.parametrize(
    ("name", "task", "query", "weight", "expected"),
    [
        ("optimization.majority_sampling_ratio", "binary_classification", "static", False, True),
        ("optimization.majority_sampling_ratio", "regression", "static", False, False),
        ("optimization.weight_mode", "binary_classification", "temporal", False, True),
        ("optimization.weight_mode", "regression", "temporal", False, False),
        ("optimization.weight_mode", "regression", "temporal", True, True),
        ("optimization.weight_mode", "forecasting", "temporal", True, False),
        ("optimization.target_fraction", "static_link_prediction", "static", False, True),
        ("optimization.target_fraction", "temporal_link_prediction", "temporal", False, False),
        ("optimization.lookup_optimization", "temporal_link_prediction", "temporal", False, True),
        ("optimization.lookup_optimization", "regression", "temporal", False, False),
        ("model_architecture.past_encoder", "regression", "temporal", False, True),
        ("model_architecture.past_encoder", "forecasting", "temporal", False, True),
        ("model_architecture.past_encoder", "regression", "static", False, False),
        ("model_architecture.past_encoder", "binary_classification", "temporal", False, True),
        ("model_architecture.past_encoder", "multiclass_classification", "temporal", False,
         False),
        ("model_architecture.prediction_time_encodings", "regression", "temporal", False, True),
        ("model_architecture.prediction_time_encodings", "regression", "static", False, False),
        ("model_architecture.module", "static_link_prediction", "static", False, True),
        ("model_architecture.module", "multiclass_classification", "static", False, False),
        (
            "model_architecture.ranking_embedding_loss_coeff",
            "static_link_prediction",
            "static",
            False,
            False,
        ),
        ("model_architecture.handle_new_entities", "forecasting", "temporal", False, True),
        ("model_architecture.handle_new_entities", "regression", "temporal", False, False),
        ("neighbor_sampling.sample_from_entity_table", "regression", "static", False, True),
        ("neighbor_sampling.sample_from_entity_table", "regression", "temporal", False, False),
        (
            "neighbor_sampling.max_target_neighbors_per_entity",
            "regression",
            "temporal",
            False,
            True,
        ),
        ("neighbor_sampling.max_target_neighbors_per_entity", "regression", "static", False, False),
        (
            "neighbor_sampling.max_target_neighbors_per_entity",
            "static_link_prediction",
            "static",
            False,
            True,
        ),
        ("optimization.base_lr", "forecasting", "temporal", False, True),
    ],
)
def test_is_valid_option(name: str, task: str, query: str, weight: bool, expected: bool) -> None:
    meta = {n: m for n, _, m in ModelPlan().items()}[name]
    assert is_valid_option(name, meta, task, query, weight) is expected
    section = getattr(ModelPlan(), name.split(".")[0])
    assert section.is_valid_option(name.split(".")[1], meta, task, query, weight) is expected


# ---------------------------------------------------------------------------- validate_for


def test_validate_for_accepts_defaults_everywhere() -> None:
    for task in TaskType:
        for query in QueryType:
            ModelPlan().validate_for(task, query)


@pytest.mark.parametrize(
    ("section", "name", "value", "task", "query"),
    [
        ("optimization", "majority_sampling_ratio", [2.0], "regression", "temporal"),
        ("optimization", "weight_mode", ["sample"], "regression", "temporal"),
        ("optimization", "target_fraction", [0.5], "temporal_link_prediction", "temporal"),
        (
            "optimization",
            "lookup_optimization",
            [OptimizerConfig("Adam", 1e-3)],
            "regression",
            "static",
        ),
        ("model_architecture", "past_encoder", ["mlp"], "multiclass_classification",
         "temporal"),
        ("model_architecture", "past_encoder", ["mlp"], "regression", "static"),
        ("model_architecture", "module", "two_tower", "regression", "temporal"),
        (
            "model_architecture",
            "target_embedding_mode",
            ["feature"],
            "multiclass_classification",
            "static",
        ),
        ("model_architecture", "distance_measure", ["cosine"], "regression", "static"),
        (
            "model_architecture",
            "prediction_time_encodings",
            [True],
            "binary_classification",
            "static",
        ),
        ("neighbor_sampling", "sample_from_entity_table", False, "regression", "temporal"),
    ],
)
def test_validate_for_rejects_inapplicable(
    section: str, name: str, value: Any, task: str, query: str
) -> None:
    plan = ModelPlan()
    setattr(getattr(plan, section), name, value)
    with pytest.raises(PlanError) as info:
        plan.validate_for(task, query)
    assert f"{section}.{name}" in str(info.value)
    assert "does not apply" in str(info.value)


def test_validate_for_weight_mode_with_weight_column() -> None:
    plan = ModelPlan()
    plan.optimization.weight_mode = ["weighted_loss"]
    plan.validate_for("regression", "temporal", has_weight_col=True)
    plan.validate_for("binary_classification", "temporal")
    with pytest.raises(PlanError, match="weight_mode"):
        plan.validate_for("forecasting", "temporal", has_weight_col=True)


@pytest.mark.parametrize(
    ("loss", "task"),
    [
        ("cross_entropy", "regression"),
        ("mae", "binary_classification"),
        ("binary_cross_entropy", "multiclass_classification"),
        (FocalLossConfig(), "forecasting"),
        (HuberLossConfig(), "temporal_link_prediction"),
        (OrdinalLogLossConfig(), "binary_classification"),
        ("mse", "multilabel_ranking"),
    ],
)
def test_validate_for_rejects_loss_task_mismatch(loss: Any, task: str) -> None:
    plan = ModelPlan()
    plan.optimization.loss = [loss]
    with pytest.raises(PlanError, match=r"optimization\.loss\[0\].*does not fit"):
        plan.validate_for(task, "temporal")


@pytest.mark.parametrize(
    ("loss", "task"),
    [
        ("binary_cross_entropy", "binary_classification"),
        (FocalLossConfig(), "multilabel_classification"),
        ("cross_entropy", "multiclass_classification"),
        (OrdinalLogLossConfig(), "multiclass_classification"),
        ("huber", "regression"),
        ("multi_quantile", "forecasting"),
        (QuantileLossConfig(q=0.1), "regression"),
        ("wape", "forecasting"),
        ("cross_entropy", "temporal_link_prediction"),
        ("binary_cross_entropy", "static_link_prediction"),
        ("cross_entropy", "multilabel_ranking"),
    ],
)
def test_validate_for_accepts_matching_loss(loss: Any, task: str) -> None:
    plan = ModelPlan()
    plan.optimization.loss = [loss]
    plan.validate_for(task, "temporal")


def test_validate_for_other_rules() -> None:
    plan = ModelPlan()
    plan.model_architecture.model = [GNNModelPlan(), GraphTransformerModelPlan()]
    plan.validate_for("regression", "temporal")
    with pytest.raises(PlanError, match=r"model\[1\].*node prediction"):
        plan.validate_for("static_link_prediction", "static")

    plan = ModelPlan()
    plan.training_job.metrics = ["auroc", "mae"]
    with pytest.raises(PlanError, match=r"metrics\[1\].*'mae'"):
        plan.validate_for("binary_classification", "static")
    plan.training_job.metrics = ["map@12", "ndcg@1"]
    plan.training_job.tune_metric = "map@12"
    plan.validate_for("temporal_link_prediction", "temporal")
    plan.training_job.metrics = ["mae"]
    with pytest.raises(PlanError, match=r"tune_metric.*'map@12'"):
        plan.validate_for("regression", "temporal")

    plan = ModelPlan()
    plan.optimization.min_steps_per_epoch = 100
    plan.optimization.max_steps_per_epoch = 10
    with pytest.raises(PlanError, match="min_steps_per_epoch"):
        plan.validate_for("regression", "temporal")


def test_valid_metric() -> None:
    assert valid_metric("binary_classification", "AUROC")
    assert valid_metric("multilabel_classification", "auroc_macro")
    assert valid_metric("multiclass_classification", "mrr")
    assert valid_metric("forecasting", "smape")
    assert valid_metric("multilabel_ranking", "hit_ratio@10")
    assert valid_metric("static_link_prediction", "f1@100")
    assert not valid_metric("static_link_prediction", "map")
    assert not valid_metric("static_link_prediction", "map@0")
    assert not valid_metric("regression", "auroc")


# ------------------------------------------------------------------------------ fill_missing


def test_fill_missing() -> None:
    defaults = _rich_plan()
    defaults.optimization.max_epochs = 5
    plan = ModelPlan()
    plan.optimization.base_lr = [0.123]
    filled = plan.fill_missing(defaults)
    assert filled.optimization.max_epochs == 5
    assert filled.optimization.base_lr == [0.123]
    assert filled.optimization.loss == defaults.optimization.loss
    assert plan.optimization.max_epochs == MISSING  # original untouched
    overlaid = ModelPlan().fill_missing(defaults, replace_defaults=True)
    assert overlaid.optimization.base_lr == defaults.optimization.base_lr
