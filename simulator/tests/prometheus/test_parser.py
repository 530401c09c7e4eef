"""The PromQL subset's parser: precedence, modifiers, type checks and Prometheus's messages."""

from __future__ import annotations

import pytest

from kurator_sim.prometheus.lexer import ParseError
from kurator_sim.prometheus.parser import parse, parse_selector
from kurator_sim.prometheus.syntax import Aggregate, Binary, Call, MatrixSelector, NumberLiteral, Unary, VectorSelector


def test_selectors_and_matchers() -> None:
    expr = parse('up{job="node", instance!="a", cluster=~"cluster-.*", zone!~"x|y"}')
    assert isinstance(expr, VectorSelector)
    assert expr.name == "up"
    assert [(m.name, m.op, m.value) for m in expr.matchers] == [
        ("__name__", "=", "up"),
        ("job", "=", "node"),
        ("instance", "!=", "a"),
        ("cluster", "=~", "cluster-.*"),
        ("zone", "!~", "x|y"),
    ]
    regex = expr.matchers[3]
    assert regex.matches("cluster-beijing")
    assert not regex.matches("xcluster-beijing")


def test_range_and_offset() -> None:
    expr = parse("rate(node_cpu_seconds_total[5m] offset 1h)")
    assert isinstance(expr, Call)
    (arg,) = expr.args
    assert isinstance(arg, MatrixSelector)
    assert arg.range == 300
    assert arg.vector.offset == 3600
    assert parse("x[1h30m]").range == 5400  # type: ignore[attr-defined]


def test_precedence_and_associativity() -> None:
    expr = parse("a + b * c")
    assert isinstance(expr, Binary)
    assert expr.op == "+"
    assert isinstance(expr.rhs, Binary)
    assert expr.rhs.op == "*"
    power = parse("2 ^ 3 ^ 2")
    assert isinstance(power, Binary)
    assert isinstance(power.rhs, Binary)
    unary = parse("-a ^ 2")
    assert isinstance(unary, Unary)
    assert isinstance(unary.expr, Binary)
    assert parse("-1") == NumberLiteral(-1.0)
    logical = parse("a or b and c")
    assert isinstance(logical, Binary)
    assert logical.op == "or"


def test_binary_modifiers() -> None:
    expr = parse("a / on(cluster) group_left(region) b")
    assert isinstance(expr, Binary)
    assert expr.matching is not None
    assert expr.matching.on
    assert expr.matching.labels == ("cluster",)
    assert expr.matching.card == "many-to-one"
    assert expr.matching.include == ("region",)
    comparison = parse("a > bool 0")
    assert isinstance(comparison, Binary)
    assert comparison.return_bool


def test_aggregations_with_grouping_before_or_after() -> None:
    before = parse("sum by (cluster) (up)")
    after = parse("sum(up) by (cluster)")
    assert before == after
    assert isinstance(before, Aggregate)
    assert before.grouping == ("cluster",)
    without = parse("avg without (instance, cpu) (x)")
    assert isinstance(without, Aggregate)
    assert without.without
    top = parse("topk(3, x)")
    assert isinstance(top, Aggregate)
    assert top.param == NumberLiteral(3.0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "1:1: parse error: no expression found in input"),
        ("sum(", "1:4: parse error: unclosed left parenthesis"),
        ("up)", "1:3: parse error: unexpected right parenthesis ')'"),
        ("1 +", "1:4: parse error: unexpected end of input"),
        ('up{job="a"', "1:11: parse error: unexpected end of input inside braces"),
        ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ('{job=~".*"}', "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ("rate(up)", '1:1: parse error: expected type range vector in call to function "rate", got instant vector'),
        ("abs(up[5m])", '1:1: parse error: expected type instant vector in call to function "abs", got range vector'),
        ("foo(up)", '1:1: parse error: unknown function with name "foo"'),
        ("clamp(up, 1)", '1:1: parse error: expected 3 argument(s) in call to "clamp", got 2'),
        ("round(up, 1, 2)", '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'),
        ("sum(up[5m])", "1:1: parse error: expected type instant vector in aggregation expression, got range vector"),
        ('topk("a", up)', "1:1: parse error: expected type scalar in aggregation parameter, got string"),
        ("1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
        ("up and 1", '1:4: parse error: set operator "and" not allowed in binary scalar expression'),
        ("up + bool up", "1:4: parse error: bool modifier can only be used on comparison operators"),
        ("up[5m] + 1", "1:8: parse error: binary expression must contain only scalar and instant vector types"),
        ("(up)[5m]", "1:5: parse error: ranges only allowed for vector selectors"),
        ("up[5m:1m]", "1:6: parse error: subqueries are not supported by the simulator's PromQL subset"),
        ("up @ 1", "1:4: parse error: unexpected character: '@'"),
        ('up{job="a\\q"}', "1:11: parse error: unknown escape sequence 'q'"),
    ],
)
def test_errors_read_like_prometheus(query: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(query)
    assert str(info.value) == message


def test_series_selectors_for_metadata_endpoints() -> None:
    assert parse_selector('up{job="node"}').name == "up"
    with pytest.raises(ParseError):
        parse_selector("sum(up)")
