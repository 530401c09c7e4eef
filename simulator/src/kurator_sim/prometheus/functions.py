"""PromQL functions of the subset: their signatures (for the parser's type checks) and what
they compute (for the evaluator).

Range-vector functions follow Prometheus's ``promql/functions.go``: ``rate``/``increase``/
``delta`` use the same extrapolation (``extrapolatedRate``), ``irate``/``idelta`` the last two
samples, counter resets are handled, and the ``*_over_time`` family aggregates the samples of
the range. Functions drop the metric name except those Prometheus lets keep it (``sort``,
``sort_desc``, ``label_replace``, ``label_join``, ``last_over_time``).
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kurator_sim.prometheus.syntax import ValueType
from kurator_sim.prometheus.values import NAME, Labels, Matrix, Sample, Scalar, String, Value, Vector


class EvaluationError(Exception):
    """A query that parses but cannot be evaluated (Prometheus's ``execution`` errors)."""


@dataclass(frozen=True, slots=True)
class RangeContext:
    """Where a function is evaluated: the time and, for range vectors, the selected window."""

    time: float
    start: float = 0.0
    end: float = 0.0
    range: float = 0.0


Impl = Callable[[Sequence[Value], RangeContext], Value]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[ValueType, ...]
    returns: ValueType
    impl: Impl
    optional: int = 0
    variadic: bool = False


# --- helpers -----------------------------------------------------------------------------------


def _drop(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


def _vector(value: Value) -> Vector:
    assert isinstance(value, Vector)
    return value


def _matrix(value: Value) -> Matrix:
    assert isinstance(value, Matrix)
    return value


def _scalar(value: Value) -> float:
    assert isinstance(value, Scalar)
    return value.value


def _string(value: Value) -> str:
    assert isinstance(value, String)
    return value.value


def _math(fn: Callable[[float], float]) -> Impl:
    def impl(args: Sequence[Value], ctx: RangeContext) -> Value:
        out = []
        for s in _vector(args[0]).samples:
            try:
                value = fn(s.value)
            except (ValueError, OverflowError):
                value = math.nan
            out.append(Sample(_drop(s.labels), value))
        return Vector(out)

    return impl


def _ln(v: float) -> float:
    if v == 0:
        return -math.inf
    return math.log(v) if v > 0 else math.nan


def _log(base: float) -> Callable[[float], float]:
    def fn(v: float) -> float:
        if v == 0:
            return -math.inf
        return math.log(v, base) if v > 0 else math.nan

    return fn


def _sqrt(v: float) -> float:
    return math.sqrt(v) if v >= 0 else math.nan


def _sgn(v: float) -> float:
    if math.isnan(v):
        return v
    return float((v > 0) - (v < 0))


def _ceil(v: float) -> float:
    return v if math.isinf(v) or math.isnan(v) else float(math.ceil(v))


def _floor(v: float) -> float:
    return v if math.isinf(v) or math.isnan(v) else float(math.floor(v))


# --- instant-vector functions --------------------------------------------------------------------


def _round(args: Sequence[Value], ctx: RangeContext) -> Value:
    to_nearest = _scalar(args[1]) if len(args) > 1 else 1.0
    inverse = 1.0 / to_nearest if to_nearest else math.inf
    out = []
    for s in _vector(args[0]).samples:
        value = s.value if math.isinf(s.value) or math.isnan(s.value) else math.floor(s.value * inverse + 0.5) / inverse
        out.append(Sample(_drop(s.labels), value))
    return Vector(out)


def _clamp_impl(low: float, high: float, vector: Vector) -> Vector:
    if high < low:
        return Vector([])
    return Vector([Sample(_drop(s.labels), max(low, min(high, s.value))) for s in vector.samples])


def _clamp(args: Sequence[Value], ctx: RangeContext) -> Value:
    return _clamp_impl(_scalar(args[1]), _scalar(args[2]), _vector(args[0]))


def _clamp_min(args: Sequence[Value], ctx: RangeContext) -> Value:
    return _clamp_impl(_scalar(args[1]), math.inf, _vector(args[0]))


def _clamp_max(args: Sequence[Value], ctx: RangeContext) -> Value:
    return _clamp_impl(-math.inf, _scalar(args[1]), _vector(args[0]))


def _scalar_fn(args: Sequence[Value], ctx: RangeContext) -> Value:
    samples = _vector(args[0]).samples
    return Scalar(samples[0].value if len(samples) == 1 else math.nan)


def _vector_fn(args: Sequence[Value], ctx: RangeContext) -> Value:
    return Vector([Sample({}, _scalar(args[0]))])


def _time(args: Sequence[Value], ctx: RangeContext) -> Value:
    return Scalar(ctx.time)


def _timestamp(args: Sequence[Value], ctx: RangeContext) -> Value:
    return Vector([Sample(_drop(s.labels), s.ts if s.ts is not None else ctx.time) for s in _vector(args[0]).samples])


def _sort(descending: bool) -> Impl:
    def impl(args: Sequence[Value], ctx: RangeContext) -> Value:
        samples = list(_vector(args[0]).samples)
        finite = [s for s in samples if not math.isnan(s.value)]
        nans = [s for s in samples if math.isnan(s.value)]
        finite.sort(key=lambda s: s.value, reverse=descending)
        return Vector(finite + nans, ordered=True)

    return impl


def _label_replace(args: Sequence[Value], ctx: RangeContext) -> Value:
    dst, replacement, src, regex = (_string(a) for a in args[1:5])
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise EvaluationError(f'invalid regular expression in label_replace(): "{regex}": {exc}') from None
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", dst):
        raise EvaluationError(f"invalid destination label name in label_replace(): {dst}")
    template = re.sub(r"\$\{?(\w+)\}?", lambda m: "\\g<" + m.group(1) + ">", replacement.replace("\\", "\\\\"))
    out = []
    for s in _vector(args[0]).samples:
        labels = dict(s.labels)
        match = pattern.fullmatch(labels.get(src, ""))
        if match is not None:
            try:
                value = match.expand(template)
            except (IndexError, re.error):
                value = ""
            if value:
                labels[dst] = value
            else:
                labels.pop(dst, None)
        out.append(Sample(labels, s.value))
    return Vector(out)


def _label_join(args: Sequence[Value], ctx: RangeContext) -> Value:
    dst, sep = _string(args[1]), _string(args[2])
    sources = [_string(a) for a in args[3:]]
    out = []
    for s in _vector(args[0]).samples:
        labels = dict(s.labels)
        value = sep.join(labels.get(src, "") for src in sources)
        if value:
            labels[dst] = value
        else:
            labels.pop(dst, None)
        out.append(Sample(labels, s.value))
    return Vector(out)


# --- range-vector functions -----------------------------------------------------------------------


def extrapolated_rate(
    points: Sequence[tuple[float, float]], ctx: RangeContext, *, counter: bool, rate: bool
) -> float | None:
    """``extrapolatedRate`` of Prometheus: the increase over the window, extrapolated to its
    edges (never past a counter's zero), per second when ``rate``."""
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    result = last_v - first_v
    if counter:
        previous = first_v
        for _, value in points[1:]:
            if value < previous:
                result += previous
            previous = value
    to_start = first_t - ctx.start
    to_end = ctx.end - last_t
    sampled = last_t - first_t
    average = sampled / (len(points) - 1)
    threshold = average * 1.1
    if to_start >= threshold:
        to_start = average / 2
    if counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    if to_end >= threshold:
        to_end = average / 2
    factor = (sampled + to_start + to_end) / sampled
    if rate:
        factor /= ctx.range
    return result * factor


def _range_fn(
    fn: Callable[[Sequence[tuple[float, float]], RangeContext], float | None], *, keep_name: bool = False
) -> Impl:
    def impl(args: Sequence[Value], ctx: RangeContext) -> Value:
        out = []
        for series in _matrix(args[-1]).series:
            if not series.points:
                continue
            value = fn(series.points, ctx if len(args) == 1 else _with_param(ctx, args))
            if value is not None:
                labels = series.labels if keep_name else _drop(series.labels)
                out.append(Sample(labels, value))
        return Vector(out)

    return impl


@dataclass(frozen=True, slots=True)
class _ParamContext(RangeContext):
    param: float = 0.0


def _with_param(ctx: RangeContext, args: Sequence[Value]) -> RangeContext:
    return _ParamContext(ctx.time, ctx.start, ctx.end, ctx.range, _scalar(args[0]))


def _rate(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float | None:
    return extrapolated_rate(points, ctx, counter=True, rate=True)


def _increase(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float | None:
    return extrapolated_rate(points, ctx, counter=True, rate=False)


def _delta(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float | None:
    return extrapolated_rate(points, ctx, counter=False, rate=False)


def _instant_delta(*, rate: bool) -> Callable[[Sequence[tuple[float, float]], RangeContext], float | None]:
    def fn(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float | None:
        if len(points) < 2:
            return None
        (t0, v0), (t1, v1) = points[-2], points[-1]
        if not rate:
            return v1 - v0
        increase = v1 if v1 < v0 else v1 - v0  # a counter reset
        return increase / (t1 - t0) if t1 > t0 else None

    return fn


def _changes(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float:
    return float(sum(1 for (_, a), (_, b) in itertools.pairwise(points) if a != b))


def _resets(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float:
    return float(sum(1 for (_, a), (_, b) in itertools.pairwise(points) if b < a))


def _values(points: Sequence[tuple[float, float]]) -> list[float]:
    return [v for _, v in points]


def _stddev(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float:
    return statistics.pstdev(_values(points))


def _stdvar(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float:
    return statistics.pvariance(_values(points))


def _quantile_over_time(points: Sequence[tuple[float, float]], ctx: RangeContext) -> float:
    assert isinstance(ctx, _ParamContext)
    return quantile(ctx.param, _values(points))


def quantile(q: float, values: Sequence[float]) -> float:
    """Prometheus's ``quantile`` (linear interpolation between closest ranks)."""
    if not values or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = max(0, math.floor(rank))
    high = min(len(ordered) - 1, low + 1)
    weight = rank - math.floor(rank)
    return ordered[low] * (1 - weight) + ordered[high] * weight


def _absent(args: Sequence[Value], ctx: RangeContext) -> Value:
    """Placeholder: ``absent`` needs the argument's matchers, so the evaluator computes it."""
    raise EvaluationError("absent() is evaluated by the evaluator")


_V: ValueType = "vector"
_M: ValueType = "matrix"
_S: ValueType = "scalar"
_STR: ValueType = "string"

FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("abs", (_V,), _V, _math(abs)),
        Function("ceil", (_V,), _V, _math(_ceil)),
        Function("floor", (_V,), _V, _math(_floor)),
        Function("exp", (_V,), _V, _math(math.exp)),
        Function("ln", (_V,), _V, _math(_ln)),
        Function("log2", (_V,), _V, _math(_log(2))),
        Function("log10", (_V,), _V, _math(_log(10))),
        Function("sqrt", (_V,), _V, _math(_sqrt)),
        Function("sgn", (_V,), _V, _math(_sgn)),
        Function("deg", (_V,), _V, _math(math.degrees)),
        Function("rad", (_V,), _V, _math(math.radians)),
        Function("round", (_V, _S), _V, _round, optional=1),
        Function("clamp", (_V, _S, _S), _V, _clamp),
        Function("clamp_min", (_V, _S), _V, _clamp_min),
        Function("clamp_max", (_V, _S), _V, _clamp_max),
        Function("scalar", (_V,), _S, _scalar_fn),
        Function("vector", (_S,), _V, _vector_fn),
        Function("time", (), _S, _time),
        Function("timestamp", (_V,), _V, _timestamp),
        Function("sort", (_V,), _V, _sort(False)),
        Function("sort_desc", (_V,), _V, _sort(True)),
        Function("label_replace", (_V, _STR, _STR, _STR, _STR), _V, _label_replace),
        Function("label_join", (_V, _STR, _STR, _STR), _V, _label_join, variadic=True),
        Function("absent", (_V,), _V, _absent),
        Function("absent_over_time", (_M,), _V, _absent),
        Function("rate", (_M,), _V, _range_fn(_rate)),
        Function("irate", (_M,), _V, _range_fn(_instant_delta(rate=True))),
        Function("increase", (_M,), _V, _range_fn(_increase)),
        Function("delta", (_M,), _V, _range_fn(_delta)),
        Function("idelta", (_M,), _V, _range_fn(_instant_delta(rate=False))),
        Function("changes", (_M,), _V, _range_fn(_changes)),
        Function("resets", (_M,), _V, _range_fn(_resets)),
        Function("avg_over_time", (_M,), _V, _range_fn(lambda p, c: statistics.fmean(_values(p)))),
        Function("min_over_time", (_M,), _V, _range_fn(lambda p, c: min(_values(p)))),
        Function("max_over_time", (_M,), _V, _range_fn(lambda p, c: max(_values(p)))),
        Function("sum_over_time", (_M,), _V, _range_fn(lambda p, c: math.fsum(_values(p)))),
        Function("count_over_time", (_M,), _V, _range_fn(lambda p, c: float(len(p)))),
        Function("last_over_time", (_M,), _V, _range_fn(lambda p, c: p[-1][1], keep_name=True)),
        Function("present_over_time", (_M,), _V, _range_fn(lambda p, c: 1.0)),
        Function("stddev_over_time", (_M,), _V, _range_fn(_stddev)),
        Function("stdvar_over_time", (_M,), _V, _range_fn(_stdvar)),
        Function("quantile_over_time", (_S, _M), _V, _range_fn(_quantile_over_time)),
    )
}
