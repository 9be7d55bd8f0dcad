"""Our max/min aggregations: the same bits as PyG's, forward and backward."""

import pytest
import torch
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import scatter

from relgraph.nn.aggregation import MaxAggregation, MinAggregation, aggregation


def _messages(kind: str, seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3000, 16, generator=g)
    if kind == "relu":          # ties at zero: the untouched start value counts as a tie
        x = x.relu()
    elif kind == "rounded":     # ties away from zero, negatives
        x = (x * 2).round() / 2
    index = torch.randint(0, 900, (3000,), generator=g)  # some groups stay empty
    return x, index, 1000


@pytest.mark.parametrize("reduce,ours", [("max", MaxAggregation), ("min", MinAggregation)])
@pytest.mark.parametrize("kind", ["plain", "relu", "rounded"])
def test_same_bits_as_pyg(reduce, ours, kind):
    x, index, size = _messages(kind, seed=len(kind))
    g = torch.randn(size, 16, generator=torch.Generator().manual_seed(1))
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    expected = scatter(a, index, 0, size, reduce=reduce)
    got = ours()(b, index, dim_size=size)
    (expected * g).sum().backward()
    (got * g).sum().backward()
    assert torch.equal(got, expected)
    assert torch.equal(b.grad, a.grad)
    assert b.grad.abs().sum() > 0


def test_gradient_is_the_derivative():
    x = torch.randn(40, 3, dtype=torch.float64, requires_grad=True)  # distinct values
    index = torch.randint(0, 7, (40,))
    assert torch.autograd.gradcheck(lambda v: MaxAggregation()(v, index, dim_size=9), (x,))
    assert torch.autograd.gradcheck(lambda v: MinAggregation()(v, index, dim_size=9), (x,))


def test_other_layouts_fall_back_to_pyg():
    x = torch.randn(6, 4)
    ptr = torch.tensor([0, 2, 2, 6])  # CSR segments, as PyG passes for sorted indices
    got = MaxAggregation()(x, ptr=ptr, dim_size=3)
    assert torch.equal(got[0], x[:2].max(0).values) and torch.equal(got[2], x[2:].max(0).values)


def test_sage_convolution_unchanged():
    torch.manual_seed(0)
    x_src, x_dst = torch.randn(50, 8).relu(), torch.randn(20, 8)
    edges = torch.stack([torch.randint(0, 50, (120,)), torch.randint(0, 20, (120,))])
    ref = SAGEConv((8, 8), 8, aggr=["sum", "mean", "max"])
    ours = SAGEConv((8, 8), 8, aggr=aggregation(["sum", "mean", "max"]))
    ours.load_state_dict(ref.state_dict())  # same parameters, same keys
    outs = []
    for conv in (ref, ours):
        xs = x_src.clone().requires_grad_()
        out = conv((xs, x_dst), edges, size=(50, 20))
        out.square().sum().backward()
        outs.append((out, xs.grad, [p.grad for p in conv.parameters()]))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert all(torch.equal(p, q) for p, q in zip(outs[0][2], outs[1][2]))
    assert aggregation(["mean"]) == "mean" and isinstance(aggregation(["max"]), MaxAggregation)
