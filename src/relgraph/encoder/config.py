"""Encoder configurations of the reference API (``kumoai.encoder``).

Encoders are frozen dataclasses that only describe *how* a column is encoded; the
fitted, data-dependent part lives in :mod:`relgraph.encoder.fitted`. Every encoder
has a string form that round-trips::

    >>> enc = Numerical(scaler="minmax", na_strategy="zero")
    >>> str(enc)
    'Numerical(scaler="minmax", na_strategy="zero")'
    >>> parse_encoder(str(enc)) == enc
    True

Strings are parsed with :mod:`ast` (never ``eval``): only ``Name(kw=literal, ...)``
calls with literal arguments are accepted.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from relgraph.encoder._common import STYPES, stype_name
from relgraph.errors import PlanError
from relgraph.str_enum import StrEnum

if TYPE_CHECKING:
    from relgraph.encoder.stats import ColumnStats


class NAStrategy(StrEnum):
    """How missing values of a column are handled."""

    ZERO = "zero"
    MEAN = "mean"
    SEPARATE = "separate"
    MOST_FREQUENT = "most_frequent"
    RAISE = "raise"


class Scaler(StrEnum):
    """Scaling of numerical columns."""

    STANDARD = "standard"
    MINMAX = "minmax"
    ROBUST = "robust"


class EmbeddingScaler(StrEnum):
    """Scaling of sequence (embedding) columns."""

    STANDARD = "standard"
    COSINE = "cosine"


#: GloVe models of the reference and their allowed embedding dimensions.
GLOVE_MODELS: dict[str, tuple[int, ...]] = {
    "glove.test": (10,),
    "glove.6B": (50, 100, 200, 300),
    "glove.42B": (300,),
    "glove.840B": (300,),
    "glove_twitter.27B": (25, 50, 100, 200),
}

#: Text models accepted by :class:`TextEmbedding` (``None`` = best available).
TEXT_MODELS: tuple[str, ...] = (
    "hash",
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
)


def _enum_value(enum_cls: type[Enum], value: Any, option: str, owner: str) -> Any:
    try:
        return enum_cls(str(value.value if isinstance(value, Enum) else value))
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise PlanError(f"Invalid {option}={value!r} for {owner}; allowed: {allowed}.") from None


def _check_int(value: Any, option: str, owner: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError(
            f"Invalid {option}={value!r} for {owner}; expected an integer >= {minimum}."
        )
    return int(value)


def _check_bool(value: Any, option: str, owner: str) -> bool:
    if not isinstance(value, bool):
        raise PlanError(f"Invalid {option}={value!r} for {owner}; expected True or False.")
    return value


def _render(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return repr(value)


@dataclasses.dataclass(frozen=True)
class Encoder:
    """Base class of all encoder configurations.

    Class attributes: ``supported_stypes`` (stypes the encoder accepts; empty = any)
    and ``na_strategies`` (allowed values of ``na_strategy``; empty = the encoder
    has a fixed NA handling, which is "zero").
    """

    supported_stypes: ClassVar[tuple[str, ...]] = ()
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = ()

    @property
    def name(self) -> str:
        """The encoder's class name, as used in its string form."""
        return type(self).__name__

    def options(self) -> dict[str, Any]:
        """The encoder's options as ``{name: value}`` in declaration order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_render(v)}" for k, v in self.options().items())
        return f"{self.name}({args})"

    def __repr__(self) -> str:
        return str(self)

    def supports(self, stype: Any) -> bool:
        """Whether the encoder can encode a column of ``stype``."""
        return not self.supported_stypes or stype_name(stype) in self.supported_stypes

    def validate_stype(self, stype: Any, column: str | None = None) -> None:
        """Raise :class:`PlanError` if the encoder does not support ``stype``."""
        if not self.supports(stype):
            where = f" of column {column!r}" if column else ""
            raise PlanError(
                f"Encoder {self.name} does not support stype {stype_name(stype)!r}{where}; "
                f"it supports: {', '.join(self.supported_stypes)}."
            )

    def _check_na(self) -> None:
        na = getattr(self, "na_strategy", None)
        if na is None:
            return
        value = _enum_value(NAStrategy, na, "na_strategy", self.name)
        if value not in self.na_strategies:
            allowed = ", ".join(repr(s.value) for s in self.na_strategies)
            raise PlanError(
                f"Invalid na_strategy={value.value!r} for {self.name}; allowed: {allowed}."
            )
        object.__setattr__(self, "na_strategy", value)


@dataclasses.dataclass(frozen=True, repr=False)
class Null(Encoder):
    """Drops the column from the features."""

    supported_stypes: ClassVar[tuple[str, ...]] = ()


_NUMERIC_NA = (NAStrategy.ZERO, NAStrategy.MEAN, NAStrategy.SEPARATE)


@dataclasses.dataclass(frozen=True, repr=False)
class Numerical(Encoder):
    """Linear encoding of a (scaled) number.

    ``scaler=None`` uses relgraph's default: robust z-score (median / IQR) with
    values beyond +-3 squashed logarithmically, so outliers cannot explode.
    """

    scaler: Scaler | str | None = None
    na_strategy: NAStrategy | str = NAStrategy.MEAN

    supported_stypes: ClassVar[tuple[str, ...]] = ("numerical",)
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = _NUMERIC_NA

    def __post_init__(self) -> None:
        if self.scaler is not None:
            object.__setattr__(
                self, "scaler", _enum_value(Scaler, self.scaler, "scaler", self.name)
            )
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class MaxLogNumerical(Encoder):
    """``log(x - (min - 1))``: for non-negative, right-skewed numbers."""

    na_strategy: NAStrategy | str = NAStrategy.MEAN

    supported_stypes: ClassVar[tuple[str, ...]] = ("numerical",)
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = _NUMERIC_NA

    def __post_init__(self) -> None:
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class MinLogNumerical(Encoder):
    """``log((x - (max + 1)) / -1)``: for left-skewed numbers."""

    na_strategy: NAStrategy | str = NAStrategy.MEAN

    supported_stypes: ClassVar[tuple[str, ...]] = ("numerical",)
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = _NUMERIC_NA

    def __post_init__(self) -> None:
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class Index(Encoder):
    """One embedding per value seen at least ``min_occ`` times; rarer values share one."""

    min_occ: int = 1
    na_strategy: NAStrategy | str = NAStrategy.SEPARATE

    supported_stypes: ClassVar[tuple[str, ...]] = ("categorical", "ID")
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = (
        NAStrategy.ZERO,
        NAStrategy.SEPARATE,
        NAStrategy.MOST_FREQUENT,
    )

    def __post_init__(self) -> None:
        _check_int(self.min_occ, "min_occ", self.name, 1)
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class Hash(Encoder):
    """Values hashed (stably) into ``num_components`` embedding buckets."""

    num_components: int
    na_strategy: NAStrategy | str = NAStrategy.SEPARATE

    supported_stypes: ClassVar[tuple[str, ...]] = ("categorical", "ID")
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = (
        NAStrategy.SEPARATE,
        NAStrategy.MOST_FREQUENT,
    )

    def __post_init__(self) -> None:
        _check_int(self.num_components, "num_components", self.name, 1)
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class MultiCategorical(Encoder):
    """Each category of a multi-valued cell embedded, then averaged.

    ``sep=None`` uses the separator detected in the column statistics.
    """

    min_occ: int = 1
    na_strategy: NAStrategy | str = NAStrategy.ZERO
    sep: str | None = None

    supported_stypes: ClassVar[tuple[str, ...]] = ("multicategorical",)
    na_strategies: ClassVar[tuple[NAStrategy, ...]] = (NAStrategy.ZERO, NAStrategy.SEPARATE)

    def __post_init__(self) -> None:
        _check_int(self.min_occ, "min_occ", self.name, 1)
        if self.sep is not None and (not isinstance(self.sep, str) or not self.sep):
            raise PlanError(
                f"Invalid sep={self.sep!r} for {self.name}; expected a non-empty string or None."
            )
        self._check_na()


@dataclasses.dataclass(frozen=True, repr=False)
class GloVe(Encoder):
    """GloVe word vectors of the reference.

    GloVe files cannot be downloaded here: relgraph encodes the column with its
    text embedder (:class:`TextEmbedding`) at ``embedding_dim``. NA is fixed to zero.
    """

    model_name: str = "glove.6B"
    embedding_dim: int = 50

    supported_stypes: ClassVar[tuple[str, ...]] = ("text",)

    def __post_init__(self) -> None:
        if self.model_name not in GLOVE_MODELS:
            raise PlanError(
                f"Invalid model_name={self.model_name!r} for GloVe; allowed: "
                f"{', '.join(repr(m) for m in GLOVE_MODELS)}."
            )
        _check_int(self.embedding_dim, "embedding_dim", self.name, 1)
        dims = GLOVE_MODELS[self.model_name]
        if self.embedding_dim not in dims:
            raise PlanError(
                f"Invalid embedding_dim={self.embedding_dim!r} for GloVe model "
                f"{self.model_name!r}; allowed: {', '.join(map(str, dims))}."
            )


@dataclasses.dataclass(frozen=True, repr=False)
class TextEmbedding(Encoder):
    """relgraph's text encoder: a sentence model if installed, else hashed n-grams.

    ``model_name``: ``None`` (MiniLM if installed, else ``"hash"``), ``"hash"`` or
    ``"all-MiniLM-L6-v2"``. ``embedding_dim`` sets the width of the hashing embedder
    (default 128); MiniLM is always 384-wide. NA is fixed to zero.
    """

    model_name: str | None = None
    embedding_dim: int | None = None

    supported_stypes: ClassVar[tuple[str, ...]] = ("text",)

    def __post_init__(self) -> None:
        if self.model_name is not None and self.model_name not in TEXT_MODELS:
            raise PlanError(
                f"Invalid model_name={self.model_name!r} for TextEmbedding; allowed: None, "
                f"{', '.join(repr(m) for m in TEXT_MODELS)}."
            )
        if self.embedding_dim is not None:
            _check_int(self.embedding_dim, "embedding_dim", self.name, 1)


@dataclasses.dataclass(frozen=True, repr=False)
class NumericalList(Encoder):
    """Fixed-length numeric vector (``sequence`` stype); NA is fixed to zero."""

    scaler: EmbeddingScaler | str | None = None

    supported_stypes: ClassVar[tuple[str, ...]] = ("sequence",)

    def __post_init__(self) -> None:
        if self.scaler is not None:
            object.__setattr__(
                self, "scaler", _enum_value(EmbeddingScaler, self.scaler, "scaler", self.name)
            )


@dataclasses.dataclass(frozen=True, repr=False)
class Datetime(Encoder):
    """Cyclic (sin/cos) calendar features plus a scaled year; NA is fixed to zero.

    With ``num_year_periods`` the year is encoded cyclically with that period
    (in years) instead of being scaled between the column's min and max.
    """

    include_minute: bool = True
    include_hour: bool = True
    include_day_of_week: bool = True
    include_day_of_month: bool = True
    include_day_of_year: bool = True
    include_year: bool = True
    num_year_periods: int | None = None

    supported_stypes: ClassVar[tuple[str, ...]] = ("timestamp",)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name.startswith("include_"):
                _check_bool(getattr(self, f.name), f.name, self.name)
        if self.num_year_periods is not None:
            _check_int(self.num_year_periods, "num_year_periods", self.name, 1)


@dataclasses.dataclass(frozen=True, repr=False)
class Image(Encoder):
    """Image URLs. relgraph does not fetch images: the URL string is embedded with
    the hashing text embedder (its path tokens), which keeps the column usable."""

    supported_stypes: ClassVar[tuple[str, ...]] = ("image",)


ENCODERS: dict[str, type[Encoder]] = {
    cls.__name__: cls
    for cls in (
        Null,
        Numerical,
        MaxLogNumerical,
        MinLogNumerical,
        Index,
        Hash,
        MultiCategorical,
        GloVe,
        TextEmbedding,
        NumericalList,
        Datetime,
        Image,
    )
}


def parse_encoder(spec: Encoder | str) -> Encoder:
    """Parse the string form of an encoder (``'Index(min_occ=3)'``); encoders pass through.

    Only literal arguments are accepted; the text is parsed with :mod:`ast`, never
    evaluated. Raises :class:`PlanError` naming what is allowed.
    """
    if isinstance(spec, Encoder):
        return spec
    if not isinstance(spec, str):
        raise PlanError(f"Expected an Encoder or its string form (got {type(spec).__name__}).")
    text = spec.strip()
    allowed = ", ".join(ENCODERS)
    if text in ENCODERS:  # bare name, e.g. "Null"
        text += "()"
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise PlanError(
            f"Cannot parse encoder {spec!r}; expected Name(option=value, ...) with Name one "
            f"of: {allowed}."
        ) from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise PlanError(
            f"Cannot parse encoder {spec!r}; expected Name(option=value, ...) with Name one "
            f"of: {allowed}."
        )
    cls = ENCODERS.get(node.func.id)
    if cls is None:
        raise PlanError(f"Unknown encoder {node.func.id!r} in {spec!r}; allowed: {allowed}.")
    field_names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    try:
        if len(node.args) > len(field_names):
            raise PlanError(
                f"Too many arguments for {cls.__name__} in {spec!r}; options: "
                f"{', '.join(field_names) or '(none)'}."
            )
        for fname, arg in zip(field_names, node.args):
            kwargs[fname] = ast.literal_eval(arg)
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in field_names:
                raise PlanError(
                    f"Unknown option {kw.arg!r} for {cls.__name__} in {spec!r}; options: "
                    f"{', '.join(field_names) or '(none)'}."
                )
            if kw.arg in kwargs:
                raise PlanError(f"Option {kw.arg!r} given twice in {spec!r}.")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except PlanError:
        raise
    except (ValueError, TypeError, SyntaxError):
        raise PlanError(
            f"Cannot parse encoder {spec!r}: option values must be literals "
            "(strings, numbers, True/False/None)."
        ) from None
    try:
        return cls(**kwargs)
    except TypeError as err:  # missing required option
        raise PlanError(f"Invalid encoder {spec!r}: {err}.") from None


#: Categorical columns with at most this many categories get :class:`Index`.
INDEX_MAX_CATEGORIES = 1000
#: Upper bound of ``num_components`` chosen by :func:`default_encoder` for :class:`Hash`.
HASH_MAX_COMPONENTS = 2**16


def _categorical_default(stats: ColumnStats | None) -> Encoder:
    if stats is None or stats.num_unique <= INDEX_MAX_CATEGORIES:
        return Index()
    return Hash(num_components=min(stats.num_unique, HASH_MAX_COMPONENTS))


def default_encoder(stype: Any, stats: ColumnStats | None = None) -> Encoder:
    """Infer the encoder of a column from its stype and statistics.

    Rules: a column without any non-null value -> ``Null``. numerical ->
    ``MaxLogNumerical`` for non-negative data with strong right skew (skew > 2 and
    max > 100 x the median), else ``Numerical``. categorical -> ``Index`` up to
    :data:`INDEX_MAX_CATEGORIES` categories, else ``Hash(min(#cats, 2**16))``.
    ID -> ``Null`` if (nearly) unique per row, else as categorical. text ->
    ``TextEmbedding``; multicategorical -> ``MultiCategorical``; timestamp ->
    ``Datetime``; sequence -> ``NumericalList``; image -> ``Image``; unsupported -> ``Null``.
    """
    st = stype_name(stype)
    if stats is not None and stats.count - stats.num_na <= 0:
        return Null()
    if st == "numerical":
        if (
            stats is not None
            and stats.min is not None
            and stats.min >= 0
            and stats.skew is not None
            and stats.skew > 2.0
            and stats.max is not None
            and stats.max > 100.0 * max(stats.quantiles.get(0.5, 0.0), 1.0)
        ):
            return MaxLogNumerical()
        return Numerical()
    if st == "categorical":
        return _categorical_default(stats)
    if st == "ID":
        if stats is None:
            return Null()
        non_null = stats.count - stats.num_na
        if stats.num_unique >= 0.95 * non_null:
            return Null()
        return _categorical_default(stats)
    if st == "text":
        return TextEmbedding()
    if st == "multicategorical":
        return MultiCategorical()
    if st == "timestamp":
        return Datetime()
    if st == "sequence":
        return NumericalList()
    if st == "image":
        return Image()
    return Null()


def apply_na_strategy(
    encoder: Encoder, stype: Any, na_strategy: Mapping[Any, Any] | None
) -> Encoder:
    """Return ``encoder`` with the global ``{stype: NAStrategy}`` override applied.

    Encoders with a fixed NA handling (text, timestamp, sequence, image) accept
    only ``"zero"``; unsupported combinations raise :class:`PlanError`.
    """
    if not na_strategy:
        return encoder
    st = stype_name(stype)
    wanted: Any = None
    for key, value in na_strategy.items():
        if stype_name(key) == st:
            wanted = value
    if wanted is None or isinstance(encoder, Null):
        return encoder
    value = _enum_value(NAStrategy, wanted, f"na_strategy[{st!r}]", "ColumnProcessingPlan")
    if not any(f.name == "na_strategy" for f in dataclasses.fields(encoder)):
        if value is NAStrategy.ZERO:
            return encoder
        raise PlanError(
            f"na_strategy {value.value!r} is not supported for stype {st!r}: encoder "
            f"{encoder.name} handles NA as 'zero' only."
        )
    if value not in encoder.na_strategies:
        allowed = ", ".join(repr(s.value) for s in encoder.na_strategies)
        raise PlanError(
            f"na_strategy {value.value!r} is not supported for stype {st!r} with encoder "
            f"{encoder.name}; allowed: {allowed}."
        )
    return dataclasses.replace(encoder, na_strategy=value)  # type: ignore[call-arg]


__all__ = [
    "ENCODERS",
    "STYPES",
    "Datetime",
    "EmbeddingScaler",
    "Encoder",
    "GloVe",
    "Hash",
    "Image",
    "Index",
    "MaxLogNumerical",
    "MinLogNumerical",
    "MultiCategorical",
    "NAStrategy",
    "Null",
    "Numerical",
    "NumericalList",
    "Scaler",
    "TextEmbedding",
    "apply_na_strategy",
    "default_encoder",
    "parse_encoder",
]
