"""Abstract syntax tree of a predictive query: frozen nodes that carry source spans."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Seconds per time unit; months are 30 days.
UNIT_SECONDS: dict[str, int] = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
    "months": 30 * 86400,
}

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Words that are keywords somewhere in the grammar; printed quoted when used as names.
KEYWORDS = frozenset([
    "predict", "for", "each", "where", "assuming", "forecast", "timeframes", "timeframe",
    "rank", "classify", "top", "and", "or", "not", "is", "in", "null", "contains", "starts",
    "ends", "with", "like", "sum", "avg", "min", "max", "count", "count_distinct", "first",
    "last", "list_distinct", "seconds", "second", "minutes", "minute", "hours", "hour", "days",
    "day", "weeks", "week", "months", "month", "true", "false",
])


def quote_name(name: str) -> str:
    """A table/column name as PQL text: backtick-quoted unless it is a plain identifier."""
    if _IDENT.fullmatch(name) and name.lower() not in KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Span:
    """Where a node sits in the query text (1-based line/column; 0-based offsets)."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    @staticmethod
    def unknown() -> Span:
        return Span(1, 1, 1, 2, 0, 1)


def _no_span() -> Span:
    return Span.unknown()


@dataclass(frozen=True)
class ColumnRef:
    """``table.column``; ``column == "*"`` for the wildcard ``table.*``.

    ``table.fkey.column`` (``fkey`` in :attr:`via`) names the foreign key of ``table``
    that links its rows to the entity, for tables with several keys to the entity table.
    """

    table: str
    column: str
    span: Span = field(default_factory=_no_span, compare=False)
    table_span: Span = field(default_factory=_no_span, compare=False)
    column_span: Span = field(default_factory=_no_span, compare=False)
    via: str | None = None
    via_span: Span = field(default_factory=_no_span, compare=False)

    @property
    def is_star(self) -> bool:
        return self.column == "*"

    def __str__(self) -> str:
        col = "*" if self.is_star else quote_name(self.column)
        via = f"{quote_name(self.via)}." if self.via is not None else ""
        return f"{quote_name(self.table)}.{via}{col}"


@dataclass(frozen=True)
class Window:
    """``(start, end]`` relative to the anchor time in ``unit``; ``start=None`` means -INF."""

    start: int | None
    end: int
    unit: str = "days"
    span: Span = field(default_factory=_no_span, compare=False)

    @property
    def start_seconds(self) -> int | None:
        return None if self.start is None else self.start * UNIT_SECONDS[self.unit]

    @property
    def end_seconds(self) -> int:
        return self.end * UNIT_SECONDS[self.unit]

    def __str__(self) -> str:
        start = "-INF" if self.start is None else str(self.start)
        return f"{start}, {self.end}, {self.unit}"


@dataclass(frozen=True)
class Aggregation:
    """``FUNC(column [WHERE condition] [, start, end, unit])``."""

    func: str  # SUM AVG MIN MAX COUNT COUNT_DISTINCT FIRST LAST LIST_DISTINCT
    column: ColumnRef
    where: Condition | None = None
    window: Window | None = None
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        inner = str(self.column)
        if self.where is not None:
            inner += f" WHERE {self.where}"
        if self.window is not None:
            inner += f", {self.window}"
        return f"{self.func}({inner})"


Value = int | float | str | bool | None | _dt.datetime


@dataclass(frozen=True)
class Literal:
    """A constant; ``kind`` is int, float, str, bool, null or datetime."""

    value: Value
    kind: str
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        if self.kind == "str":
            return "'" + str(self.value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        if self.kind == "null":
            return "NULL"
        if self.kind == "bool":
            return "TRUE" if self.value else "FALSE"
        if self.kind == "datetime":
            assert isinstance(self.value, _dt.datetime)
            return self.value.isoformat(sep=" ")
        return str(self.value)


@dataclass(frozen=True)
class LiteralList:
    """A parenthesised list of constants, as used by ``IN``."""

    values: tuple[Literal, ...]
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        return "(" + ", ".join(str(v) for v in self.values) + ")"


Operand = Aggregation | ColumnRef

#: Comparison operators after normalisation (``<>``/``==`` folded, LIKE rewritten when simple).
COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
UNARY_OPS = ("IS NULL", "IS NOT NULL")
STRING_OPS = ("CONTAINS", "NOT CONTAINS", "STARTS WITH", "NOT STARTS WITH", "ENDS WITH",
              "NOT ENDS WITH", "LIKE", "NOT LIKE")
LIST_OPS = ("IN", "NOT IN")


@dataclass(frozen=True)
class Comparison:
    """``operand OP value``; ``value`` is None for IS [NOT] NULL."""

    left: Operand
    op: str
    right: Literal | LiteralList | None
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        if self.right is None:
            return f"{self.left} {self.op}"
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` of two or more conditions."""

    op: str
    operands: tuple[Condition, ...]
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        return "(" + f" {self.op} ".join(str(o) for o in self.operands) + ")"


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    operand: Condition
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        return f"NOT {self.operand}"


Condition = Comparison | BoolOp | Not | Aggregation | ColumnRef
Expr = Condition


@dataclass(frozen=True)
class ProblemSpec:
    """``RANK [TOP K]``, ``CLASSIFY [TOP K]``, ``TOP K`` or ``FORECAST N TIMEFRAMES``."""

    kind: str  # rank | classify | top | forecast
    k: int | None = None
    span: Span = field(default_factory=_no_span, compare=False)

    def __str__(self) -> str:
        if self.kind == "forecast":
            return f"FORECAST {self.k} TIMEFRAMES"
        head = "" if self.kind == "top" else self.kind.upper()
        tail = "" if self.k is None else f"TOP {self.k}"
        return " ".join(p for p in (head, tail) if p)


@dataclass(frozen=True)
class Query:
    """A parsed ``PREDICT ... FOR EACH ...`` query."""

    target: Expr
    entity: ColumnRef
    problem: ProblemSpec | None = None
    entity_filter: Condition | None = None
    assuming: Condition | None = None
    entity_restriction: Comparison | None = None
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        parts = [f"PREDICT {self.target}"]
        if self.problem is not None:
            parts.append(str(self.problem))
        parts.append(f"FOR EACH {self.entity}")
        if self.entity_restriction is not None:
            parts[-1] = f"FOR {self.entity_restriction}"
        if self.entity_filter is not None:
            parts.append(f"WHERE {self.entity_filter}")
        if self.assuming is not None:
            parts.append(f"ASSUMING {self.assuming}")
        return " ".join(parts)


def walk(node: object) -> Iterator[object]:
    """Yield ``node`` and every node below it (depth first, pre-order)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, Query):
            children: list[object] = [cur.target, cur.entity, cur.entity_filter, cur.assuming,
                                      cur.entity_restriction]
        elif isinstance(cur, Aggregation):
            children = [cur.column, cur.where, cur.window]
        elif isinstance(cur, Comparison):
            children = [cur.left, cur.right]
        elif isinstance(cur, BoolOp):
            children = list(cur.operands)
        elif isinstance(cur, Not):
            children = [cur.operand]
        elif isinstance(cur, LiteralList):
            children = list(cur.values)
        else:
            children = []
        stack.extend(reversed([c for c in children if c is not None]))
