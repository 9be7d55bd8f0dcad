"""Random and mutated PQL strings, for parser fuzzing (tests and ``benchmarks/pql.py``)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from relgraph.errors import PQLError
from relgraph.pquery.parser import parse_query

__all__ = ["fuzz_parser", "mutate", "random_query"]

_AGGS = ["SUM", "AVG", "MIN", "MAX", "COUNT", "COUNT_DISTINCT", "FIRST", "LAST",
         "LIST_DISTINCT", "sum", "Count"]
_UNITS = ["seconds", "minutes", "hours", "days", "weeks", "months", "day", "Months"]
_OPS = ["=", "!=", "<", "<=", ">", ">=", "<>", "=="]
_TABLES = ["orders", "users", "t", "items", "`odd name`"]
_COLS = ["id", "x", "amount", "count", "ts", "status", "`we``ird`"]
_TOKENS = ["PREDICT", "FOR", "EACH", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "(",
           ")", ",", ".", "*", "-INF", "'", '"', "`", "RANK", "TOP", "CLASSIFY", "FORECAST",
           "TIMEFRAMES", "ASSUMING", "LIKE", "CONTAINS", "STARTS WITH", "0", "-1", "1e999",
           "2024-02-30", "\\", "\n", ";", "%", "_", "ü", "\x00", "999999999999"]


def _col(rng: random.Random, star: bool = False) -> str:
    table = rng.choice(_TABLES)
    col = "*" if star and rng.random() < 0.5 else rng.choice(_COLS)
    return f"{table}.{col}"


def _literal(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(-1000, 1000))
    if r < 0.45:
        return f"{rng.uniform(-100, 100):.3f}"
    if r < 0.65:
        return rng.choice(["'a'", "'it''s'", "'x\\'y'", '"dq"', "'%ab%'", "'ab%'", "''"])
    if r < 0.75:
        return rng.choice(["TRUE", "false", "NULL"])
    if r < 0.85:
        return rng.choice(["2024-01-15", "'2024-01-15'", "2023-12-31 23:59:59"])
    return "(" + ", ".join(str(rng.randint(0, 9)) for _ in range(rng.randint(1, 4))) + ")"


def _window(rng: random.Random, past: bool = False) -> str:
    if rng.random() < 0.2:
        return ""
    if past:
        start = "-INF" if rng.random() < 0.3 else str(rng.randint(-400, -1))
        end = str(rng.randint(-10, 0))
    else:
        start, end = str(rng.randint(0, 10)), str(rng.randint(1, 60))
    unit = f", {rng.choice(_UNITS)}" if rng.random() < 0.7 else ""
    return f", {start}, {end}{unit}"


def _agg(rng: random.Random, depth: int, past: bool = False) -> str:
    func = rng.choice(_AGGS)
    inner = _col(rng, star=func.upper() == "COUNT")
    if depth > 0 and rng.random() < 0.3:
        inner += " WHERE " + _cond(rng, depth - 1)
    return f"{func}({inner}{_window(rng, past)})"


def _operand(rng: random.Random, depth: int, past: bool = False) -> str:
    return _agg(rng, depth, past) if rng.random() < 0.5 else _col(rng)


def _cond(rng: random.Random, depth: int, past: bool = False) -> str:
    r = rng.random()
    if depth > 0 and r < 0.15:
        return f"{_cond(rng, depth - 1, past)} {rng.choice(['AND', 'OR', 'and'])} " \
               f"{_cond(rng, depth - 1, past)}"
    if depth > 0 and r < 0.22:
        return f"NOT {_cond(rng, depth - 1, past)}"
    if depth > 0 and r < 0.3:
        return f"({_cond(rng, depth - 1, past)})"
    op = _operand(rng, depth, past)
    r = rng.random()
    if r < 0.6:
        return f"{op} {rng.choice(_OPS)} {_literal(rng)}"
    if r < 0.7:
        return f"{op} {rng.choice(['IN', 'NOT IN', 'IS IN'])} (1, 'a', 2.5)"
    if r < 0.8:
        return f"{op} {rng.choice(['IS NULL', 'IS NOT NULL'])}"
    string_op = rng.choice(["CONTAINS", "NOT CONTAINS", "STARTS WITH", "ENDS WITH", "LIKE",
                           "NOT LIKE"])
    pattern = rng.choice(["'ab'", "'%ab%'", "'a_b'", "'x%'"])
    return f"{op} {string_op} {pattern}"


def random_query(rng: random.Random) -> str:
    """A random query string drawn from (roughly) the PQL grammar; often semantically odd."""
    target = _cond(rng, 2) if rng.random() < 0.5 else _operand(rng, 2)
    spec = rng.choice(["", "", "", " RANK TOP 10", " CLASSIFY", " FORECAST 3 TIMEFRAMES",
                       " TOP 5", " RANK"])
    entity = f"{rng.choice(_TABLES)}.id"
    query = f"PREDICT {target}{spec} {rng.choice(['FOR EACH', 'for each', 'FOR'])} {entity}"
    if rng.random() < 0.5:
        query += " WHERE " + _cond(rng, 2, past=True)
    if rng.random() < 0.1:
        query += " ASSUMING " + _cond(rng, 1)
    return query


def mutate(rng: random.Random, text: str) -> str:
    """Apply 1-4 random character/token edits to ``text``."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        pos = rng.randint(0, len(chars))
        if r < 0.3 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif r < 0.55:
            chars[pos:pos] = list(rng.choice(_TOKENS))
        elif r < 0.75:
            chars[pos:pos] = [chr(rng.randint(0, 0x2FF))]
        elif r < 0.9 and chars:
            end = min(len(chars), pos + rng.randint(1, 12))
            chars[pos:end] = []
        else:
            chars = chars[:pos]
    return "".join(chars)


def fuzz_parser(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Parse ``n`` random or mutated strings; yield ``(query, outcome)``.

    ``outcome`` is ``"ok"`` or ``"error"`` (a :class:`PQLError` with a position). Any other
    exception propagates, which is what the fuzz test checks.
    """
    rng = random.Random(seed)
    for i in range(n):
        query = random_query(rng)
        if i % 3:
            query = mutate(rng, query)
        try:
            parse_query(query)
        except PQLError as err:
            if err.line is None or err.column is None:
                raise AssertionError(f"PQLError without a position for {query!r}: {err}") \
                    from err
            yield query, "error"
        else:
            yield query, "ok"
