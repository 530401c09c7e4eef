"""Field errors as the Kubernetes API server reports them: the ``Cause`` record, its reason
strings, and the exact text formatting of ``k8s.io/apimachinery/pkg/util/validation/field``.

This module owns how a validation failure *reads*: ``ErrorBody()`` (the ``message`` of a
Status cause), ``Error()`` (``<field>: <body>``), Go's ``%v``/``%q``/``json.Marshal``
renderings of bad values, and the aggregate messages of a 422 ``Invalid`` and of a 400
strict-decoding ``BadRequest``. It knows nothing about schemas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

# CauseType strings (apimachinery field.ErrorType, identical to metav1.CauseType values).
REQUIRED: Final = "FieldValueRequired"
INVALID: Final = "FieldValueInvalid"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
TYPE_INVALID: Final = "FieldValueTypeInvalid"
DUPLICATE: Final = "FieldValueDuplicate"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"
TOO_SHORT: Final = "FieldValueTooShort"
TOO_FEW: Final = "FieldValueTooFew"
FORBIDDEN: Final = "FieldValueForbidden"
NOT_FOUND: Final = "FieldValueNotFound"
INTERNAL: Final = "InternalError"
# Not a Kubernetes CauseType: the API server answers an unknown field under
# fieldValidation=Strict with a 400 BadRequest that has no causes at all. We still carry it as
# a Cause so one list can hold every rejection; ``is_decode_error`` tells the HTTP layer to
# answer 400 with ``strict_decoding_message`` instead of 422.
UNKNOWN_FIELD: Final = "FieldValueUnknown"
# Also not a CauseType: ObjectMeta that cannot be decoded (e.g. ``labels: "x"``) is a JSON
# decoding error, i.e. a 400 BadRequest, in the real server.
MALFORMED: Final = "FieldValueMalformed"

DECODE_REASONS: Final = frozenset({UNKNOWN_FIELD, MALFORMED})

# field.ErrorType.String(): the first words of every ErrorBody.
_TYPE_TEXT: Final[dict[str, str]] = {
    NOT_FOUND: "Not found",
    REQUIRED: "Required value",
    DUPLICATE: "Duplicate value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    TOO_FEW: "Too few",
    INTERNAL: "Internal error",
    TYPE_INVALID: "Invalid value",
    TOO_SHORT: "Too short",
}
# Types whose body never shows the bad value (ErrorBody's first case).
_VALUELESS: Final = frozenset({REQUIRED, FORBIDDEN, TOO_LONG, TOO_SHORT, INTERNAL})

# field.Path.String() of a nil path: kube-openapi composite errors (anyOf/oneOf/allOf/not)
# are converted with the nil root path, so real API servers really print "<nil>".
NIL_PATH: Final = "<nil>"


class _Omit:
    """Sentinel for field.TooMany with an unknown actual quantity (omitValue in Go)."""


OMIT: Final = _Omit()


@dataclass(frozen=True, slots=True)
class Cause:
    """One ``metav1.StatusCause``: ``reason`` is the CauseType, ``message`` is ErrorBody()."""

    field: str
    reason: str
    message: str

    def error(self) -> str:
        """``field.Error.Error()``: how the cause reads inside an aggregated message."""
        if self.reason in DECODE_REASONS:
            return self.message
        return f"{self.field}: {self.message}"


def is_decode_error(cause: Cause) -> bool:
    """True when the real server would reject with 400 BadRequest rather than 422 Invalid."""
    return cause.reason in DECODE_REASONS


# --- Go value rendering -------------------------------------------------------------------


def go_float(value: float) -> str:
    """``fmt.Sprintf("%v", float64)``: strconv 'g' with shortest digits, which switches to
    exponent form when the decimal exponent is < -4 or >= 6 (so 1e6 prints as ``1e+06``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(str(d) for d in digit_tuple).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # position of the decimal point relative to the digit string (strconv's digs.dp)
    dp = len(digit_tuple) + exponent
    exp = dp - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        esign = "-" if exp < 0 else "+"
        return f"{prefix}{mantissa}e{esign}{abs(exp):02d}"
    if dp <= 0:
        return f"{prefix}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return prefix + digits + "0" * (dp - len(digits))
    return f"{prefix}{digits[:dp]}.{digits[dp:]}"


_GO_ESCAPES: Final[dict[str, str]] = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """``strconv.Quote`` / ``%q``: printable runes kept, others escaped Go-style."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_jsonable(value: Any) -> Any:
    # Go's encoding/json writes float64(2) as "2"; Python would write "2.0".
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_jsonable(v) for v in value]
    return value


def go_json(value: Any) -> str:
    """``json.Marshal``: sorted keys, no spaces, HTML-safe escaping like Go."""
    text = json.dumps(_go_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def go_value(value: Any) -> str:
    """How ErrorBody renders a bad value: %v for numbers/bools, %q for strings, else JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_json(value)


def go_number(value: float | int) -> str:
    """``%v`` of a number that may be an int64 or a float64 in Go."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else go_float(float(value))


# --- constructors mirroring field.Required/Invalid/... ---------------------------------------


def body(reason: str, value: Any = None, detail: str = "", *, show_value: bool = True) -> str:
    """``field.Error.ErrorBody()`` for a reason, bad value and detail."""
    text = _TYPE_TEXT.get(reason, f"<unknown error {go_quote(reason)}>")
    if reason not in _VALUELESS and show_value and value is not OMIT:
        text = f"{text}: {go_value(value)}"
    if detail:
        text = f"{text}: {detail}"
    return text


def required(field: str, detail: str = "") -> Cause:
    return Cause(field, REQUIRED, body(REQUIRED, detail=detail))


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(field, INVALID, body(INVALID, value, detail))


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(field, TYPE_INVALID, body(TYPE_INVALID, value, detail))


def not_supported(field: str, value: Any, valid_values: Sequence[str]) -> Cause:
    detail = ""
    if valid_values:
        detail = "supported values: " + ", ".join(go_quote(v) for v in valid_values)
    return Cause(field, NOT_SUPPORTED, body(NOT_SUPPORTED, value, detail))


def duplicate(field: str, value: Any) -> Cause:
    return Cause(field, DUPLICATE, body(DUPLICATE, value))


def too_long(field: str, max_length: int) -> Cause:
    """field.TooLong (apimachinery >= 1.32 wording; older servers said "may not be longer than")."""
    if max_length >= 0:
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return Cause(field, TOO_LONG, body(TOO_LONG, detail=detail))


def too_many(field: str, actual: int, maximum: int) -> Cause:
    if maximum >= 0:
        unit = "item" if maximum == 1 else "items"
        detail = f"must have at most {maximum} {unit}"
    else:
        detail = "has too many items"
    value: Any = actual if actual >= 0 else OMIT
    return Cause(field, TOO_MANY, body(TOO_MANY, value, detail))


def unknown_field(path: str) -> Cause:
    """A strict-decoding rejection: the message is exactly the apiserver's error entry."""
    return Cause(path, UNKNOWN_FIELD, f'unknown field "{path}"')


# --- aggregate messages -------------------------------------------------------------------


def aggregate(errors: Iterable[str]) -> str:
    """``utilerrors.Aggregate.Error()``: one message as is, several deduplicated in [a, b]."""
    seen: list[str] = []
    for msg in errors:
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def invalid_message(group: str, kind: str, name: str, causes: Sequence[Cause]) -> str:
    """``errors.NewInvalid(...).Error()``: the Status message of a 422 Invalid response."""
    qualified = f"{kind}.{group}" if group else kind
    head = f"{qualified} {go_quote(name)} is invalid"
    if not causes:
        return head
    return f"{head}: {aggregate(c.error() for c in causes)}"


def bad_request_message(kind: str, version: str, causes: Sequence[Cause]) -> str:
    """The 400 BadRequest message for decode failures (``transformDecodeError``).

    Malformed ObjectMeta aborts JSON decoding at the first error, so only that error is shown;
    otherwise every unknown field is listed as one ``runtime.NewStrictDecodingError``.
    """
    head = f"{kind} in version {go_quote(version)} cannot be handled as a {kind}: "
    for cause in causes:
        if cause.reason == MALFORMED:
            return head + cause.message
    return head + strict_decoding_detail([c.message for c in causes if c.reason == UNKNOWN_FIELD])


def strict_decoding_detail(errors: Sequence[str]) -> str:
    """``strictDecodingError.Error()``: ``strict decoding error: e1, e2``."""
    return "strict decoding error: " + ", ".join(errors)
