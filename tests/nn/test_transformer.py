"""SubgraphTransformer: one embedding per seed, computed from that seed's tokens only, and
independent of the order of the other tokens (no positional encoding inside)."""

from __future__ import annotations

import torch

from relgraph.nn.transformer import SubgraphTransformer

CHANNELS = 16


def _inputs() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    h_dict = {"users": torch.randn(3, CHANNELS, generator=g),
              "orders": torch.randn(7, CHANNELS, generator=g)}
    batch_dict = {"users": torch.tensor([0, 1, 2]),
                  "orders": torch.tensor([0, 0, 1, 0, 2, 2, 2])}
    return h_dict, batch_dict


def _model() -> SubgraphTransformer:
    torch.manual_seed(0)
    return SubgraphTransformer(CHANNELS, num_layers=2, num_heads=4, dropout=0.0).eval()


def test_one_normalized_embedding_per_seed() -> None:
    h_dict, batch_dict = _inputs()
    out = _model()(h_dict, batch_dict, "users", 3)
    assert out.shape == (3, CHANNELS)
    # LayerNorm at the output: zero mean and unit variance per seed (default affine init).
    torch.testing.assert_close(out.mean(dim=1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(dim=1, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)


def test_tokens_of_another_seed_do_not_leak() -> None:
    h_dict, batch_dict = _inputs()
    model = _model()
    before = model(h_dict, batch_dict, "users", 3)
    h2 = {t: h.clone() for t, h in h_dict.items()}
    h2["orders"][4:] = torch.randn(3, CHANNELS)  # the orders of seed 2
    after = model(h2, batch_dict, "users", 3)
    torch.testing.assert_close(after[:2], before[:2])
    assert not torch.allclose(after[2], before[2])


def test_order_of_the_other_tokens_does_not_matter() -> None:
    h_dict, batch_dict = _inputs()
    model = _model()
    before = model(h_dict, batch_dict, "users", 3)
    perm = torch.tensor([6, 3, 2, 5, 0, 4, 1])
    after = model({"users": h_dict["users"], "orders": h_dict["orders"][perm]},
                  {"users": batch_dict["users"], "orders": batch_dict["orders"][perm]},
                  "users", 3)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def test_a_seed_without_other_tokens_is_embedded_from_itself() -> None:
    h_dict, batch_dict = _inputs()
    model = _model()
    alone = model({"users": h_dict["users"][:1]}, {"users": torch.tensor([0])}, "users", 1)
    with_others = model(h_dict, batch_dict, "users", 3)
    assert alone.shape == (1, CHANNELS)
    assert not torch.allclose(alone[0], with_others[0])  # its orders do change it
