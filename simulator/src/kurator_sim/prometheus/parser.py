"""PromQL parser for the query engine's subset, with Prometheus's type checks and messages.

Supported: number and string literals; instant selectors ``name{l="v", l!="v", l=~"re",
l!~"re"}`` with ``offset``; range selectors ``[5m]``; unary ``+``/``-``; binary operators with
Prometheus's precedence (``^`` > ``* / % atan2`` > ``+ -`` > comparisons > ``and unless`` >
``or``), ``bool``, ``on``/``ignoring`` and ``group_left``/``group_right``; aggregations
``sum avg min max count group stddev stdvar topk bottomk quantile count_values`` with
``by``/``without`` before or after the argument list; the functions of
:mod:`kurator_sim.prometheus.functions`. Not supported (refused with a parse error):
subqueries and the ``@`` modifier.
"""

from __future__ import annotations

import re
from typing import Final, Literal, cast

from kurator_sim.prometheus.functions import FUNCTIONS
from kurator_sim.prometheus.lexer import ParseError, Token, tokenize
from kurator_sim.prometheus.syntax import (
    ARITHMETIC,
    COMPARISONS,
    SET_OPERATORS,
    TYPE_NAMES,
    Aggregate,
    Binary,
    Call,
    Expr,
    Matcher,
    MatrixSelector,
    NumberLiteral,
    Paren,
    StringLiteral,
    Unary,
    VectorMatching,
    VectorSelector,
)

AGGREGATIONS: Final = frozenset(
    {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values"}
)
_PARAMETRIC: Final[dict[str, str]] = {
    "topk": "scalar",
    "bottomk": "scalar",
    "quantile": "scalar",
    "count_values": "string",
}
_PRECEDENCE: Final[dict[str, int]] = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    ">": 3,
    "<": 3,
    ">=": 3,
    "<=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_KEYWORDS: Final = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"})


def parse(query: str) -> Expr:
    """Parse ``query``; raises :class:`ParseError` (``1:5: parse error: ...``)."""
    return _Parser(query).parse()


def parse_selector(query: str) -> VectorSelector:
    """Parse a series selector (the ``match[]`` of the metadata endpoints)."""
    expr = parse(query)
    while isinstance(expr, Paren):
        expr = expr.expr
    if not isinstance(expr, VectorSelector):
        raise ParseError(query, 0, f"expected type instant vector selector, got {type(expr).__name__}")
    return expr


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    # -- tokens ---------------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        return ParseError(self.query, (tok or self.tok).pos, message)

    def unexpected(self, context: str = "") -> ParseError:
        where = f" in {context}" if context else ""
        return self.error(f"unexpected {self.tok.describe()}{where}")

    def expect(self, kind: str, context: str) -> Token:
        if self.tok.kind != kind:
            if self.tok.kind == "eof":
                raise self.error(f"unexpected end of input in {context}")
            raise self.unexpected(context)
        return self.advance()

    def is_op(self, text: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == text

    def binary_op(self) -> str | None:
        tok = self.tok
        if tok.kind == "op" and tok.text in _PRECEDENCE:
            return tok.text
        if tok.kind == "ident" and tok.text in ("and", "or", "unless", "atan2"):
            return tok.text
        return None

    # -- expressions ------------------------------------------------------------------------------

    def parse(self) -> Expr:
        if self.tok.kind == "eof":
            raise self.error("no expression found in input")
        expr = self.expression(0)
        if self.tok.kind != "eof":
            if self.tok.kind == ")":
                raise self.error("unexpected right parenthesis ')'")
            raise self.unexpected()
        return expr

    def expression(self, min_precedence: int) -> Expr:
        lhs = self.unary()
        while True:
            op = self.binary_op()
            if op is None:
                return lhs
            precedence = _PRECEDENCE[op]
            if precedence < min_precedence:
                return lhs
            op_tok = self.advance()
            return_bool, matching = self.binary_modifiers(op, op_tok)
            # ^ is right-associative, everything else left-associative.
            rhs = self.expression(precedence if op == "^" else precedence + 1)
            lhs = self.check_binary(Binary(op, lhs, rhs, return_bool, matching), op_tok)

    def binary_modifiers(self, op: str, op_tok: Token) -> tuple[bool, VectorMatching | None]:
        return_bool = False
        if self.tok.kind == "ident" and self.tok.text == "bool":
            if op not in COMPARISONS:
                raise self.error("bool modifier can only be used on comparison operators", op_tok)
            self.advance()
            return_bool = True
        on = False
        labels: tuple[str, ...] = ()
        card = "many-to-many" if op in SET_OPERATORS else "one-to-one"
        include: tuple[str, ...] = ()
        explicit = False
        if self.tok.kind == "ident" and self.tok.text in ("on", "ignoring"):
            on = self.advance().text == "on"
            labels = self.label_list("grouping opts")
            explicit = True
        if self.tok.kind == "ident" and self.tok.text in ("group_left", "group_right"):
            side = self.advance().text
            if op in SET_OPERATORS:
                raise self.error(f'no grouping allowed for "{op}" operation', op_tok)
            card = "many-to-one" if side == "group_left" else "one-to-many"
            if self.tok.kind == "(":
                include = self.label_list("grouping opts")
            explicit = True
        if not explicit and op not in SET_OPERATORS:
            return return_bool, VectorMatching()
        typed_card = cast(Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"], card)
        return return_bool, VectorMatching(typed_card, on, labels, include)

    def check_binary(self, node: Binary, op_tok: Token) -> Binary:
        lt, rt = node.lhs.type, node.rhs.type
        for side in (lt, rt):
            if side not in ("scalar", "vector"):
                raise self.error("binary expression must contain only scalar and instant vector types", op_tok)
        if node.op in SET_OPERATORS and (lt == "scalar" or rt == "scalar"):
            raise self.error(f'set operator "{node.op}" not allowed in binary scalar expression', op_tok)
        if node.op in COMPARISONS and lt == "scalar" and rt == "scalar" and not node.return_bool:
            raise self.error("comparisons between scalars must use BOOL modifier", op_tok)
        matching = node.matching
        if matching is not None and (lt == "scalar" or rt == "scalar"):
            if matching.labels or matching.on or matching.card != "one-to-one":
                raise self.error("vector matching only allowed between instant vectors", op_tok)
            return Binary(node.op, node.lhs, node.rhs, node.return_bool, None)
        return node

    def unary(self) -> Expr:
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.advance().text
            operand = self.expression(_PRECEDENCE["^"])
            if operand.type not in ("scalar", "vector"):
                raise self.error("unary expression only allowed on expressions of type scalar or instant vector")
            if isinstance(operand, NumberLiteral):
                return NumberLiteral(-operand.value if op == "-" else operand.value)
            return Unary(cast(Literal["+", "-"], op), operand)
        return self.postfix(self.primary())

    def postfix(self, expr: Expr) -> Expr:
        while True:
            if self.tok.kind == "[":
                open_tok = self.advance()
                if not isinstance(expr, VectorSelector):
                    raise self.error("ranges only allowed for vector selectors", open_tok)
                if self.tok.kind == "eof":
                    raise self.error("unclosed left bracket", open_tok)
                duration = self.duration("range")
                if self.tok.kind == ":" or (self.tok.kind == "ident" and self.tok.text.startswith(":")):
                    raise self.error("subqueries are not supported by the simulator's PromQL subset")
                if self.tok.kind != "]":
                    raise self.error("unclosed left bracket", open_tok) if self.tok.kind == "eof" else self.unexpected()
                self.advance()
                if duration <= 0:
                    raise self.error("range duration must be greater than 0", open_tok)
                expr = MatrixSelector(expr, duration)
            elif self.tok.kind == "ident" and self.tok.text == "offset":
                offset_tok = self.advance()
                sign = 1.0
                if self.tok.kind == "op" and self.tok.text in ("+", "-"):
                    sign = -1.0 if self.advance().text == "-" else 1.0
                offset = sign * self.duration("offset")
                if isinstance(expr, VectorSelector):
                    expr = VectorSelector(expr.name, expr.matchers, offset)
                elif isinstance(expr, MatrixSelector):
                    expr = MatrixSelector(VectorSelector(expr.vector.name, expr.vector.matchers, offset), expr.range)
                else:
                    raise self.error(
                        "offset modifier must be preceded by an instant vector selector or range vector selector",
                        offset_tok,
                    )
            else:
                return expr

    def duration(self, context: str) -> float:
        tok = self.tok
        if tok.kind == "duration":
            self.advance()
            return float(cast(float, tok.value))
        if tok.kind == "number" and re.fullmatch(r"[0-9]+", tok.text):
            self.advance()
            return float(cast(float, tok.value))
        if tok.kind == "eof":
            raise self.error(f"unexpected end of input in {context}")
        raise self.error(f"unexpected {tok.describe()} in {context}, expected duration")

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return NumberLiteral(float(cast(float, tok.value)))
        if tok.kind == "duration":
            raise self.error(f"unexpected {tok.describe()}")
        if tok.kind == "string":
            self.advance()
            return StringLiteral(str(tok.value))
        if tok.kind == "(":
            open_tok = self.advance()
            if self.tok.kind == "eof":
                raise self.error("unclosed left parenthesis", open_tok)
            inner = self.expression(0)
            if self.tok.kind != ")":
                if self.tok.kind == "eof":
                    raise self.error("unclosed left parenthesis", open_tok)
                raise self.unexpected("paren expression")
            self.advance()
            return Paren(inner)
        if tok.kind == "{":
            return self.selector(None, tok)
        if tok.kind == "ident":
            name = tok.text
            lowered = name.lower()
            if lowered in ("inf", "nan") and self.peek().kind != "(" and self.peek().kind != "{":
                self.advance()
                return NumberLiteral(float(lowered))
            following = self.peek()
            grouping_next = following.kind == "ident" and following.text in ("by", "without")
            if name in AGGREGATIONS and (following.kind == "(" or grouping_next):
                return self.aggregation()
            if self.peek().kind == "(":
                return self.call()
            if name in _KEYWORDS or name in ("and", "or", "unless", "atan2"):
                raise self.unexpected()
            self.advance()
            return self.selector(name, tok)
        if tok.kind == "eof":
            raise self.error("unexpected end of input")
        if tok.kind == ")":
            raise self.error("unexpected right parenthesis ')'")
        raise self.unexpected()

    # -- selectors -------------------------------------------------------------------------------

    def selector(self, name: str | None, start: Token) -> VectorSelector:
        matchers: list[Matcher] = []
        if name is not None:
            matchers.append(Matcher("__name__", "=", name))
        if self.tok.kind == "{":
            self.advance()
            while self.tok.kind != "}":
                if self.tok.kind == "eof":
                    raise self.error("unexpected end of input inside braces")
                matchers.append(self.matcher())
                if self.tok.kind == ",":
                    self.advance()
                elif self.tok.kind != "}":
                    if self.tok.kind == "eof":
                        raise self.error("unexpected end of input inside braces")
                    raise self.unexpected("label matching")
            self.advance()
        names = [m.value for m in matchers if m.name == "__name__" and m.op == "="]
        if name is not None and len(names) > 1:
            raise self.error(f'metric name must not be set twice: "{names[0]}" or "{names[1]}"', start)
        if not any(not m.matches("") for m in matchers):
            raise self.error("vector selector must contain at least one non-empty matcher", start)
        metric = names[0] if names else None
        return VectorSelector(metric, tuple(matchers))

    def matcher(self) -> Matcher:
        label = self.tok
        if label.kind not in ("ident", "string"):
            raise self.unexpected("label matching")
        self.advance()
        name = str(label.value) if label.kind == "string" else label.text
        if label.kind == "ident" and not _LABEL_NAME.match(name):
            raise self.error(f'invalid label name "{name}"', label)
        op_tok = self.tok
        if op_tok.kind != "op" or op_tok.text not in ("=", "!=", "=~", "!~"):
            raise self.unexpected('label matching, expected one of "=", "!=", "=~" or "!~"')
        self.advance()
        value_tok = self.tok
        if value_tok.kind != "string":
            raise self.unexpected("label matching, expected string")
        self.advance()
        op = cast(Literal["=", "!=", "=~", "!~"], op_tok.text)
        value = str(value_tok.value)
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(f"(?:{value})", re.DOTALL)
            except re.error as exc:
                raise self.error(f"error parsing regexp: {exc}", value_tok) from None
        return Matcher(name, op, value, pattern)

    # -- calls and aggregations -----------------------------------------------------------------------

    def label_list(self, context: str) -> tuple[str, ...]:
        self.expect("(", context)
        labels: list[str] = []
        while self.tok.kind != ")":
            tok = self.tok
            if tok.kind == "ident" and _LABEL_NAME.match(tok.text):
                labels.append(tok.text)
            elif tok.kind == "string":
                labels.append(str(tok.value))
            elif tok.kind == "eof":
                raise self.error(f"unexpected end of input in {context}")
            else:
                raise self.error(f"unexpected {tok.describe()} in {context}, expected label")
            self.advance()
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                raise self.unexpected(context)
        self.advance()
        return tuple(labels)

    def aggregation(self) -> Aggregate:
        op_tok = self.advance()
        op = op_tok.text
        grouping: tuple[str, ...] = ()
        without = False
        seen_grouping = False
        if self.tok.kind == "ident" and self.tok.text in ("by", "without"):
            without = self.advance().text == "without"
            grouping = self.label_list("grouping opts")
            seen_grouping = True
        open_tok = self.expect("(", "aggregation")
        args: list[Expr] = []
        while self.tok.kind != ")":
            if self.tok.kind == "eof":
                raise self.error("unclosed left parenthesis", open_tok)
            args.append(self.expression(0))
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                if self.tok.kind == "eof":
                    raise self.error("unclosed left parenthesis", open_tok)
                raise self.unexpected("aggregation")
        self.advance()
        if self.tok.kind == "ident" and self.tok.text in ("by", "without"):
            if seen_grouping:
                raise self.unexpected("aggregation")
            without = self.advance().text == "without"
            grouping = self.label_list("grouping opts")
        wanted = 2 if op in _PARAMETRIC else 1
        if len(args) != wanted:
            raise self.error(
                f"wrong number of arguments for aggregate expression provided, expected {wanted}, got {len(args)}",
                op_tok,
            )
        param = args[0] if wanted == 2 else None
        expr = args[-1]
        if expr.type != "vector":
            raise self.error(
                f"expected type instant vector in aggregation expression, got {TYPE_NAMES[expr.type]}", op_tok
            )
        if param is not None and param.type != _PARAMETRIC[op]:
            raise self.error(
                f"expected type {TYPE_NAMES[_PARAMETRIC[op]]} in aggregation parameter, got {TYPE_NAMES[param.type]}",
                op_tok,
            )
        return Aggregate(op, expr, param, grouping, without)

    def call(self) -> Call:
        name_tok = self.advance()
        name = name_tok.text
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f'unknown function with name "{name}"', name_tok)
        open_tok = self.expect("(", "function call")
        args: list[Expr] = []
        while self.tok.kind != ")":
            if self.tok.kind == "eof":
                raise self.error("unclosed left parenthesis", open_tok)
            args.append(self.expression(0))
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                if self.tok.kind == "eof":
                    raise self.error("unclosed left parenthesis", open_tok)
                raise self.unexpected("function call")
        self.advance()
        required = len(spec.args) - spec.optional
        if spec.variadic:
            if len(args) < len(spec.args):
                raise self.error(
                    f'expected at least {len(spec.args)} argument(s) in call to "{name}", got {len(args)}', name_tok
                )
        elif spec.optional and not required <= len(args) <= len(spec.args):
            bound = "at least" if len(args) < required else "at most"
            count = required if len(args) < required else len(spec.args)
            raise self.error(f'expected {bound} {count} argument(s) in call to "{name}", got {len(args)}', name_tok)
        elif not spec.optional and len(args) != len(spec.args):
            raise self.error(f'expected {len(spec.args)} argument(s) in call to "{name}", got {len(args)}', name_tok)
        for index, arg in enumerate(args):
            wanted = spec.args[min(index, len(spec.args) - 1)]
            if arg.type != wanted:
                raise self.error(
                    f'expected type {TYPE_NAMES[wanted]} in call to function "{name}", got {TYPE_NAMES[arg.type]}',
                    name_tok,
                )
        return Call(name, tuple(args), spec.returns)


__all__ = ["AGGREGATIONS", "ARITHMETIC", "ParseError", "parse", "parse_selector"]
