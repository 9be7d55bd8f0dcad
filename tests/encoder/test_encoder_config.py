"""Encoder configurations: string forms, validation, defaults, NA overrides."""

from __future__ import annotations

from enum import Enum

import numpy as np
import pandas as pd
import pytest

from relgraph.encoder import (
    ENCODERS,
    Datetime,
    EmbeddingScaler,
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
    compute_column_stats,
    default_encoder,
    parse_encoder,
)
from relgraph.errors import PlanError


class FakeStype(str, Enum):
    numerical = "numerical"
    categorical = "categorical"
    ID = "ID"
    text = "text"


ALL_ENCODERS = [
    pytest.param(Null(), id="null"),
    pytest.param(Numerical(), id="numerical-default"),
    pytest.param(Numerical(scaler="minmax", na_strategy="zero"), id="numerical-minmax"),
    pytest.param(Numerical(scaler=Scaler.ROBUST, na_strategy="separate"), id="numerical-robust"),
    pytest.param(MaxLogNumerical(na_strategy="zero"), id="maxlog"),
    pytest.param(MinLogNumerical(), id="minlog"),
    pytest.param(Index(min_occ=3, na_strategy="most_frequent"), id="index"),
    pytest.param(Hash(num_components=64), id="hash"),
    pytest.param(MultiCategorical(min_occ=2, na_strategy="separate", sep="|"), id="multicat"),
    pytest.param(MultiCategorical(sep='a"b\\c'), id="multicat-escapes"),
    pytest.param(GloVe(model_name="glove.42B", embedding_dim=300), id="glove"),
    pytest.param(TextEmbedding(), id="text"),
    pytest.param(TextEmbedding(model_name="hash", embedding_dim=32), id="text-hash"),
    pytest.param(NumericalList(scaler="cosine"), id="numlist"),
    pytest.param(Datetime(include_minute=False, num_year_periods=4), id="datetime"),
    pytest.param(Image(), id="image"),
]


@pytest.mark.parametrize("enc", ALL_ENCODERS)
def test_string_round_trip(enc):
    text = str(enc)
    assert text.startswith(enc.name + "(")
    back = parse_encoder(text)
    assert back == enc
    assert type(back) is type(enc)
    assert str(back) == text


def test_every_encoder_class_is_covered():
    covered = {p.values[0].name for p in ALL_ENCODERS}
    assert covered == set(ENCODERS)


def test_reference_string_forms():
    assert str(Numerical(scaler="minmax", na_strategy="zero")) == (
        'Numerical(scaler="minmax", na_strategy="zero")'
    )
    assert parse_encoder('Numerical(scaler="minmax", na_strategy="zero")') == Numerical(
        scaler=Scaler.MINMAX, na_strategy=NAStrategy.ZERO
    )
    assert parse_encoder('GloVe(model_name="glove.42B", embedding_dim=300)') == GloVe(
        "glove.42B", 300
    )
    assert parse_encoder("Null()") == Null()
    assert parse_encoder("Null") == Null()
    assert parse_encoder("Hash(16)") == Hash(num_components=16)
    assert parse_encoder(" Index( min_occ = 2 ) ") == Index(min_occ=2)


def test_enum_fields_are_canonical():
    enc = Numerical(scaler="standard", na_strategy="separate")
    assert enc.scaler is Scaler.STANDARD
    assert enc.na_strategy is NAStrategy.SEPARATE
    assert NumericalList(scaler="standard").scaler is EmbeddingScaler.STANDARD
    assert Numerical(na_strategy=NAStrategy.ZERO) == Numerical(na_strategy="zero")
    assert hash(Numerical()) == hash(Numerical(na_strategy="mean"))


@pytest.mark.parametrize(
    ("factory", "option", "value"),
    [
        pytest.param(
            lambda: Numerical(na_strategy="most_frequent"),
            "na_strategy",
            "most_frequent",
            id="num-na",
        ),
        pytest.param(lambda: Numerical(scaler="log"), "scaler", "log", id="num-scaler"),
        pytest.param(
            lambda: MaxLogNumerical(na_strategy="separat"), "na_strategy", "separat", id="maxlog-na"
        ),
        pytest.param(lambda: Index(na_strategy="mean"), "na_strategy", "mean", id="index-na"),
        pytest.param(lambda: Index(min_occ=0), "min_occ", "0", id="index-minocc"),
        pytest.param(lambda: Hash(num_components=0), "num_components", "0", id="hash-n"),
        pytest.param(
            lambda: Hash(num_components=8, na_strategy="zero"), "na_strategy", "zero", id="hash-na"
        ),
        pytest.param(
            lambda: MultiCategorical(na_strategy="mean"), "na_strategy", "mean", id="multicat-na"
        ),
        pytest.param(lambda: MultiCategorical(sep=""), "sep", "''", id="multicat-sep"),
        pytest.param(
            lambda: GloVe(model_name="glove.99B"), "model_name", "glove.99B", id="glove-model"
        ),
        pytest.param(
            lambda: GloVe(model_name="glove.42B", embedding_dim=50),
            "embedding_dim",
            "50",
            id="glove-dim",
        ),
        pytest.param(
            lambda: TextEmbedding(model_name="bert"), "model_name", "bert", id="text-model"
        ),
        pytest.param(lambda: TextEmbedding(embedding_dim=0), "embedding_dim", "0", id="text-dim"),
        pytest.param(
            lambda: NumericalList(scaler="minmax"), "scaler", "minmax", id="numlist-scaler"
        ),
        pytest.param(lambda: Datetime(include_hour="yes"), "include_hour", "yes", id="dt-flag"),
        pytest.param(
            lambda: Datetime(num_year_periods=0), "num_year_periods", "0", id="dt-periods"
        ),
    ],
)
def test_invalid_options_name_option_and_value(factory, option, value):
    with pytest.raises(PlanError) as info:
        factory()
    msg = str(info.value)
    assert option in msg
    assert value in msg
    assert "allowed" in msg or "expected" in msg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("Foo()", "Unknown encoder 'Foo'", id="unknown-encoder"),
        pytest.param("Numerical(scale='minmax')", "Unknown option 'scale'", id="unknown-option"),
        pytest.param("Numerical(", "Cannot parse", id="syntax"),
        pytest.param("Numerical(scaler=__import__('os'))", "literals", id="no-eval"),
        pytest.param("os.system('x')", "Cannot parse", id="attribute-call"),
        pytest.param("Hash()", "num_components", id="missing-required"),
        pytest.param("Index(1, 'zero', 3)", "Too many", id="too-many"),
        pytest.param("Index(min_occ=1, min_occ=2)", "min_occ", id="duplicate"),
        pytest.param('Numerical(na_strategy="median")', "median", id="bad-value"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(PlanError) as info:
        parse_encoder(text)
    assert fragment in str(info.value)


def test_parse_error_lists_allowed_encoders():
    with pytest.raises(PlanError) as info:
        parse_encoder("Embedding()")
    for name in ("Numerical", "Index", "Hash", "GloVe", "Datetime"):
        assert name in str(info.value)


def test_supported_stypes():
    assert Numerical().supports("numerical")
    assert Numerical().supports(FakeStype.numerical)
    assert not Numerical().supports("categorical")
    assert Index().supports("ID") and Index().supports("id")
    assert Hash(4).supports(FakeStype.categorical)
    assert Null().supports("text")
    with pytest.raises(PlanError, match=r"Numerical does not support stype 'text' of column 'c'"):
        Numerical().validate_stype("text", "c")
    with pytest.raises(PlanError, match="Unknown stype"):
        Numerical().supports("money")


def _stats(values, stype):
    return compute_column_stats(pd.Series(values), stype)


def test_default_encoder_rules():
    rng = np.random.default_rng(0)
    assert default_encoder("numerical", _stats(rng.normal(size=200), "numerical")) == Numerical()
    skewed = rng.lognormal(mean=0.0, sigma=3.0, size=2000)
    assert default_encoder("numerical", _stats(skewed, "numerical")) == MaxLogNumerical()
    assert default_encoder("categorical", _stats(list("aabbc"), "categorical")) == Index()
    many = [f"v{i}" for i in range(5000)] * 2
    enc = default_encoder("categorical", _stats(many, "categorical"))
    assert enc == Hash(num_components=5000)
    assert default_encoder("ID", _stats(range(100), "ID")) == Null()
    assert default_encoder("ID", _stats([1, 2, 1, 2, 3, 3], "ID")) == Index()
    assert default_encoder(FakeStype.text) == TextEmbedding()
    assert default_encoder("multicategorical") == MultiCategorical()
    assert default_encoder("timestamp") == Datetime()
    assert default_encoder("sequence") == NumericalList()
    assert default_encoder("image") == Image()
    assert default_encoder("unsupported") == Null()
    assert default_encoder("numerical", _stats([None, None], "numerical")) == Null()


def test_apply_na_strategy():
    assert apply_na_strategy(Numerical(), "numerical", {"numerical": "zero"}) == Numerical(
        na_strategy="zero"
    )
    assert apply_na_strategy(Index(), FakeStype.categorical, {FakeStype.categorical: "zero"}) == (
        Index(na_strategy="zero")
    )
    # other stypes untouched
    assert apply_na_strategy(Index(), "categorical", {"numerical": "zero"}) == Index()
    assert apply_na_strategy(Numerical(), "numerical", None) == Numerical()
    # fixed-zero encoders accept only zero
    assert apply_na_strategy(TextEmbedding(), "text", {"text": "zero"}) == TextEmbedding()
    with pytest.raises(PlanError, match=r"'mean' is not supported for stype 'text'"):
        apply_na_strategy(TextEmbedding(), "text", {"text": "mean"})
    with pytest.raises(PlanError, match=r"'mean' is not supported for stype 'categorical'"):
        apply_na_strategy(Index(), "categorical", {"categorical": "mean"})
    with pytest.raises(PlanError, match="most_common"):
        apply_na_strategy(Index(), "categorical", {"categorical": "most_common"})
