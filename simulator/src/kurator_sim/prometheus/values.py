"""Values a PromQL expression evaluates to: scalars, strings, instant vectors, range vectors.

Labels are plain ``dict[str, str]`` including ``__name__``; :func:`key` gives the hashable
identity of a label set. Also the float formatting Prometheus uses on the wire
(``strconv.FormatFloat(v, 'f', -1, 64)``: shortest exact text, no exponent, ``NaN``,
``+Inf``, ``-Inf``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

Labels = dict[str, str]
LabelKey = tuple[tuple[str, str], ...]
NAME = "__name__"


def key(labels: Labels) -> LabelKey:
    return tuple(sorted(labels.items()))


def without_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float


@dataclass(frozen=True, slots=True)
class String:
    value: str


@dataclass(slots=True)
class Sample:
    labels: Labels
    value: float
    ts: float | None = None
    """The sample's own timestamp when it comes straight from a selector (``timestamp()``)."""


@dataclass(slots=True)
class Vector:
    samples: list[Sample] = field(default_factory=list)
    ordered: bool = False
    """Whether the order is meaningful (``sort``, ``topk``): the API then keeps it."""


@dataclass(slots=True)
class Series:
    """One series of a range vector: its labels and ``(timestamp, value)`` points."""

    labels: Labels
    points: list[tuple[float, float]]


@dataclass(slots=True)
class Matrix:
    series: list[Series] = field(default_factory=list)


Value = Scalar | String | Vector | Matrix


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it in JSON."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if text.endswith(".0"):
        text = text[:-2]
    return text


def format_time(seconds: float) -> float | int:
    """A timestamp as Prometheus writes it: unix seconds with millisecond precision."""
    millis = round(seconds * 1000)
    return millis // 1000 if millis % 1000 == 0 else millis / 1000
