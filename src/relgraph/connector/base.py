"""The connector protocol: a collection of named source tables."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from relgraph.connector.source_table import SourceTable
from relgraph.errors import TableNotFoundError


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of a table reference ``ref_columns`` of ``ref_table`` (from the catalog)."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSchema:
    """What a database catalog declares about a table: column types and keys."""

    name: str
    column_types: dict[str, str]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)


class Connector(ABC):
    """A source of tables (files, a database, in-memory frames)."""

    source_type: str = "unavailable"

    @abstractmethod
    def table_names(self) -> list[str]:
        """Names of the tables this connector can read."""

    @abstractmethod
    def _open(self, name: str) -> SourceTable: ...

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def table(self, name: str) -> SourceTable:
        if not self.has_table(name):
            from difflib import get_close_matches

            names = self.table_names()
            close = get_close_matches(name, names, n=3)
            hint = f" Did you mean {close}?" if close else f" Available tables: {names}."
            raise TableNotFoundError(f"{type(self).__name__} has no table '{name}'.{hint}")
        return self._open(name)

    def table_schema(self, name: str) -> TableSchema | None:
        """The catalog's column types and keys of table ``name``; ``None`` when the source
        has no catalog (files, DataFrames)."""
        return None

    def __getitem__(self, name: str) -> SourceTable:
        return self.table(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has_table(name)
