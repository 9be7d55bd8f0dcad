"""A table with graph metadata: columns with stypes, primary key, time columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relgraph.errors import GraphError, ReservedColumnError
from relgraph.graph.column import Column
from relgraph.type_inference import (
    check_time_range,
    infer_dtype,
    infer_primary_key,
    infer_stype,
    infer_time_column,
    to_epoch_seconds,
)
from relgraph.types import Dtype, Stype

if TYPE_CHECKING:
    from relgraph.connector.source_table import SourceTable


def _column_specs(columns: Any, names: list[Any]) -> list[Any]:
    """``columns`` as a list: one Column, name or dict alone becomes a list of one."""
    if columns is None:
        return names
    if isinstance(columns, (Column, str, Mapping)):
        return [columns]
    return list(columns)


def _as_column(spec: Column | str | Mapping[str, Any], table: str) -> Column:
    """A :class:`Column` from a Column, a name, or a dict of its fields."""
    if isinstance(spec, Column):
        return spec
    if isinstance(spec, Mapping):
        fields = {"name", "stype", "dtype", "timestamp_format"}
        unknown = sorted(set(spec) - fields)
        if "name" not in spec or unknown:
            what = f"unknown keys {unknown}" if unknown else "no 'name'"
            raise GraphError(f"Column spec {dict(spec)} of table '{table}' has {what}; give "
                             "dict(name=..., stype=..., dtype=...) with keys from "
                             f"{sorted(fields)}.")
        return Column(**{k: spec[k] for k in spec})
    return Column(str(spec))


#: Columns relgraph adds to every registered relation; user columns may not use the prefix.
RESERVED_PREFIX = "__rg_"


def _check_reserved(df: pd.DataFrame, table: str) -> None:
    reserved = [str(c) for c in df.columns if str(c).startswith(RESERVED_PREFIX)]
    if reserved:
        fix = ", ".join(f"{c!r}: {c[len(RESERVED_PREFIX):]!r}" for c in reserved[:3])
        raise ReservedColumnError(
            f"Table '{table}' has column(s) {reserved} named with relgraph's internal prefix "
            f"'{RESERVED_PREFIX}' (the engine adds __rg_row and __rg_time to every table, which "
            f"would overwrite them). Rename them, e.g. df = df.rename(columns={{{fix}}}).")


class Table:
    """A source table plus the metadata relgraph needs to use it in a graph.

    Args:
        source_table: a :class:`~relgraph.connector.SourceTable` or a pandas DataFrame.
        columns: the columns to use: :class:`Column` objects, names, or dicts of Column
            fields (``dict(name="StockCode", stype="ID")``), a list of them or one alone;
            all source columns by default.
        primary_key: the column identifying each row.
        time_column: when each row came into existence; rows are visible to the model only
            at anchor times at or after it. Tables without one are static.
        end_time_column: when each row stops being valid (optional).
        name: the table's name (defaults to the source table's name).
    """

    def __init__(
        self,
        source_table: SourceTable | pd.DataFrame,
        columns: Sequence[Column | str | Mapping[str, Any]] | Column | Mapping[str, Any]
        | None = None,
        primary_key: str | None = None,
        time_column: str | None = None,
        end_time_column: str | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(source_table, pd.DataFrame):
            self._source: SourceTable | None = None
            self._df: pd.DataFrame | None = source_table
            self.name = name or "table"
        else:
            self._source = source_table
            # only the columns the table uses are read (databases select just those)
            self._df = None
            if columns is not None:
                have = set(source_table.column_names())
                wanted = [_as_column(c, source_table.name).name
                          for c in _column_specs(columns, [])]
                self._df = source_table.to_pandas(
                    [n for n in wanted if n in have])  # a missing one raises GraphError below
            self.name = name or source_table.name
        df = self.data
        _check_reserved(df, self.name)
        self._columns: dict[str, Column] = {}
        for col in _column_specs(columns, list(df.columns)):
            column = _as_column(col, self.name)
            if column.name not in df.columns:
                raise GraphError(self._missing(column.name, "is not a column of the source"))
            if column.dtype is None:
                column.dtype = infer_dtype(df[column.name])
            self._columns[column.name] = column
        self._primary_key: str | None = None
        self._pk_inferred = False  # set by infer_metadata; a user's choice is never undone
        self._time_column: str | None = None
        self._end_time_column: str | None = None
        self._time_cache: dict[str, np.ndarray] = {}
        self._snapshot: dict[str, Any] | None = None  # the latest snapshot's spec
        self.version = 0
        if primary_key is not None:
            self.primary_key = primary_key
        if time_column is not None:
            self.time_column = time_column
        if end_time_column is not None:
            self.end_time_column = end_time_column

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_source_table(
        cls,
        source_table: SourceTable,
        column_names: Sequence[str] | None = None,
        primary_key: str | None = None,
        time_column: str | None = None,
        end_time_column: str | None = None,
    ) -> Table:
        return cls(source_table, column_names, primary_key, time_column, end_time_column)

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        name: str,
        primary_key: str | None = None,
        time_column: str | None = None,
        end_time_column: str | None = None,
        *,
        infer_metadata: bool = True,
    ) -> Table:
        """A table over an in-memory DataFrame; metadata is inferred unless told otherwise."""
        table = cls(df, None, primary_key, time_column, end_time_column, name=name)
        return table.infer_metadata() if infer_metadata else table

    # ------------------------------------------------------------------ data
    @property
    def data(self) -> pd.DataFrame:
        """The table's rows as a DataFrame (read from the source once)."""
        if self._df is None:
            assert self._source is not None
            self._df = self._source.to_pandas()
        return self._df

    @property
    def num_rows(self) -> int:
        return len(self.data)

    def time_values(self, column: str | None = None) -> np.ndarray:
        """A time column as int64 epoch seconds (``INT64_MIN`` where null)."""
        column = column or self.time_column
        if column is None:
            raise GraphError(f"Table '{self.name}' has no time column.")
        if column not in self._time_cache:
            col = self._columns.get(column)
            fmt = col.timestamp_format if col is not None else None
            secs = to_epoch_seconds(self.data[column], column, self.name, fmt)
            if column == self._time_column:  # anchor times are computed from it
                check_time_range(secs, self.data[column], column, self.name)
            self._time_cache[column] = secs
        return self._time_cache[column]

    # ------------------------------------------------------------------ columns
    @property
    def columns(self) -> list[Column]:
        return list(self._columns.values())

    def has_column(self, name: str) -> bool:
        return name in self._columns

    def column(self, name: str) -> Column:
        if name not in self._columns:
            raise GraphError(self._missing(name, "does not exist"))
        return self._columns[name]

    def __getitem__(self, name: str) -> Column:
        return self.column(name)

    def add_column(self, column: Column | str | Mapping[str, Any], **kwargs: Any) -> Column:
        column = Column(column, **kwargs) if isinstance(column, str) else \
            _as_column(column, self.name)
        if column.name in self._columns:
            raise GraphError(f"Table '{self.name}' already has a column '{column.name}'.")
        if column.name not in self.data.columns and self._source is not None \
                and column.name in self._source.column_names():
            # a source column the table did not read yet
            self._df = self._source.to_pandas([*map(str, self.data.columns), column.name])
        if column.name not in self.data.columns:
            raise GraphError(self._missing(column.name, "is not a column of the source"))
        if column.dtype is None:
            column.dtype = infer_dtype(self.data[column.name])
        self._columns[column.name] = column
        self.version += 1
        return column

    def remove_column(self, name: str) -> Table:
        self.column(name)
        for attr in ("_primary_key", "_time_column", "_end_time_column"):
            if getattr(self, attr) == name:
                setattr(self, attr, None)
        del self._columns[name]
        self.version += 1
        return self

    # ------------------------------------------------------------------ keys and times
    def has_primary_key(self) -> bool:
        return self._primary_key is not None

    @property
    def primary_key(self) -> str | None:
        return self._primary_key

    @primary_key.setter
    def primary_key(self, name: str | None) -> None:
        if name is not None:
            self.column(name).stype = Stype.ID
        self._primary_key = name
        self._pk_inferred = False
        self.version += 1

    def has_time_column(self) -> bool:
        return self._time_column is not None

    @property
    def time_column(self) -> str | None:
        return self._time_column

    @time_column.setter
    def time_column(self, name: str | None) -> None:
        if name is not None:
            if name == self._end_time_column:
                raise GraphError(
                    f"'{self.name}.{name}' is the end-time column; the time column must differ."
                )
            self.column(name).stype = Stype.timestamp
        self._time_column = name
        self.version += 1

    def has_end_time_column(self) -> bool:
        return self._end_time_column is not None

    @property
    def end_time_column(self) -> str | None:
        return self._end_time_column

    @end_time_column.setter
    def end_time_column(self, name: str | None) -> None:
        if name is not None:
            if name == self._time_column:
                raise GraphError(
                    f"'{self.name}.{name}' is the time column; the end-time column must differ."
                )
            self.column(name).stype = Stype.timestamp
        self._end_time_column = name
        self.version += 1

    # ------------------------------------------------------------------ metadata
    @property
    def metadata(self) -> pd.DataFrame:
        """One row per column: name, dtype, stype and its key/time roles."""
        return pd.DataFrame({
            "name": [c.name for c in self.columns],
            "dtype": [str(c.dtype) if c.dtype else None for c in self.columns],
            "stype": [str(c.stype) if c.stype else None for c in self.columns],
            "is_primary_key": [c.name == self._primary_key for c in self.columns],
            "is_time_column": [c.name == self._time_column for c in self.columns],
            "is_end_time_column": [c.name == self._end_time_column for c in self.columns],
        })

    def infer_metadata(self, inplace: bool = True) -> Table:
        """Fill in missing dtypes and stypes; propose a primary key and time column if unset."""
        table = self if inplace else self._copy()
        df = table.data
        if table._primary_key is None:
            pk = infer_primary_key(df[[c.name for c in table.columns]], table.name)
            if pk is not None:
                table._primary_key, table._pk_inferred = pk, True
        for col in table.columns:
            if col.dtype is None:
                col.dtype = infer_dtype(df[col.name])
            if col.stype is None:
                assert isinstance(col.dtype, Dtype)
                col.stype = infer_stype(df[col.name], col.dtype, col.name,
                                        is_key=col.name == table._primary_key)
        if table._primary_key is not None:
            table._columns[table._primary_key].stype = Stype.ID
        if table._time_column is None:
            stypes = {c.name: c.stype for c in table.columns
                      if c.name not in (table._primary_key, table._end_time_column)}
            table._time_column = infer_time_column(df, stypes)  # type: ignore[arg-type]
        table.version += 1
        return table

    def _copy(self) -> Table:
        src: SourceTable | pd.DataFrame = self._source if self._source is not None else self.data
        copy = Table(src, [Column(c.name, c.stype, c.dtype, c.timestamp_format)
                           for c in self.columns], name=self.name)
        copy._primary_key, copy._time_column = self._primary_key, self._time_column
        copy._end_time_column = self._end_time_column
        copy._pk_inferred = self._pk_inferred
        return copy

    def validate(self, verbose: bool = True) -> Table:
        """Check column types, key uniqueness and time parsing; raise :class:`GraphError`."""
        for col in self.columns:
            col.check(self.name)
        self.check_primary_key()
        for time_col in (self._time_column, self._end_time_column):
            if time_col is not None:
                self.time_values(time_col)
        if verbose:
            print(f"Table '{self.name}' is valid ({self.num_rows} rows).")
        return self

    def check_primary_key(self) -> None:
        """Raise :class:`GraphError` if the primary key has nulls or duplicates."""
        if self._primary_key is None:
            return
        pk = self.data[self._primary_key]
        if pk.isna().any():
            raise GraphError(
                f"Primary key '{self.name}.{self._primary_key}' has {int(pk.isna().sum())} "
                "null values. Drop those rows or choose another primary key."
            )
        dup = pk[pk.duplicated(keep=False)]
        if len(dup):
            raise GraphError(
                f"Primary key '{self.name}.{self._primary_key}' is not unique: "
                f"{dup.nunique()} values occur more than once (e.g. {dup.unique()[:3].tolist()}"
                "). Deduplicate the table or choose a unique column as primary key."
            )

    # ------------------------------------------------------------------ persistence
    def snapshot(self, *, force_refresh: bool = False, non_blocking: bool = False) -> str:
        """Write the table's rows as a Parquet snapshot under the home; returns its id (the
        file's SHA-256: unchanged rows give the same id). ``force_refresh`` re-reads a
        connector's source first. ``non_blocking`` is accepted for the reference; local
        snapshots finish at once."""
        from relgraph.graph.saved import table_spec

        if force_refresh and self._source is not None:
            self._source._df = None
            self._df = None
            self._time_cache.clear()
            self.version += 1
        return str(table_spec(self)["sha256"])

    @property
    def snapshot_id(self) -> str | None:
        """The id of the table's latest snapshot (None before :meth:`snapshot`)."""
        return None if self._snapshot is None else str(self._snapshot["sha256"])

    def save(self, name: str | None = None) -> str:
        """Save the table (definition and a snapshot of its rows) under the home; returns
        ``name``, or an id derived from its content. ``Table.load(...)`` reads it back."""
        from relgraph.graph.saved import save_object, table_spec

        return save_object("table", {"table_name": self.name, "table": table_spec(self)},
                           name)

    @classmethod
    def load(cls, table_id_or_template: str) -> Table:
        """A table saved by :meth:`save` (rows from its snapshot, checked by SHA-256)."""
        from relgraph.graph.saved import load_object, load_table

        body = load_object("table", table_id_or_template)
        table: Table = load_table(str(body["table_name"]), body["table"])
        return table

    def get_stats(self, wait_for: str | None = None) -> dict[str, dict[str, Any]]:
        """Statistics per column (counts, nulls, distinct values; by stype also ranges,
        moments, quartiles or the most frequent values): see :mod:`relgraph.graph.stats`.
        ``wait_for="minimal"`` gives the counts only."""
        from relgraph.graph.stats import check_wait_for, column_stats

        full = check_wait_for(wait_for)
        df = self.data
        return {c.name: column_stats(df[c.name], c.stype if isinstance(c.stype, Stype) else
                                     None, full) for c in self.columns}

    def print_definition(self) -> None:
        print(self._definition())

    def _definition(self) -> str:
        lines = [f"Table {self.name} ({self.num_rows} rows)"]
        for c in self.columns:
            role = (" [primary key]" if c.name == self._primary_key else
                    " [time]" if c.name == self._time_column else
                    " [end time]" if c.name == self._end_time_column else "")
            lines.append(f"  {c.name}: {c.stype} ({c.dtype}){role}")
        return "\n".join(lines)

    def _missing(self, name: str, what: str) -> str:
        from difflib import get_close_matches

        names = list(getattr(self, "_columns", {}) or self.data.columns)
        close = get_close_matches(name, [str(n) for n in names], n=3)
        hint = f" Did you mean {close}?" if close else f" Columns: {names}."
        return f"Column '{name}' of table '{self.name}' {what}.{hint}"

    def __repr__(self) -> str:
        return (f"Table(name={self.name!r}, rows={self.num_rows}, primary_key="
                f"{self._primary_key!r}, time_column={self._time_column!r})")
