"""The model-architecture sub-plan (``plan.model_architecture``): the GNN and graph
transformer plans and the shared layer settings."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag

from relgraph.plan.base import _lst, _PlanBase, _SectionBase
from relgraph.plan.checks import (
    _TUNABLE,
    LP_TASKS,
    NODE_TASKS,
    Bool,
    Candidates,
    Float,
    Int,
    Metadata,
    Missable,
    OneAsList,
    Text,
    Tunable,
    Unique,
    supported,
)
from relgraph.plan.enums import (
    MISSING,
    ActivationType,
    AggregationType,
    DistanceMeasure,
    ModuleType,
    NormalizationType,
    PastEncoderType,
    PositionalEncodingType,
    TargetEmbeddingMode,
)
from relgraph.task import QueryType, TaskType


def _agg_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(isinstance(x, (str, Enum)) for x in v)


#: Aggregations of one candidate: distinct names (a single name is a one-element list).
Aggregations = Annotated[list[AggregationType], OneAsList, Field(min_length=1), Unique]
#: Positional encodings of one candidate: distinct names (a single name is a list).
PositionalEncodings = Annotated[
    list[PositionalEncodingType], OneAsList, Field(min_length=1), Unique
]
#: Hidden channels: an even number in [2, 512].
Channels = Annotated[Int, Field(ge=2, le=512, multiple_of=2)]
#: A dropout rate in [0, 1).
Dropout = Annotated[Float, Field(ge=0.0, lt=1.0)]


class GNNModelPlan(_PlanBase):
    """Heterogeneous message-passing GNN (one layer per sampled hop)."""

    name: Literal["GNN"] = "GNN"
    channels: Missable[Tunable[Channels]] = Field(default_factory=_lst(64, 128, 256))
    aggregation: Missable[
        Annotated[list[Aggregations], Candidates(_agg_is_candidate), Field(min_length=1)]
    ] = Field(
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
    dropout: Missable[Tunable[Dropout]] = Field(default_factory=_lst(0.0))

    _meta: ClassVar[dict[str, Metadata]] = {
        "channels": _TUNABLE,
        "aggregation": _TUNABLE,
        "dropout": _TUNABLE,
    }


class GraphTransformerModelPlan(_PlanBase):
    """Graph transformer over the sampled subgraph (node prediction only)."""

    name: Literal["GraphTransformer"] = "GraphTransformer"
    channels: Missable[Tunable[Channels]] = Field(default_factory=_lst(64, 128))
    num_layers: Missable[Tunable[Annotated[Int, Field(ge=1, le=12)]]] = Field(
        default_factory=_lst(4, 6, 8)
    )
    num_heads: Missable[Tunable[Annotated[Int, Field(ge=1, le=32)]]] = Field(
        default_factory=_lst(8, 16)
    )
    dropout: Missable[Tunable[Dropout]] = Field(default_factory=_lst(0.1, 0.5))
    positional_encodings: Missable[
        Annotated[
            list[Optional[PositionalEncodings]],  # noqa: UP045
            Candidates(_agg_is_candidate),
            Field(min_length=1),
        ]
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


def _model_by_name(v: Any) -> Any:
    return _MODELS[v]() if isinstance(v, str) and v in _MODELS else v


def _model_tag(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("name")
    return v.name if isinstance(v, (GNNModelPlan, GraphTransformerModelPlan)) else None


#: A model: a GNNModelPlan or GraphTransformerModelPlan, its dict form or its name.
ModelSpec = Annotated[
    Union[  # noqa: UP007
        Annotated[GNNModelPlan, Tag("GNN")],
        Annotated[GraphTransformerModelPlan, Tag("GraphTransformer")],
    ],
    Discriminator(_model_tag),
    BeforeValidator(_model_by_name),
]


class ModelArchitecturePlan(_SectionBase):
    """Model architecture search space (``model_plan.model_architecture``).

    ``channels`` and ``aggregation`` here are deprecated (use the per-model fields); they
    default to ``None`` = "use the per-model values" and, when set, override them.
    """

    _path: ClassVar[str] = "model_architecture"

    model: Missable[Tunable[ModelSpec]] = Field(default_factory=_lst(GNNModelPlan()))
    channels: Optional[Missable[Tunable[Channels]]] = None  # noqa: UP045
    num_pre_message_passing_layers: Missable[Tunable[Annotated[Int, Field(ge=0, le=4)]]] = (
        Field(default_factory=_lst(0, 1, 2))
    )
    num_post_message_passing_layers: Missable[Tunable[Annotated[Int, Field(ge=1, le=8)]]] = (
        Field(default_factory=_lst(1, 2))
    )
    aggregation: Optional[  # noqa: UP045
        Missable[Annotated[list[Aggregations], Candidates(_agg_is_candidate), Field(min_length=1)]]
    ] = None
    activation: Missable[Tunable[ActivationType]] = Field(default_factory=_lst(*ActivationType))
    normalization: Missable[Tunable[Optional[NormalizationType]]] = Field(  # noqa: UP045
        default_factory=_lst(NormalizationType.LAYER_NORM)
    )
    module: Missable[ModuleType] = MISSING
    handle_new_target_entities: Bool = False
    target_embedding_mode: Missable[Tunable[TargetEmbeddingMode]] = Field(
        default_factory=_lst(TargetEmbeddingMode.LOOKUP)
    )
    output_embedding_dim: Missable[Tunable[Annotated[Int, Field(ge=1, le=256)]]] = Field(
        default_factory=_lst(32)
    )
    ranking_embedding_loss_coeff: Missable[Tunable[Annotated[Float, Field(ge=0.0)]]] = Field(
        default_factory=_lst(0.0)
    )
    embedding_norm_reg_coeff: Missable[Tunable[Annotated[Float, Field(ge=0.0)]]] = Field(
        default_factory=_lst(0.0)
    )
    distance_measure: Missable[Tunable[DistanceMeasure]] = Field(
        default_factory=_lst(DistanceMeasure.DOT_PRODUCT)
    )
    use_seq_id: Missable[
        Tunable[
            Annotated[
                Bool,
                supported(
                    lambda v: not v,
                    "must be False: sequence-id features (a preview of the reference) are "
                    "not implemented",
                ),
            ]
        ]
    ] = Field(default_factory=_lst(False))
    prediction_time_encodings: Missable[Tunable[Bool]] = Field(default_factory=_lst(False))
    past_encoder: Missable[Tunable[Optional[PastEncoderType]]] = Field(  # noqa: UP045
        default_factory=_lst(PastEncoderType.DECOMPOSED)
    )
    handle_new_entities: Annotated[
        Bool,
        supported(
            bool,
            "must be True: relgraph has no entity-specific heads; every entity, seen in "
            "training or not, is embedded from its columns and neighbors",
        ),
    ] = True
    forecast_type: Optional[Missable[Tunable[Text]]] = None  # noqa: UP045

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
