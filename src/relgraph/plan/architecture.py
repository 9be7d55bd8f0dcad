"""The model-architecture sub-plan (``plan.model_architecture``): the GNN and graph
transformer plans and the shared layer settings."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field

from relgraph.plan.base import _lst, _PlanBase, _SectionBase, _sub
from relgraph.plan.checks import (
    _TUNABLE,
    _V,
    LP_TASKS,
    NODE_TASKS,
    Metadata,
    _bool,
    _Checker,
    _enum,
    _float,
    _int,
    _list_of,
    _m,
    _opt,
    _str,
    _supported,
    _tunable,
)
from relgraph.plan.enums import (
    MISSING,
    ActivationType,
    AggregationType,
    DistanceMeasure,
    MissingType,
    ModuleType,
    NormalizationType,
    PastEncoderType,
    PositionalEncodingType,
    TargetEmbeddingMode,
)
from relgraph.plan.optimization import _fixed_name
from relgraph.task import QueryType, TaskType


def _aggregation(v: Any) -> list[AggregationType]:
    if isinstance(v, (str, Enum)):
        v = [v]
    return _list_of(_enum(AggregationType), unique=True)(v)


def _agg_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(isinstance(x, (str, Enum)) for x in v)


def _pos_enc(v: Any) -> list[PositionalEncodingType] | None:
    if v is None:
        return None
    if isinstance(v, (str, Enum)):
        v = [v]
    return _list_of(_enum(PositionalEncodingType), unique=True)(v)


_channels = _int(2, 512, even=True)


class GNNModelPlan(_PlanBase):
    """Heterogeneous message-passing GNN (one layer per sampled hop)."""

    name: Annotated[Literal["GNN"], _V(_fixed_name("GNN"))] = "GNN"
    channels: Annotated[list[int], _V(_tunable(_channels))] = Field(
        default_factory=_lst(64, 128, 256)
    )
    aggregation: Annotated[list[list[str]], _V(_tunable(_aggregation, _agg_is_candidate))] = Field(
        default_factory=_lst(
            [AggregationType.SUM, AggregationType.MEAN, AggregationType.MAX],
            [
                AggregationType.SUM,
                AggregationType.MEAN,
                AggregationType.MIN,
                AggregationType.MAX,
                AggregationType.STD,
            ],
        )
    )
    dropout: Annotated[list[float], _V(_tunable(_float(ge=0.0, lt=1.0)))] = Field(
        default_factory=_lst(0.0)
    )

    _meta: ClassVar[dict[str, Metadata]] = {
        "channels": _TUNABLE,
        "aggregation": _TUNABLE,
        "dropout": _TUNABLE,
    }


class GraphTransformerModelPlan(_PlanBase):
    """Graph transformer over the sampled subgraph (node prediction only)."""

    name: Annotated[Literal["GraphTransformer"], _V(_fixed_name("GraphTransformer"))] = (
        "GraphTransformer"
    )
    channels: Annotated[list[int], _V(_tunable(_channels))] = Field(default_factory=_lst(64, 128))
    num_layers: Annotated[list[int], _V(_tunable(_int(1, 12)))] = Field(
        default_factory=_lst(4, 6, 8)
    )
    num_heads: Annotated[list[int], _V(_tunable(_int(1, 32)))] = Field(default_factory=_lst(8, 16))
    dropout: Annotated[list[float], _V(_tunable(_float(ge=0.0, lt=1.0)))] = Field(
        default_factory=_lst(0.1, 0.5)
    )
    positional_encodings: Annotated[
        list[list[str] | None], _V(_tunable(_pos_enc, _agg_is_candidate))
    ] = Field(default_factory=_lst(None))

    _meta: ClassVar[dict[str, Metadata]] = {
        "channels": _TUNABLE,
        "num_layers": _TUNABLE,
        "num_heads": _TUNABLE,
        "dropout": _TUNABLE,
        "positional_encodings": _TUNABLE,
    }


_MODELS: dict[str, type[_PlanBase]] = {
    "GNN": GNNModelPlan,
    "GraphTransformer": GraphTransformerModelPlan,
}


def _model_elem(v: Any) -> Any:
    if isinstance(v, str) and v in _MODELS:
        return _MODELS[v]()
    return _sub(GNNModelPlan, by_name=_MODELS)(v)


ModelSpec = Union[GNNModelPlan, GraphTransformerModelPlan]  # noqa: UP007


def _tunable_field(chk: _Checker) -> Any:
    return _V(_tunable(chk))


class ModelArchitecturePlan(_SectionBase):
    """Model architecture search space (``model_plan.model_architecture``).

    ``channels`` and ``aggregation`` here are deprecated (use the per-model fields); they
    default to ``None`` = "use the per-model values" and, when set, override them.
    """

    _path: ClassVar[str] = "model_architecture"

    model: Annotated[list[ModelSpec] | MissingType, _V(_tunable(_model_elem))] = Field(
        default_factory=_lst(GNNModelPlan())
    )
    channels: Annotated[list[int] | None, _V(_opt(_tunable(_channels)))] = None
    num_pre_message_passing_layers: Annotated[
        list[int] | MissingType, _tunable_field(_int(0, 4))
    ] = Field(default_factory=_lst(0, 1, 2))
    num_post_message_passing_layers: Annotated[
        list[int] | MissingType, _tunable_field(_int(1, 8))
    ] = Field(default_factory=_lst(1, 2))
    aggregation: Annotated[
        list[list[str]] | None,
        _V(_opt(_tunable(_aggregation, _agg_is_candidate))),
    ] = None
    activation: Annotated[list[str] | MissingType, _tunable_field(_enum(ActivationType))] = Field(
        default_factory=_lst(*ActivationType)
    )
    normalization: Annotated[
        list[str | None] | MissingType,
        _tunable_field(_opt(_enum(NormalizationType))),
    ] = Field(default_factory=_lst(NormalizationType.LAYER_NORM))
    module: Annotated[str, _V(_m(_enum(ModuleType)))] = MISSING
    handle_new_target_entities: Annotated[bool, _V(_bool)] = False
    target_embedding_mode: Annotated[
        list[str] | MissingType, _tunable_field(_enum(TargetEmbeddingMode))
    ] = Field(default_factory=_lst(TargetEmbeddingMode.LOOKUP))
    output_embedding_dim: Annotated[list[int] | MissingType, _tunable_field(_int(1, 256))] = Field(
        default_factory=_lst(32)
    )
    ranking_embedding_loss_coeff: Annotated[
        list[float] | MissingType, _tunable_field(_float(ge=0.0))
    ] = Field(default_factory=_lst(0.0))
    embedding_norm_reg_coeff: Annotated[
        list[float] | MissingType, _tunable_field(_float(ge=0.0))
    ] = Field(default_factory=_lst(0.0))
    distance_measure: Annotated[list[str] | MissingType, _tunable_field(_enum(DistanceMeasure))] = (
        Field(default_factory=_lst(DistanceMeasure.DOT_PRODUCT))
    )
    use_seq_id: Annotated[list[bool] | MissingType, _tunable_field(_supported(
        _bool, lambda v: not v, "must be False: sequence-id features (a preview of the "
        "reference) are not implemented"))] = Field(
        default_factory=_lst(False)
    )
    prediction_time_encodings: Annotated[list[bool] | MissingType, _tunable_field(_bool)] = Field(
        default_factory=_lst(False)
    )
    past_encoder: Annotated[
        list[str | None] | MissingType, _tunable_field(_opt(_enum(PastEncoderType)))
    ] = Field(default_factory=_lst(PastEncoderType.DECOMPOSED))
    handle_new_entities: Annotated[bool, _V(_supported(
        _bool, bool, "must be True: relgraph has no entity-specific heads; every entity, "
        "seen in training or not, is embedded from its columns and neighbors"))] = True
    forecast_type: Annotated[list[str] | None, _V(_opt(_tunable(_str)))] = None

    _meta: ClassVar[dict[str, Metadata]] = {
        "model": _TUNABLE,
        "channels": Metadata(tunable=True, hidden=True),
        "num_pre_message_passing_layers": _TUNABLE,
        "num_post_message_passing_layers": _TUNABLE,
        "aggregation": Metadata(tunable=True, hidden=True),
        "activation": _TUNABLE,
        "normalization": _TUNABLE,
        "module": Metadata(valid_task_types=LP_TASKS),
        "handle_new_target_entities": Metadata(valid_task_types=LP_TASKS),
        "target_embedding_mode": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "output_embedding_dim": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "ranking_embedding_loss_coeff": Metadata(
            tunable=True, valid_task_types=(TaskType.TEMPORAL_LINK_PREDICTION,)
        ),
        "embedding_norm_reg_coeff": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "distance_measure": Metadata(tunable=True, valid_task_types=LP_TASKS),
        "use_seq_id": _TUNABLE,
        "prediction_time_encodings": Metadata(
            tunable=True, valid_task_types=NODE_TASKS, valid_query_types=(QueryType.TEMPORAL,)
        ),
        "past_encoder": Metadata(
            tunable=True,
            valid_task_types=(TaskType.REGRESSION, TaskType.FORECASTING,
                              TaskType.BINARY_CLASSIFICATION),
            valid_query_types=(QueryType.TEMPORAL,),
        ),
        "handle_new_entities": Metadata(valid_task_types=(TaskType.FORECASTING,)),
        "forecast_type": Metadata(
            tunable=True, hidden=True, valid_task_types=(TaskType.FORECASTING,)
        ),
    }
