"""Table-level encoding: fit_table_encoders, TableFeatures, TableEncoder."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from relgraph.encoder import (
    Hash,
    Index,
    Numerical,
    TableEncoder,
    TableFeatures,
    compute_column_stats,
    fit_table_encoders,
)
from relgraph.encoder.table import _apply_default_na
from relgraph.errors import PlanError


def _frame(seed: int = 0, n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::7] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": x,
            "c": rng.choice(["a", "b", "c", None], size=n),
            "g": rng.choice(["a|b", "b", "c|a|b", None], size=n),
            "t": rng.choice(["red apple", "green pear", None], size=n),
            "ts": pd.to_datetime("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 10**8, size=n), unit="s"),
            "seq": [list(rng.normal(size=3)) for _ in range(n)],
        }
    )


C2S = {
    "id": "ID",
    "x": "numerical",
    "c": "categorical",
    "g": "multicategorical",
    "t": "text",
    "ts": "timestamp",
    "seq": "sequence",
}


def test_fit_table_defaults_and_dropped():
    df = _frame()
    tf = fit_table_encoders(df, C2S)
    assert tf.columns == ["x", "c", "g", "t", "ts", "seq"]
    assert "id" in tf.dropped
    assert set(tf.tensors) == set(tf.columns)
    for col, t in tf.tensors.items():
        assert t.shape[0] == len(df), col
    configs = tf.encoder_configs()
    assert str(configs["id"]) == "Null()"


def test_overrides_and_na_strategy():
    df = _frame()
    tf = fit_table_encoders(
        df,
        C2S,
        overrides={"c": "Hash(num_components=4)", "x": Numerical(scaler="minmax"), "t": "Null()"},
        na_strategy={"numerical": "zero", "multicategorical": "separate"},
    )
    assert tf.encoders["c"].encoder == Hash(num_components=4)
    # override is used as is (global na_strategy does not apply to it)
    assert str(tf.encoders["x"].encoder) == 'Numerical(scaler="minmax", na_strategy="mean")'
    assert str(tf.encoders["g"].encoder).startswith(
        'MultiCategorical(min_occ=1, na_strategy="separate"'
    )
    assert "t" not in tf.encoders and "t" in tf.dropped
    with pytest.raises(PlanError, match="unknown columns"):
        fit_table_encoders(df, C2S, overrides={"nope": "Null()"})
    with pytest.raises(PlanError, match="does not support stype 'categorical' of column 'c'"):
        fit_table_encoders(df, C2S, overrides={"c": "Numerical()"})
    with pytest.raises(PlanError, match="Column 'c'"):
        fit_table_encoders(df, C2S, overrides={"c": "Index(min_occ=0)"})
    with pytest.raises(PlanError, match="'mean' is not supported for stype 'categorical'"):
        fit_table_encoders(df, C2S, na_strategy={"categorical": "mean"})


def test_inputs_not_modified():
    df = _frame()
    before = df.copy(deep=True)
    overrides = {"c": Index(min_occ=2)}
    tf = fit_table_encoders(df, dict(C2S), overrides=overrides)
    tf.transform(df)
    pd.testing.assert_frame_equal(df, before)
    assert overrides == {"c": Index(min_occ=2)}


def test_perturbing_one_column_leaves_others_unchanged():
    df = _frame()
    tf = fit_table_encoders(df, C2S)
    torch.manual_seed(0)
    enc = TableEncoder(tf, 16)
    base = tf.transform(df)
    for col in tf.columns:
        other = df.copy()
        other[col] = df[col].sample(frac=1.0, random_state=1).to_numpy()
        pert = tf.transform(other)
        for c2 in tf.columns:
            if c2 != col:
                assert torch.equal(pert[c2], base[c2]), (col, c2)
        # column modules are independent: only the perturbed column's vector changes
        for c2, mod in zip(enc.columns, enc.col_modules):
            if c2 != col:
                assert torch.equal(mod(pert[c2]), mod(base[c2]))


def test_table_encoder_forward_and_grad():
    df = _frame()
    tf = fit_table_encoders(df, C2S)
    enc = TableEncoder(tf, 8)
    idx = torch.tensor([3, 1, 4, 1, 5])
    batch = {c: t[idx] for c, t in tf.tensors.items()}
    out = enc(batch, num_rows=5)
    assert out.shape == (5, 8)
    assert torch.isfinite(out).all()
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in enc.norm.parameters())
    # the training path sums as it encodes; explanations pool the column vectors: equal
    with torch.no_grad():
        pooled = enc.pool(enc.column_vectors(batch, 5), 5)
        assert torch.equal(enc(batch, num_rows=5), pooled)


def test_table_without_features_gives_constant():
    df = pd.DataFrame({"id": np.arange(5)})
    tf = fit_table_encoders(df, {"id": "ID"})
    assert tf.columns == []
    enc = TableEncoder(tf, 4)
    out = enc({}, num_rows=3)
    assert out.shape == (3, 4)
    assert torch.equal(out[0], out[2])
    out.sum().backward()
    assert enc.const is not None and enc.const.grad is not None


def test_state_dict_roundtrip_weights_only():
    df = _frame()
    tf = fit_table_encoders(df, C2S)
    buf = io.BytesIO()
    torch.save(tf.state_dict(include_tensors=True), buf)
    buf.seek(0)
    tf2 = TableFeatures.from_state_dict(torch.load(buf, weights_only=True))
    assert tf2.columns == tf.columns
    new = _frame(seed=3)
    a, b = tf.transform(new), tf2.transform(new)
    for c in tf.columns:
        assert torch.equal(a[c], b[c])
        assert torch.equal(tf2.tensors[c], tf.tensors[c])
    with pytest.raises(PlanError, match="missing"):
        tf.transform(new.drop(columns=["x"]))


def test_global_zero_na_on_inferred_hash_falls_back_to_index():
    vals = [f"v{i}" for i in range(1500)] * 2 + [f"w{i}" for i in range(600)] + [None]
    df = pd.DataFrame({"c": vals})
    tf = fit_table_encoders(df, {"c": "categorical"})
    assert isinstance(tf.encoders["c"].encoder, Hash)
    tf0 = fit_table_encoders(df, {"c": "categorical"}, na_strategy={"categorical": "zero"})
    enc = tf0.encoders["c"].encoder
    assert enc == Index(min_occ=1, na_strategy="zero")
    assert tf0.tensors["c"][-1].item() == 0
    # the vocabulary is capped at the Hash size by raising min_occ
    stats = compute_column_stats(df["c"], "categorical")
    capped = _apply_default_na(
        Hash(num_components=1500), "categorical", stats, {"categorical": "zero"}
    )
    assert capped == Index(min_occ=2, na_strategy="zero")
