"""Training and prediction tables written by the engine as partitioned Parquet folders.

The engine computes and writes the table itself (DuckDB ``COPY ... PARTITION_BY``, Spark
``DataFrame.write.partitionBy``): rows never pass through Python, so tables larger than
memory (DuckDB spills to its temp directory) or than one machine (Spark) work.

Temporal training tables: one statement = PQL's label statement plus ``ANCHOR_TIMESTAMP``
and ``SPLIT`` (a ``CASE`` over the anchor times), partitioned by ``SPLIT``
(``path/SPLIT=train/...``). Static training tables are split in Python by the planner (a
seeded permutation), so they are computed first and then written. ``TARGET`` holds the
engine's value (lists as Parquet lists; a multicategorical string column's value as text);
:func:`read_table` reads a folder back as a DataFrame.

A table is written into a temporary sibling folder and renamed into place. An existing
folder at the path is replaced only if relgraph wrote it (its ``_relgraph_table.json``
lists every file in it); anything else there is left alone
(:class:`~relgraph.errors.OutputExistsError`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from relgraph.protocols import SqlEngine
from relgraph.task import QueryType

__all__ = ["read_table", "training_table_sql", "write_prediction_table",
           "write_training_table"]


def training_table_sql(pq: Any, plan: Any = None) -> tuple[str, list[Any]]:
    """The DuckDB-dialect statement (and parameters) computing a temporal training table
    with ``ENTITY, ANCHOR_TIMESTAMP, TARGET[, WEIGHT, LAG_j], SPLIT``."""
    plan = plan if plan is not None else pq.suggest_training_table_plan()
    if pq.query_type is not QueryType.TEMPORAL:
        raise ValueError("training_table_sql needs a temporal query")
    # pquery hook: PredictiveQuery._training_sql(plan) -> (LabelSql, {anchor: split}, timeline)
    label_sql, anchor_splits, _ = pq._training_sql(plan)
    cols = _columns(pq.graph.engine, label_sql.sql, label_sql.params)
    extra = [c for c in cols if c not in ("ENTITY", "__anchor", "TARGET")]
    cases = " ".join(f"WHEN {int(a)} THEN '{s}'" for a, s in anchor_splits.items())
    select = ['"ENTITY"', 'make_timestamp("__anchor" * 1000000) AS "ANCHOR_TIMESTAMP"',
              '"TARGET"', *(f'"{c}"' for c in extra),
              f'CASE "__anchor" {cases} END AS "SPLIT"']
    sql = f"SELECT {', '.join(select)} FROM (\n{label_sql.sql}\n) __l"
    return sql, list(label_sql.params)


def _columns(engine: SqlEngine, sql: str, params: list[Any]) -> list[str]:
    return engine.columns(sql, params)


#: Written last into every table folder: the files relgraph put there.
MARKER = "_relgraph_table.json"


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if not p.is_dir() and p.name != MARKER)


def _check_replaceable(path: Path) -> None:
    """:class:`OutputExistsError` unless ``path`` is absent or a table folder relgraph
    wrote that holds nothing else."""
    from relgraph.errors import OutputExistsError

    if not os.path.lexists(path):
        return
    why = "it is not a folder relgraph wrote"
    if path.is_dir() and not path.is_symlink() and (path / MARKER).is_file():
        try:
            listed = set(json.loads((path / MARKER).read_text())["files"])
        except (ValueError, KeyError, TypeError):
            listed = set()
        extra = sorted(set(_files(path)) - listed)
        if listed and not extra:
            return
        if extra:
            why = f"it holds files relgraph did not write (e.g. {extra[:3]})"
    raise OutputExistsError(f"{path} exists and {why}; relgraph never deletes what it did "
                            "not create. Write the table to a new path, or remove it yourself.")


def _atomic_folder(path: Path, fill: Callable[[Path], None]) -> None:
    """Run ``fill(tmp)`` on a temporary sibling folder, then rename it to ``path``
    (replacing a table folder relgraph wrote there before)."""
    path = Path(path)
    _check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.rg-tmp-{uuid.uuid4().hex[:8]}"
    trash = path.parent / f".{path.name}.rg-old-{uuid.uuid4().hex[:8]}"
    try:
        fill(tmp)
        (tmp / MARKER).write_text(json.dumps({"written_by": "relgraph",
                                              "files": _files(tmp)}))
        _check_replaceable(path)
        if path.exists():
            os.rename(path, trash)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)


def _write(engine: SqlEngine, sql: str, params: list[Any], path: Path,
           partition_by: list[str]) -> None:
    _atomic_folder(path, lambda tmp: _write_to(engine, sql, params, tmp, partition_by))


def _write_to(engine: SqlEngine, sql: str, params: list[Any], path: Path,
              partition_by: list[str]) -> None:
    engine.write_parquet(sql, params, str(path), partition_by)


def _write_frame(df: pd.DataFrame, path: Path, partition_by: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds

    table = pa.Table.from_pandas(df, preserve_index=False)
    _atomic_folder(path, lambda tmp: ds.write_dataset(
        table, str(tmp), format="parquet", partitioning=partition_by or None,
        partitioning_flavor="hive" if partition_by else None))


def write_training_table(pq: Any, path: str | Path, plan: Any = None, *,
                         partition_by: tuple[str, ...] = ("SPLIT",)) -> Path:
    """Compute ``pq``'s training table on its graph's engine and write it as Parquet
    partitioned by ``partition_by`` (default ``SPLIT``). Returns the folder."""
    out = Path(path)
    if pq.query_type is QueryType.TEMPORAL:
        sql, params = training_table_sql(pq, plan)
        _write(pq.graph.engine, sql, params, out, list(partition_by))
    else:
        table = pq.generate_training_table(plan)
        _write_frame(table.data_df(), out, list(partition_by))
    return out


def write_prediction_table(pq: Any, path: str | Path, anchor_time: Any = None, *,
                           partition_by: tuple[str, ...] = ()) -> Path:
    """Compute ``pq``'s prediction table (entities to predict at ``anchor_time``, default
    the latest target time) on the engine and write it as a Parquet folder."""
    from relgraph.pquery.generation_plan import anchor_timestamp
    from relgraph.pquery.sql import build_label_sql

    out = Path(path)
    bq = pq._bind()
    if pq.query_type is QueryType.TEMPORAL:
        anchor = (pq._timeline().t_max if anchor_time is None
                  else int(anchor_timestamp(anchor_time).value // 1_000_000_000))
        label = build_label_sql(bq, pq.graph, [anchor], temporal=True, mode="predict")
        sql = ('SELECT "ENTITY", make_timestamp("__anchor" * 1000000) AS "ANCHOR_TIMESTAMP" '
               f"FROM (\n{label.sql}\n) __l")
        _write(pq.graph.engine, sql, list(label.params), out, list(partition_by))
    else:
        table = pq.generate_prediction_table()
        _write_frame(table.data_df(), out, list(partition_by))
    return out


def read_table(path: str | Path) -> pd.DataFrame:
    """A Parquet folder written by this module, as one DataFrame (rows sorted by anchor
    time and entity; partition columns restored as strings)."""
    import pyarrow.dataset as ds

    table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table()
    df = table.to_pandas()
    if "ANCHOR_TIMESTAMP" in df.columns:
        ts = pd.to_datetime(df["ANCHOR_TIMESTAMP"])
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        df["ANCHOR_TIMESTAMP"] = ts.astype("datetime64[ns]")
    if "SPLIT" in df.columns:
        df["SPLIT"] = df["SPLIT"].astype(str)
    keys = [c for c in ("ANCHOR_TIMESTAMP", "ENTITY") if c in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
