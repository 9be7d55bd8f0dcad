"""Fitted column encoders: transforms, NA strategies, modules, state round trips."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from relgraph.encoder import (
    Datetime,
    FittedEncoder,
    GloVe,
    Hash,
    Image,
    Index,
    MaxLogNumerical,
    MinLogNumerical,
    MultiCategorical,
    Null,
    Numerical,
    NumericalList,
    TextEmbedding,
    compute_column_stats,
    fit_encoder,
)
from relgraph.errors import PlanError

NUM = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, np.inf])
CAT = pd.Series(["a", "b", None, "a", "c", "a", "b"], dtype=object)


def _roundtrip(fe: FittedEncoder) -> FittedEncoder:
    buf = io.BytesIO()
    torch.save(fe.state_dict(), buf)
    buf.seek(0)
    return FittedEncoder.from_state_dict(torch.load(buf, weights_only=True))


# ------------------------------------------------------------------ numerical
def test_numerical_mean_fills_mean():
    fe = fit_encoder(Numerical(scaler="standard"), NUM, "numerical")
    x = fe.transform(NUM)
    assert x.dtype == torch.float32 and x.shape == (6, 1)
    valid = np.array([1.0, 2.0, 4.0, 5.0])
    z = (valid - valid.mean()) / valid.std()
    assert torch.allclose(x[[0, 1, 3, 4], 0], torch.tensor(z, dtype=torch.float32), atol=1e-6)
    # NaN and inf are NA -> mean -> 0 after standard scaling
    assert torch.allclose(x[[2, 5], 0], torch.zeros(2), atol=1e-6)


def test_numerical_zero_fills_raw_zero():
    fe = fit_encoder(Numerical(scaler="minmax", na_strategy="zero"), NUM, "numerical")
    x = fe.transform(NUM)[:, 0]
    assert torch.allclose(x[[0, 1, 3, 4]], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    assert torch.allclose(x[[2, 5]], torch.tensor([-0.25, -0.25]))  # (0 - 1) / 4


def test_numerical_separate_adds_indicator():
    fe = fit_encoder(Numerical(na_strategy="separate"), NUM, "numerical")
    x = fe.transform(NUM)
    assert x.shape == (6, 2)
    assert x[:, 1].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    out = fe.make_module(8)(x)
    assert out.shape == (6, 8)


def test_robust_scaler_and_default_squash():
    s = pd.Series(np.r_[np.arange(100.0), 1e9])
    robust = fit_encoder(Numerical(scaler="robust"), s, "numerical").transform(s)[:, 0]
    q1, med, q3 = np.quantile(s, [0.25, 0.5, 0.75])
    assert robust[-1].item() == pytest.approx((1e9 - med) / (q3 - q1), rel=1e-5)
    default = fit_encoder(Numerical(), s, "numerical").transform(s)[:, 0]
    assert default.abs().max().item() < 30.0  # outlier squashed, not exploded
    assert torch.all(default[1:] >= default[:-1])  # monotone
    assert torch.isfinite(default).all()


def test_log_transforms():
    s = pd.Series([0.0, 1.0, 9.0, 99.0])
    fe = fit_encoder(MaxLogNumerical(), s, "numerical")
    assert isinstance(fe, FittedEncoder)
    x = fe.transform(s)[:, 0]
    assert torch.all(x[1:] > x[:-1])
    # values below the fitted min are clamped, not NaN
    assert torch.isfinite(fe.transform(pd.Series([-100.0]))).all()
    fe2 = fit_encoder(MinLogNumerical(), s, "numerical")
    y = fe2.transform(s)[:, 0]
    assert torch.all(y[1:] < y[:-1])
    assert torch.isfinite(fe2.transform(pd.Series([1e6]))).all()


def test_constant_and_all_na_numeric_columns():
    const = pd.Series([3.0, 3.0, 3.0])
    x = fit_encoder(Numerical(), const, "numerical").transform(const)
    assert torch.isfinite(x).all()
    empty = pd.Series([np.nan, np.nan])
    assert torch.isfinite(fit_encoder(Numerical(), empty, "numerical").transform(empty)).all()


def test_timedelta_and_bool_numerics():
    td = pd.Series(pd.to_timedelta([1, 2, 3], unit="h"))
    assert fit_encoder(Numerical(), td, "numerical").transform(td).shape == (3, 1)
    b = pd.Series([True, False, None], dtype="boolean")
    assert fit_encoder(Numerical(), b, "numerical").transform(b).shape == (3, 1)


# ------------------------------------------------------------------ index / hash
def test_index_layout_rare_and_unseen():
    fe = fit_encoder(Index(min_occ=2), CAT, "categorical")
    x = fe.transform(CAT)
    assert x.dtype == torch.int64
    # vocab by count: a(3) -> 2, b(2) -> 3; c (count 1 < min_occ) -> rare 1; NA -> 0
    assert x.tolist() == [2, 3, 0, 2, 1, 2, 3]
    assert fe.transform(pd.Series(["zzz", "a"])).tolist() == [1, 2]


def test_index_na_strategies():
    zero = fit_encoder(Index(na_strategy="zero"), CAT, "categorical")
    mod = zero.make_module(4)
    out = mod(zero.transform(CAT))
    assert torch.count_nonzero(out[2]) == 0  # NA row is a fixed zero vector
    assert torch.count_nonzero(out[0]) > 0
    mf = fit_encoder(Index(na_strategy="most_frequent"), CAT, "categorical")
    x = mf.transform(CAT)
    assert x[2] == x[0]  # NA -> 'a'
    sep = fit_encoder(Index(), CAT, "categorical").transform(CAT)
    assert sep[2] == 0 and torch.count_nonzero(sep == 0) == 1


def test_index_keys_int_float_consistent():
    ints = pd.Series([1, 2, 3, 1])
    floats = pd.Series([1.0, 2.0, np.nan, 3.0])  # ints read as float because of the null
    fe = fit_encoder(Index(), ints, "categorical")
    assert fe.transform(floats).tolist() == [
        2,
        fe.transform(pd.Series([2]))[0].item(),
        0,
        fe.transform(pd.Series([3]))[0].item(),
    ]
    assert 1 not in fe.transform(floats).tolist()  # no unseen


def test_hash_stable_and_in_range():
    s = pd.Series([f"user{i}" for i in range(1000)] + [None])
    fe = fit_encoder(Hash(num_components=37), s, "ID")
    x = fe.transform(s)
    assert x[:-1].min() >= 0 and x[:-1].max() < 37
    assert x[-1] == 37  # separate NA bucket
    assert torch.equal(_roundtrip(fe).transform(s), x)
    # the same key hashes to the same bucket, wherever it appears
    again = fe.transform(pd.Series(["user5", "user5", "user7"]))
    assert again[0] == again[1] == x[5] and again[2] == x[7]
    assert fe.make_module(8)(x).shape == (1001, 8)
    mf = fit_encoder(Hash(num_components=37, na_strategy="most_frequent"), CAT, "categorical")
    y = mf.transform(CAT)
    assert y[2] == y[0]


# ------------------------------------------------------------------ multicategorical
GENRES = pd.Series(
    ["Adventure|Animation", "Comedy", None, "Adventure", "", "Animation|Comedy|Drama"],
    dtype=object,
)


def test_multicategorical_pipe():
    stats = compute_column_stats(GENRES, "multicategorical")
    assert stats.separator == "|"
    assert stats.category_counts == {"Adventure": 2, "Animation": 2, "Comedy": 2, "Drama": 1}
    fe = fit_encoder(MultiCategorical(min_occ=2), GENRES, "multicategorical")
    x = fe.transform(GENRES)
    assert x.shape == (6, 3) and x.dtype == torch.int64
    assert x[0].tolist() == [2, 3, -1]
    assert x[2].tolist() == [-1, -1, -1]  # NA, strategy zero
    assert x[5].tolist() == [3, 4, 1]  # Drama is rare
    out = fe.make_module(5)(x)
    assert out.shape == (6, 5)
    assert torch.count_nonzero(out[2]) == 0 and torch.count_nonzero(out[4]) == 0
    emb = fe.make_module(5)
    got = emb(x[:1])
    expect = emb.emb.weight[[2, 3]].mean(0)
    assert torch.allclose(got[0], expect)


def test_multicategorical_comma_lists_and_separate():
    s = pd.Series(["a, b", "b,c", None, "a"], dtype=object)
    assert compute_column_stats(s, "multicategorical").separator == ","
    fe = fit_encoder(MultiCategorical(na_strategy="separate"), s, "multicategorical")
    x = fe.transform(s)
    assert x[2].tolist()[0] == 0  # NA category
    lists = pd.Series([["a", "b"], ["c"], None, []], dtype=object)
    fe2 = fit_encoder(MultiCategorical(), lists, "multicategorical")
    y = fe2.transform(lists)
    assert (y[0] >= 2).sum() == 2 and (y[3] < 0).all()


def test_multicategorical_explicit_sep():
    s = pd.Series(["a;b", "c"], dtype=object)
    fe = fit_encoder(MultiCategorical(sep=";"), s, "multicategorical")
    assert (fe.transform(s)[0] >= 2).sum() == 2


# ------------------------------------------------------------------ datetime / sequence
def test_datetime_features():
    s = pd.Series(
        pd.to_datetime(["2020-01-01 00:00", "2020-01-01 06:00", None, "2024-12-31 00:00"])
    )
    fe = fit_encoder(Datetime(), s, "timestamp")
    x = fe.transform(s)
    assert x.shape == (4, 11)
    assert torch.count_nonzero(x[2]) == 0  # NA -> zeros
    # hour features are columns 2,3: 06:00 -> angle pi/2
    assert x[1, 2].item() == pytest.approx(1.0, abs=1e-6)
    assert x[1, 3].item() == pytest.approx(0.0, abs=1e-6)
    assert x[:, -1].min() >= -1.0 - 1e-6 and x[:, -1].max() <= 1.0 + 1e-6
    small = fit_encoder(Datetime(include_minute=False, include_year=False), s, "timestamp")
    assert small.transform(s).shape == (4, 8)
    cyc = fit_encoder(Datetime(num_year_periods=4), s, "timestamp")
    assert cyc.transform(s).shape == (4, 12)
    strings = pd.Series(["2020-01-01", "2021-02-03 04:05:06", "bad"])
    assert torch.count_nonzero(fe.transform(strings)[2]) == 0
    none = fit_encoder(Datetime(False, False, False, False, False, False), s, "timestamp")
    assert none.make_module(3)(none.transform(s)).shape == (4, 3)


def test_numerical_list_fixed_length():
    s = pd.Series([[1.0, 2.0], [3.0], None, [1.0, 2.0, 3.0]], dtype=object)
    fe = fit_encoder(NumericalList(), s, "sequence")
    x = fe.transform(s)
    assert x.tolist() == [[1, 2, 0], [3, 0, 0], [0, 0, 0], [1, 2, 3]]
    longer = fe.transform(pd.Series([[1.0, 2.0, 3.0, 4.0]], dtype=object))
    assert longer.shape == (1, 3)
    cos = fit_encoder(NumericalList(scaler="cosine"), s, "sequence").transform(s)
    assert cos[0].norm().item() == pytest.approx(1.0, abs=1e-6)
    strs = pd.Series(["[1, 2]", "3"])
    assert fe.transform(strs).tolist() == [[1, 2, 0], [3, 0, 0]]


# ------------------------------------------------------------------ text / image / null
def test_text_and_glove_and_image():
    s = pd.Series(["the cat sat", "a dog", None, "the cat sat"])
    fe = fit_encoder(TextEmbedding(model_name="hash", embedding_dim=24), s, "text")
    x = fe.transform(s)
    assert x.shape == (4, 24)
    assert torch.equal(x[0], x[3])
    assert torch.count_nonzero(x[2]) == 0
    assert x[0].norm().item() == pytest.approx(1.0, abs=1e-5)
    g = fit_encoder(GloVe(), s, "text")
    assert g.transform(s).shape[0] == 4
    img = fit_encoder(Image(), pd.Series(["http://x/a.jpg", None]), "image")
    assert img.transform(pd.Series(["http://x/a.jpg", None])).shape == (2, 32)


def test_null_encoder():
    fe = fit_encoder(Null(), CAT, "categorical")
    x = fe.transform(CAT)
    assert x.shape == (7, 0)
    assert torch.count_nonzero(fe.make_module(4)(x)) == 0


def test_encoder_stype_mismatch_raises():
    with pytest.raises(PlanError, match="does not support stype 'categorical'"):
        fit_encoder(Numerical(), CAT, "categorical")
    with pytest.raises(PlanError, match="Unknown encoder"):
        fit_encoder("Nope()", CAT, "categorical")


# ------------------------------------------------------------------ generic properties
CASES = [
    pytest.param(Numerical(), NUM, "numerical", id="numerical"),
    pytest.param(Numerical(na_strategy="separate"), NUM, "numerical", id="numerical-sep"),
    pytest.param(MaxLogNumerical(), NUM.abs(), "numerical", id="maxlog"),
    pytest.param(Index(min_occ=2), CAT, "categorical", id="index"),
    pytest.param(Hash(num_components=8), CAT, "categorical", id="hash"),
    pytest.param(MultiCategorical(), GENRES, "multicategorical", id="multicat"),
    pytest.param(
        Datetime(),
        pd.Series(pd.to_datetime(["2020-01-01", None, "2021-05-05"])),
        "timestamp",
        id="datetime",
    ),
    pytest.param(
        NumericalList(scaler="standard"),
        pd.Series([[1.0, 2.0], None], dtype=object),
        "sequence",
        id="numlist",
    ),
    pytest.param(
        TextEmbedding(model_name="hash"), pd.Series(["x y", None, "z"]), "text", id="text"
    ),
    pytest.param(Image(), pd.Series(["http://a/b.png", None]), "image", id="image"),
    pytest.param(Null(), CAT, "categorical", id="null"),
]


@pytest.mark.parametrize(("enc", "values", "stype"), CASES)
def test_state_roundtrip_and_module(enc, values, stype):
    before = values.copy()
    fe = fit_encoder(enc, values, stype)
    x = fe.transform(values)
    pd.testing.assert_series_equal(values, before)  # input not modified
    assert x.shape[0] == len(values)
    assert x.dtype in (torch.float32, torch.int64)
    assert fe.is_index == (x.dtype == torch.int64)
    fe2 = _roundtrip(fe)
    assert fe2.encoder == fe.encoder
    assert torch.equal(fe2.transform(values), x)
    torch.manual_seed(0)
    mod = fe.make_module(6)
    out = mod(x[[0, len(values) - 1]])  # a gathered slice
    assert out.shape == (2, 6) and out.dtype == torch.float32
    if any(p.requires_grad for p in mod.parameters()):
        out.sum().backward()


def test_from_state_dict_rejects_garbage():
    with pytest.raises(PlanError):
        FittedEncoder.from_state_dict(
            {"kind": "nope", "encoder": "Null()", "stype": "ID", "params": {}}
        )
