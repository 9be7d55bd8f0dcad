"""What every engine class shares: a weak link to the graph whose tables it holds."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from relgraph.errors import GraphError

if TYPE_CHECKING:
    from relgraph.graph.graph import Graph

__all__ = ["GraphEngine"]


class GraphEngine:
    """Base of the engines: :attr:`graph` is held weakly, so the per-graph cache of
    :func:`relgraph.engine.engine_of` (graph -> engine) never keeps a graph alive."""

    def __init__(self, graph: Graph) -> None:
        self._graph = weakref.ref(graph)

    @property
    def graph(self) -> Graph:
        """The graph whose tables this engine holds."""
        graph = self._graph()
        if graph is None:
            raise GraphError("The graph of this engine no longer exists; keep a reference "
                             "to the graph while its engine is in use.")
        return graph
