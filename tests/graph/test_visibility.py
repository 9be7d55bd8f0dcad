"""The visibility rule (DESIGN §4): one definition, numpy, torch and SQL alike."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import torch

from relgraph.graph import Table
from relgraph.graph.visibility import (
    NEVER_VISIBLE,
    OPEN_END,
    store_times,
    tie_ranks,
    visible,
    visible_rows,
    visible_sql,
)

TIMES = np.array([10, 20, 20, 30, NEVER_VISIBLE], dtype=np.int64)
ENDS = np.array([15, OPEN_END, 25, 40, OPEN_END], dtype=np.int64)


@pytest.mark.parametrize("anchor, expected", [
    (5, [0, 0, 0, 0, 0]),
    (10, [1, 0, 0, 0, 0]),   # time <= anchor: a row is visible at its own time
    (15, [0, 0, 0, 0, 0]),   # end time <= anchor: ended
    (20, [0, 1, 1, 0, 0]),
    (25, [0, 1, 0, 0, 0]),
    (40, [0, 1, 0, 0, 0]),
])
def test_rule_numpy_torch_and_sql_agree(anchor: int, expected: list[int]) -> None:
    mask = visible(TIMES, np.int64(anchor), ENDS)
    assert mask.astype(int).tolist() == expected
    mask_t = visible(torch.from_numpy(TIMES), torch.tensor(anchor), torch.from_numpy(ENDS))
    assert mask_t.long().tolist() == expected
    # SQL: NULL start times are never visible, NULL end times are open
    frame = pd.DataFrame({"t": pd.array([10, 20, 20, 30, None], dtype="Int64"),
                          "e": pd.array([15, None, 25, 40, None], dtype="Int64")})
    con = duckdb.connect()
    con.register("frame", frame)
    got = con.execute(f"SELECT coalesce({visible_sql('t', str(anchor), 'e')}, false) AS v "
                      "FROM frame").df()["v"].astype(int).tolist()
    assert got == expected


def test_without_end_time_only_start_counts() -> None:
    assert visible(TIMES, np.int64(25)).astype(int).tolist() == [1, 1, 1, 0, 0]
    assert visible_sql("t", "a") == "(t <= a)"


def _table() -> Table:
    df = pd.DataFrame({
        "id": ["b", "a", "d", "c"],
        "start": pd.to_datetime(["2021-01-01", "2021-01-05", None, "2021-01-03"]),
        "stop": pd.to_datetime([None, "2021-01-06", None, "2021-01-04"]),
    })
    return Table.from_dataframe(df, "t", primary_key="id", time_column="start",
                                end_time_column="stop").infer_metadata()


def test_store_times_and_visible_rows() -> None:
    table = _table()
    time, end = store_times(table)
    assert time is not None and end is not None
    assert time[2] == NEVER_VISIBLE and end[0] == OPEN_END and end[2] == OPEN_END
    at = int(pd.Timestamp("2021-01-05").timestamp())
    assert visible_rows(table, at).tolist() == [True, True, False, False]
    # encoder statistics also count rows that were visible earlier and have ended
    assert visible_rows(table, at, include_ended=True).tolist() == [True, True, False, True]
    assert visible_rows(table, None).all()


def test_tie_ranks_follow_primary_key() -> None:
    assert tie_ranks(_table()).tolist() == [1, 0, 3, 2]
    numbers = Table.from_dataframe(pd.DataFrame({"k": [10, 2, 33]}), "n", primary_key="k")
    assert tie_ranks(numbers).tolist() == [1, 0, 2]
    no_key = Table.from_dataframe(pd.DataFrame({"x": [3, 3, 1]}), "x")
    assert no_key.primary_key is None
    assert tie_ranks(no_key).tolist() == [0, 1, 2]
