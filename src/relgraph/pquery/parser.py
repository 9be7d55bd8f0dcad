"""PQL text -> :class:`~relgraph.pquery.ast.Query`; every failure is a :class:`PQLError`."""

from __future__ import annotations

import datetime as _dt
import functools
import re
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from relgraph.errors import PQLError
from relgraph.pquery import ast

__all__ = ["offset_to_position", "parse_query"]

#: The aggregation functions of the grammar (``agg_func``).
AGGREGATIONS = ("SUM", "AVG", "MIN", "MAX", "COUNT", "COUNT_DISTINCT", "FIRST", "LAST",
                "LIST_DISTINCT")
#: Readable names of grammar terminals, used in "expected ..." messages.
_TERMINAL_NAMES: dict[str, str] = {
    "_PREDICT": "PREDICT", "_FOR": "FOR", "_EACH": "EACH", "_WHERE": "WHERE",
    "_ASSUMING": "ASSUMING", "_FORECAST": "FORECAST", "_TIMEFRAMES": "TIMEFRAMES",
    "_RANK": "RANK", "_CLASSIFY": "CLASSIFY", "_TOP": "TOP", "_AND": "AND", "_OR": "OR",
    "_NOT": "NOT", "_IS": "IS", "_IN": "IN", "_CONTAINS": "CONTAINS", "_STARTS": "STARTS",
    "_ENDS": "ENDS", "_WITH": "WITH", "_LIKE": "LIKE", "NULL": "NULL", "TRUE": "TRUE",
    "FALSE": "FALSE", "SUM": "SUM", "AVG": "AVG", "MIN": "MIN", "MAX": "MAX",
    "COUNT": "COUNT", "COUNT_DISTINCT": "COUNT_DISTINCT", "FIRST": "FIRST", "LAST": "LAST",
    "LIST_DISTINCT": "LIST_DISTINCT", "SECONDS": "a time unit", "MINUTES": "a time unit",
    "HOURS": "a time unit", "DAYS": "a time unit", "WEEKS": "a time unit",
    "MONTHS": "a time unit", "CMP_OP": "a comparison operator", "STAR": "'*'",
    "NEG_INF": "-INF", "INT": "an integer", "SIGNED_INT": "an integer",
    "NUMBER": "a number", "DATETIME": "a date", "STRING": "a string",
    "NAME": "a name", "QUOTED_NAME": "a name", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "DOT": "'.'", "SEMICOLON": "';'", "$END": "end of query",
}

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_MAX_DEPTH = 200


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    text = resources.files("relgraph.pquery").joinpath("grammar.lark").read_text("utf-8")
    return Lark(text, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=False)


def offset_to_position(text: str, offset: int) -> tuple[int, int]:
    """1-based ``(line, column)`` of a 0-based character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _span_of(item: Any) -> ast.Span:
    if isinstance(item, Token):
        return ast.Span(item.line or 1, item.column or 1, item.end_line or 1,
                        item.end_column or 1, item.start_pos or 0, item.end_pos or 0)
    meta = item
    if getattr(meta, "empty", True):
        return ast.Span.unknown()
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column,
                    meta.start_pos, meta.end_pos)


class _SemanticError(Exception):
    """A check inside the transformer failed; carries the offending span."""

    def __init__(self, message: str, span: ast.Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def _unescape(token: Token) -> str:
    raw = str(token)
    quote, body = raw[0], raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                start = (token.start_pos or 0) + 1 + i
                span = ast.Span(token.line or 1, (token.column or 1) + 1 + i, token.line or 1,
                                (token.column or 1) + 3 + i, start, start + 2)
                raise _SemanticError(
                    f"Invalid escape sequence '\\{nxt}' in string; use \\\\, \\', \\\", "
                    "\\n, \\t or \\r", span)
            out.append(_ESCAPES[nxt])
            i += 2
        elif ch == quote and i + 1 < len(body) and body[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _parse_datetime(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("T", " ") if "T" in text else text)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark parse tree -> AST nodes, with spans."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    # -- query ---------------------------------------------------------------------
    def start(self, meta: Any, children: list[Any]) -> ast.Query:
        target = children[0]
        problem = None
        i = 1
        if isinstance(children[i], ast.ProblemSpec):
            problem = children[i]
            i += 1
        entity, restriction, entity_filter = children[i]
        assuming = children[i + 1] if len(children) > i + 1 else None
        if isinstance(assuming, Token):  # the optional ';'
            assuming = None
        return ast.Query(target=target, entity=entity, problem=problem,
                         entity_filter=entity_filter, assuming=assuming,
                         entity_restriction=restriction, text=self.text)

    def _k(self, token: Token, lo: int, hi: int, what: str) -> int:
        value = int(token)
        if not lo <= value <= hi:
            raise _SemanticError(f"{what} must be between {lo} and {hi} (got {value})",
                                 _span_of(token))
        return value

    def forecast(self, meta: Any, children: list[Any]) -> ast.ProblemSpec:
        n = self._k(children[0], 1, 10_000, "FORECAST N TIMEFRAMES: N")
        return ast.ProblemSpec("forecast", n, _span_of(meta))

    def rank(self, meta: Any, children: list[Any]) -> ast.ProblemSpec:
        k = self._k(children[0], 1, 10_000_000, "TOP K") if children else None
        return ast.ProblemSpec("rank", k, _span_of(meta))

    def classify(self, meta: Any, children: list[Any]) -> ast.ProblemSpec:
        k = self._k(children[0], 1, 10_000_000, "TOP K") if children else None
        return ast.ProblemSpec("classify", k, _span_of(meta))

    def top(self, meta: Any, children: list[Any]) -> ast.ProblemSpec:
        return ast.ProblemSpec("top", self._k(children[0], 1, 10_000_000, "TOP K"),
                               _span_of(meta))

    def entity(self, meta: Any, children: list[Any]) -> tuple[Any, Any, Any]:
        column: ast.ColumnRef = children[0]
        if column.is_star:
            raise _SemanticError("FOR EACH needs a primary-key column, not '*'",
                                 column.column_span)
        restriction = None
        rest = children[1:]
        if rest and isinstance(rest[0], tuple):
            op, value, span = rest[0]
            restriction = ast.Comparison(column, op, value, span)
            rest = rest[1:]
        return column, restriction, (rest[0] if rest else None)

    def restrict_cmp(self, meta: Any, children: list[Any]) -> tuple[str, Any, ast.Span]:
        op = self._op(children[0])
        return op, children[1], _span_of(meta)

    def restrict_in(self, meta: Any, children: list[Any]) -> tuple[str, Any, ast.Span]:
        return "IN", children[-1], _span_of(meta)

    def assuming(self, meta: Any, children: list[Any]) -> Any:
        return children[0]

    # -- boolean structure ---------------------------------------------------------
    def _bool(self, op: str, meta: Any, children: list[Any]) -> ast.BoolOp:
        operands: list[Any] = []
        for child in children:
            if isinstance(child, ast.BoolOp) and child.op == op:
                operands.extend(child.operands)
            else:
                operands.append(child)
        return ast.BoolOp(op, tuple(operands), _span_of(meta))

    def or_(self, meta: Any, children: list[Any]) -> ast.BoolOp:
        return self._bool("OR", meta, children)

    def and_(self, meta: Any, children: list[Any]) -> ast.BoolOp:
        return self._bool("AND", meta, children)

    def not_(self, meta: Any, children: list[Any]) -> ast.Not:
        return ast.Not(children[0], _span_of(meta))

    # -- predicates ----------------------------------------------------------------
    @staticmethod
    def _op(token: Token) -> str:
        op = str(token)
        return {"<>": "!=", "==": "="}.get(op, op)

    def compare(self, meta: Any, children: list[Any]) -> ast.Comparison:
        left, op_tok, right = children
        op = self._op(op_tok)
        span = _span_of(meta)
        if isinstance(right, ast.LiteralList):
            raise _SemanticError(f"'{op}' compares with a single value; use IN (...) for a list",
                                 right.span)
        if right.kind == "null":
            if op == "=":
                return ast.Comparison(left, "IS NULL", None, span)
            if op == "!=":
                return ast.Comparison(left, "IS NOT NULL", None, span)
            raise _SemanticError(f"Cannot compare with NULL using '{op}'; use IS [NOT] NULL",
                                 right.span)
        return ast.Comparison(left, op, right, span)

    def _list_op(self, op: str, meta: Any, children: list[Any]) -> ast.Comparison:
        left, right = children
        if isinstance(right, ast.LiteralList):
            for value in right.values:
                if value.kind == "null":
                    raise _SemanticError("NULL is not allowed inside IN (...); "
                                         "add 'OR ... IS NULL' instead", value.span)
        return ast.Comparison(left, op, right, _span_of(meta))

    def in_(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._list_op("IN", meta, children)

    def not_in(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._list_op("NOT IN", meta, children)

    def is_null(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return ast.Comparison(children[0], "IS NULL", None, _span_of(meta))

    def is_not_null(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return ast.Comparison(children[0], "IS NOT NULL", None, _span_of(meta))

    def _string_op(self, op: str, meta: Any, children: list[Any]) -> ast.Comparison:
        left, right = children
        if not isinstance(right, ast.Literal) or right.kind != "str":
            raise _SemanticError(f"{op} needs a quoted string", right.span)
        return ast.Comparison(left, op, right, _span_of(meta))

    def contains(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("CONTAINS", meta, children)

    def not_contains(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("NOT CONTAINS", meta, children)

    def starts_with(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("STARTS WITH", meta, children)

    def not_starts_with(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("NOT STARTS WITH", meta, children)

    def ends_with(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("ENDS WITH", meta, children)

    def not_ends_with(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._string_op("NOT ENDS WITH", meta, children)

    def _like(self, negate: bool, meta: Any, children: list[Any]) -> ast.Comparison:
        cmp = self._string_op("NOT LIKE" if negate else "LIKE", meta, children)
        assert isinstance(cmp.right, ast.Literal)
        pattern = str(cmp.right.value)
        core = pattern.strip("%")
        if "%" not in core and "_" not in core and core:
            lead, trail = pattern.startswith("%"), pattern.endswith("%")
            op = {(True, True): "CONTAINS", (False, True): "STARTS WITH",
                  (True, False): "ENDS WITH", (False, False): "="}[(lead, trail)]
            if negate:
                op = "!=" if op == "=" else "NOT " + op
            lit = ast.Literal(core, "str", cmp.right.span)
            return ast.Comparison(cmp.left, op, lit, cmp.span)
        return cmp

    def like(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._like(False, meta, children)

    def not_like(self, meta: Any, children: list[Any]) -> ast.Comparison:
        return self._like(True, meta, children)

    # -- aggregations and columns --------------------------------------------------
    def aggregation(self, meta: Any, children: list[Any]) -> ast.Aggregation:
        func: str = children[0]
        column: ast.ColumnRef = children[1]
        where = None
        window = None
        for child in children[2:]:
            if isinstance(child, ast.Window):
                window = child
            else:
                where = child
        if column.is_star and func != "COUNT":
            raise _SemanticError(f"'{column}' (all rows) is only allowed in COUNT; "
                                 f"{func} needs a column", column.column_span)
        return ast.Aggregation(func, column, where, window, _span_of(meta))

    def agg_func(self, meta: Any, children: list[Any]) -> str:
        return str(children[0].type)

    def window(self, meta: Any, children: list[Any]) -> ast.Window:
        start_tok: Token = children[0]
        end_tok: Token = children[1]
        unit = children[2] if len(children) > 2 else "days"
        whole = _span_of(meta)
        first = _span_of(start_tok)
        span = ast.Span(first.line, first.column, whole.end_line, whole.end_column, first.start,
                        whole.end)
        start = None if start_tok.type == "NEG_INF" else int(start_tok)
        end = int(end_tok)
        for value, tok in ((start, start_tok), (end, end_tok)):
            if value is not None and not ast.INT32_MIN <= value <= ast.INT32_MAX:
                raise _SemanticError(f"Window offset {value} does not fit in 32 bits",
                                     _span_of(tok))
        if start is not None and start >= end:
            raise _SemanticError(
                f"Window start must be before its end (got start {start} >= end {end}); "
                "windows are (start, end] relative to the anchor time", span)
        return ast.Window(start, end, unit, span)

    def win_start(self, meta: Any, children: list[Any]) -> Token:
        return children[0]

    def time_unit(self, meta: Any, children: list[Any]) -> str:
        return str(children[0].type).lower()

    def column(self, meta: Any, children: list[Any]) -> ast.ColumnRef:
        table, table_span = children[0]
        last = children[-1]
        if isinstance(last, Token):  # STAR
            col, col_span = "*", _span_of(last)
        else:
            col, col_span = last
        via, via_span = children[1] if len(children) == 3 else (None, ast.Span.unknown())
        return ast.ColumnRef(table, col, _span_of(meta), table_span, col_span, via, via_span)

    def name(self, meta: Any, children: list[Any]) -> tuple[str, ast.Span]:
        tok: Token = children[0]
        text = str(tok)
        if tok.type == "QUOTED_NAME":
            text = text[1:-1].replace("``", "`")
        return text, _span_of(tok)

    # -- constants -----------------------------------------------------------------
    def const_list(self, meta: Any, children: list[Any]) -> ast.LiteralList:
        return ast.LiteralList(tuple(children), _span_of(meta))

    def literal(self, meta: Any, children: list[Any]) -> ast.Literal:
        tok: Token = children[0]
        span = _span_of(tok)
        kind = tok.type
        if kind == "NUMBER":
            text = str(tok)
            if re.fullmatch(r"[+-]?\d+", text):
                return ast.Literal(int(text), "int", span)
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise _SemanticError(f"Number {text} is out of range", span)
            return ast.Literal(value, "float", span)
        if kind == "STRING":
            return ast.Literal(_unescape(tok), "str", span)
        if kind == "DATETIME":
            try:
                return ast.Literal(_parse_datetime(str(tok)), "datetime", span)
            except ValueError:
                raise _SemanticError(f"Invalid date '{tok}'; use YYYY-MM-DD[ HH:MM[:SS]]",
                                     span) from None
        if kind in ("TRUE", "FALSE"):
            return ast.Literal(kind == "TRUE", "bool", span)
        return ast.Literal(None, "null", span)


def _describe_expected(expected: set[str] | frozenset[str] | None) -> str:
    if not expected:
        return ""
    names = sorted({_TERMINAL_NAMES.get(t, t.strip("_")) for t in expected})
    if len(names) > 8:
        names = [*names[:8], "..."]
    return "; expected " + ", ".join(names)


def _error_at(text: str, message: str, offset: int, length: int = 1) -> PQLError:
    line, col = offset_to_position(text, offset)
    end_line, end_col = offset_to_position(text, offset + max(1, length))
    end = end_col if end_line == line else col + 1
    return PQLError(message, query=text, line=line, column=col, end_column=max(end, col + 1))


def _convert(text: str, exc: UnexpectedInput) -> PQLError:
    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
        ch = text[offset] if offset < len(text) else ""
        if ch in ("'", '"'):
            return _error_at(text, "Unterminated string literal; close it with " + ch, offset)
        if ch == "`":
            return _error_at(text, "Unterminated quoted name; close it with `", offset)
        return _error_at(text, f"Unexpected character {ch!r}"
                         + _describe_expected(exc.allowed), offset)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = exc.accepts or exc.expected
        if tok.type == "$END":
            stripped = len(text.rstrip())
            return _error_at(text, "Unexpected end of query" + _describe_expected(expected),
                             stripped)
        offset = tok.start_pos if tok.start_pos is not None else 0
        hint = ""
        called = re.search(r"(?<![.\w`])([A-Za-z_]\w*)\s*$", text[:offset])
        if str(tok) == "(" and called and "DOT" in set(expected):  # a function PQL lacks
            name = called.group(1)
            advice = " (for EXISTS, use COUNT(...) > 0)" if name.upper() == "EXISTS" else ""
            return _error_at(text, f"Unknown aggregation {name!r}; PQL aggregates with "
                             f"{', '.join(AGGREGATIONS)}{advice}", called.start(1), len(name))
        if tok.type == "STRING" and ({"NAME", "QUOTED_NAME"} & set(expected)):
            hint = ("; quote table and column names with backticks, e.g. "
                    f"`{str(tok)[1:-1]}` (quotes ' and \" are for string constants)")
        return _error_at(text, f"Unexpected {str(tok)!r}" + _describe_expected(expected)
                         + hint, offset, len(str(tok)))
    if isinstance(exc, UnexpectedEOF):
        return _error_at(text, "Unexpected end of query" + _describe_expected(
            set(exc.expected or [])), len(text.rstrip()))
    return _error_at(text, f"Invalid query: {exc}", 0)


def _check_depth(text: str) -> None:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > _MAX_DEPTH:
                raise _error_at(text, f"Query is nested more than {_MAX_DEPTH} levels deep", i)
        elif ch == ")":
            depth = max(0, depth - 1)


def parse_query(text: str) -> ast.Query:
    """Parse PQL ``text`` into an AST; raise :class:`PQLError` with a position on error."""
    if not isinstance(text, str):
        raise PQLError(f"A predictive query must be a string (got {type(text).__name__})")
    _check_depth(text)
    try:
        tree: Tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _convert(text, exc) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise _error_at(text, f"Invalid query: {exc}", 0) from None
    try:
        result = _ToAst(text).transform(tree)
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, _SemanticError):
            span = orig.span
            err = PQLError(orig.message, query=text, line=span.line, column=span.column,
                           end_column=span.end_column if span.end_line == span.line
                           else span.column + 1)
            raise err from None
        raise
    except RecursionError:
        raise _error_at(text, "Query is nested too deeply", 0) from None
    assert isinstance(result, ast.Query)
    return result
