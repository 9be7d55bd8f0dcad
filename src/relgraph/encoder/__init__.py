"""Column encoders: the reference API's encoder configs and their torch implementations.

Configurations (:class:`Encoder` subclasses) have a string form that
:func:`parse_encoder` reads back. :func:`fit_encoder` fits one on a column and
:func:`fit_table_encoders` fits a whole table; :class:`TableEncoder` sums the
per-column vectors into one row embedding.
"""

from __future__ import annotations

from relgraph.encoder.config import (
    ENCODERS,
    Datetime,
    EmbeddingScaler,
    Encoder,
    GloVe,
    Hash,
    Image,
    Index,
    MaxLogNumerical,
    MinLogNumerical,
    MultiCategorical,
    NAStrategy,
    Null,
    Numerical,
    NumericalList,
    Scaler,
    TextEmbedding,
    apply_na_strategy,
    default_encoder,
    parse_encoder,
)
from relgraph.encoder.fitted import FittedEncoder, fit_encoder
from relgraph.encoder.stats import ColumnStats, compute_column_stats
from relgraph.encoder.table import TableEncoder, TableFeatures, fit_table_encoders
from relgraph.encoder.text import TextEmbedder, hash_embed, minilm_available

__all__ = [
    "ENCODERS",
    "ColumnStats",
    "Datetime",
    "EmbeddingScaler",
    "Encoder",
    "FittedEncoder",
    "GloVe",
    "Hash",
    "Image",
    "Index",
    "MaxLogNumerical",
    "MinLogNumerical",
    "MultiCategorical",
    "NAStrategy",
    "Null",
    "Numerical",
    "NumericalList",
    "Scaler",
    "TableEncoder",
    "TableFeatures",
    "TextEmbedder",
    "TextEmbedding",
    "apply_na_strategy",
    "compute_column_stats",
    "default_encoder",
    "fit_encoder",
    "fit_table_encoders",
    "hash_embed",
    "minilm_available",
    "parse_encoder",
]
