"""PromQL tokens: the lexer of the query engine's PromQL subset.

Produces identifiers (metric names, label names, keywords, function names), numbers (decimal,
hexadecimal, scientific, ``Inf``/``NaN``), durations (``5m``, ``1h30m``), strings (double,
single or back-quoted, Go escapes), operators and punctuation. ``#`` starts a comment.
Errors are raised as :class:`ParseError` with Prometheus's ``<line>:<col>: parse error: ...``
position prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


class ParseError(Exception):
    """A query that does not parse; ``str()`` reads like Prometheus's parser errors."""

    def __init__(self, query: str, pos: int, message: str) -> None:
        line = query.count("\n", 0, pos) + 1
        col = pos - (query.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{line}:{col}: parse error: {message}")
        self.pos = pos


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    """``ident``, ``number``, ``duration``, ``string``, ``op``, or the punctuation itself."""
    text: str
    pos: int
    value: object = None

    def describe(self) -> str:
        """How Prometheus names a token in ``unexpected ...`` errors."""
        if self.kind == "eof":
            return "end of input"
        if self.kind == "ident":
            return f'identifier "{self.text}"'
        if self.kind == "number":
            return f'number "{self.text}"'
        if self.kind == "duration":
            return f'duration "{self.text}"'
        if self.kind == "string":
            return f"string {self.text}"
        names = {"(": "left parenthesis", ")": "right parenthesis", "{": "left brace", "}": "right brace"}
        names |= {"[": "left bracket", "]": "right bracket", ",": "comma", "=": "=", ":": "colon"}
        if self.kind in names:
            return f'"{self.text}"' if self.kind == "=" else names[self.kind]
        return f"<op:{self.text}>"


_DURATION: Final = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_NUMBER: Final = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IDENT: Final = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_OPERATORS: Final = ("==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<", "=")
_PUNCT: Final = "(){}[],:"
_DURATION_UNITS: Final[dict[str, float]] = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
_UNIT_ORDER: Final = ("y", "w", "d", "h", "m", "s", "ms")


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration (``1h30m``); units must be in decreasing order."""
    total = 0.0
    last = -1
    for number, unit in re.findall(r"([0-9]+)(ms|[smhdwy])", text):
        rank = _UNIT_ORDER.index(unit)
        if rank <= last:
            raise ValueError(f'not a valid duration string: "{text}"')
        last = rank
        total += int(number) * _DURATION_UNITS[unit]
    return total


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    n = len(query)
    while pos < n:
        ch = query[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch == "#":
            end = query.find("\n", pos)
            pos = n if end == -1 else end
            continue
        if ch in "\"'`":
            token, pos = _string(query, pos)
            tokens.append(token)
            continue
        if ch.isdigit() or (ch == "." and pos + 1 < n and query[pos + 1].isdigit()):
            duration = _DURATION.match(query, pos)
            number = _NUMBER.match(query, pos)
            if duration and (number is None or duration.end() >= number.end()):
                text = duration.group()
                try:
                    seconds = duration_seconds(text)
                except ValueError as exc:
                    raise ParseError(query, pos, str(exc)) from None
                tokens.append(Token("duration", text, pos, seconds))
                pos = duration.end()
                continue
            assert number is not None
            text = number.group()
            value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
            tokens.append(Token("number", text, pos, value))
            pos = number.end()
            continue
        ident = _IDENT.match(query, pos)
        if ident:
            tokens.append(Token("ident", ident.group(), pos))
            pos = ident.end()
            continue
        for op in _OPERATORS:
            if query.startswith(op, pos):
                tokens.append(Token("op", op, pos))
                pos += len(op)
                break
        else:
            if ch in _PUNCT:
                tokens.append(Token(ch, ch, pos))
                pos += 1
                continue
            raise ParseError(query, pos, f"unexpected character: {ch!r}")
    tokens.append(Token("eof", "", n))
    return tokens


_ESCAPES: Final[dict[str, str]] = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _string(query: str, start: int) -> tuple[Token, int]:
    quote = query[start]
    pos = start + 1
    out: list[str] = []
    while pos < len(query):
        ch = query[pos]
        if ch == quote:
            return Token("string", query[start : pos + 1], start, "".join(out)), pos + 1
        if ch == "\n" and quote != "`":
            break
        if ch == "\\" and quote != "`":
            pos += 1
            if pos >= len(query):
                break
            esc = query[pos]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
            elif esc in ("\\", quote, '"', "'"):
                out.append(esc)
            elif esc in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[esc]
                digits = query[pos + 1 : pos + 1 + width]
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    raise ParseError(query, pos, f"unknown escape sequence {esc!r}") from None
                pos += width
            else:
                raise ParseError(query, pos, f"unknown escape sequence {esc!r}")
            pos += 1
            continue
        out.append(ch)
        pos += 1
    raise ParseError(query, start, "unterminated quoted string")
