"""One error tree for relgraph.

Every error subclasses :class:`RelgraphError` and the matching builtin, so
``except ValueError`` keeps working for callers that do not know relgraph.
Messages say what is wrong, where, and how to fix it.
"""

from __future__ import annotations


class RelgraphError(Exception):
    """Base class of every error raised by relgraph."""


class ConfigError(RelgraphError, ValueError):
    """A setting passed to :func:`relgraph.init` is invalid."""


class GraphError(RelgraphError, ValueError):
    """A table, column, key or link of a graph is invalid."""


class ConnectorError(RelgraphError, ValueError):
    """A source table cannot be found or read."""


class TableNotFoundError(ConnectorError, LookupError):
    """A connector has no table of the given name."""


class DatabaseConnectionError(ConnectorError, ConnectionError):
    """A database server cannot be reached, or refuses the login."""


class DatabasePermissionError(ConnectorError, PermissionError):
    """The database user may not read (or write) a table or schema."""


class UnsupportedColumnTypeError(ConnectorError, TypeError):
    """A database column has a type relgraph does not know how to read."""


class PQLError(RelgraphError, ValueError):
    """A predictive query is invalid.

    ``line``/``column`` (1-based) point at the offending part of the query when
    known; ``str(err)`` then shows the query with a caret under that position.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str | None = None,
        line: int | None = None,
        column: int | None = None,
        end_column: int | None = None,
    ) -> None:
        self.message = message
        self.query = query
        self.line = line
        self.column = column
        self.end_column = end_column
        super().__init__(self._render())

    @property
    def position(self) -> tuple[int, int] | None:
        """``(line, column)`` of the error, 1-based, or ``None``."""
        if self.line is None or self.column is None:
            return None
        return (self.line, self.column)

    def _render(self) -> str:
        if self.query is None or self.line is None or self.column is None:
            return self.message
        lines = self.query.splitlines() or [""]
        src = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        width = max(1, (self.end_column or self.column + 1) - self.column)
        caret = " " * (self.column - 1) + "^" * width
        return f"{self.message} (line {self.line}, column {self.column})\n  {src}\n  {caret}"


class PlanError(RelgraphError, ValueError):
    """A model or table-generation plan field has an invalid value."""


class TrainingError(RelgraphError, RuntimeError):
    """Training could not run (for example, an empty training split)."""


class JobError(RelgraphError, RuntimeError):
    """A job failed, was cancelled, or cannot be found."""


class ArtifactError(RelgraphError, RuntimeError):
    """A stored artifact is missing, corrupted or was tampered with."""


class ReservedColumnError(GraphError):
    """A user column is named like one of relgraph's internal columns (``__rg_*``)."""


class TimeColumnError(GraphError):
    """A time column holds values that cannot be read as instants (out of range, or
    integers that look like years rather than epoch seconds)."""


class EmptyTrainingTableError(PQLError):
    """A generated training table (or its train split) has no rows; the message names the
    condition that removed them."""


class NonFiniteTargetError(PQLError):
    """A generated regression target holds ``inf`` or ``-inf``."""


class OutputNameError(JobError, ValueError):
    """An output name is not a plain identifier, or its path would leave the output folder."""


class OutputTableNameError(OutputNameError, ConnectorError):
    """A table name given to a database connector's write is not a plain identifier (the
    same rule as every output name)."""


class OutputExistsError(JobError, FileExistsError):
    """An output path or table exists and was not written by relgraph."""
