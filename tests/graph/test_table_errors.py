"""Bad table input gets an error that names the table, the column, the value and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import GraphError, ReservedColumnError, TimeColumnError
from relgraph.graph import Table


def events(ts: list) -> pd.DataFrame:
    return pd.DataFrame({"event_id": np.arange(len(ts)), "ts": ts})


def test_internal_column_names_are_rejected() -> None:
    df = events(["2021-01-01", "2021-01-02"]).assign(__rg_row=[5, 6])
    with pytest.raises(ReservedColumnError, match=r"'__rg_row'.*rename\(columns=\{'__rg_row'"):
        Table.from_dataframe(df, "events", primary_key="event_id")
    assert isinstance(ReservedColumnError("x"), GraphError)
    Table.from_dataframe(df.rename(columns={"__rg_row": "rg_row"}), "events")  # the fix


@pytest.mark.parametrize("placeholder", ["9999-12-31", "0001-01-01"])
def test_placeholder_dates_in_a_time_column(placeholder: str) -> None:
    table = Table.from_dataframe(events(["2021-01-01", placeholder]), "events",
                                 primary_key="event_id", time_column="ts")
    with pytest.raises(TimeColumnError, match=rf"'events\.ts'.*\['{placeholder}'\]"):
        table.validate(verbose=False)


def test_open_ended_end_time_column_is_fine() -> None:
    df = events(["2021-01-01", "2021-01-02"]).assign(until=["2021-06-01", "9999-12-31"])
    table = Table.from_dataframe(df, "events", primary_key="event_id", time_column="ts",
                                 end_time_column="until")
    table.validate(verbose=False)
    assert table.time_values("until")[1] > table.time_values("ts")[1]


def test_integer_years_are_not_read_as_seconds() -> None:
    table = Table.from_dataframe(events([2015, 2019, 2020]), "events", primary_key="event_id",
                                 time_column="ts")
    with pytest.raises(TimeColumnError, match=r"from 2015 to 2020, which look like years"):
        table.validate(verbose=False)
    table["ts"].timestamp_format = "%Y"  # the fix the message gives
    assert pd.to_datetime(table.time_values(), unit="s").year.tolist() == [2015, 2019, 2020]
    seconds = Table.from_dataframe(events([2015, 2019, 2020]), "events", time_column="ts",
                                   primary_key="event_id")
    seconds["ts"].timestamp_format = "s"  # or: they really are seconds
    assert seconds.time_values().tolist() == [2015, 2019, 2020]
