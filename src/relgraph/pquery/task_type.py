"""Task-type inference for a bound query (reference §5.3 table).

A categorical column with two values other than 0/1 (e.g. 'yes'/'no') is multiclass, since
no value is obviously the positive class; compare it (``t.c = 'yes'``) for a binary task.

* binary_classification: a condition (comparison, AND/OR/NOT), a boolean or 0/1
  categorical column, FIRST/LAST of one.
* regression: a numerical column, COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX, FIRST/LAST of a
  number; forecasting: the same, windowed, with ``FORECAST N TIMEFRAMES``.
* multiclass_classification: a categorical column, FIRST/LAST of a categorical.
* multilabel_classification: LIST_DISTINCT of a non-key column, or a multicategorical
  column, with CLASSIFY; multilabel_ranking: the same with RANK TOP K.
* temporal / static link_prediction: LIST_DISTINCT of a foreign key with RANK TOP K,
  windowed / not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from relgraph.errors import PQLError
from relgraph.pquery import ast
from relgraph.pquery.binder import BAgg, BCol, BoundQuery
from relgraph.task import QueryType, TaskType

if TYPE_CHECKING:
    from relgraph.graph import Graph

__all__ = ["TaskInfo", "infer_task"]


@dataclass(frozen=True)
class TaskInfo:
    """What a query predicts."""

    task_type: TaskType
    query_type: QueryType
    top_k: int | None = None
    num_forecasts: int = 1
    #: for link prediction: the table whose primary keys are the targets
    target_table: str | None = None
    #: for link prediction: the foreign key of the aggregated table holding the targets
    target_fkey: str | None = None


def _error(bq: BoundQuery, message: str, span: ast.Span | None) -> PQLError:
    span = span or ast.Span.unknown()
    end = span.end_column if span.end_line == span.line else span.column + 1
    return PQLError(message, query=bq.text, line=span.line, column=span.column, end_column=end)


def _is_zero_one(graph: Graph, col: BCol) -> bool:
    """Whether a categorical column only holds 0/1 (or booleans)."""
    data = graph.tables[col.table].data[col.column].dropna()
    if col.dtype not in ("int", "byte", "int16", "int32", "int64", "float", "float32",
                         "float64", "bool"):
        return False
    values = set(data.unique().tolist())
    return bool(values) and values <= {0, 1}


def _column_kind(graph: Graph, col: BCol) -> str:
    """binary | multiclass | regression | multilabel | unpredictable."""
    dtype, stype = col.dtype or "", col.stype or ""
    if dtype in ("stringlist", "intlist") or stype == "multicategorical":
        return "multilabel"
    if dtype == "bool":
        return "binary"
    if stype == "numerical":
        return "regression"
    if stype == "categorical":
        return "binary" if _is_zero_one(graph, col) else "multiclass"
    return "unpredictable"


def infer_task(bq: BoundQuery, graph: Graph) -> TaskInfo:
    """Infer the task type of ``bq``; raise :class:`PQLError` for unsupported combinations."""
    problem = bq.problem
    qtype = QueryType.TEMPORAL if bq.is_temporal else QueryType.STATIC
    spec = problem.kind if problem is not None else None
    pspan = problem.span if problem is not None else None
    k = problem.k if problem is not None else None
    target = bq.target

    def no_spec(kind: str) -> None:
        if spec in ("rank", "classify", "top"):
            raise _error(bq, f"{problem!s} only applies to LIST_DISTINCT or multicategorical "
                         f"targets; this target is {kind}", pspan)

    def forecast_or_regression() -> TaskInfo:
        if spec == "forecast":
            assert k is not None
            return TaskInfo(TaskType.FORECASTING, qtype, num_forecasts=k)
        no_spec("numerical (regression)")
        return TaskInfo(TaskType.REGRESSION, qtype)

    def multilabel(span: ast.Span, windowed: bool) -> TaskInfo:
        if spec == "classify":
            return TaskInfo(TaskType.MULTILABEL_CLASSIFICATION, qtype, top_k=None)
        if spec in ("rank", "top"):
            if k is None:
                raise _error(bq, "RANK needs TOP K, e.g. RANK TOP 10", pspan)
            return TaskInfo(TaskType.MULTILABEL_RANKING, qtype, top_k=k)
        raise _error(bq, "A list-valued target needs RANK TOP K or CLASSIFY after it", span)

    if not isinstance(target, (BAgg, BCol)):
        if spec == "forecast":
            raise _error(bq, "FORECAST needs a numerical target, not a condition", pspan)
        no_spec("a condition (binary classification)")
        return TaskInfo(TaskType.BINARY_CLASSIFICATION, qtype)

    if isinstance(target, BCol):
        kind = _column_kind(graph, target)
        if kind == "regression":
            return forecast_or_regression()
        if kind == "multilabel":
            return multilabel(target.span, False)
        no_spec(f"a {kind} column")
        if kind == "binary":
            return TaskInfo(TaskType.BINARY_CLASSIFICATION, qtype)
        if kind == "multiclass":
            return TaskInfo(TaskType.MULTICLASS_CLASSIFICATION, qtype)
        raise _error(bq, f"'{target}' (stype {target.stype}) cannot be predicted", target.span)

    agg = target
    if agg.func in ("COUNT", "COUNT_DISTINCT", "SUM", "AVG"):
        return forecast_or_regression()
    assert agg.column is not None
    col = agg.column
    if col.is_time or col.stype == "timestamp":
        raise _error(bq, f"{agg.func} of the timestamp '{col}' cannot be predicted", agg.span)
    if agg.func in ("MIN", "MAX"):
        return forecast_or_regression()
    fk_edges = [e for e in graph.edges if e.src_table == agg.table and e.fkey == col.column]
    if agg.func == "LIST_DISTINCT":
        if fk_edges:
            if spec == "classify":
                raise _error(bq, f"'{col}' is a foreign key: predicting its values is link "
                             "prediction; use RANK TOP K instead of CLASSIFY", pspan)
            if spec not in ("rank", "top") or k is None:
                raise _error(bq, f"LIST_DISTINCT of the foreign key '{col}' is link prediction"
                             " and needs RANK TOP K, e.g. RANK TOP 10", pspan or agg.span)
            task = TaskType.TEMPORAL_LINK_PREDICTION if agg.windowed \
                else TaskType.STATIC_LINK_PREDICTION
            return TaskInfo(task, qtype, top_k=k, target_table=fk_edges[0].dst_table,
                            target_fkey=col.column)
        if col.column == graph.tables[agg.table].primary_key or col.stype == "text":
            raise _error(bq, f"LIST_DISTINCT of '{col}' (stype {col.stype}) cannot be predicted;"
                         " use a categorical column or a foreign key", agg.span)
        if spec == "classify" and not agg.windowed:
            raise _error(bq, "LIST_DISTINCT with CLASSIFY needs a time window", agg.span)
        return multilabel(agg.span, agg.windowed)
    # FIRST / LAST
    if fk_edges:
        raise _error(bq, f"{agg.func} of the foreign key '{col}' cannot be predicted; use "
                     f"LIST_DISTINCT({col}) RANK TOP K", agg.span)
    kind = _column_kind(graph, col)
    if kind == "regression":
        return forecast_or_regression()
    if kind == "multilabel":
        return multilabel(agg.span, agg.windowed)
    no_spec(f"{agg.func} of a {kind} column")
    if kind == "binary":
        return TaskInfo(TaskType.BINARY_CLASSIFICATION, qtype)
    if kind == "multiclass":
        return TaskInfo(TaskType.MULTICLASS_CLASSIFICATION, qtype)
    raise _error(bq, f"{agg.func} of '{col}' (stype {col.stype}) cannot be predicted", agg.span)
