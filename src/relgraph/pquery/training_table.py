"""TrainingTable: labelled (entity, anchor time) rows with a split, plus task metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relgraph.errors import PQLError
from relgraph.task import QueryType, TaskType

if TYPE_CHECKING:
    from relgraph.graph import Graph
    from relgraph.pquery.generation_plan import TrainingTableGenerationPlan
    from relgraph.pquery.predictive_query import PredictiveQuery

__all__ = ["ANCHOR", "ENTITY", "SPLIT", "TARGET", "WEIGHT", "TrainingTable"]

ENTITY, ANCHOR, TARGET, SPLIT, WEIGHT = "ENTITY", "ANCHOR_TIMESTAMP", "TARGET", "SPLIT", "WEIGHT"
SPLITS = ("train", "val", "test")


class TrainingTable:
    """A training table: ``ENTITY``, ``ANCHOR_TIMESTAMP`` (temporal only), ``TARGET``,
    ``SPLIT`` (train / val / test) and optionally ``WEIGHT`` (and ``LAG_j`` for forecasting).

    ``TrainingTable(job_id)`` reads the table of a finished training-table job.

    Target encodings: binary → bool; regression → float; multiclass → the class value;
    multilabel and link prediction → a list per row (link prediction: primary keys of
    ``target_table``); forecasting → a list of ``num_forecasts`` floats.
    """

    def __init__(
        self,
        df: pd.DataFrame | str,
        *,
        task_type: TaskType | str | None = None,
        query_type: QueryType | str | None = None,
        entity_table: str = "",
        target_table: str | None = None,
        graph: Graph | None = None,
        query: PredictiveQuery | None = None,
        top_k: int | None = None,
        num_forecasts: int = 1,
        plan: TrainingTableGenerationPlan | None = None,
        anchor_splits: dict[pd.Timestamp, str] | None = None,
        sql: str | None = None,
    ) -> None:
        if isinstance(df, str):  # TrainingTable(job_id), as in the reference
            self.__dict__.update(_from_job(df, "TrainingTableJob").__dict__)
            return
        if task_type is None or query_type is None or not entity_table:
            raise PQLError("TrainingTable needs task_type, query_type and entity_table (or "
                           "a training-table job id: TrainingTable(job_id))")
        self._df = df
        self.task_type = TaskType(task_type)
        self.query_type = QueryType(query_type)
        self.entity_table = entity_table
        self.target_table = target_table
        self.graph = graph
        self.query = query
        self.top_k = top_k
        self.num_forecasts = num_forecasts
        self.plan = plan
        self.anchor_splits = anchor_splits or {}
        self.sql = sql

    # -- data ----------------------------------------------------------------------------
    def data_df(self) -> pd.DataFrame:
        """The rows (a copy)."""
        return self._df.copy()

    def __len__(self) -> int:
        return len(self._df)

    @property
    def is_temporal(self) -> bool:
        return self.query_type is QueryType.TEMPORAL

    @property
    def has_weight(self) -> bool:
        return WEIGHT in self._df.columns

    def split_df(self, split: str) -> pd.DataFrame:
        """Rows of one split."""
        return self._df[self._df[SPLIT] == split].reset_index(drop=True)

    @property
    def num_rows_per_split(self) -> dict[str, int]:
        counts = self._df[SPLIT].value_counts()
        return {s: int(counts.get(s, 0)) for s in SPLITS}

    @property
    def class_labels(self) -> list[Any] | None:
        """Sorted class values for multiclass / multilabel classification, else None."""
        if self.task_type is TaskType.MULTICLASS_CLASSIFICATION:
            return sorted(self._df[TARGET].dropna().unique().tolist(), key=_sort_key)
        if self.task_type in (TaskType.MULTILABEL_CLASSIFICATION, TaskType.MULTILABEL_RANKING):
            values = {v for row in self._df[TARGET] for v in row}
            return sorted(values, key=_sort_key)
        return None

    @property
    def num_classes(self) -> int | None:
        labels = self.class_labels
        if labels is not None:
            return len(labels)
        return 2 if self.task_type is TaskType.BINARY_CLASSIFICATION else None

    @property
    def anchor_times(self) -> list[pd.Timestamp]:
        if ANCHOR not in self._df.columns:
            return []
        return sorted(pd.to_datetime(self._df[ANCHOR].unique()))

    def __repr__(self) -> str:
        return (f"TrainingTable(task_type={self.task_type.value}, rows={len(self._df)}, "
                f"splits={self.num_rows_per_split}, entity_table={self.entity_table!r})")

    # -- plans ---------------------------------------------------------------------------
    def suggest_model_plan(self, run_mode: str = "fast") -> Any:
        """A :class:`~relgraph.trainer.ModelPlan` suited to this table."""
        from relgraph.plan.suggest import suggest_model_plan

        num_nodes = None
        if self.graph is not None:
            num_nodes = sum(t.num_rows for t in self.graph.tables.values())
        return suggest_model_plan(
            self.task_type, run_mode,
            num_train_examples=self.num_rows_per_split["train"],
            num_nodes=num_nodes,
            is_temporal=self.is_temporal,
            has_weight_col=self.has_weight,
            top_k=self.top_k,
        )

    # -- custom tables -------------------------------------------------------------------
    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame | Any,
        graph: Graph | None,
        entity_table: str,
        entity_column: str,
        anchor_time_column: str | None = None,
        target_column: str = "TARGET",
        split_column: str | None = None,
        weight_column: str | None = None,
        task_type: TaskType | str | None = None,
        *,
        target_table: str | None = None,
        top_k: int | None = None,
        seed: int = 42,
    ) -> TrainingTable:
        """A training table from your own labels (a DataFrame or a connector's SourceTable).

        Entities must exist in ``graph[entity_table]``; splits must be train/val/test (when
        absent: a temporal 80/10/10 split by anchor time, else a seeded random one); weights
        must be non-negative. The task type is inferred from the target when not given:
        lists → multilabel ranking (link prediction if the values are keys of
        ``target_table``), bool or 0/1 → binary, floats → regression, strings or few integer
        values → multiclass.
        """
        if not isinstance(df, pd.DataFrame):
            if hasattr(df, "to_pandas"):
                df = df.to_pandas()
            elif hasattr(df, "head"):
                df = df.head(None)
            else:
                raise PQLError(f"from_dataframe needs a DataFrame or SourceTable "
                               f"(got {type(df).__name__})")
        missing = [c for c in (entity_column, anchor_time_column, target_column, split_column,
                               weight_column) if c is not None and c not in df.columns]
        if missing:
            raise PQLError(f"Columns {missing} are not in the DataFrame; it has "
                           f"{list(df.columns)}")
        out = pd.DataFrame({ENTITY: df[entity_column].to_numpy()})
        if anchor_time_column is not None:
            times = pd.to_datetime(df[anchor_time_column], errors="coerce")
            if getattr(times.dt, "tz", None) is not None:
                times = times.dt.tz_convert("UTC").dt.tz_localize(None)
            if times.isna().any():
                raise PQLError(f"Column '{anchor_time_column}' has {int(times.isna().sum())} "
                               "null or unparseable anchor times")
            out[ANCHOR] = times.astype("datetime64[ns]").to_numpy()
        out[TARGET] = df[target_column].to_numpy()
        if out[TARGET].isna().any() if out[TARGET].dtype != object else \
                out[TARGET].map(lambda v: v is None or (isinstance(v, float) and v != v)).any():
            raise PQLError(f"Target column '{target_column}' has null values; drop those rows")
        if graph is not None:
            if entity_table not in graph.tables:
                raise PQLError(f"Unknown entity table '{entity_table}'; tables: "
                               f"{list(graph.tables)}")
            table = graph.tables[entity_table]
            if table.primary_key is None:
                raise PQLError(f"Entity table '{entity_table}' needs a primary key")
            keys = table.data[table.primary_key]
            known = out[ENTITY].isin(keys.to_numpy())
            if not known.all():
                bad = out.loc[~known, ENTITY].unique()[:3].tolist()
                raise PQLError(f"{int((~known).sum())} rows name entities that are not in "
                               f"'{entity_table}.{table.primary_key}' (e.g. {bad})")
        if task_type is None:
            task = _infer_custom_task(out[TARGET], graph, target_table, ANCHOR in out.columns)
        else:
            task = TaskType(task_type)
        if task is TaskType.BINARY_CLASSIFICATION:
            values = set(pd.unique(out[TARGET]).tolist())
            if not values <= {0, 1}:
                other = sorted(values - {0, 1}, key=str)
                raise PQLError(f"A binary target must hold 0/1 or booleans (got "
                               f"{len(other)} other values, e.g. {other[:5]}); pass "
                               "task_type='regression' for numbers")
            out[TARGET] = out[TARGET].astype(bool)
        elif task in (TaskType.REGRESSION,):
            numbers = pd.to_numeric(out[TARGET], errors="coerce").astype(float)
            bad = ~np.isfinite(numbers.to_numpy())
            if bad.any():
                raise PQLError(f"A regression target must hold finite numbers; "
                               f"'{target_column}' has {int(bad.sum())} others (e.g. "
                               f"{out.loc[bad, TARGET].unique()[:3].tolist()})")
            out[TARGET] = numbers
        if split_column is not None:
            splits = df[split_column].astype(str).str.lower().to_numpy()
            bad = sorted(set(splits) - set(SPLITS))
            if bad:
                raise PQLError(f"Split column '{split_column}' holds {bad}; use train, val "
                               "or test")
            out[SPLIT] = splits
        else:
            from relgraph.pquery.planner import assign_static_splits, parse_split

            spec = parse_split("TemporalSplit([0.8, 0.1, 0.1])" if ANCHOR in out.columns
                               else "RandomSplit([0.8, 0.1, 0.1])")
            key = out[ANCHOR].to_numpy() if ANCHOR in out.columns else None
            out[SPLIT] = assign_static_splits(len(out), spec, key, seed)
        if weight_column is not None:
            weights = pd.to_numeric(df[weight_column], errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(weights).all() or (weights < 0).any():
                raise PQLError(f"Weight column '{weight_column}' must be finite non-negative "
                               "numbers without nulls")
            out[WEIGHT] = weights
        if not (out[SPLIT] == "train").any():
            raise PQLError("The training table has no 'train' rows")
        qtype = QueryType.TEMPORAL if ANCHOR in out.columns else QueryType.STATIC
        if task.is_link_pred and target_table is None:
            raise PQLError("Link prediction tables need target_table= (the table whose keys "
                           "the target lists hold)")
        if task.is_link_pred or task.is_multilabel:
            out[TARGET] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else v
                           for v in out[TARGET]]
            if not all(isinstance(v, list) for v in out[TARGET]):
                raise PQLError(f"A {task.value} target must hold a list per row")
        if task.is_link_pred and graph is not None and target_table is not None:
            if target_table not in graph.tables or graph.tables[target_table].primary_key \
                    is None:
                raise PQLError(f"target_table '{target_table}' must be a table of the graph "
                               "with a primary key")
            dst = graph.tables[target_table]
            keys = set(dst.data[dst.primary_key].tolist())
            unknown = {x for v in out[TARGET] for x in v} - keys
            if unknown:
                raise PQLError(f"{len(unknown)} target values are not keys of "
                               f"'{target_table}.{dst.primary_key}' (e.g. "
                               f"{sorted(unknown, key=str)[:3]})")
        if task.is_ranking and top_k is None:
            top_k = 10
        return cls(out, task_type=task, query_type=qtype, entity_table=entity_table,
                   target_table=target_table, graph=graph, top_k=top_k)


def _from_job(job_id: str, kind: str) -> Any:
    """The table of finished table-generation job ``job_id`` (a stored job)."""
    from relgraph import hooks

    return hooks.call("table_job_result", job_id, kind)


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _infer_custom_task(target: pd.Series, graph: Graph | None,
                       target_table: str | None, temporal: bool) -> TaskType:
    sample = target.dropna()
    first = sample.iloc[0] if len(sample) else None
    if isinstance(first, (list, tuple, np.ndarray)):
        if target_table is not None and graph is not None and target_table in graph.tables:
            return TaskType.TEMPORAL_LINK_PREDICTION if temporal \
                else TaskType.STATIC_LINK_PREDICTION
        return TaskType.MULTILABEL_RANKING
    if pd.api.types.is_bool_dtype(target):
        return TaskType.BINARY_CLASSIFICATION
    values = pd.unique(sample)
    if pd.api.types.is_numeric_dtype(target):
        if set(values.tolist()) <= {0, 1}:
            return TaskType.BINARY_CLASSIFICATION
        if pd.api.types.is_float_dtype(target) or len(values) > 20:
            return TaskType.REGRESSION
        return TaskType.MULTICLASS_CLASSIFICATION
    return TaskType.MULTICLASS_CLASSIFICATION


