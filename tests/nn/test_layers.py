"""Building blocks resolved from plan strings."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from relgraph.errors import PlanError
from relgraph.nn.layers import activation, mlp, module_key, normalization


def test_module_keys_never_clash_with_module_attributes() -> None:
    d = nn.ModuleDict({module_key("items"): nn.Identity(), module_key("a.b"): nn.Identity()})
    assert set(d.keys()) == {"t_items", "t_a_dot_b"}


def test_unknown_names_are_plan_errors() -> None:
    with pytest.raises(PlanError, match="Unknown activation 'swish'"):
        activation("swish")
    with pytest.raises(PlanError, match="Unknown normalization 'group_norm'"):
        normalization("group_norm", 4)


@pytest.mark.parametrize(("name", "cls"), [(None, nn.Identity), ("none", nn.Identity),
                                           ("layer_norm", nn.LayerNorm),
                                           ("batch_norm", nn.BatchNorm1d)])
def test_normalization_by_name(name: str | None, cls: type[nn.Module]) -> None:
    assert isinstance(normalization(name, 4), cls)


def test_mlp_has_the_requested_depth_and_widths() -> None:
    net = mlp(3, 8, 2, num_layers=3, act="relu", norm="layer_norm", dropout=0.0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 8), (8, 8), (8, 2)]
    assert net(torch.randn(5, 3)).shape == (5, 2)
    assert not isinstance(net[-1], (nn.ReLU, nn.LayerNorm))  # the output is not squashed
