"""Column features of every table: fitted encoders and the tensors gathered per batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from relgraph.encoder import TableFeatures, fit_table_encoders
from relgraph.errors import PlanError
from relgraph.graph import Graph, Stype
from relgraph.graph.visibility import visible_rows
from relgraph.pquery.predictive_query import PredictiveQuery


def excluded_target_columns(train_table: Any) -> set[tuple[str, str]]:
    """``(table, column)`` pairs a model must not see: the columns a static target reads.

    A temporal target is computed from rows after the anchor, which sampling never shows; a
    static target (``PREDICT film.rating``) is a column of the data itself and would leak.
    """
    out = set(getattr(train_table, "excluded_columns", set()) or set())
    query = getattr(train_table, "query", None)
    if isinstance(query, PredictiveQuery):
        out |= query.static_target_columns()
    return out


def feature_columns(graph: Graph, table_name: str, exclude: set[tuple[str, str]]) -> dict[str, Any]:
    """Columns of a table that describe rows (not keys, not the time column, not excluded)."""
    table = graph[table_name]
    fkeys = {e.fkey for e in graph.edges if e.src_table == table_name}
    skip = {table.primary_key, table.time_column, table.end_time_column} | fkeys
    return {
        c.name: c.stype for c in table.columns
        if c.name not in skip and (table_name, c.name) not in exclude
        and c.stype not in (Stype.ID, Stype.unsupported, None)
    }


def fit_graph_features(graph: Graph, exclude: set[tuple[str, str]] | None = None,
                       overrides: Mapping[str, Any] | None = None,
                       na_strategy: Mapping[Any, Any] | None = None,
                       fit_time: int | None = None) -> dict[str, TableFeatures]:
    """Fit column encoders for every table.

    ``exclude`` holds ``(table, column)`` pairs kept out of the inputs (e.g. a static target);
    ``overrides`` maps ``"table.column"`` to an encoder or its string form. Encoders are
    fitted on the rows visible at ``fit_time`` (epoch seconds; the last training anchor),
    counting rows that ended before it (:func:`relgraph.graph.visibility.visible_rows`),
    so rows of the validation and test periods never shape training inputs; ``None``
    fits on every row (static queries). Every row is transformed.
    """
    exclude = exclude or set()
    _check_overrides(graph, overrides)
    out = {}
    for name in graph.tables:
        cols = feature_columns(graph, name, exclude)
        table_overrides = {k.split(".", 1)[1]: v for k, v in (overrides or {}).items()
                           if k.split(".", 1)[0] == name and k.split(".", 1)[1] in cols}
        fit_rows = visible_rows(graph[name], fit_time, include_ended=True)
        out[name] = fit_table_encoders(graph[name].data, cols, table_overrides, na_strategy,
                                       fit_rows)
    return out


def _check_overrides(graph: Graph, overrides: Mapping[str, Any] | None) -> None:
    """Encoder overrides must name existing ``table.column`` pairs (a typo is an error)."""
    for key in overrides or {}:
        table, _, column = str(key).partition(".")
        if table not in graph.tables or not column:
            raise PlanError(
                f"column_processing.encoder_overrides: {key!r} does not name a column; use "
                f"'table.column' with a table among {sorted(graph.tables)}.")
        columns = list(graph[table].data.columns)
        if column not in columns:
            raise PlanError(
                f"column_processing.encoder_overrides: table {table!r} has no column "
                f"{column!r} (columns: {columns}).")


def gather(features: Mapping[str, TableFeatures], node_dict: Mapping[str, Tensor],
           tensors: Mapping[str, Mapping[str, Tensor]] | None = None
           ) -> dict[str, dict[str, Tensor]]:
    """Column tensors of the sampled rows: ``{table: {column: tensor[rows]}}``."""
    src = tensors if tensors is not None else {t: f.tensors for t, f in features.items()}
    return {t: {c: x.index_select(0, rows) for c, x in src[t].items()}
            for t, rows in node_dict.items() if t in src}
