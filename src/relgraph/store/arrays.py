"""Plain-array inputs of :class:`~relgraph.store.GraphStore`.

The graph layer turns a :class:`relgraph.graph.Graph` into these arrays; the store
only ever sees row indices and int64 epoch-second times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relgraph.graph.visibility import NEVER_VISIBLE, OPEN_END

__all__ = ["NEVER_VISIBLE", "OPEN_END", "EdgeArrays", "TableArrays"]


@dataclass
class TableArrays:
    """One node type (table).

    Attributes:
        num_rows: number of rows; node indices are ``0 .. num_rows - 1``.
        time: int64 epoch seconds per row, or ``None`` for a static table. Rows
            with a NULL time should carry :data:`NEVER_VISIBLE` (``INT64_MAX``).
        end_time: int64 epoch seconds when each row stops being visible, or ``None``
            (rows never end); :data:`OPEN_END` (``INT64_MAX``) where NULL.
        tie: int64 rank of each row among rows with equal times (its primary-key
            rank, see :func:`relgraph.graph.visibility.tie_ranks`); ``None`` = row order.
    """

    num_rows: int
    time: np.ndarray | None = None
    end_time: np.ndarray | None = None
    tie: np.ndarray | None = None


@dataclass
class EdgeArrays:
    """One foreign key ``src_table.fkey -> dst_table`` (primary key).

    Attributes:
        src_table: table holding the foreign-key column.
        fkey: name of the foreign-key column.
        dst_table: referenced table.
        src_rows: int64 row indices in ``src_table`` whose key resolved.
        dst_rows: int64 row indices in ``dst_table`` they reference, aligned with
            ``src_rows``.
    """

    src_table: str
    fkey: str
    dst_table: str
    src_rows: np.ndarray
    dst_rows: np.ndarray
