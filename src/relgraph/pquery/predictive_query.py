"""PredictiveQuery: a PQL query bound to a graph; generates training and prediction tables."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relgraph import hooks
from relgraph.errors import (
    PlanError,
    PQLError,
)
from relgraph.pquery import ast
from relgraph.pquery.binder import BAgg, BCol, BoundQuery, Join, bind
from relgraph.pquery.diagnostics import check_finite_target, check_splits
from relgraph.pquery.generation_plan import (
    INFERRED,
    MISSING,
    PredictionTableGenerationPlan,
    TrainingTableGenerationPlan,
    anchor_timestamp,
    is_set,
)
from relgraph.pquery.parser import parse_query
from relgraph.pquery.planner import (
    assign_static_splits,
    assign_temporal_splits,
    make_anchors,
    parse_split,
)
from relgraph.pquery.prediction_table import PredictionTable
from relgraph.pquery.sql import LabelSql, build_label_sql, quote_ident
from relgraph.pquery.task_type import TaskInfo, infer_task
from relgraph.pquery.training_table import ANCHOR, ENTITY, SPLIT, TARGET, TrainingTable
from relgraph.task import QueryType, TaskType

if TYPE_CHECKING:
    from relgraph.graph import Graph

__all__ = ["PredictiveQuery"]

DAY = 86400
#: Most anchor times / (entities x anchors) rows a suggested plan generates, per run mode.
MAX_ANCHORS = {"debug": 5, "fast": 50, "normal": 100, "best": 200}
MAX_ROWS = {"debug": 100_000, "fast": 3_000_000, "normal": 10_000_000, "best": 30_000_000}


@dataclass(frozen=True)
class _Timeline:
    """Window geometry and data range of a temporal query (all in epoch seconds)."""

    win_start: int
    win_end: int
    unit: int
    t_min: int
    t_max: int
    num_forecasts: int
    lookback: int = 0

    @property
    def first(self) -> int:
        """The earliest default anchor: the data's start plus the query's look-back."""
        return self.t_min + self.lookback

    @property
    def length(self) -> int:
        return self.win_end - self.win_start

    @property
    def horizon_end(self) -> int:
        return self.win_end + (self.num_forecasts - 1) * self.length


class PredictiveQuery:
    """A predictive query over a graph.

    Example::

        pq = PredictiveQuery(graph, "PREDICT COUNT(orders.*, 0, 30, days) = 0 "
                                    "FOR EACH customers.customer_id")
        pq.validate()
        train = pq.generate_training_table()
    """

    def __init__(self, graph: Graph, query: str) -> None:
        self.graph = graph
        self.query = query
        self.train_table: TrainingTable | None = None
        self.prediction_table: PredictionTable | None = None
        self._bound: BoundQuery | None = None
        self._task: TaskInfo | None = None
        self._dangling: dict[tuple[Any, ...], bool] = {}
        self._train_rows: dict[tuple[Any, ...], int | None] = {}

    # -- parsing and binding ---------------------------------------------------------
    @property
    def ast(self) -> ast.Query:
        return self._bind().query

    def _bind(self) -> BoundQuery:
        if self._bound is None:
            parsed = parse_query(self.query)
            bound = bind(self.graph, parsed)
            self._task = infer_task(bound, self.graph)
            self._bound = bound
        return self._bound

    def static_target_columns(self) -> set[tuple[str, str]]:
        """``(table, column)`` pairs a static target reads (a model must not see them: they
        are the label); empty for a temporal query, whose target lies after the anchor."""
        bound = self._bind()
        return set() if bound.is_temporal else bound.target_columns()

    @property
    def task(self) -> TaskInfo:
        self._bind()
        assert self._task is not None
        return self._task

    def validate(self, verbose: bool = True) -> PredictiveQuery:
        """Parse and check the query against the graph; raise :class:`PQLError` if invalid."""
        self._bind()
        if verbose:
            print(f"Query is valid: {self.get_task_type().value} "
                  f"({self.query_type.value}) for each {self.entity_table}")
        return self

    def get_task_type(self) -> TaskType:
        return self.task.task_type

    @property
    def query_type(self) -> QueryType:
        return self.task.query_type

    @property
    def entity_table(self) -> str:
        return self._bind().entity_table

    @property
    def entity_column(self) -> str:
        return self._bind().entity_pk

    @property
    def target_table(self) -> str | None:
        """The table the target is read from (link prediction: the table of target keys)."""
        if self.task.target_table is not None:
            return self.task.target_table
        tables = self._bind().target_tables
        return tables[0] if tables else self.entity_table

    @property
    def top_k(self) -> int | None:
        return self.task.top_k

    @property
    def num_forecasts(self) -> int:
        return self.task.num_forecasts

    def __repr__(self) -> str:
        return f"PredictiveQuery({self.query!r})"

    # -- time range ------------------------------------------------------------------
    def _timeline(self, num_forecasts: int | None = None) -> _Timeline:
        bq = self._bind()
        aggs = [a for a in bq.target_aggregations() if a.windowed]
        assert aggs, "temporal query without windowed target"
        starts = [a.start or 0 for a in aggs]
        ends = [a.end or 0 for a in aggs]
        unit = aggs[0].unit_seconds
        eng = self.graph.engine
        mins, maxs = [], []
        for table in dict.fromkeys(a.table for a in aggs):
            row = eng.sql(f"SELECT min(__rg_time) AS lo, max(__rg_time) AS hi "
                          f"FROM {eng.relation(table)}").iloc[0]
            if pd.isna(row["lo"]):
                raise PQLError(f"Target table '{table}' has no rows with a time; cannot place "
                               "anchor times")
            mins.append(int(row["lo"]))
            maxs.append(int(row["hi"]))
        n = num_forecasts if num_forecasts is not None else self.task.num_forecasts
        return _Timeline(min(starts), max(ends), unit, min(mins), min(maxs), n,
                         self._lookback())

    def _lookback(self) -> int:
        """The longest finite look-back of the entity filter's windows, in seconds (0
        without one): ``WHERE COUNT(orders.*, -90, 0, days) > 0`` looks back 90 days."""
        backs = [-int(a.start) for a in self._bind().filter_aggregations()
                 if a.windowed and a.start is not None and a.start < 0]
        return max(backs, default=0)

    def _resolve_time(self, value: Any, latest: int) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return latest + value * DAY
        return int(anchor_timestamp(value).value // 1_000_000_000)

    def _forecast_length(self, plan: TrainingTableGenerationPlan | None) -> int:
        n = self.task.num_forecasts
        if plan is not None and is_set(plan.forecast_length):
            if self.get_task_type() not in (TaskType.REGRESSION, TaskType.FORECASTING) or \
                    not isinstance(self._bind().target, BAgg) or not self.query_type == \
                    QueryType.TEMPORAL:
                raise PlanError("forecast_length applies to temporal regression queries only")
            n = int(plan.forecast_length)
        return n

    def _anchors(self, plan: TrainingTableGenerationPlan, tl: _Timeline
                 ) -> tuple[np.ndarray, np.ndarray]:
        latest = tl.t_max - tl.horizon_end
        earliest = tl.first
        if is_set(plan.train_end_offset):
            latest = min(latest, tl.t_max - int(plan.train_end_offset) * tl.unit
                         - tl.horizon_end)
        if is_set(plan.train_start_offset):
            earliest = max(earliest, tl.t_max - int(plan.train_start_offset) * tl.unit)
        if is_set(plan.end_time):
            latest = self._resolve_time(plan.end_time, latest)
        if is_set(plan.start_time):
            earliest = self._resolve_time(plan.start_time, tl.t_max - tl.horizon_end)
        step = int(plan.timeframe_step) * tl.unit if is_set(plan.timeframe_step) \
            else tl.length
        anchors = make_anchors(latest, earliest, step)
        if len(anchors) == 0:
            days = tl.lookback / DAY
            back = (f" (the data's start plus the entity filter's {days:g}-day look-back)"
                    if tl.lookback and earliest == tl.first else "")
            raise PlanError(
                f"No anchor time fits: the latest usable anchor "
                f"{pd.Timestamp(latest, unit='s')} is before the earliest "
                f"{pd.Timestamp(earliest, unit='s')}{back}. The target window (and the "
                "filter's look-back) may be longer than the data; shorten them or set "
                "start_time/end_time in the training table plan")
        split = plan.split if is_set(plan.split) else self._default_split(tl)
        splits = assign_temporal_splits(anchors, parse_split(split), tl.win_start,
                                        tl.horizon_end)
        keep = splits != ""
        return anchors[keep], splits[keep]

    def _default_split(self, tl: _Timeline | None) -> str:
        if self.query_type is QueryType.TEMPORAL:
            if self.get_task_type().is_link_pred and tl is not None:
                days = tl.horizon_end / DAY
                return f"DateOffsetSplit([{-days:g}, 0])"
            return "ApproxDateOffsetSplit([0.8, 0.1, 0.1])"
        ent = self.graph.tables[self.entity_table]
        if ent.time_column is not None:
            return "TemporalSplit([0.8, 0.1, 0.1])"
        return "RandomSplit([0.8, 0.1, 0.1])"

    # -- plans -----------------------------------------------------------------------
    def suggest_training_table_plan(self, run_mode: str = "fast"
                                    ) -> TrainingTableGenerationPlan:
        """A plan with every field resolved: split, step, and an anchor range capped by
        run mode (at most 50/100/200 anchors and 3M/10M/30M rows for fast/normal/best).

        Anchors step back by the target window from the latest complete window to the
        first time the entity filter's longest look-back lies inside the data (the
        earliest target timestamp plus, e.g., 90 days for ``COUNT(x.*, -90, 0, days)``),
        so no anchor evaluates the filter on a truncated history. Temporal node tasks
        split the anchors ``ApproxDateOffsetSplit([0.8, 0.1, 0.1])``: the newest 10 % test,
        the next 10 % validation, the rest training (see :mod:`relgraph.pquery.planner`).
        """
        mode = str(getattr(run_mode, "value", run_mode)).lower()
        if mode not in MAX_ANCHORS:
            raise PlanError(f"Unknown run_mode {run_mode!r}; use fast, normal, best or debug")
        plan = TrainingTableGenerationPlan()
        if self.query_type is QueryType.STATIC:
            plan.split = self._default_split(None)
            return plan
        tl = self._timeline()
        plan.split = self._default_split(tl)
        plan.timeframe_step = max(1, tl.length // tl.unit) if tl.length % tl.unit == 0 \
            else MISSING
        if self.get_task_type() is TaskType.FORECASTING:
            plan.forecast_length = tl.num_forecasts
            plan.lag_timesteps = 0
        latest = tl.t_max - tl.horizon_end
        anchors = make_anchors(latest, tl.first, tl.length)
        num_entities = self.graph.tables[self.entity_table].num_rows
        cap = min(MAX_ANCHORS[mode], max(3, MAX_ROWS[mode] // max(1, num_entities)))
        plan.end_time = pd.Timestamp(latest, unit="s").isoformat()
        if len(anchors) > cap:
            plan.start_time = pd.Timestamp(int(anchors[cap - 1]), unit="s").isoformat()
        else:
            plan.start_time = pd.Timestamp(tl.first, unit="s").isoformat()
        return plan

    def suggest_prediction_table_plan(self) -> PredictionTableGenerationPlan:
        plan = PredictionTableGenerationPlan()
        if self.get_task_type() is TaskType.FORECASTING:
            plan.forecast_length = self.task.num_forecasts
        return plan

    def suggest_model_plan(self, run_mode: str = "fast", train_table_spec: Any = None) -> Any:
        """A :class:`~relgraph.trainer.ModelPlan` for this query.

        It depends on the query, the graph and ``run_mode`` only: batch sizes and steps
        are sized by the training rows of the suggested training table of ``run_mode``
        (counted by SQL, whether or not a table was generated), and weights are used when
        ``train_table_spec.weight_col`` says the table has them.
        """
        from relgraph.plan.suggest import suggest_model_plan

        has_weight = bool(getattr(train_table_spec, "weight_col", None) or (
            isinstance(train_table_spec, dict) and train_table_spec.get("weight_col")))
        return suggest_model_plan(
            self.get_task_type(), run_mode,
            num_train_examples=self._num_train_rows(run_mode),
            num_nodes=sum(t.num_rows for t in self.graph.tables.values()),
            is_temporal=self.query_type is QueryType.TEMPORAL,
            has_weight_col=has_weight,
            top_k=self.top_k,
        )

    def _graph_key(self) -> tuple[Any, ...]:
        tables = tuple((n, id(t), t.version) for n, t in self.graph.tables.items())
        return (tables, tuple(tuple(e) for e in self.graph.edges))

    def _num_train_rows(self, run_mode: str) -> int | None:
        """Rows of the 'train' split of the suggested training table of ``run_mode``
        (counted without building the table; cached per graph version); None when no
        anchor time fits the data (the plan is then sized without it)."""
        mode = str(getattr(run_mode, "value", run_mode)).lower()
        key = (mode, self._graph_key())
        if key not in self._train_rows:
            try:
                plan = self.suggest_training_table_plan(mode)
                label_sql, anchor_splits, _ = self._training_sql(plan)
            except PlanError:
                self._train_rows[key] = None
                return None
            eng = self.graph.engine
            if self.query_type is QueryType.TEMPORAL:
                counts = eng.sql(f"SELECT __anchor AS a, count(*) AS n FROM ({label_sql.sql}) "
                                 "__q GROUP BY 1", label_sql.params)
                n = sum(int(c) for a, c in zip(counts["a"], counts["n"])
                        if anchor_splits.get(int(a)) == "train")
            else:
                total = eng.sql(f"SELECT count(*) AS n FROM ({label_sql.sql}) __q",
                                label_sql.params)["n"][0]
                n = round(int(total) * parse_split(str(plan.split)).args[0])
            self._train_rows[key] = n
        return self._train_rows[key]

    # -- SQL -------------------------------------------------------------------------
    def _list_weight(self, plan: TrainingTableGenerationPlan) -> str | None:
        """``weight_col`` on the table of a LIST_DISTINCT target: a weight list."""
        target = self._bind().target
        if plan.weight_col is None or not isinstance(target, BAgg) or \
                target.func != "LIST_DISTINCT":
            return None
        table, column = plan.weight_col.split(".")
        return column if table == target.table else None

    def _weight_column(self, plan: TrainingTableGenerationPlan) -> BCol | None:
        if plan.weight_col is None:
            return None
        table, column = plan.weight_col.split(".")
        graph_table = self.graph.tables.get(table)
        if graph_table is None or not graph_table.has_column(column):
            raise PlanError(f"weight_col '{plan.weight_col}' names no column of the graph")
        col = graph_table[column]
        dtype = str(getattr(col.dtype, "value", col.dtype))
        if dtype not in ("int", "byte", "int16", "int32", "int64", "float", "float32",
                         "float64"):
            raise PlanError(f"weight_col '{plan.weight_col}' must be numerical (got {dtype})")
        ent = self.entity_table
        if self._list_weight(plan) is not None:
            return None
        if table == ent:
            join = Join("self", table)
        else:
            fkeys = [e.fkey for e in self.graph.edges if e.src_table == ent and
                     e.dst_table == table]
            if len(fkeys) != 1:
                raise PlanError(f"weight_col must be a column of the entity table '{ent}', of a "
                                "table it references once, or of the LIST_DISTINCT target's "
                                f"table (got '{plan.weight_col}')")
            join = Join("parent", table, fkeys[0])
        return BCol(join, column, str(getattr(col.stype, "value", col.stype)), dtype)

    def _training_sql(self, plan: TrainingTableGenerationPlan
                      ) -> tuple[LabelSql, dict[int, str], _Timeline | None]:
        bq = self._bind()
        task = self.task
        drop_empty = task.task_type.is_ranking
        weight = self._weight_column(plan)
        lags = int(plan.lag_timesteps) if is_set(plan.lag_timesteps) else 0
        if self.query_type is QueryType.TEMPORAL:
            n = self._forecast_length(plan)
            tl = self._timeline(n)
            anchors, splits = self._anchors(plan, tl)
            label_sql = build_label_sql(bq, self.graph, [int(a) for a in anchors],
                                        temporal=True, mode="train",
                                        list_drop_empty=drop_empty, num_forecasts=n,
                                        num_lags=lags, weight=weight,
                                        forecast=self._is_forecast(n),
                                        list_weight=self._list_weight(plan),
                                        link_table=self._link_table())
            return label_sql, dict(zip(anchors.tolist(), splits.tolist())), tl
        if lags:
            raise PlanError("lag_timesteps applies to forecasting queries only")
        label_sql = build_label_sql(bq, self.graph, [self._now()], temporal=False,
                                    mode="train", list_drop_empty=drop_empty, weight=weight,
                                    list_weight=self._list_weight(plan),
                                    link_table=self._link_table())
        return label_sql, {}, None

    def _run(self, label_sql: LabelSql, order: str) -> pd.DataFrame:
        """Execute; list columns come back as Python lists (via Arrow, without a Python loop
        over numpy arrays)."""
        import pyarrow as pa

        result = self.graph.engine.arrow(label_sql.sql + f"\nORDER BY {order}",
                                         label_sql.params)
        cols: dict[str, Any] = {}
        for name in result.column_names:
            column = result.column(name)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                cols[name] = pd.Series(column.to_pylist(), dtype=object)
            else:
                cols[name] = column.to_pandas()
        return pd.DataFrame(cols)

    def _link_table(self) -> str | None:
        """Link prediction: the target table, when some target keys do not resolve in it
        (the SQL then leaves them out). Checked once per table version."""
        if not self.get_task_type().is_link_pred:
            return None
        target = self._bind().target
        dst = self.task.target_table
        assert isinstance(target, BAgg) and target.column is not None and dst is not None
        src_t, dst_t = self.graph.tables[target.table], self.graph.tables[dst]
        key = (target.table, src_t.version, id(src_t), dst, dst_t.version, id(dst_t))
        if key not in self._dangling:
            eng = self.graph.engine
            col = quote_ident(target.column.column)
            pk = quote_ident(dst_t.primary_key or "")
            found = eng.sql(
                f"SELECT count(*) AS n FROM {eng.relation(target.table)} f WHERE f.{col} IS NOT "
                f"NULL AND NOT EXISTS (SELECT 1 FROM {eng.relation(dst)} d WHERE d.{pk} = "
                f"f.{col})")["n"][0]
            self._dangling[key] = int(found) > 0
        return dst if self._dangling[key] else None

    def _is_forecast(self, n: int) -> bool:
        return self.get_task_type() is TaskType.FORECASTING or n > 1

    def _now(self) -> int:
        """The anchor of static queries: the latest timestamp in the graph (0 if none)."""
        eng = self.graph.engine
        latest = 0
        for name, table in self.graph.tables.items():
            if table.time_column is not None:
                value = eng.sql(f"SELECT max(__rg_time) AS t FROM {eng.relation(name)}")["t"][0]
                if not pd.isna(value):
                    latest = max(latest, int(value))
        return latest

    def explain(self, plan: TrainingTableGenerationPlan | None = None) -> str:
        """The SQL that generates the training table, with its bound parameters."""
        plan = plan or self.suggest_training_table_plan()
        label_sql, _, _ = self._training_sql(plan)
        head = (f"-- {self.get_task_type().value} ({self.query_type.value}) query\n"
                f"-- {self.query}\n")
        return head + label_sql.explain()

    # -- training (delegated to relgraph.trainer through relgraph.hooks) ------------
    def fit(self, training_table_plan: TrainingTableGenerationPlan | None = None,
            model_plan: Any = None, *, non_blocking: bool = False,
            custom_tags: Any = None, verbose: bool = True) -> tuple[Any, Any]:
        """Generate the training table, suggest a model plan (unless ``model_plan`` is
        given) and train: ``(trainer, TrainingJobResult)``, or ``(trainer, TrainingJob)``
        with ``non_blocking``. ``trainer.predict(graph)`` then predicts at the latest time."""
        return hooks.call("fit_predictive_query", self, training_table_plan,  # type: ignore[no-any-return]
                          model_plan, non_blocking=non_blocking, custom_tags=custom_tags,
                          verbose=verbose)

    def generate_baseline(self, metrics: list[str] | None = None, train_table: Any = None, *,
                          non_blocking: bool = False, custom_tags: Any = None,
                          verbose: bool = True) -> Any:
        """Majority/mean and LightGBM baselines on ``train_table`` (default: the last
        generated one, else a new one): a ``BaselineJobResult`` (``BaselineJob`` with
        ``non_blocking``)."""
        if train_table is None:
            train_table = self.train_table if self.train_table is not None else \
                self.generate_training_table()
        return hooks.call("generate_baseline", self, metrics, train_table,
                          non_blocking=non_blocking, custom_tags=custom_tags, verbose=verbose)

    # -- templates -------------------------------------------------------------------
    def save(self, name: str | None = None) -> str:
        """Save the query with its graph (a snapshot of every table) under the home as a
        template; returns ``name``, or an id derived from the content."""
        from relgraph.config import get_settings
        from relgraph.graph.saved import save_object
        from relgraph.graph.snapshot import snapshot_graph

        self._bind()
        graph = snapshot_graph(get_settings().home, self.graph)
        return save_object("pquery", {"query": self.query, "graph": graph}, name)

    @property
    def id(self) -> str:
        """The query's saved id (saving it if needed, as the reference does)."""
        return self.save()

    @staticmethod
    def load(pq_id_or_template: str) -> PredictiveQuery:
        """A query saved by :meth:`save`, bound to its saved graph."""
        from relgraph.config import get_settings
        from relgraph.graph.saved import load_object
        from relgraph.graph.snapshot import load_graph

        body = load_object("pquery", pq_id_or_template)
        return PredictiveQuery(load_graph(get_settings().home, body["graph"]), body["query"])

    @staticmethod
    def load_from_training_job(job_id: str, graph: Graph | None = None) -> PredictiveQuery:
        """The query a training job was trained on, bound to ``graph`` (default: the job's
        graph snapshot)."""
        query: PredictiveQuery = hooks.call("predictive_query_from_training_job", job_id, graph)
        return query

    # -- tables ----------------------------------------------------------------------
    def compute_labels(self, anchor_times: Any, *, with_target: bool = True) -> pd.DataFrame:
        """Labels at the given anchor times (no split): ``ENTITY``, ``ANCHOR_TIMESTAMP``,
        ``TARGET``. Temporal queries only. One statement for all anchors."""
        if self.query_type is not QueryType.TEMPORAL:
            raise PQLError("compute_labels needs a temporal query (a target with a window)")
        secs = [int(anchor_timestamp(a).value // 1_000_000_000)
                if not isinstance(a, (int, np.integer)) else int(a) for a in anchor_times]
        task = self.get_task_type()
        label_sql = build_label_sql(
            self._bind(), self.graph, secs, temporal=True,
            mode="train" if with_target else "predict",
            list_drop_empty=task.is_ranking, num_forecasts=self.num_forecasts,
            forecast=self._is_forecast(self.num_forecasts), link_table=self._link_table())
        df = self._run(label_sql, '"__anchor", "ENTITY"')
        return self._finish(df, task)

    def past_targets(self, entities: Any, anchors: np.ndarray, num_steps: int) -> np.ndarray:
        """Each entity's own past targets: ``[n, num_steps]`` floats, most recent first.

        Step ``j`` is the query's target at the anchor ``anchor - win_end - j * length``,
        so its window ended at or before ``anchor`` (visible at prediction time); the
        entity filter is not applied (a past value is a fact whether or not the entity
        passed the filter then). ``NaN`` where the target is undefined (no row in an
        ``AVG`` window, the entity did not exist yet). Conditions give 0/1. Temporal
        binary, regression and forecasting queries only (one value per past window).
        """
        task = self.get_task_type()
        if self.query_type is not QueryType.TEMPORAL or task not in (
                TaskType.BINARY_CLASSIFICATION, TaskType.REGRESSION, TaskType.FORECASTING):
            raise PQLError(f"past_targets needs a temporal binary, regression or forecasting "
                           f"query (this one is {task.value})")
        anchors = np.asarray(anchors, dtype=np.int64)
        out = np.full((len(anchors), num_steps), np.nan)
        if not len(anchors) or num_steps <= 0:
            return out
        tl = self._timeline(1)
        shifts = [tl.win_end + j * tl.length for j in range(num_steps)]
        distinct = np.unique(anchors)
        past = sorted({int(a - s) for a in distinct for s in shifts})
        bq = dataclasses.replace(self._bind(), entity_filter=None, assuming=None)
        label_sql = build_label_sql(bq, self.graph, past, temporal=True, mode="train")
        df = self._run(label_sql, '"__anchor", "ENTITY"')
        if df.empty:
            return out
        values = df["TARGET"].map(lambda v: float(v) if v is not None else np.nan)
        known = pd.Series(values.to_numpy(dtype=float),
                          index=pd.MultiIndex.from_arrays([df["ENTITY"].to_numpy(),
                                                           df["__anchor"].to_numpy(np.int64)]))
        known = known[~known.index.duplicated()]
        keys = pd.Series(entities).to_numpy()
        for j, shift in enumerate(shifts):
            index = pd.MultiIndex.from_arrays([keys, anchors - shift])
            out[:, j] = known.reindex(index).to_numpy(dtype=float)
        return out

    def generate_training_table(self, plan: TrainingTableGenerationPlan | None = None, *,
                                non_blocking: bool = False, custom_tags: Any = None
                                ) -> Any:
        """Labels for many past anchor times, split train/val/test (see planner docs).

        ``non_blocking=True`` returns a :class:`~relgraph.pquery.TrainingTableJob` at once:
        a stored job of the home's job store (tagged with ``custom_tags``), reopenable by
        id from another process.
        """
        self._bind()
        if non_blocking:
            return self._table_job("training_table", {"plan": plan}, custom_tags)
        self._check_entity_keys()
        suggested = plan is None
        plan = plan if plan is not None else self.suggest_training_table_plan()
        label_sql, anchor_splits, _ = self._training_sql(plan)
        df = self._run(label_sql, '"__anchor", "ENTITY"')
        task = self.task
        n = self._forecast_length(plan) if self.query_type is QueryType.TEMPORAL else 1
        task_type = task.task_type
        if n > 1 and task_type is TaskType.REGRESSION:
            task_type = TaskType.FORECASTING
        out = self._finish(df, task_type)
        if self.query_type is QueryType.TEMPORAL:
            secs = df["__anchor"].to_numpy(dtype=np.int64)
            lookup = pd.Series(anchor_splits)
            out[SPLIT] = lookup.reindex(secs).to_numpy() if len(secs) else []
        else:
            spec = parse_split(plan.split if is_set(plan.split) else self._default_split(None))
            out[SPLIT] = assign_static_splits(len(out), spec, self._entity_order(out))
        cols = [c for c in (ENTITY, ANCHOR, TARGET, SPLIT, "WEIGHT") if c in out.columns]
        cols += [c for c in out.columns if c.startswith("LAG_")]
        out = out[cols].reset_index(drop=True)
        check_splits(self, out, anchor_splits)
        check_finite_target(self, out, task_type)
        table = TrainingTable(
            out, task_type=task_type, query_type=self.query_type,
            entity_table=self.entity_table, target_table=self.target_table, graph=self.graph,
            query=self, top_k=task.top_k, num_forecasts=n, plan=plan,
            anchor_splits={pd.Timestamp(a, unit="s"): s for a, s in anchor_splits.items()},
            sql=label_sql.explain())
        self.train_table = table
        if suggested:  # the suggested table's size sizes suggest_model_plan (same count)
            self._train_rows.setdefault(("fast", self._graph_key()),
                                        table.num_rows_per_split["train"])
        return table

    def _check_entity_keys(self) -> None:
        """A duplicate entity key would repeat its rows and a null one drop them, silently
        (and training refuses such a table later): raise :class:`GraphError` now."""
        self.graph[self.entity_table].check_primary_key()

    def _table_job(self, kind: str, options: dict[str, Any], tags: Any) -> Any:
        return hooks.call("run_table_job", self, kind, options, tags)

    def _latest(self, table: str) -> Any:
        if self.graph.tables[table].time_column is None:
            return "no time column"
        eng = self.graph.engine
        value = eng.sql(f"SELECT max(__rg_time) AS t FROM {eng.relation(table)}")["t"][0]
        return "none" if pd.isna(value) else pd.Timestamp(int(value), unit="s")

    def _entity_order(self, out: pd.DataFrame) -> np.ndarray | None:
        ent = self.graph.tables[self.entity_table]
        if ent.time_column is None or ent.primary_key is None:
            return None
        times = pd.Series(ent.time_values(), index=ent.data[ent.primary_key].to_numpy())
        times = times[~times.index.duplicated()]
        return times.reindex(out[ENTITY].to_numpy()).to_numpy()

    def _finish(self, df: pd.DataFrame, task_type: TaskType) -> pd.DataFrame:
        """Engine rows -> user-facing columns and target encodings."""
        out = pd.DataFrame({ENTITY: df["ENTITY"].to_numpy()})
        if self.query_type is QueryType.TEMPORAL:
            out[ANCHOR] = pd.to_datetime(df["__anchor"].to_numpy(dtype=np.int64), unit="s") \
                .astype("datetime64[ns]")
        if "TARGET" in df.columns:
            out[TARGET] = _encode_target(df["TARGET"], task_type)
        if "WEIGHT" in df.columns:
            weights = df["WEIGHT"]
            if weights.map(lambda v: isinstance(v, list)).any():
                out["WEIGHT"] = weights.to_numpy()
            else:
                out["WEIGHT"] = weights.astype(float).to_numpy()
        for col in df.columns:
            if str(col).startswith("LAG_"):
                out[col] = df[col].astype(float).to_numpy()
        return out

    def generate_prediction_table(self, plan: PredictionTableGenerationPlan | None = None, *,
                                  non_blocking: bool = False, anchor_time: Any = None,
                                  custom_tags: Any = None) -> Any:
        """Entities to predict at ``anchor_time`` (default: the latest target timestamp),
        with entity filters applied at that time. Static column targets: entities whose
        target is missing."""
        self._bind()
        if non_blocking:  # a stored job, as for training tables
            return self._table_job("prediction_table",
                                   {"plan": plan, "anchor_time": anchor_time}, custom_tags)
        self._check_entity_keys()
        plan = plan if plan is not None else self.suggest_prediction_table_plan()
        if anchor_time is None and is_set(plan.anchor_time):
            anchor_time = plan.anchor_time
        bq = self._bind()
        if self.query_type is QueryType.TEMPORAL:
            if anchor_time is None or anchor_time == INFERRED:
                anchor = self._timeline().t_max
            else:
                anchor = int(anchor_timestamp(anchor_time).value // 1_000_000_000)
            label_sql = build_label_sql(bq, self.graph, [anchor], temporal=True,
                                        mode="predict")
            ts: pd.Timestamp | None = pd.Timestamp(anchor, unit="s")
        else:
            mode = "static_missing" if isinstance(bq.target, BCol) else "predict"
            label_sql = build_label_sql(bq, self.graph, [self._now()], temporal=False,
                                        mode=mode)
            ts = None
        df = self._run(label_sql, '"ENTITY"')
        if df.empty:
            if self.query_type is QueryType.TEMPORAL:
                reason = f"no {self.entity_table} row passes the entity filter at {ts}"
            elif isinstance(bq.target, BCol):
                reason = ("every entity's target is known; a static column query "
                          "predicts the entities whose target is missing (NULL)")
            else:
                reason = f"no {self.entity_table} row passes the entity filter"
            warnings.warn(f"The prediction table is empty: {reason}. Batch prediction on "
                          "it writes outputs with no rows.", stacklevel=2)
        out = self._finish(df, self.get_task_type())
        table = PredictionTable(out, anchor_time=ts, entity_table=self.entity_table,
                                task_type=self.get_task_type(), query_type=self.query_type,
                                graph=self.graph, query=self, plan=plan,
                                sql=label_sql.explain())
        self.prediction_table = table
        return table


def _encode_target(values: pd.Series, task: TaskType) -> Any:
    if task is TaskType.BINARY_CLASSIFICATION:
        return values.astype(bool).to_numpy()
    if task is TaskType.REGRESSION:
        return values.astype(float).to_numpy()
    if task.is_multilabel or task.is_link_pred or task is TaskType.FORECASTING:
        conv = float if task is TaskType.FORECASTING else None
        if conv is None and values.dtype == object and len(values) and all(
                isinstance(v, list) for v in values.head(100)):
            return values.to_numpy()  # already Python lists (from Arrow)
        sep = _separator(values) if values.map(lambda v: isinstance(v, str)).any() else "|"
        return pd.Series([_to_list(v, conv, sep) for v in values], dtype=object).to_numpy()
    return values.to_numpy()


def _separator(values: pd.Series) -> str:
    """The delimiter of a multicategorical string column ('|', ';' or ',')."""
    sample = "".join(str(v) for v in values.head(1000) if isinstance(v, str))
    counts = {sep: sample.count(sep) for sep in ("|", ";", ",")}
    return max(counts, key=lambda k: counts[k])


def _to_list(value: Any, conv: Any, sep: str = "|") -> list[Any]:
    if isinstance(value, str):
        return sorted({v.strip() for v in value.split(sep) if v.strip()})
    if isinstance(value, list) and conv is None:
        return value
    items = list(value) if value is not None else []
    items = [x.item() if hasattr(x, "item") else x for x in items]
    return [conv(x) for x in items] if conv is not None else items

