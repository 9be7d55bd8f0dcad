"""A graph of tables linked by primary-key / foreign-key edges."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from relgraph.errors import GraphError
from relgraph.graph.edge import Edge, EdgeLike
from relgraph.graph.links import key_set, match_count
from relgraph.graph.table import Table
from relgraph.types import Dtype, Stype

if TYPE_CHECKING:
    from relgraph.connector.base import Connector
    from relgraph.protocols import SqlEngine


class Graph:
    """Tables (nodes) and the foreign keys between them (edges).

    Example::

        graph = Graph(tables={"customers": customers, "orders": orders},
                      edges=[Edge("orders", "customer_id", "customers")])
        graph.validate()
    """

    def __init__(
        self,
        tables: dict[str, Table] | None = None,
        edges: Iterable[EdgeLike] | None = None,
    ) -> None:
        self._tables: dict[str, Table] = {}
        self._edges: list[Edge] = []
        for name, table in (tables or {}).items():
            self.add_table(name, table)
        for edge in edges or []:
            self.link(edge)

    @classmethod
    def from_connector(cls, connector: Connector, tables: Sequence[str] | None = None, *,
                       column_names: Mapping[str, Sequence[str]] | None = None,
                       infer_links: bool | None = None) -> Graph:
        """A graph of ``connector``'s tables (all, or ``tables``), keys from its catalog.

        Each table reads only ``column_names[name]`` when given (all columns otherwise) and
        gets its metadata inferred as :meth:`Table.infer_metadata` does. Primary and foreign
        keys declared in the database become primary keys and edges; a table without a
        declared primary key keeps an inferred one unless it is one of its foreign keys.
        Keys relgraph cannot use (composite keys, references to a column that is not the
        referenced table's primary key, to a table left out) are skipped with a warning.
        ``infer_links`` (default: only when the source declares no foreign key, e.g. files)
        adds edges from column names and values (:meth:`infer_links`). Call
        :meth:`validate` to check the keys against the data.

        Example::

            graph = rg.Graph.from_connector(rg.PostgresConnector(dbname="shop"))
            graph.validate()
        """
        import warnings

        names = list(tables) if tables is not None else connector.table_names()
        columns = dict(column_names or {})
        unknown = set(columns) - set(names)
        if unknown:
            raise GraphError(f"column_names names tables {sorted(unknown)} that are not "
                             f"among the tables read ({names}).")
        schemas = {name: connector.table_schema(name) for name in names}
        graph = cls()
        for name in names:
            schema = schemas[name]
            pk = schema.primary_key if schema is not None else ()
            if len(pk) > 1:
                warnings.warn(f"Table '{name}' has a composite primary key {list(pk)}; "
                              "relgraph needs a single column, so none is set.", stacklevel=2)
            cols = columns.get(name)
            if cols is not None and len(pk) == 1 and pk[0] not in cols:
                warnings.warn(f"Primary key '{name}.{pk[0]}' is not among the columns read "
                              "(column_names); the table gets no primary key.", stacklevel=2)
                pk = ()
            table = Table.from_source_table(connector[name], column_names=cols,
                                            primary_key=pk[0] if len(pk) == 1 else None)
            table.infer_metadata()
            fk_cols = {c for fk in (schema.foreign_keys if schema else ()) for c in fk.columns}
            if len(pk) != 1 and table.primary_key in fk_cols:
                table.primary_key = None  # an inferred key that the catalog calls a foreign key
            graph.add_table(name, table)
        declared = False
        for name in names:
            schema = schemas[name]
            for fk in schema.foreign_keys if schema is not None else ():
                declared = True
                edge = Edge(name, fk.columns[0], fk.ref_table)
                why = None
                if len(fk.columns) != 1:
                    why = f"composite foreign key {list(fk.columns)}"
                elif fk.ref_table not in graph._tables:
                    why = f"table '{fk.ref_table}' is not in the graph"
                elif not graph[name].has_column(fk.columns[0]):
                    why = f"column '{name}.{fk.columns[0]}' was not read"
                elif (fk.ref_columns[0],) != (graph[fk.ref_table].primary_key,):
                    why = (f"it references '{fk.ref_table}.{fk.ref_columns[0]}', not the "
                           "primary key of that table")
                elif fk.columns[0] == graph[name].primary_key:
                    why = f"'{fk.columns[0]}' is also the primary key of '{name}'"
                elif edge in graph._edges:
                    continue
                if why is not None:
                    warnings.warn(f"Foreign key {name}.{list(fk.columns)} -> {fk.ref_table}"
                                  f"{list(fk.ref_columns)} is not used as an edge: {why}.",
                                  stacklevel=2)
                    continue
                graph.link(edge)
        if infer_links if infer_links is not None else not declared:
            graph.infer_links()
        return graph

    # ------------------------------------------------------------------ tables
    @property
    def tables(self) -> dict[str, Table]:
        return dict(self._tables)

    def has_table(self, name: str) -> bool:
        return name in self._tables

    def table(self, name: str) -> Table:
        if name not in self._tables:
            from difflib import get_close_matches

            close = get_close_matches(name, list(self._tables), n=3)
            hint = f" Did you mean {close}?" if close else f" Tables: {list(self._tables)}."
            raise GraphError(f"The graph has no table '{name}'.{hint}")
        return self._tables[name]

    def __getitem__(self, name: str) -> Table:
        return self.table(name)

    def add_table(self, name: str, table: Table) -> Graph:
        if not isinstance(table, Table):
            raise GraphError(f"add_table('{name}', ...) needs a relgraph Table, got "
                             f"{type(table).__name__}; wrap DataFrames with Table.from_dataframe.")
        if name in self._tables:
            raise GraphError(f"The graph already has a table '{name}'; remove it first.")
        table.name = name
        self._tables[name] = table
        return self

    def remove_table(self, name: str) -> Graph:
        self.table(name)
        self._edges = [e for e in self._edges if name not in (e.src_table, e.dst_table)]
        del self._tables[name]
        return self

    # ------------------------------------------------------------------ edges
    @property
    def edges(self) -> list[Edge]:
        return list(self._edges)

    def link(self, src_table: EdgeLike | str, fkey: str | None = None,
             dst_table: str | None = None) -> Graph:
        """Add an edge: ``src_table.fkey`` references ``dst_table``'s primary key."""
        edge = _edge(src_table, fkey, dst_table)
        src, dst = self.table(edge.src_table), self.table(edge.dst_table)
        if not src.has_column(edge.fkey):
            raise GraphError(src._missing(edge.fkey, f"does not exist (edge {edge})"))
        if not dst.has_primary_key():
            raise GraphError(f"Edge {edge}: table '{edge.dst_table}' has no primary key. "
                             f"Set one: graph['{edge.dst_table}'].primary_key = '...'.")
        if edge.fkey == src.primary_key:
            raise GraphError(f"Edge {edge}: '{edge.fkey}' is the primary key of "
                             f"'{edge.src_table}' and cannot also be a foreign key.")
        if edge in self._edges:
            raise GraphError(f"Edge {edge} already exists.")
        src.column(edge.fkey).stype = Stype.ID
        self._edges.append(edge)
        return self

    def unlink(self, src_table: EdgeLike | str, fkey: str | None = None,
               dst_table: str | None = None) -> Graph:
        edge = _edge(src_table, fkey, dst_table)
        if edge not in self._edges:
            raise GraphError(f"Edge {edge} does not exist; edges: {[str(e) for e in self._edges]}")
        self._edges.remove(edge)
        return self

    def infer_metadata(self) -> Graph:
        for table in self._tables.values():
            table.infer_metadata()
        return self

    def infer_links(self, min_overlap: float = 0.5) -> Graph:
        """Add edges from column names that match another table's key and whose values overlap.

        An *inferred* primary key named after another table's key (``film_category.film_id``)
        is released first so that it can link to that table.
        """
        from relgraph.graph.links import propose_links, release_borrowed_keys

        release_borrowed_keys(self)
        for edge in propose_links(self, min_overlap=min_overlap):
            if edge not in self._edges:
                self.link(edge)
        return self

    # ------------------------------------------------------------------ checks
    def validate(self, verbose: bool = True) -> Graph:
        """Validate every table and edge; raise :class:`GraphError` naming the problem."""
        if not self._tables:
            raise GraphError("The graph has no tables; add some with graph.add_table(...).")
        for table in self._tables.values():
            table.validate(verbose=False)
        for edge in self._edges:
            src, dst = self._tables[edge.src_table], self._tables[edge.dst_table]
            if dst.primary_key is None:
                raise GraphError(
                    f"Edge {edge}: table '{edge.dst_table}' has no primary key. Set one "
                    f"(graph['{edge.dst_table}'].primary_key = '...') or remove the edge "
                    f"(graph.unlink({edge.src_table!r}, {edge.fkey!r}, {edge.dst_table!r}))."
                )
            if not src.has_column(edge.fkey):
                raise GraphError(
                    f"Edge {edge}: foreign key column '{edge.src_table}.{edge.fkey}' was removed. "
                    f"Add it back or remove the edge (graph.unlink({edge.src_table!r}, "
                    f"{edge.fkey!r}, {edge.dst_table!r}))."
                )
            fk_dtype, pk_dtype = src[edge.fkey].dtype, dst[dst.primary_key].dtype
            assert isinstance(fk_dtype, Dtype) and isinstance(pk_dtype, Dtype)
            if not keys_compatible(src.data[edge.fkey], fk_dtype, pk_dtype):
                raise GraphError(
                    f"Edge {edge}: foreign key '{edge.src_table}.{edge.fkey}' has dtype "
                    f"'{fk_dtype}' but primary key '{edge.dst_table}.{dst.primary_key}' has dtype "
                    f"'{pk_dtype}'. Cast one of them so both hold the same kind of value "
                    "(e.g. df[col] = df[col].astype(str))."
                )
        if verbose:
            print(f"Graph is valid: {len(self._tables)} tables, {len(self._edges)} edges.")
        return self

    def get_edge_stats(self) -> pd.DataFrame:
        """Per edge: number of non-null foreign keys and how many resolve to a primary key."""
        rows = []
        for edge in self._edges:
            src, dst = self._tables[edge.src_table], self._tables[edge.dst_table]
            fk = src.data[edge.fkey].dropna()
            pk = dst.data[dst.primary_key]
            numeric = bool(ptypes.is_numeric_dtype(fk.dtype) and ptypes.is_numeric_dtype(pk.dtype))
            matched = match_count(fk, key_set(pk, numeric), numeric)
            rows.append({"edge": str(edge), "total_num_edges": len(fk), "num_matched": matched,
                         "pct_matched": 100.0 * matched / max(1, len(fk))})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ engine and identity
    @property
    def engine(self) -> SqlEngine:
        """The engine holding this graph's tables (created on first use; DuckDB unless
        ``relgraph.init(engine=...)`` chose another). The engine layer keeps it
        (:func:`relgraph.engine.engine_of`); the graph itself carries no engine."""
        from relgraph import hooks

        engine: SqlEngine = hooks.call("engine_of", self)
        return engine

    def fingerprint(self) -> str:
        """A hash of the graph's data and metadata; changes whenever either changes."""
        h = hashlib.sha256()
        for name in sorted(self._tables):
            table = self._tables[name]
            h.update(name.encode())
            h.update(table.metadata.to_json().encode())
            h.update(str(table.num_rows).encode())
            for col in table.data.columns:
                h.update(str(col).encode())
                series = table.data[col]
                for start in range(0, len(series), _HASH_CHUNK):  # bounded temporaries
                    h.update(_hash_column(series.iloc[start:start + _HASH_CHUNK]))
        for edge in self._edges:
            h.update(str(edge).encode())
        return h.hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description of the graph's metadata (not its data)."""
        return {
            "tables": {
                name: {"num_rows": t.num_rows, "primary_key": t.primary_key,
                       "time_column": t.time_column, "end_time_column": t.end_time_column,
                       "columns": {c.name: {"stype": str(c.stype), "dtype": str(c.dtype)}
                                   for c in t.columns}}
                for name, t in self._tables.items()
            },
            "edges": [list(e) for e in self._edges],
        }

    # ------------------------------------------------------------------ persistence
    def snapshot(self, *, force_refresh: bool = False, non_blocking: bool = False) -> str:
        """Snapshot every table (:meth:`Table.snapshot`); returns the graph's snapshot id,
        which changes whenever a table's rows or the graph's metadata change."""
        import json

        tables = {name: t.snapshot(force_refresh=force_refresh) for name, t in
                  self._tables.items()}
        body = json.dumps({"tables": tables, "definition": self.to_dict()}, sort_keys=True,
                          default=str)
        self._snapshot_id = hashlib.sha256(body.encode()).hexdigest()
        return self._snapshot_id

    @property
    def snapshot_id(self) -> str | None:
        """The id :meth:`snapshot` returned last (None before it)."""
        return getattr(self, "_snapshot_id", None)

    def save(self, name: str | None = None, skip_validation: bool = False) -> str:
        """Save the graph (tables, snapshots of their rows, edges) under the home; returns
        ``name``, or an id derived from its content. ``Graph.load(...)`` reads it back."""
        from relgraph.config import get_settings
        from relgraph.graph.saved import save_object
        from relgraph.graph.snapshot import snapshot_graph

        if not skip_validation:
            self.validate(verbose=False)
        return save_object("graph", {"graph": snapshot_graph(get_settings().home, self)}, name)

    @property
    def id(self) -> str:
        """The graph's saved id (saving it if needed, as the reference does)."""
        return self.save(skip_validation=True)

    @classmethod
    def load(cls, graph_id_or_template: str) -> Graph:
        """A graph saved by :meth:`save` (rows from its snapshots, checked by SHA-256)."""
        from relgraph.config import get_settings
        from relgraph.graph.saved import load_object
        from relgraph.graph.snapshot import load_graph

        body = load_object("graph", graph_id_or_template)
        graph: Graph = load_graph(get_settings().home, body["graph"])
        return graph

    def get_table_stats(self, wait_for: str | None = None) -> dict[str, dict[str, Any]]:
        """:meth:`Table.get_stats` of every table: ``{table: {column: stats}}``."""
        return {name: t.get_stats(wait_for) for name, t in self._tables.items()}

    def print_definition(self) -> None:
        print(self._definition())

    def _definition(self) -> str:
        parts = [t._definition() for t in self._tables.values()]
        parts.append("Edges:" if self._edges else "Edges: none")
        parts += [f"  {e}" for e in self._edges]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"Graph(tables={list(self._tables)}, edges={[str(e) for e in self._edges]})"


def _edge(src_table: EdgeLike | str, fkey: str | None, dst_table: str | None) -> Edge:
    if isinstance(src_table, str):
        if fkey is None or dst_table is None:
            raise GraphError("link(src_table, fkey, dst_table) needs all three names.")
        return Edge(src_table, fkey, dst_table)
    return Edge.cast(src_table)


#: Rows hashed at a time by :meth:`Graph.fingerprint`. The digest does not depend on it,
#: except for columns mixing list/tuple cells with scalars (then hashed by ``repr``).
_HASH_CHUNK = 1 << 20


def _hash_column(series: pd.Series) -> bytes:
    """Bytes that change whenever a column's values change (list/array cells included)."""
    try:
        hashed = pd.util.hash_pandas_object(series, index=False).to_numpy()
    except (TypeError, ValueError):  # unhashable cells: lists, arrays, dicts, tuples
        as_text = series.map(lambda v: repr(v.tolist() if isinstance(v, np.ndarray) else v))
        hashed = pd.util.hash_pandas_object(as_text, index=False).to_numpy()
    return np.ascontiguousarray(hashed).tobytes()


def keys_compatible(fk: pd.Series, fk_dtype: Dtype, pk_dtype: Dtype) -> bool:
    """Whether foreign-key values can be joined to primary-key values."""
    if fk_dtype.is_numeric and pk_dtype.is_numeric:
        if fk_dtype.is_float and pk_dtype.is_int:
            values = fk.dropna().to_numpy(dtype=float)
            return bool(np.all(np.mod(values, 1) == 0))
        return True
    return (fk_dtype is Dtype.string) == (pk_dtype is Dtype.string)
