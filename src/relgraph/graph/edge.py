"""A foreign-key link between two tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from relgraph.errors import GraphError


@dataclass(frozen=True)
class Edge:
    """``src_table.fkey`` references the primary key of ``dst_table``.

    Edges are used in both directions for message passing.
    """

    src_table: str
    fkey: str
    dst_table: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.src_table, self.fkey, self.dst_table))

    @classmethod
    def cast(cls, edge: EdgeLike) -> Edge:
        """Accept an :class:`Edge`, a ``(src, fkey, dst)`` tuple or a dict with those keys."""
        if isinstance(edge, Edge):
            return edge
        if isinstance(edge, Mapping):
            try:
                return cls(str(edge["src_table"]), str(edge["fkey"]), str(edge["dst_table"]))
            except KeyError as exc:
                raise GraphError(
                    f"Edge dict {dict(edge)} lacks key {exc}; give src_table, fkey and dst_table."
                ) from None
        if isinstance(edge, Sequence) and not isinstance(edge, str) and len(edge) == 3:
            return cls(*(str(x) for x in edge))
        raise GraphError(
            f"Cannot read {edge!r} as an edge; use Edge(src_table, fkey, dst_table), "
            "a 3-tuple or a dict."
        )

    def __str__(self) -> str:
        return f"{self.src_table}.{self.fkey} -> {self.dst_table}"


EdgeLike = Edge | tuple | Mapping
