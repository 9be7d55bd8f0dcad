"""Parser: every construct of the grammar, error positions, fuzzing."""

from __future__ import annotations

import collections
import datetime as dt
import random
import re
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relgraph.errors import PQLError
from relgraph.pquery import ast, parse_query
from relgraph.pquery.parser import AGGREGATIONS
from relgraph.testing.pql_fuzz import fuzz_parser, random_query


def test_full_query_structure() -> None:
    q = parse_query("PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH customers.id "
                    "WHERE COUNT(orders.*, -90, 0, days) > 0")
    assert isinstance(q.target, ast.Comparison)
    assert q.target.op == "="
    agg = q.target.left
    assert isinstance(agg, ast.Aggregation) and agg.func == "COUNT" and agg.column.is_star
    assert agg.window == ast.Window(0, 30, "days")
    assert q.entity == ast.ColumnRef("customers", "id")
    assert isinstance(q.entity_filter, ast.Comparison)
    assert q.problem is None and q.assuming is None


@pytest.mark.parametrize("func", ["SUM", "AVG", "MIN", "MAX", "COUNT", "COUNT_DISTINCT",
                                  "FIRST", "LAST", "LIST_DISTINCT"])
def test_all_aggregations(func: str) -> None:
    q = parse_query(f"predict {func.lower()}(t.x, 0, 7) rank top 3 for each u.id")
    assert isinstance(q.target, ast.Aggregation) and q.target.func == func


@pytest.mark.parametrize(("unit", "seconds"), [
    ("seconds", 1), ("minute", 60), ("HOURS", 3600), ("days", 86400), ("weeks", 604800),
    ("months", 30 * 86400)])
def test_time_units(unit: str, seconds: int) -> None:
    q = parse_query(f"PREDICT SUM(t.x, 0, 2, {unit}) FOR EACH u.id")
    assert isinstance(q.target, ast.Aggregation) and q.target.window is not None
    assert q.target.window.end_seconds == 2 * seconds


def test_default_unit_and_no_window() -> None:
    q = parse_query("PREDICT SUM(t.x, 0, 2) FOR EACH u.id")
    assert isinstance(q.target, ast.Aggregation) and q.target.window is not None
    assert q.target.window.unit == "days"
    q = parse_query("PREDICT COUNT(t.*) FOR EACH u.id")
    assert isinstance(q.target, ast.Aggregation) and q.target.window is None


def test_neg_inf_window() -> None:
    q = parse_query("PREDICT u.x FOR EACH u.id WHERE COUNT(t.*, -INF, 0) > 2")
    assert isinstance(q.entity_filter, ast.Comparison)
    agg = q.entity_filter.left
    assert isinstance(agg, ast.Aggregation) and agg.window is not None
    assert agg.window.start is None and agg.window.start_seconds is None


@pytest.mark.parametrize(("cond", "op", "value"), [
    ("u.x = 1", "=", 1), ("u.x != 1.5", "!=", 1.5), ("u.x <> 1", "!=", 1),
    ("u.x == 'a'", "=", "a"), ("u.x < -2", "<", -2), ("u.x <= 1e3", "<=", 1000.0),
    ("u.x > TRUE", ">", True), ("u.x >= false", ">=", False),
    ("u.x IS NULL", "IS NULL", None), ("u.x IS NOT NULL", "IS NOT NULL", None),
    ("u.x = NULL", "IS NULL", None), ("u.x != NULL", "IS NOT NULL", None),
    ("u.x CONTAINS 'ab'", "CONTAINS", "ab"), ("u.x NOT CONTAINS 'ab'", "NOT CONTAINS", "ab"),
    ("u.x STARTS WITH 'ab'", "STARTS WITH", "ab"), ("u.x ENDS WITH 'ab'", "ENDS WITH", "ab"),
    ("u.x LIKE '%ab%'", "CONTAINS", "ab"), ("u.x LIKE 'ab%'", "STARTS WITH", "ab"),
    ("u.x LIKE '%ab'", "ENDS WITH", "ab"), ("u.x NOT LIKE '%ab%'", "NOT CONTAINS", "ab"),
    ("u.x LIKE 'a_b%'", "LIKE", "a_b%"), ("u.x = 'it''s'", "=", "it's"),
    ("u.x = 'it\\'s'", "=", "it's"), ('u.x = "dq"', "=", "dq"),
    ("u.x = 'a\\nb'", "=", "a\nb"),
])
def test_predicates(cond: str, op: str, value: object) -> None:
    q = parse_query(f"PREDICT u.y FOR EACH u.id WHERE {cond}")
    c = q.entity_filter
    assert isinstance(c, ast.Comparison)
    assert c.op == op
    got = None if c.right is None else getattr(c.right, "value", None)
    assert got == value


def test_in_lists_and_dates() -> None:
    q = parse_query("PREDICT u.y FOR EACH u.id WHERE u.x IN (1, 'a', 2.5) AND u.z NOT IN (3) "
                    "AND u.w IS IN (1) AND u.d > 2024-01-15 AND u.e < '2024-01-15 10:00:00' "
                    "AND u.f >= 2024-01-15T10:30")
    assert isinstance(q.entity_filter, ast.BoolOp) and q.entity_filter.op == "AND"
    ops = [c.op for c in q.entity_filter.operands if isinstance(c, ast.Comparison)]
    assert ops == ["IN", "NOT IN", "IN", ">", "<", ">="]
    d = q.entity_filter.operands[3]
    assert isinstance(d, ast.Comparison) and isinstance(d.right, ast.Literal)
    assert d.right.value == dt.datetime(2024, 1, 15) and d.right.kind == "datetime"


def test_boolean_precedence() -> None:
    q = parse_query("PREDICT u.y FOR EACH u.id WHERE u.a = 1 OR u.b = 2 AND NOT u.c = 3")
    f = q.entity_filter
    assert isinstance(f, ast.BoolOp) and f.op == "OR"
    right = f.operands[1]
    assert isinstance(right, ast.BoolOp) and right.op == "AND"
    assert isinstance(right.operands[1], ast.Not)
    q = parse_query("PREDICT u.y FOR EACH u.id WHERE (u.a = 1 OR u.b = 2) AND u.c = 3")
    assert isinstance(q.entity_filter, ast.BoolOp) and q.entity_filter.op == "AND"


@pytest.mark.parametrize(("text", "kind", "k"), [
    ("RANK TOP 12", "rank", 12), ("CLASSIFY", "classify", None), ("TOP 5", "top", 5),
    ("FORECAST 4 TIMEFRAMES", "forecast", 4), ("RANK", "rank", None),
    ("CLASSIFY TOP 3", "classify", 3)])
def test_problem_specs(text: str, kind: str, k: int | None) -> None:
    q = parse_query(f"PREDICT LIST_DISTINCT(t.x, 0, 7) {text} FOR EACH u.id")
    assert q.problem is not None and (q.problem.kind, q.problem.k) == (kind, k)


def test_target_filter_assuming_and_for_forms() -> None:
    q = parse_query("PREDICT SUM(t.x WHERE t.y = 'a' AND t.z > 1, 0, 30) FOR EACH u.id "
                    "ASSUMING COUNT(t.* WHERE t.promo = TRUE, 0, 7) > 0;")
    assert isinstance(q.target, ast.Aggregation) and isinstance(q.target.where, ast.BoolOp)
    assert isinstance(q.assuming, ast.Comparison)
    q = parse_query("PREDICT u.y FOR u.id = 5")
    assert q.entity_restriction is not None and q.entity_restriction.op == "="
    q = parse_query("PREDICT u.y FOR u.id IN (1, 2)")
    assert q.entity_restriction is not None and q.entity_restriction.op == "IN"


def test_keywords_case_insensitive_and_as_column_names() -> None:
    q = parse_query("pReDiCt CoUnT(orders.count, 0, 1, DaYs) FoR eAcH users.first")
    assert isinstance(q.target, ast.Aggregation) and q.target.column.column == "count"
    assert q.entity.column == "first"
    q = parse_query("PREDICT `my table`.`odd ``col` FOR EACH `my table`.id")
    assert q.target == ast.ColumnRef("my table", "odd `col")


def test_roundtrip_str() -> None:
    text = ("PREDICT SUM(t.x WHERE t.y IN ('a', 'b'), 0, 30, days) > 10 FOR EACH u.id "
            "WHERE (COUNT(t.*, -INF, 0, days) > 0 OR u.z IS NULL)")
    q = parse_query(text)
    assert parse_query(str(q)) == q


def test_spans() -> None:
    text = "PREDICT SUM(orders.amount, 0, 30)\nFOR EACH customers.id"
    q = parse_query(text)
    assert isinstance(q.target, ast.Aggregation)
    assert (q.target.span.line, q.target.span.column) == (1, 9)
    assert (q.entity.span.line, q.entity.span.column) == (2, 10)
    assert text[q.target.column.span.start:q.target.column.span.end] == "orders.amount"


@pytest.mark.parametrize(("text", "line", "column", "fragment"), [
    ("", 1, 1, "end of query"),
    ("PREDICT", 1, 8, "end of query"),
    ("PREDICT COUNT(orders.*, 30, 0) FOR EACH a.b", 1, 25, "start must be before"),
    ("PREDICT COUNT(orders.*, 5, 5) FOR EACH a.b", 1, 25, "start must be before"),
    ("PREDICT x.y FOR EACH a.*", 1, 24, "primary-key"),
    ("PREDICT 'abc FOR", 1, 9, "Unterminated string"),
    ("PREDICT x.y = 'a\\q' FOR EACH a.b", 1, 17, "escape"),
    ("PREDICT SUM(x.*) FOR EACH a.b", 1, 15, "only allowed in COUNT"),
    ("PREDICT x.y\nFOR EACH a.b WHERE ", 2, 19, "end of query"),
    ("PREDICT x.y = 2024-13-01 FOR EACH a.b", 1, 15, "Invalid date"),
    ("PREDICT x FOR EACH a.b", 1, 11, "Unexpected 'FOR'"),
    ("PREDICT x.y < NULL FOR EACH a.b", 1, 15, "IS [NOT] NULL"),
    ("PREDICT x.y FOR EACH a.b\n  WHERE a.c === 1", 2, 15, "Unexpected"),
    ("PREDICT COUNT(t.*, 0, 99999999999) FOR EACH a.b", 1, 23, "32 bits"),
    ("PREDICT LIST_DISTINCT(t.x, 0, 7) RANK TOP 0 FOR EACH a.b", 1, 43, "TOP K"),
    ("PREDICT SUM(t.x, 0, 7) FORECAST 0 TIMEFRAMES FOR EACH a.b", 1, 33, "FORECAST"),
    ("PREDICT x.y FOR EACH a.b WHERE a.c IN (1, NULL)", 1, 43, "NULL is not allowed"),
    ("PREDICT x.y FOR EACH a.b WHERE a.c CONTAINS 1", 1, 45, "quoted string"),
    ("PREDICT x.y FOR EACH a.b $", 1, 26, "Unexpected character"),
    ("PREDICT SUM(t.x, 0, 7, fortnights) FOR EACH a.b", 1, 24, "Unexpected"),
    ('PREDICT SUM("my orders".x, 0, 7) FOR EACH a.b', 1, 13, "backticks, e.g. `my orders`"),
    ("PREDICT EXISTS(t.*, 0, 7) FOR EACH a.b", 1, 9, "use COUNT(...) > 0"),
    ("PREDICT x.y FOR EACH a.b WHERE median(t.x, -7, 0) > 1", 1, 32,
     "Unknown aggregation 'median'; PQL aggregates with SUM, AVG"),
    ("PREDICT x.y FOR EACH (a.b)", 1, 22, "Unexpected '('"),
])
def test_syntax_errors_have_positions(text: str, line: int, column: int,
                                      fragment: str) -> None:
    with pytest.raises(PQLError) as info:
        parse_query(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in str(err)
    if text:
        assert "^" in str(err)  # the caret line


def test_unknown_aggregation_message_names_every_aggregation_of_the_grammar() -> None:
    grammar = resources.files("relgraph.pquery").joinpath("grammar.lark").read_text()
    rule = re.search(r"^agg_func: (.+)$", grammar, re.MULTILINE)
    assert rule is not None
    assert tuple(t.strip() for t in rule.group(1).split("|")) == AGGREGATIONS
    for name in AGGREGATIONS:  # each parses as an aggregation
        parse_query(f"PREDICT {name}(t.x, 0, 7) FOR EACH a.b")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "PREDICT u.y FOR EACH u.id WHERE " + "(" * 5000 + "u.x = 1" + ")" * 5000
    with pytest.raises(PQLError, match="nested"):
        parse_query(text)


def test_non_string_query() -> None:
    with pytest.raises(PQLError, match="must be a string"):
        parse_query(123)  # type: ignore[arg-type]


def test_fuzz_parser_2000() -> None:
    """Random and mutated strings: a parse result or a PQLError with a position, nothing else."""
    outcomes = collections.Counter(outcome for _, outcome in fuzz_parser(2000, seed=7))
    assert outcomes["ok"] > 100 and outcomes["error"] > 100


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text_gives_query_or_positioned_error(text: str) -> None:
    try:
        parse_query(text)
    except PQLError as err:
        assert err.line is not None and err.column is not None


@settings(max_examples=300, deadline=None)
@given(rnd=st.randoms(use_true_random=False))
def test_generated_queries_roundtrip(rnd: random.Random) -> None:
    text = random_query(rnd)
    try:
        q = parse_query(text)
    except PQLError:
        return
    again = parse_query(str(q))
    assert again == q, (text, str(q))
