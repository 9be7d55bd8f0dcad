"""The enums of the model plans (reference values, case-insensitive) and the MISSING /
INFERRED sentinels."""

from __future__ import annotations

from typing import Any

from relgraph.str_enum import StrEnum

# ---------------------------------------------------------------------------------------
# Enums and sentinels
# ---------------------------------------------------------------------------------------


class _StrEnum(StrEnum):
    """String enum whose ``str()`` and ``repr()`` are its value; parsing ignores case and
    surrounding blanks (``OptimizerType(" adamw")`` is ``AdamW``)."""

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def _missing_(cls, value: object) -> _StrEnum | None:
        if isinstance(value, str):
            key = value.strip().lower()
            return next((m for m in cls if m.value.lower() == key), None)
        return None

    @classmethod
    def values(cls) -> list[str]:
        """All values, in declaration order."""
        return [str(m.value) for m in cls]


class RunMode(_StrEnum):
    """Search budget: FAST ≈ 4x faster than NORMAL, BEST ≈ 4x slower; DEBUG = smoke test."""

    FAST = "fast"
    NORMAL = "normal"
    BEST = "best"
    DEBUG = "debug"


class MissingType(_StrEnum):
    """``"???"``: the field is not set; :func:`suggest_model_plan` fills it."""

    VALUE = "???"


class InferredType(_StrEnum):
    """``"inferred"``: explicitly let relgraph infer the value."""

    VALUE = "inferred"


MISSING = MissingType.VALUE
INFERRED = InferredType.VALUE


class LossType(_StrEnum):
    """Loss names accepted in ``optimization.loss``."""

    BINARY_CROSS_ENTROPY = "binary_cross_entropy"
    CROSS_ENTROPY = "cross_entropy"
    FOCAL = "focal"
    ORDINAL_LOG = "ordinal_log"
    MAE = "mae"
    MSE = "mse"
    HUBER = "huber"
    NORMAL_DISTRIBUTION = "normal_distribution"
    NEGATIVE_BINOMIAL_DISTRIBUTION = "negative_binomial_distribution"
    LOG_NORMAL_DISTRIBUTION = "log_normal_distribution"
    MULTI_QUANTILE = "multi_quantile"
    WAPE = "wape"


class OptimizerType(_StrEnum):
    ADAM = "Adam"
    ADAMW = "AdamW"
    ADAGRAD = "Adagrad"


class LRSchedulerType(_StrEnum):
    CONSTANT_WITH_WARMUP = "constant_with_warmup"
    LINEAR_WITH_WARMUP = "linear_with_warmup"
    EXPONENTIAL = "exponential"
    COSINE_WITH_WARMUP = "cosine_with_warmup"
    COSINE_WITH_WARMUP_RESTARTS = "cosine_with_warmup_restarts"


class SchedulerInterval(_StrEnum):
    STEP = "step"
    EPOCH = "epoch"


class WeightMode(_StrEnum):
    SAMPLE = "sample"
    WEIGHTED_LOSS = "weighted_loss"


class AggregationType(_StrEnum):
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    STD = "std"
    VAR = "var"


class ActivationType(_StrEnum):
    RELU = "relu"
    LEAKY_RELU = "leaky_relu"
    ELU = "elu"
    GELU = "gelu"


class NormalizationType(_StrEnum):
    LAYER_NORM = "layer_norm"
    BATCH_NORM = "batch_norm"


class ModuleType(_StrEnum):
    SHALLOW_RHS = "shallow_rhs"
    CONTEXT = "context"
    TWO_TOWER = "two_tower"
    PAIRWISE = "pairwise"
    RANKING = "ranking"  # deprecated: shallow_rhs (static) / context (temporal)
    EMBEDDING = "embedding"  # deprecated: two_tower / shallow_rhs


class TargetEmbeddingMode(_StrEnum):
    LOOKUP = "lookup"
    FEATURE = "feature"
    SHALLOW_FEATURE = "shallow_feature"
    FUSION = "fusion"


class DistanceMeasure(_StrEnum):
    DOT_PRODUCT = "dot_product"
    COSINE = "cosine"


class PastEncoderType(_StrEnum):
    DECOMPOSED = "decomposed"
    NORMALIZED = "normalized"
    MLP = "mlp"
    TRANSFORMER = "transformer"


class PositionalEncodingType(_StrEnum):
    HOP = "hop"
    RANDOM_GNN = "random_gnn"


def is_missing(value: Any) -> bool:
    """Whether ``value`` is the ``"???"`` sentinel."""
    return isinstance(value, str) and value == MISSING.value


def _is_inferred(value: Any) -> bool:
    return isinstance(value, str) and value == INFERRED.value
