"""HeteroGNN: shapes per node type, trim-to-layer equals the full computation on the seeds,
messages flow only along edge types, gradients reach every convolution that is used."""

from __future__ import annotations

import pytest
import torch

from relgraph.nn.gnn import HeteroGNN, edge_key

B_TO_A = ("b", "rev_a_id", "a")
A_TO_B = ("a", "a_id", "b")
CHANNELS = 8


def _tree() -> tuple[dict[str, torch.Tensor], dict, dict[str, torch.Tensor]]:
    """Two seeds of type ``a`` (hop 0), three ``b`` children (hop 1), two ``a`` grandchildren
    (hop 2); nodes of each type stored hop by hop, edges from child to parent."""
    g = torch.Generator().manual_seed(0)
    x_dict = {"a": torch.randn(4, CHANNELS, generator=g),
              "b": torch.randn(3, CHANNELS, generator=g)}
    edge_index_dict = {
        B_TO_A: torch.tensor([[0, 1, 2], [0, 0, 1]]),  # b0, b1 -> a0; b2 -> a1
        A_TO_B: torch.tensor([[2, 3], [0, 2]]),  # a2 -> b0; a3 -> b2
    }
    hop_dict = {"a": torch.tensor([0, 0, 2, 2]), "b": torch.tensor([1, 1, 1])}
    return x_dict, edge_index_dict, hop_dict


def _model(num_layers: int = 2, **kwargs: object) -> HeteroGNN:
    torch.manual_seed(0)
    return HeteroGNN(["a", "b"], [B_TO_A, A_TO_B], CHANNELS, num_layers, ["sum", "mean"],
                     **kwargs).eval()  # type: ignore[arg-type]


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_output_keeps_every_node_type_and_shape(num_layers: int) -> None:
    x_dict, edge_index_dict, _ = _tree()
    out = _model(num_layers)(x_dict, edge_index_dict)
    assert set(out) == {"a", "b"}
    for t, x in x_dict.items():
        assert out[t].shape == x.shape
        assert torch.isfinite(out[t]).all()


def test_trimming_to_layer_leaves_the_seed_embeddings_unchanged() -> None:
    """With ``hop_dict`` layer ``l`` updates only hops ``<= L-1-l``; the seeds (hop 0) get
    exactly what the untrimmed computation gives them."""
    x_dict, edge_index_dict, hop_dict = _tree()
    model = _model(2)
    full = model(x_dict, edge_index_dict)
    trimmed = model(x_dict, edge_index_dict, hop_dict)
    torch.testing.assert_close(trimmed["a"][:2], full["a"][:2])
    # Nodes past the last hop a layer may update keep their input values.
    torch.testing.assert_close(trimmed["a"][2:], x_dict["a"][2:])


def test_a_seed_sees_only_its_own_subtree() -> None:
    """Changing the grandchild under seed a1 (a3 -> b2 -> a1) changes a1 only, not a0."""
    x_dict, edge_index_dict, hop_dict = _tree()
    model = _model(2)
    before = model(x_dict, edge_index_dict, hop_dict)["a"]
    x2 = {t: x.clone() for t, x in x_dict.items()}
    x2["a"][3] += 5.0
    after = model(x2, edge_index_dict, hop_dict)["a"]
    torch.testing.assert_close(after[0], before[0])
    assert not torch.allclose(after[1], before[1])


def test_a_node_type_without_incoming_edges_passes_through() -> None:
    x_dict, edge_index_dict, _ = _tree()
    out = _model(2)(x_dict, {B_TO_A: edge_index_dict[B_TO_A]})
    torch.testing.assert_close(out["b"], x_dict["b"])
    assert not torch.allclose(out["a"], x_dict["a"])


def test_gradients_reach_the_convolutions_of_both_edge_types() -> None:
    x_dict, edge_index_dict, hop_dict = _tree()
    model = _model(2).train()
    model(x_dict, edge_index_dict, hop_dict)["a"][:2].sum().backward()
    for layer in range(2):
        conv = model.convs[layer][edge_key(B_TO_A)]
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in conv.parameters())
    first = model.convs[0][edge_key(A_TO_B)]  # a2 -> b0 -> a0 needs layer 0 on a -> b
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first.parameters())
