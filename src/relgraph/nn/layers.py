"""Small building blocks resolved from plan strings: activations, norms, MLPs."""

from __future__ import annotations

from torch import nn

from relgraph.errors import PlanError

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU}


def module_key(name: str) -> str:
    """A ``ModuleDict`` key for a table or edge name (which may clash with ``nn.Module``
    attributes such as ``items`` or contain dots)."""
    return "t_" + name.replace(".", "_dot_")


def activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise PlanError(f"Unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]()


def normalization(name: str | None, channels: int) -> nn.Module:
    """``layer_norm``, ``batch_norm`` or ``None`` (identity)."""
    if name is None or name == "none":
        return nn.Identity()
    if name == "layer_norm":
        return nn.LayerNorm(channels)
    if name == "batch_norm":
        return nn.BatchNorm1d(channels)
    raise PlanError(f"Unknown normalization {name!r}; choose layer_norm, batch_norm or None.")


def mlp(in_channels: int, hidden: int, out_channels: int, num_layers: int, act: str,
        norm: str | None, dropout: float) -> nn.Sequential:
    """``num_layers`` linear layers; activation, norm and dropout between them."""
    layers: list[nn.Module] = []
    dims = [in_channels] + [hidden] * (num_layers - 1) + [out_channels]
    for i in range(num_layers):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < num_layers - 1:
            layers += [normalization(norm, dims[i + 1]), activation(act), nn.Dropout(dropout)]
    return nn.Sequential(*layers)
