"""Task and query types shared by PQL, plans, metrics and the trainer."""

from __future__ import annotations

from relgraph.str_enum import StrEnum


class TaskType(StrEnum):
    """What a predictive query asks the model to predict."""

    BINARY_CLASSIFICATION = "binary_classification"
    MULTICLASS_CLASSIFICATION = "multiclass_classification"
    MULTILABEL_CLASSIFICATION = "multilabel_classification"
    MULTILABEL_RANKING = "multilabel_ranking"
    REGRESSION = "regression"
    FORECASTING = "forecasting"
    TEMPORAL_LINK_PREDICTION = "temporal_link_prediction"
    STATIC_LINK_PREDICTION = "static_link_prediction"

    @property
    def is_link_pred(self) -> bool:
        return self in (TaskType.TEMPORAL_LINK_PREDICTION, TaskType.STATIC_LINK_PREDICTION)

    @property
    def is_node_pred(self) -> bool:
        return not self.is_link_pred

    @property
    def is_classification(self) -> bool:
        return self in (
            TaskType.BINARY_CLASSIFICATION,
            TaskType.MULTICLASS_CLASSIFICATION,
            TaskType.MULTILABEL_CLASSIFICATION,
        )

    @property
    def is_multilabel(self) -> bool:
        return self in (TaskType.MULTILABEL_CLASSIFICATION, TaskType.MULTILABEL_RANKING)

    @property
    def is_ranking(self) -> bool:
        return self is TaskType.MULTILABEL_RANKING or self.is_link_pred

    @property
    def is_regression(self) -> bool:
        return self in (TaskType.REGRESSION, TaskType.FORECASTING)


class QueryType(StrEnum):
    """``static``: the target has no time window; ``temporal``: it has one."""

    STATIC = "static"
    TEMPORAL = "temporal"
