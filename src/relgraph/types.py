"""Semantic types (:class:`Stype`) and data types (:class:`Dtype`) of columns."""

from __future__ import annotations

import builtins

from relgraph.str_enum import StrEnum


class Stype(StrEnum):
    """How a column is interpreted by the model."""

    numerical = "numerical"
    categorical = "categorical"
    multicategorical = "multicategorical"
    ID = "ID"
    text = "text"
    timestamp = "timestamp"
    sequence = "sequence"
    image = "image"
    unsupported = "unsupported"


class Dtype(StrEnum):
    """How a column is stored."""

    bool = "bool"
    int = "int"
    byte = "byte"
    int16 = "int16"
    int32 = "int32"
    int64 = "int64"
    float = "float"
    float32 = "float32"
    float64 = "float64"
    string = "string"
    binary = "binary"
    date = "date"
    time = "time"
    timedelta = "timedelta"
    floatlist = "floatlist"
    intlist = "intlist"
    stringlist = "stringlist"
    unsupported = "unsupported"

    @property
    def is_int(self) -> builtins.bool:
        return self in (Dtype.int, Dtype.byte, Dtype.int16, Dtype.int32, Dtype.int64)

    @property
    def is_float(self) -> builtins.bool:
        return self in (Dtype.float, Dtype.float32, Dtype.float64)

    @property
    def is_numeric(self) -> builtins.bool:
        return self.is_int or self.is_float

    @property
    def is_temporal(self) -> builtins.bool:
        return self in (Dtype.date, Dtype.time)


_NUMERIC = {Dtype.int, Dtype.byte, Dtype.int16, Dtype.int32, Dtype.int64,
            Dtype.float, Dtype.float32, Dtype.float64}

#: Which dtypes each stype accepts (reference §4.1).
ALLOWED_DTYPES: dict[Stype, set[Dtype]] = {
    Stype.numerical: _NUMERIC | {Dtype.timedelta, Dtype.bool},
    Stype.categorical: _NUMERIC | {Dtype.bool, Dtype.string, Dtype.binary},
    Stype.multicategorical: {Dtype.string, Dtype.stringlist, Dtype.intlist},
    Stype.ID: _NUMERIC | {Dtype.string},
    Stype.text: {Dtype.string},
    # Integer and float columns hold epoch times (unit s/ms/us/ns, from their magnitude).
    Stype.timestamp: {Dtype.date, Dtype.time, Dtype.string} | _NUMERIC,
    Stype.sequence: {Dtype.floatlist, Dtype.intlist, Dtype.string},
    Stype.image: {Dtype.string},
    Stype.unsupported: set(Dtype),
}


def default_stype(dtype: Dtype) -> Stype:
    """The reference's default stype for a dtype."""
    if dtype in (Dtype.bool, Dtype.binary):
        return Stype.categorical
    if dtype.is_numeric or dtype is Dtype.timedelta:
        return Stype.numerical
    if dtype is Dtype.string:
        return Stype.text
    if dtype.is_temporal:
        return Stype.timestamp
    if dtype is Dtype.stringlist:
        return Stype.multicategorical
    if dtype in (Dtype.floatlist, Dtype.intlist):
        return Stype.sequence
    return Stype.unsupported
