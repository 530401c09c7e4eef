"""The PromQL syntax tree the parser builds and the evaluator walks.

Every node knows its value type (``scalar``, ``string``, ``vector`` for an instant vector,
``matrix`` for a range vector), which is what the parser's type checks use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ValueType = Literal["scalar", "string", "vector", "matrix"]

TYPE_NAMES: dict[str, str] = {
    "scalar": "scalar",
    "string": "string",
    "vector": "instant vector",
    "matrix": "range vector",
}


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(value) is not None
        return found if self.op == "=~" else not found


class Expr:
    """Base of all expression nodes."""

    @property
    def type(self) -> ValueType:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NumberLiteral(Expr):
    value: float

    @property
    def type(self) -> ValueType:
        return "scalar"


@dataclass(frozen=True, slots=True)
class StringLiteral(Expr):
    value: str

    @property
    def type(self) -> ValueType:
        return "string"


@dataclass(frozen=True, slots=True)
class VectorSelector(Expr):
    name: str | None
    matchers: tuple[Matcher, ...]
    offset: float = 0.0

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(frozen=True, slots=True)
class MatrixSelector(Expr):
    vector: VectorSelector
    range: float

    @property
    def type(self) -> ValueType:
        return "matrix"


@dataclass(frozen=True, slots=True)
class Paren(Expr):
    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: Literal["+", "-"]
    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(frozen=True, slots=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]
    returns: ValueType

    @property
    def type(self) -> ValueType:
        return self.returns


@dataclass(frozen=True, slots=True)
class Aggregate(Expr):
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(frozen=True, slots=True)
class VectorMatching:
    card: Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"] = "one-to-one"
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None

    @property
    def type(self) -> ValueType:
        if self.lhs.type == "scalar" and self.rhs.type == "scalar":
            return "scalar"
        return "vector"


COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})
