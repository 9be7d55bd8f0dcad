"""Relational feature synthesis: aggregates of linked tables per (entity, anchor time).

The features a data scientist hand-writes for LightGBM (counts, sums, means, extremes,
last values and recency of linked rows over several windows; parents' columns; two-hop
aggregates), computed automatically in SQL from the rows visible at each anchor. One
implementation serves the baselines, the GBDT learner and the GNN's seed inputs.
"""

from relgraph.aggregates.compute import compute_features
from relgraph.aggregates.spec import (
    ROWS,
    TIME,
    Block,
    FeatureSpec,
    feature_names,
    feature_sources,
    plan_features,
)

__all__ = ["ROWS", "TIME", "Block", "FeatureSpec", "compute_features", "feature_names",
           "feature_sources", "plan_features"]
