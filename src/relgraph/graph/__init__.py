"""Tables, columns, types and the graph that links them."""

from relgraph.graph.column import Column
from relgraph.graph.edge import Edge
from relgraph.graph.graph import Graph
from relgraph.graph.table import Table
from relgraph.types import Dtype, Stype

__all__ = ["Column", "Dtype", "Edge", "Graph", "Stype", "Table"]
