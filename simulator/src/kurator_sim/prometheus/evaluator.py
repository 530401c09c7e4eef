"""Evaluates a parsed PromQL expression over the simulated series at a point in time.

Selectors read series on the 15 s scrape grid: an instant selector takes the latest sample
at or before the evaluation time (within the 5 minute lookback), a range selector the samples
in ``(t - range, t]``; ``offset`` shifts both. Binary operators follow Prometheus's matching
rules (one-to-one by default, ``on``/``ignoring``, ``group_left``/``group_right``, set
operators), comparisons filter unless ``bool``, arithmetic drops the metric name. Errors
that only show at evaluation (duplicate series in a match group, the same label set twice in
a result) raise :class:`EvaluationError`, answered as ``execution`` errors.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from kurator_sim.prometheus.functions import FUNCTIONS, EvaluationError, RangeContext, quantile
from kurator_sim.prometheus.series import SCRAPE_INTERVAL, SimSeries
from kurator_sim.prometheus.syntax import (
    COMPARISONS,
    Aggregate,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    Paren,
    StringLiteral,
    Unary,
    VectorMatching,
    VectorSelector,
)
from kurator_sim.prometheus.values import (
    NAME,
    LabelKey,
    Labels,
    Matrix,
    Sample,
    Scalar,
    Series,
    String,
    Value,
    Vector,
    format_value,
    key,
    without_name,
)

LOOKBACK = 300.0


class Evaluator:
    """Evaluates expressions against one snapshot of the series."""

    def __init__(self, series: Sequence[SimSeries], *, since: float = -math.inf) -> None:
        self.series = list(series)
        self.since = since
        """No samples exist before this time (when scraping began)."""
        self.by_name: dict[str, list[SimSeries]] = {}
        for s in self.series:
            self.by_name.setdefault(s.labels.get(NAME, ""), []).append(s)

    # -- selection ----------------------------------------------------------------------------------

    def select(self, selector: VectorSelector) -> list[SimSeries]:
        candidates = self.by_name.get(selector.name, []) if selector.name is not None else self.series
        return [s for s in candidates if all(m.matches(s.labels.get(m.name, "")) for m in selector.matchers)]

    @staticmethod
    def _sample_times(start: float, end: float) -> list[float]:
        """Scrape times in ``(start, end]``."""
        first = math.floor(start / SCRAPE_INTERVAL) * SCRAPE_INTERVAL + SCRAPE_INTERVAL
        times = []
        t = first
        while t <= end + 1e-9:
            times.append(t)
            t += SCRAPE_INTERVAL
        return times

    def instant(self, selector: VectorSelector, t: float) -> Vector:
        at = t - selector.offset
        scrape = math.floor(at / SCRAPE_INTERVAL) * SCRAPE_INTERVAL
        out = []
        for s in self.select(selector):
            value = self._sample(s, scrape)
            if value is not None and at - scrape <= LOOKBACK:
                out.append(Sample(dict(s.labels), value, scrape))
        return Vector(out)

    def matrix(self, node: MatrixSelector, t: float) -> Matrix:
        end = t - node.vector.offset
        times = self._sample_times(end - node.range, end)
        out = []
        for s in self.select(node.vector):
            points = [(ts, v) for ts in times if (v := self._sample(s, ts)) is not None]
            if points:
                out.append(Series(dict(s.labels), points))
        return Matrix(out)

    def _sample(self, series: SimSeries, t: float) -> float | None:
        if t < self.since:
            return None
        try:
            return series.value(t)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    # -- evaluation -----------------------------------------------------------------------------------

    def eval(self, expr: Expr, t: float) -> Value:
        if isinstance(expr, NumberLiteral):
            return Scalar(expr.value)
        if isinstance(expr, StringLiteral):
            return String(expr.value)
        if isinstance(expr, Paren):
            return self.eval(expr.expr, t)
        if isinstance(expr, VectorSelector):
            return self.instant(expr, t)
        if isinstance(expr, MatrixSelector):
            return self.matrix(expr, t)
        if isinstance(expr, Unary):
            return self._unary(expr, t)
        if isinstance(expr, Call):
            return self._call(expr, t)
        if isinstance(expr, Aggregate):
            return self._aggregate(expr, t)
        if isinstance(expr, Binary):
            return self._binary(expr, t)
        raise EvaluationError(f"unsupported expression {type(expr).__name__}")

    def _unary(self, expr: Unary, t: float) -> Value:
        value = self.eval(expr.expr, t)
        if expr.op == "+":
            return value
        if isinstance(value, Scalar):
            return Scalar(-value.value)
        assert isinstance(value, Vector)
        return _checked(Vector([Sample(without_name(s.labels), -s.value) for s in value.samples]))

    def _call(self, call: Call, t: float) -> Value:
        if call.func in ("absent", "absent_over_time"):
            return self._absent(call, t)
        ctx = RangeContext(time=t)
        args: list[Value] = []
        for arg in call.args:
            value = self.eval(arg, t)
            if isinstance(arg, MatrixSelector):
                end = t - arg.vector.offset
                ctx = RangeContext(time=t, start=end - arg.range, end=end, range=arg.range)
            args.append(value)
        result = FUNCTIONS[call.func].impl(args, ctx)
        return _checked(result) if isinstance(result, Vector) else result

    def _absent(self, call: Call, t: float) -> Value:
        arg = call.args[0]
        value = self.eval(arg, t)
        present = bool(value.samples) if isinstance(value, Vector) else bool(isinstance(value, Matrix) and value.series)
        if present:
            return Vector([])
        labels: Labels = {}
        selector = arg.vector if isinstance(arg, MatrixSelector) else arg
        if isinstance(selector, VectorSelector):
            for matcher in selector.matchers:
                if matcher.op == "=" and matcher.name != NAME:
                    labels[matcher.name] = matcher.value
        return Vector([Sample(labels, 1.0)])

    # -- aggregation ------------------------------------------------------------------------------------

    def _aggregate(self, agg: Aggregate, t: float) -> Value:
        vector = self.eval(agg.expr, t)
        assert isinstance(vector, Vector)
        param = self.eval(agg.param, t) if agg.param is not None else None
        groups: dict[LabelKey, tuple[Labels, list[Sample]]] = {}
        for sample in vector.samples:
            if agg.without:
                labels = {k: v for k, v in sample.labels.items() if k not in agg.grouping and k != NAME}
            else:
                labels = {k: v for k, v in sample.labels.items() if k in agg.grouping}
            if agg.op == "count_values":
                assert isinstance(param, String)
                labels = {**labels, param.value: format_value(sample.value)}
            entry = groups.setdefault(key(labels), (labels, []))
            entry[1].append(sample)
        if agg.op in ("topk", "bottomk"):
            assert isinstance(param, Scalar)
            return self._top(agg.op, param.value, groups)
        out = []
        for labels, samples in groups.values():
            values = [s.value for s in samples]
            out.append(Sample(labels, _reduce(agg.op, values, param)))
        return Vector(out)

    @staticmethod
    def _top(op: str, k: float, groups: dict[LabelKey, tuple[Labels, list[Sample]]]) -> Vector:
        if math.isnan(k):
            raise EvaluationError("Parameter value is NaN")
        limit = int(k)
        out: list[Sample] = []
        if limit < 1:
            return Vector([])
        for _, samples in groups.values():

            def order(s: Sample) -> tuple[bool, float]:
                value = s.value if op == "bottomk" else -s.value
                return (math.isnan(s.value), value)

            out.extend(sorted(samples, key=order)[:limit])
        return Vector(out, ordered=True)

    # -- binary operators ------------------------------------------------------------------------------

    def _binary(self, expr: Binary, t: float) -> Value:
        lhs, rhs = self.eval(expr.lhs, t), self.eval(expr.rhs, t)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            return Scalar(_arith(expr.op, lhs.value, rhs.value, return_bool=True))
        if isinstance(lhs, Vector) and isinstance(rhs, Vector):
            assert expr.matching is not None
            if expr.op in ("and", "or", "unless"):
                return _set_op(expr.op, lhs, rhs, expr.matching)
            return _checked(_vector_op(expr, lhs, rhs, expr.matching))
        if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
            return _checked(_scalar_op(expr, lhs, rhs.value, vector_on_left=True))
        assert isinstance(lhs, Scalar)
        assert isinstance(rhs, Vector)
        return _checked(_scalar_op(expr, rhs, lhs.value, vector_on_left=False))


def _reduce(op: str, values: list[float], param: Value | None) -> float:
    if op == "sum":
        return math.fsum(values)
    if op == "avg":
        return math.fsum(values) / len(values)
    if op == "min":
        finite = [v for v in values if not math.isnan(v)]
        return min(finite) if finite else math.nan
    if op == "max":
        finite = [v for v in values if not math.isnan(v)]
        return max(finite) if finite else math.nan
    if op in ("count", "count_values"):
        return float(len(values))
    if op == "group":
        return 1.0
    if op == "stddev":
        return statistics.pstdev(values)
    if op == "stdvar":
        return statistics.pvariance(values)
    if op == "quantile":
        assert isinstance(param, Scalar)
        return quantile(param.value, values)
    raise EvaluationError(f"unsupported aggregation {op}")


def _arith(op: str, a: float, b: float, *, return_bool: bool) -> float:
    if op in COMPARISONS:
        result = {
            "==": a == b,
            "!=": a != b,
            ">": a > b,
            "<": a < b,
            ">=": a >= b,
            "<=": a <= b,
        }[op]
        return 1.0 if result else 0.0
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
            return a / b
        if op == "%":
            return math.fmod(a, b) if b != 0 else math.nan
        if op == "^":
            return math.pow(a, b)
        if op == "atan2":
            return math.atan2(a, b)
    except (OverflowError, ValueError):
        return math.inf if op in ("^", "*") else math.nan
    raise EvaluationError(f"unsupported operator {op}")


def _scalar_op(expr: Binary, vector: Vector, scalar: float, *, vector_on_left: bool) -> Vector:
    out = []
    for s in vector.samples:
        a, b = (s.value, scalar) if vector_on_left else (scalar, s.value)
        result = _arith(expr.op, a, b, return_bool=expr.return_bool)
        if expr.op in COMPARISONS and not expr.return_bool:
            if result:
                out.append(Sample(dict(s.labels), s.value))
            continue
        out.append(Sample(without_name(s.labels), result))
    return Vector(out)


def _signature(labels: Labels, matching: VectorMatching) -> LabelKey:
    if matching.on:
        return tuple(sorted((k, v) for k, v in labels.items() if k in matching.labels))
    return tuple(sorted((k, v) for k, v in labels.items() if k not in matching.labels and k != NAME))


def _set_op(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching) -> Vector:
    right = {_signature(s.labels, matching) for s in rhs.samples}
    if op == "and":
        return Vector([s for s in lhs.samples if _signature(s.labels, matching) in right])
    if op == "unless":
        return Vector([s for s in lhs.samples if _signature(s.labels, matching) not in right])
    left = {_signature(s.labels, matching) for s in lhs.samples}
    return Vector(list(lhs.samples) + [s for s in rhs.samples if _signature(s.labels, matching) not in left])


def _vector_op(expr: Binary, lhs: Vector, rhs: Vector, matching: VectorMatching) -> Vector:
    # The "one" side is indexed by signature; the other side is walked. group_right swaps them.
    swapped = matching.card == "one-to-many"
    one_side, many_side = (lhs, rhs) if swapped else (rhs, lhs)
    ones: dict[LabelKey, Sample] = {}
    for s in one_side.samples:
        sig = _signature(s.labels, matching)
        if sig in ones:
            side = "right" if one_side is rhs else "left"
            raise EvaluationError(
                f"found duplicate series for the match group {_show(sig)} on the {side} hand-side of the operation: "
                f"[{_show(key(ones[sig].labels))}, {_show(key(s.labels))}];many-to-many matching not allowed: "
                "matching labels must be unique on one side"
            )
        ones[sig] = s
    out = []
    seen: dict[LabelKey, LabelKey] = {}
    for s in many_side.samples:
        sig = _signature(s.labels, matching)
        other = ones.get(sig)
        if other is None:
            continue
        if matching.card == "one-to-one":
            if sig in seen:
                raise EvaluationError(
                    f"found duplicate series for the match group {_show(sig)} on the left hand-side of the operation: "
                    f"[{_show(seen[sig])}, {_show(key(s.labels))}];many-to-many matching not allowed: "
                    "matching labels must be unique on one side"
                )
            seen[sig] = key(s.labels)
        left, right = (other, s) if swapped else (s, other)
        result = _arith(expr.op, left.value, right.value, return_bool=expr.return_bool)
        comparison = expr.op in COMPARISONS
        if comparison and not expr.return_bool and not result:
            continue
        value = left.value if comparison and not expr.return_bool else result
        labels = _result_labels(expr, s.labels, other.labels, matching)
        out.append(Sample(labels, value))
    return Vector(out)


def _result_labels(expr: Binary, many: Labels, one: Labels, matching: VectorMatching) -> Labels:
    keep_name = expr.op in COMPARISONS and not expr.return_bool
    labels = dict(many) if keep_name else without_name(many)
    if matching.card == "one-to-one":
        if matching.on:
            labels = {k: v for k, v in labels.items() if k in matching.labels}
        else:
            labels = {k: v for k, v in labels.items() if k not in matching.labels}
        if keep_name and NAME in many:
            labels[NAME] = many[NAME]
        return labels
    for name in matching.include:
        if name in one:
            labels[name] = one[name]
        else:
            labels.pop(name, None)
    return labels


def _show(sig: LabelKey) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sig) + "}"


def _checked(vector: Vector) -> Vector:
    """Prometheus refuses a result holding the same label set twice."""
    seen: set[LabelKey] = set()
    for sample in vector.samples:
        k = key(sample.labels)
        if k in seen:
            raise EvaluationError("vector cannot contain metrics with the same labelset")
        seen.add(k)
    return vector
