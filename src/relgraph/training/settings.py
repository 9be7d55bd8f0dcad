"""The concrete settings one training trial runs with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrialSettings:
    """Concrete values for one trial, resolved from a ``TrialConfig`` of the plan."""

    model: str = "GNN"                     # "GNN" or "GraphTransformer"
    channels: int = 64
    transformer_layers: int = 4
    num_heads: int = 8
    positional_encodings: tuple[str, ...] = ()
    aggr: tuple[str, ...] = ("sum", "mean", "max")
    dropout: float = 0.0
    num_pre_layers: int = 0
    num_post_layers: int = 1
    activation: str = "relu"
    normalization: str | None = "layer_norm"
    num_neighbors: Any = field(default_factory=lambda: [16, 16])
    sampling_strategy: str = "uniform"
    adaptive_sampling: bool = False
    max_target_neighbors_per_entity: int | None = None
    loss: Any = None
    optimizer: str = "adam"
    base_lr: float = 5e-3
    weight_decay: float = 0.0
    batch_size: int = 512
    lr_scheduler: Any = None
    early_stopping: Any = None
    majority_sampling_ratio: float | None = None
    weight_mode: str | None = None
    max_epochs: int = 8
    min_steps_per_epoch: int = 1
    max_steps_per_epoch: int = 1000
    max_val_steps: int = 1000
    max_test_steps: int = 1000
    prediction_time_encodings: bool = False  # calendar features of the anchor time
    past_encoder: str | None = None          # encoder of the seed's past targets
    # link prediction
    handle_new_target_entities: bool = False
    target_fraction: float = 1.0
    lp_module: str = "context"
    target_embedding_mode: str = "lookup"
    output_embedding_dim: int = 32
    distance_measure: str = "dot_product"
    ranking_embedding_loss_coeff: float = 0.0
    embedding_norm_reg_coeff: float = 0.0
    lookup_optimizer: str | None = None      # None: the lookup embeddings use `optimizer`
    lookup_lr: float | None = None

    @property
    def num_layers(self) -> int:
        return len(self.num_neighbors)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> TrialSettings:
        """Settings saved with a model (``model.json``); unknown keys are ignored."""
        values = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        if "aggr" in values:
            values["aggr"] = tuple(values["aggr"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("loss", "lr_scheduler", "early_stopping", "num_neighbors"):
            value = getattr(self, key)
            if hasattr(value, "model_dump"):
                out[key] = value.model_dump()
            elif hasattr(value, "__dataclass_fields__"):
                out[key] = asdict(value)
        return out
