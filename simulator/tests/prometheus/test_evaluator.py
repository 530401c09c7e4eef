"""PromQL evaluation over hand-made series: functions, aggregations, vector matching."""

from __future__ import annotations

import math

import pytest

from kurator_sim.prometheus.evaluator import Evaluator
from kurator_sim.prometheus.functions import EvaluationError
from kurator_sim.prometheus.parser import parse
from kurator_sim.prometheus.series import SimSeries
from kurator_sim.prometheus.values import Matrix, Scalar, Vector, format_value

T = 1_700_000_010.0  # a multiple of the 15 s scrape interval


def series(name: str, value: float | None = None, *, slope: float | None = None, **labels: str) -> SimSeries:
    if slope is not None:
        rate = slope
        return SimSeries.of({"__name__": name, **labels}, lambda t: rate * (t - (T - 3600)))
    constant = value if value is not None else 0.0
    return SimSeries.of({"__name__": name, **labels}, lambda t: constant)


@pytest.fixture
def ev() -> Evaluator:
    return Evaluator(
        [
            series("requests_total", slope=2.0, cluster="a", job="api"),
            series("requests_total", slope=0.5, cluster="b", job="api"),
            series("cpu", 4, cluster="a", node="n1"),
            series("cpu", 8, cluster="a", node="n2"),
            series("cpu", 16, cluster="b", node="n3"),
            series("temp", -3.6, cluster="a"),
            series("temp", 2.5, cluster="b"),
            series("region_info", 1, cluster="a", region="north"),
            series("region_info", 1, cluster="b", region="south"),
        ],
        since=T - 3600,
    )


def values(ev: Evaluator, query: str) -> dict[tuple[tuple[str, str], ...], float]:
    result = ev.eval(parse(query), T)
    assert isinstance(result, Vector), result
    return {tuple(sorted(s.labels.items())): s.value for s in result.samples}


def scalar(ev: Evaluator, query: str) -> float:
    result = ev.eval(parse(query), T)
    assert isinstance(result, Scalar)
    return result.value


def test_rate_irate_increase_of_linear_counters(ev: Evaluator) -> None:
    rates = values(ev, "rate(requests_total[5m])")
    assert rates[(("cluster", "a"), ("job", "api"))] == pytest.approx(2.0)
    assert rates[(("cluster", "b"), ("job", "api"))] == pytest.approx(0.5)
    assert values(ev, 'irate(requests_total{cluster="a"}[1m])') == {
        (("cluster", "a"), ("job", "api")): pytest.approx(2.0)
    }
    assert values(ev, 'increase(requests_total{cluster="b"}[10m])') == {
        (("cluster", "b"), ("job", "api")): pytest.approx(300.0)
    }


def test_range_selector_samples_on_the_scrape_grid(ev: Evaluator) -> None:
    result = ev.eval(parse('requests_total{cluster="a"}[1m]'), T)
    assert isinstance(result, Matrix)
    (row,) = result.series
    assert [t for t, _ in row.points] == [T - 45, T - 30, T - 15, T]  # (T-60, T]
    assert row.labels["__name__"] == "requests_total"


def test_over_time_functions(ev: Evaluator) -> None:
    counts = values(ev, 'count_over_time(cpu{node="n1"}[5m])')
    assert list(counts.values()) == [20.0]
    assert list(values(ev, 'avg_over_time(temp{cluster="a"}[5m])').values()) == [pytest.approx(-3.6)]
    assert list(values(ev, 'max_over_time(requests_total{cluster="a"}[1m])').values()) == [pytest.approx(7200.0)]
    last = ev.eval(parse('last_over_time(temp{cluster="b"}[5m])'), T)
    assert isinstance(last, Vector)
    assert last.samples[0].labels["__name__"] == "temp"


def test_math_functions(ev: Evaluator) -> None:
    assert values(ev, "abs(temp)") == {(("cluster", "a"),): 3.6, (("cluster", "b"),): 2.5}
    assert values(ev, "round(temp)") == {(("cluster", "a"),): -4.0, (("cluster", "b"),): 3.0}
    assert values(ev, "round(temp, 0.5)") == {(("cluster", "a"),): -3.5, (("cluster", "b"),): 2.5}
    assert values(ev, "clamp_min(temp, 0)") == {(("cluster", "a"),): 0.0, (("cluster", "b"),): 2.5}
    assert values(ev, "clamp_max(temp, 0)") == {(("cluster", "a"),): -3.6, (("cluster", "b"),): 0.0}
    assert values(ev, "clamp(temp, 5, 1)") == {}
    assert scalar(ev, "scalar(sum(cpu))") == 28.0
    assert scalar(ev, "time()") == T
    assert values(ev, "vector(1)") == {(): 1.0}


def test_aggregations(ev: Evaluator) -> None:
    assert values(ev, "sum by (cluster) (cpu)") == {(("cluster", "a"),): 12.0, (("cluster", "b"),): 16.0}
    assert values(ev, "avg(cpu)") == {(): pytest.approx(28 / 3)}
    assert values(ev, "min without (node) (cpu)") == {(("cluster", "a"),): 4.0, (("cluster", "b"),): 16.0}
    assert values(ev, "max(cpu) by (cluster)") == {(("cluster", "a"),): 8.0, (("cluster", "b"),): 16.0}
    assert values(ev, "count(cpu)") == {(): 3.0}
    top = ev.eval(parse("topk(2, cpu)"), T)
    assert isinstance(top, Vector)
    assert [s.value for s in top.samples] == [16.0, 8.0]
    assert values(ev, "quantile(0.5, cpu)") == {(): 8.0}
    assert values(ev, 'count_values("cores", cpu)') == {
        (("cores", "4"),): 1.0,
        (("cores", "8"),): 1.0,
        (("cores", "16"),): 1.0,
    }


def test_binary_operators_and_matching(ev: Evaluator) -> None:
    assert scalar(ev, "2 ^ 3 ^ 2") == 512.0
    assert scalar(ev, "-2 ^ 2") == -4.0
    assert scalar(ev, "1 + 2 * 3 % 4") == 3.0
    assert scalar(ev, "1 / 0") == math.inf
    assert math.isnan(scalar(ev, "0 / 0"))
    assert scalar(ev, "3 > bool 2") == 1.0
    doubled = values(ev, 'cpu{cluster="b"} * 2')
    assert doubled == {(("cluster", "b"), ("node", "n3")): 32.0}  # the metric name is dropped
    filtered = ev.eval(parse("cpu > 5"), T)
    assert isinstance(filtered, Vector)
    assert sorted(s.value for s in filtered.samples) == [8.0, 16.0]
    assert all(s.labels["__name__"] == "cpu" for s in filtered.samples)  # comparisons keep it
    assert values(ev, "cpu >= bool 8") == {
        (("cluster", "a"), ("node", "n1")): 0.0,
        (("cluster", "a"), ("node", "n2")): 1.0,
        (("cluster", "b"), ("node", "n3")): 1.0,
    }
    share = values(ev, "cpu / on(cluster) group_left sum by (cluster) (cpu)")
    assert share[(("cluster", "a"), ("node", "n2"))] == pytest.approx(8 / 12)
    labelled = values(ev, "sum by (cluster) (cpu) * on(cluster) group_left(region) region_info")
    assert labelled == {(("cluster", "a"), ("region", "north")): 12.0, (("cluster", "b"), ("region", "south")): 16.0}
    assert values(ev, "sum by (cluster) (cpu) - ignoring(region) region_info") == {
        (("cluster", "a"),): 11.0,
        (("cluster", "b"),): 15.0,
    }


def test_set_operators(ev: Evaluator) -> None:
    assert set(values(ev, 'cpu and on(cluster) temp{cluster="b"}')) == {
        (("__name__", "cpu"), ("cluster", "b"), ("node", "n3"))
    }
    assert len(values(ev, 'cpu unless on(cluster) temp{cluster="b"}')) == 2
    assert len(values(ev, 'temp or cpu{cluster="b"}')) == 3


def test_many_to_many_matching_is_an_execution_error(ev: Evaluator) -> None:
    with pytest.raises(EvaluationError, match="many-to-many matching not allowed"):
        ev.eval(parse("temp + on(cluster) cpu"), T)
    with pytest.raises(EvaluationError, match="vector cannot contain metrics with the same labelset"):
        ev.eval(parse('label_replace(cpu, "node", "x", "node", ".*")'), T)


def test_label_functions_absent_and_sort(ev: Evaluator) -> None:
    replaced = ev.eval(parse('label_replace(temp, "short", "$1", "cluster", "(.).*")'), T)
    assert isinstance(replaced, Vector)
    assert {s.labels["short"] for s in replaced.samples} == {"a", "b"}
    joined = ev.eval(parse('label_join(region_info, "id", "/", "cluster", "region")'), T)
    assert isinstance(joined, Vector)
    assert {s.labels["id"] for s in joined.samples} == {"a/north", "b/south"}
    assert values(ev, 'absent(nope{job="x", instance=~"y"})') == {(("job", "x"),): 1.0}
    assert values(ev, "absent(cpu)") == {}
    ordered = ev.eval(parse("sort_desc(cpu)"), T)
    assert isinstance(ordered, Vector)
    assert ordered.ordered
    assert [s.value for s in ordered.samples] == [16.0, 8.0, 4.0]


def test_offset_and_lookback(ev: Evaluator) -> None:
    now = values(ev, 'requests_total{cluster="a"}')
    earlier = values(ev, 'requests_total{cluster="a"} offset 10m')
    assert next(iter(now.values())) - next(iter(earlier.values())) == pytest.approx(1200.0)
    assert values(ev, 'requests_total{cluster="a"} offset 2h') == {}  # before scraping began


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.5, "0.5"), (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (-2.0, "-2")],
)
def test_values_are_written_like_prometheus(value: float, text: str) -> None:
    assert format_value(value) == text
    assert format_value(math.nan) == "NaN"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
