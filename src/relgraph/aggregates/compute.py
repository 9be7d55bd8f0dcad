"""Compute a :class:`FeatureSpec` for many ``(entity row, anchor time)`` pairs in SQL.

One statement per block, for all pairs at once, on the graph's engine (DuckDB, or Spark):
the seeds are joined to the rows along the block's path that are visible at each seed's
anchor (:func:`relgraph.graph.visibility.visible_sql`), then grouped per seed. Results are
cached as Parquet under ``cache_dir`` by a hash of :data:`VERSION`, the graph's
fingerprint, the spec and the pairs, so the baselines and the models of one training job
compute them once, and a home never serves features an older relgraph computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relgraph.aggregates.spec import Block, FeatureSpec, block_columns
from relgraph.engine import ROW_COLUMN, TIME_COLUMN, quote_ident
from relgraph.graph import Graph, Table
from relgraph.graph.visibility import visible_sql

DAY = 86_400
#: Version of the computed features, part of the cache key: bump it whenever the same spec
#: on the same graph would compute different values (SQL, visibility, dtypes).
VERSION = 3


def compute_features(graph: Graph, spec: FeatureSpec, rows: np.ndarray, anchors: np.ndarray,
                     cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Features of ``spec`` for entity ``rows`` (row indices) at ``anchors`` (epoch
    seconds): one row per pair, in order; counts are 0 where nothing matches, other
    features NaN; categorical columns are pandas categoricals over the spec's vocabulary.
    """
    rows = np.asarray(rows, dtype=np.int64)
    anchors = np.asarray(anchors, dtype=np.int64)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{_cache_key(graph, spec, rows, anchors)}.parquet"
        if path.is_file():
            return _typed(pd.read_parquet(path), spec)
    frame = _compute(graph, spec, rows, anchors)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".features-", suffix=".parquet", dir=path.parent)
        os.close(fd)
        try:
            _plain(frame).to_parquet(tmp, index=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return frame


def _compute(graph: Graph, spec: FeatureSpec, rows: np.ndarray,
             anchors: np.ndarray) -> pd.DataFrame:
    n = len(rows)
    engine = graph.engine
    seeds = pd.DataFrame({"__idx": np.arange(n, dtype=np.int64), "__row": rows,
                          "__anchor": anchors})
    # A join costs one (seed, visible row) pair each: with one anchor per entity (prediction
    # tables, static queries) each linked row at most once. Window functions cost every
    # bucket of linked rows its frames, however few seeds ask: all 3,322 planes at one
    # anchor, 336k flights, 275 features: 5.6 s windowed, 2.9 s joined (16 airlines, whose
    # flights make fewer day buckets: 0.5 s windowed, 2.3 s joined).
    windowed = len(np.unique(rows)) < n
    offsets = np.unique(anchors % DAY)  # one: anchors whole days apart (training tables)
    day_offset = int(offsets[0]) if len(offsets) == 1 else None
    parts: list[pa.Table] = []
    with engine.temp_relation(seeds) as seed_rel:
        for block in spec.blocks:
            sql = _block_sql(graph, spec.entity_table, block, seed_rel, windowed,
                             day_offset=day_offset)
            parts.append(engine.arrow(sql))
    return _typed(_assembled(parts, [(name, kind) for b in spec.blocks
                                     for name, kind in block_columns(b)], n), spec)


def _assembled(parts: list[pa.Table], columns: list[tuple[str, str]], n: int) -> pd.DataFrame:
    """The blocks' results (rows by ``__idx``) as one frame of ``n`` rows in ``columns``
    order: numbers as one float32 block filled in place (counts 0 where a seed has no
    result row, other numbers NaN), categorical values as strings."""
    numeric = [(name, kind) for name, kind in columns if kind != "cat"]
    slot = {name: j for j, (name, _) in enumerate(numeric)}
    matrix = np.full((len(numeric), n), np.nan, dtype=np.float32)  # a frame's block layout
    text: dict[str, np.ndarray] = {}
    for part in parts:
        at = part.column("__idx").to_numpy()
        for name, column in zip(part.column_names, part.columns):
            if name in slot:
                matrix[slot[name], at] = _numbers(column)
            elif name != "__idx":
                text.setdefault(name, np.full(n, None, dtype=object))[at] = \
                    column.to_pandas().to_numpy(dtype=object)
    for row, (_, kind) in zip(matrix, numeric):
        if kind == "count":
            row[np.isnan(row)] = 0.0
    frame = pd.DataFrame(matrix.T, columns=[name for name, _ in numeric], copy=False)
    for loc, (name, kind) in enumerate(columns):
        if kind == "cat":
            frame.insert(loc, name, pd.array(text.get(name, np.full(n, None, dtype=object)),
                                             dtype="string"))
    return frame


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    """A result column as float32 (through float64, as a DataFrame holds numbers; NULL and
    what is not a number: NaN)."""
    kind = column.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or \
            pa.types.is_boolean(kind) or pa.types.is_decimal(kind) or pa.types.is_null(kind):
        values = pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    else:
        values = pd.to_numeric(column.to_pandas(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    return values.astype(np.float32)


def _typed(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Categorical columns as pandas categoricals over the spec's vocabulary (fixed codes,
    so a model fitted on one frame reads another)."""
    for block in spec.blocks:
        for col, values in block.categorical.items():
            name = f"{block.prefix}.{col}"
            if block.kind in ("entity", "parent") and name in frame.columns:
                text = frame[name].astype("string").astype(object)
                known = text.where(text.isin(values), None)  # values outside it: missing
                frame[name] = pd.Categorical(known, categories=values)
    return frame


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with categorical columns as strings (a new frame sharing the others)."""
    out = frame.copy(deep=False)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out


def _cache_key(graph: Graph, spec: FeatureSpec, rows: np.ndarray, anchors: np.ndarray) -> str:
    h = hashlib.sha256(f"relgraph-features-v{VERSION}".encode())
    h.update(graph.fingerprint().encode())
    h.update(json.dumps(spec.to_dict(), sort_keys=True).encode())
    h.update(rows.tobytes())
    h.update(anchors.tobytes())
    return h.hexdigest()[:32]


# ------------------------------------------------------------------------------- SQL
def _block_sql(graph: Graph, entity: str, block: Block, seed_rel: str,
               windowed: bool = True, *, day_offset: int | None = None) -> str:
    """The statement computing one block: ``__idx`` plus the block's named features.

    With ``windowed`` (seeds that repeat entities: a training table's anchors), aggregates
    over linked rows run as window functions over the linked rows and the seeds sorted by
    time (:func:`_window_sql`: each seed sees the rows at or before its anchor through a
    ``RANGE ... CURRENT ROW`` frame, O(n log n)); ``day_offset``, when every anchor is that
    many seconds past a day's start, lets it group the rows by day first. Otherwise, and
    on paths through a table with an end time (the rule is per (seed, row) pair), each
    seed is joined to its visible rows and grouped.
    """
    if windowed and block.kind not in ("entity", "parent") and not any(
            graph[t].end_time_column is not None for t, _, _ in block.path):
        return _window_sql(graph, entity, block, seed_rel, day_offset)
    engine = graph.engine
    q = quote_ident
    joins = [f"JOIN {engine.relation(entity)} e ON e.{ROW_COLUMN} = s.__row"]
    prev_alias, prev_table = "e", entity
    aliases: list[str] = []
    for i, (table, fkey, direction) in enumerate(block.path):
        alias = f"t{i}"
        t = graph[table]
        prev = graph[prev_table]
        if direction == "forward":
            on = f"{alias}.{q(t.primary_key or '')} = {prev_alias}.{q(fkey)}"
        else:
            on = f"{alias}.{q(fkey)} = {prev_alias}.{q(prev.primary_key or '')}"
        vis = _visible(t, alias)
        joins.append(f"{'LEFT JOIN' if block.kind == 'parent' else 'JOIN'} "
                     f"{engine.relation(table)} {alias} ON {on}" + (f" AND {vis}" if vis else ""))
        aliases.append(alias)
        prev_alias, prev_table = alias, table
    a = aliases[-1] if aliases else "e"
    names = dict(block_columns(block))
    select: list[str] = []
    group = block.kind not in ("entity", "parent")
    if not group:
        select += [f"{a}.{q(c)} AS {q(f'{block.prefix}.{c}')}" for c in block.numeric]
        select += [f"CAST({a}.{q(c)} AS VARCHAR) AS {q(f'{block.prefix}.{c}')}"
                   for c in block.categorical]
        if block.recency:
            select.append(f"CAST(s.__anchor - e.{TIME_COLUMN} AS DOUBLE) / {DAY} AS "
                          f"{q(f'{block.prefix}.age_days')}")
    else:
        when = _path_time(graph, block, aliases)
        funcs = {"sum": "SUM", "mean": "AVG", "min": "MIN", "max": "MAX"}
        for w in block.windows:
            tag = f"{w}d" if w else "all"
            cond = f" FILTER (WHERE {when} > s.__anchor - {w * DAY})" if w and when else ""
            if f"{block.prefix}.count_{tag}" in names:
                select.append(f"COUNT(*){cond} AS {q(f'{block.prefix}.count_{tag}')}")
            for c in block.numeric:
                for f, sql_f in funcs.items():
                    name = f"{block.prefix}.{c}.{f}_{tag}"
                    if name in names:
                        select.append(f"{sql_f}(CAST({a}.{q(c)} AS DOUBLE)){cond} AS {q(name)}")
        if block.recency and when:
            order = f"({when}, {a}.{ROW_COLUMN})"  # equal times: the later row
            for c in block.numeric:
                select.append(f"arg_max({a}.{q(c)}, {order}) FILTER (WHERE {a}.{q(c)} IS "
                              f"NOT NULL) AS {q(f'{block.prefix}.{c}.last')}")
            select.append(f"CAST(s.__anchor - MAX({when}) AS DOUBLE) / {DAY} AS "
                          f"{q(f'{block.prefix}.days_since_last')}")
            select.append(f"CAST(s.__anchor - MIN({when}) AS DOUBLE) / {DAY} AS "
                          f"{q(f'{block.prefix}.days_since_first')}")
        for col, values in block.categorical.items():
            for v in values:
                match = f"CAST({a}.{q(col)} AS VARCHAR) = {_string(v)}"
                select.append(f"COUNT(*) FILTER (WHERE {match}) AS "
                              f"{q(f'{block.prefix}.{col}={v}.count_all')}")
                if 90 in block.windows and when:
                    select.append(f"COUNT(*) FILTER (WHERE {match} AND {when} > s.__anchor - "
                                  f"{90 * DAY}) AS {q(f'{block.prefix}.{col}={v}.count_90d')}")
    body = ", ".join(["s.__idx", *select])
    sql = f"SELECT {body} FROM {seed_rel} s " + " ".join(joins)
    if group:
        sql += " GROUP BY s.__idx, s.__anchor"
    return sql


def _string(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _visible(table: Table, alias: str) -> str:
    """The visibility predicate of ``alias``'s rows at the seed's anchor ("" if static)."""
    if table.time_column is None:
        return ""
    end = None if table.end_time_column is None else \
        f"epoch({alias}.{quote_ident(table.end_time_column)})"
    return visible_sql(f"{alias}.{TIME_COLUMN}", "s.__anchor", end)


def _path_time(graph: Graph, block: Block, aliases: list[str]) -> str | None:
    """When a row along the path becomes visible: the latest time of its rows (``None``
    for a static path). Windows count rows by this time too."""
    times = [f"{al}.{TIME_COLUMN}" for al, (tb, _, _) in zip(aliases, block.path)
             if graph[tb].time_column is not None]
    if not times:
        return None
    return times[0] if len(times) == 1 else f"greatest({', '.join(times)})"


#: Time of static rows in the window path: before every anchor.
_STATIC_TIME = -(2**62)


def _window_sql(graph: Graph, entity: str, block: Block, seed_rel: str,
                day_offset: int | None = None) -> str:
    """A block of aggregates as window functions (see :func:`_block_sql`).

    The linked rows are first grouped per entity row and *bucket* (sums, counts, minima,
    maxima, last value): with a ``day_offset``, the days ``(end - 1 day, end]`` whose end
    is that many seconds past a day's start, so that every anchor is a bucket's end and
    every window (whole days) holds whole buckets; otherwise the rows of one time. Per
    entity and in time order, the buckets (at their end ``__t``) and the seeds (at their
    anchors) are then framed: a seed's frame ``RANGE BETWEEN w - 1 s PRECEDING AND CURRENT
    ROW`` holds exactly the buckets of rows with ``anchor - w < time <= anchor`` (peers at
    the anchor included: visible), and the unbounded frame every bucket at or before the
    anchor. A frame costs per bucket, not per row: 16 airlines' 336,776 flights at 50
    weekly anchors are 5,800 day buckets (the window SQL: 43 s over rows, 0.5 s over days).
    """
    engine = graph.engine
    q = quote_ident
    joins = []
    prev_alias, prev_table = "e", entity
    aliases: list[str] = []
    for i, (table, fkey, direction) in enumerate(block.path):
        alias = f"t{i}"
        t = graph[table]
        if direction == "forward":
            on = f"{alias}.{q(t.primary_key or '')} = {prev_alias}.{q(fkey)}"
        else:
            on = f"{alias}.{q(fkey)} = {prev_alias}.{q(graph[prev_table].primary_key or '')}"
        joins.append(f"JOIN {engine.relation(table)} {alias} ON {on}")
        aliases.append(alias)
        prev_alias, prev_table = alias, table
    a = aliases[-1]
    when = _path_time(graph, block, aliases)
    event_time = when or str(_STATIC_TIME)
    bucket = event_time if when is None or day_offset is None else \
        f"({day_offset} + CAST(ceil(({when} - {day_offset}) / {float(DAY)}) AS BIGINT) * {DAY})"
    values = [f"CAST({a}.{q(c)} AS DOUBLE)" for c in block.numeric]
    vocab = [(c, v) for c, vs in block.categorical.items() for v in vs]
    recency = bool(block.recency and when)
    # a mean divides by the rows whose value is known: all rows where none is missing
    data = graph[block.table].data
    known = [f"__c{j}" if data[c].isna().any() else "__n" for j, c in enumerate(block.numeric)]
    # the bucket's aggregates, and NULL for them on the seeds
    parts: list[tuple[str, str]] = [("COUNT(*)", "__n")]
    for j, v in enumerate(values):
        parts += [(f"SUM({v})", f"__s{j}"), (f"MIN({v})", f"__lo{j}"),
                  (f"MAX({v})", f"__hi{j}")]
        if known[j] != "__n":
            parts.append((f"COUNT({v})", known[j]))
        if recency:
            parts.append((f"arg_max({v}, ({when}, {a}.{ROW_COLUMN})) FILTER (WHERE {v} IS "
                          "NOT NULL)", f"__last{j}"))
    if recency:
        parts += [(f"MAX({when})", "__tmax"), (f"MIN({when})", "__tmin")]
    for m, (c, v) in enumerate(vocab):
        match = f"CAST({a}.{q(c)} AS VARCHAR) = {_string(v)}"
        parts.append((f"COUNT(*) FILTER (WHERE {match})", f"__k{m}"))
    where = f" WHERE {when} IS NOT NULL" if when else ""
    buckets = (f"SELECT e.{ROW_COLUMN} AS __k, {bucket} AS __t, 0 AS __seed, "
               f"CAST(NULL AS BIGINT) AS __idx, {', '.join(f'{x} AS {n}' for x, n in parts)} "
               f"FROM {engine.relation(entity)} e " + " ".join(joins) + where
               + f" GROUP BY e.{ROW_COLUMN}" + (f", {bucket}" if when else ""))
    seeds = ("SELECT s.__row AS __k, s.__anchor AS __t, 1 AS __seed, s.__idx AS __idx, "
             + ", ".join(f"NULL AS {n}" for _, n in parts) + f" FROM {seed_rel} s")
    events = f"{buckets} UNION ALL {seeds}"

    def frame(w: int) -> str:
        lower = "UNBOUNDED PRECEDING" if not w or not when else f"{w * DAY - 1} PRECEDING"
        return f"(PARTITION BY __k ORDER BY __t RANGE BETWEEN {lower} AND CURRENT ROW)"

    def total(column: str, over: str) -> str:  # a count over the frame's buckets
        return f"CAST(COALESCE(SUM({column}) OVER {over}, 0) AS BIGINT)"

    names = dict(block_columns(block))
    p = block.prefix
    select: list[str] = []
    for w in block.windows:
        tag = f"{w}d" if w else "all"
        over = frame(w)
        if f"{p}.count_{tag}" in names:
            select.append(f"{total('__n', over)} AS {q(f'{p}.count_{tag}')}")
        for j, c in enumerate(block.numeric):
            funcs = {"sum": f"SUM(__s{j}) OVER {over}",
                     "mean": f"SUM(__s{j}) OVER {over} / SUM({known[j]}) OVER {over}",
                     "min": f"MIN(__lo{j}) OVER {over}", "max": f"MAX(__hi{j}) OVER {over}"}
            for f, expr in funcs.items():
                name = f"{p}.{c}.{f}_{tag}"
                if name in names:
                    select.append(f"{expr} AS {q(name)}")
    if recency:
        ordered = ("(PARTITION BY __k ORDER BY __t, __seed ROWS BETWEEN UNBOUNDED PRECEDING "
                   "AND CURRENT ROW)")
        for j, c in enumerate(block.numeric):
            select.append(f"LAST_VALUE(__last{j} IGNORE NULLS) OVER {ordered} AS "
                          f"{q(f'{p}.{c}.last')}")
        select.append(f"CAST(__t - MAX(__tmax) OVER {frame(0)} AS DOUBLE) / {DAY} AS "
                      f"{q(f'{p}.days_since_last')}")
        select.append(f"CAST(__t - MIN(__tmin) OVER {frame(0)} AS DOUBLE) / {DAY} AS "
                      f"{q(f'{p}.days_since_first')}")
    for m, (col, v) in enumerate(vocab):
        select.append(f"{total(f'__k{m}', frame(0))} AS {q(f'{p}.{col}={v}.count_all')}")
        if 90 in block.windows and when:
            select.append(f"{total(f'__k{m}', frame(90))} AS {q(f'{p}.{col}={v}.count_90d')}")
    outputs = ", ".join(["__idx", *(q(name) for name in names if f"{q(name)}" in
                                     " ".join(select))])
    return (f"SELECT {outputs} FROM (SELECT __idx, __seed, {', '.join(select)} FROM "
            f"({events}) ev) w WHERE __seed = 1")
