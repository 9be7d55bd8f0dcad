"""Engine test fixtures: one local Spark session for every Spark test."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Any:
    """A local two-core Spark session (skips when PySpark is not installed)."""
    pytest.importorskip("pyspark")
    from relgraph.engine.spark import local_spark_session

    session = local_spark_session({"spark.master": "local[2]",
                                   "spark.sql.shuffle.partitions": "4",
                                   "spark.default.parallelism": "2"})
    session.sparkContext.setLogLevel("ERROR")
    return session
