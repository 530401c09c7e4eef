"""OpenAPI value validation of a custom resource, mirroring ``k8s.io/kube-openapi``'s
``validate.SchemaValidator`` as the API server runs it on CRD objects, and the conversion of
its results to field errors (``apiextensions-apiserver`` ``kubeOpenAPIResultToFieldErrors``).

Owns: which keyword is checked in which order, kube-openapi's message texts
(``spec.x in body should be greater than or equal to 0``), kube-openapi's paths (``.`` for
properties *and* map keys, ``[i]`` for list items) and the choice of Cause reason per failure.
It does not prune, default or check list-type uniqueness.

Per node the validators run in kube-openapi's order: type, allOf/oneOf/anyOf/not, string,
format, number, array, enum, object. Properties are visited in schema order (Go visits them in
random map order), then ``required``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

from kurator_sim.machinery import fielderrors as fe
from kurator_sim.machinery.fielderrors import Cause
from kurator_sim.machinery.jsonvalues import json_equal, json_type
from kurator_sim.machinery.structural import Node, Rule

# (path, rule) pairs of CEL rules found on present values; filled when requested.
RuleSink = list[tuple[str, Rule]]


def validate_value(node: Node, data: Any, path: str = "", rules: RuleSink | None = None) -> list[Cause]:
    """Validate ``data`` against a compiled schema; ``path`` is the kube-openapi path prefix."""
    out: list[Cause] = []
    _validate(node, data, path, out, rules)
    return out


def _field(path: str) -> str:
    # kubeOpenAPIResultToFieldErrors: an empty error name keeps the nil root path
    return path if path else fe.NIL_PATH


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _go_data_format(data: Any) -> str:
    # typeValidator.schemaInfoForType: the "format" kube-openapi infers from a Go value
    if isinstance(data, bool):
        return ""
    if isinstance(data, int):
        return "int64"
    if isinstance(data, float):
        return "float64"
    return ""


def _validate(node: Node, data: Any, path: str, out: list[Cause], rules: RuleSink | None) -> None:
    if data is None:
        if node.types and not node.nullable:
            out.append(
                fe.type_invalid(_field(path), "null", f'{path} in body must be of type {node.type_name}: "null"')
            )
        if node.enum is not None:
            _enum(node, data, path, out)
        return
    if rules is not None and node.rules:
        rules.extend((path, rule) for rule in node.rules)
    jtype = json_type(data)
    types = node.types

    # 1. type
    if types or node.format:
        _type_check(node, data, jtype, path, out)

    # 2. allOf / oneOf / anyOf / not (value validations only: they never prune or default)
    if node.any_of or node.one_of or node.all_of or node.not_ is not None:
        _schema_props(node, data, path, out)

    # 3. string + 4. format
    if jtype == "string":
        _string(node, data, path, out)
        if node.format:
            _format(node, data, path, out)
    # 5. number
    elif jtype == "integer" or jtype == "number":
        _number(node, data, path, out)
    # 6. array
    elif jtype == "array":
        _array(node, data, path, out, rules)

    # 7. enum
    if node.enum is not None:
        _enum(node, data, path, out)

    # 8. object
    if jtype == "object":
        _object(node, data, path, out, rules)


def _type_check(node: Node, data: Any, jtype: str, path: str, out: list[Cause]) -> None:
    types = node.types
    numeric_type = "integer" in types or "number" in types
    if node.format and jtype not in ("string", "array"):
        data_format = _go_data_format(data)
        is_float_int = jtype == "number" and "integer" in types and float(data).is_integer()
        is_int_float = jtype == "integer" and "number" in types
        if not (jtype in types or data_format == node.format or is_float_int or is_int_float):
            out.append(
                fe.type_invalid(
                    _field(path),
                    data_format,
                    f"{path} in body must be of type {node.format}: {fe.go_quote(data_format)}",
                )
            )
            return
    if not numeric_type and node.format and jtype in ("string", "array"):
        return
    if not types:
        return
    if jtype in types:
        return
    if jtype == "number" and "integer" in types and float(data).is_integer():
        return
    if jtype == "integer" and "number" in types:
        return
    out.append(fe.type_invalid(_field(path), jtype, f'{path} in body must be of type {node.type_name}: "{jtype}"'))


def _branch(node: Node, data: Any, path: str) -> list[Cause]:
    sub: list[Cause] = []
    _validate(node, data, path, sub, None)
    return sub


def _composite(path: str, text: str) -> Cause:
    # errors.New(CompositeErrorCode, ...) is not a *Validation, so the apiserver reports it as
    # field.Invalid(nil path, "", err.Error()).
    return fe.invalid(fe.NIL_PATH, "", text)


def _schema_props(node: Node, data: Any, path: str, out: list[Cause]) -> None:
    if node.any_of:
        best: list[Cause] | None = None
        succeeded = False
        for branch in node.any_of:
            sub = _branch(branch, data, path)
            if not sub:
                succeeded = True
                best = None
                break
            # kube-openapi keeps the branch with the highest MatchCount; fewest errors is our
            # stand-in for it (ties keep the first branch, as in Go)
            if best is None or len(sub) < len(best):
                best = sub
        if not succeeded:
            out.append(_composite(path, f"{fe.go_quote(path)} must validate at least one schema (anyOf)"))
            if best:
                out.extend(best)
    if node.one_of:
        best = None
        validated = 0
        for branch in node.one_of:
            sub = _branch(branch, data, path)
            if not sub:
                validated += 1
                best = None
                continue
            if validated == 0 and (best is None or len(sub) < len(best)):
                best = sub
        if validated != 1:
            extra = "Found none valid" if validated == 0 else f"Found {validated} valid alternatives"
            out.append(_composite(path, f"{fe.go_quote(path)} must validate one and only one schema (oneOf). {extra}"))
            if best:
                out.extend(best)
    if node.all_of:
        validated = 0
        for branch in node.all_of:
            sub = _branch(branch, data, path)
            if not sub:
                validated += 1
            out.extend(sub)
        if validated != len(node.all_of):
            extra = ". None validated" if validated == 0 else ""
            out.append(_composite(path, f"{fe.go_quote(path)} must validate all the schemas (allOf){extra}"))
    if node.not_ is not None and not _branch(node.not_, data, path):
        out.append(_composite(path, f"{fe.go_quote(path)} must not validate the schema (not)"))


def _string(node: Node, data: str, path: str, out: list[Cause]) -> None:
    # stringValidator returns at the first failure: maxLength, then minLength, then pattern
    if node.max_length is not None and len(data) > node.max_length:
        out.append(fe.too_long(_field(path), node.max_length))
        return
    if node.min_length is not None and len(data) < node.min_length:
        out.append(fe.invalid(_field(path), data, f"{path} in body should be at least {node.min_length} chars long"))
        return
    if node.pattern is not None and node.pattern.search(data) is None:
        out.append(fe.invalid(_field(path), data, f"{path} in body should match '{node.pattern_source}'"))


def _number(node: Node, data: int | float, path: str, out: list[Cause]) -> None:
    is_int = isinstance(data, int)
    if node.multiple_of is not None:
        _multiple_of(node.multiple_of, data, is_int, path, out)
    if node.minimum is not None:
        bound: int | float = int(node.minimum) if is_int else float(node.minimum)
        excl = node.exclusive_minimum
        if data < bound or (excl and data == bound):
            rel = "greater than" if excl else "greater than or equal to"
            out.append(fe.invalid(_field(path), data, f"{path} in body should be {rel} {fe.go_number(bound)}"))
    if node.maximum is not None:
        bound = int(node.maximum) if is_int else float(node.maximum)
        excl = node.exclusive_maximum
        if data > bound or (excl and data == bound):
            rel = "less than" if excl else "less than or equal to"
            out.append(fe.invalid(_field(path), data, f"{path} in body should be {rel} {fe.go_number(bound)}"))


def _multiple_of(factor: float | int, data: int | float, is_int: bool, path: str, out: list[Cause]) -> None:
    if is_int:
        ifactor = int(factor)
        if ifactor < 0:
            out.append(
                fe.invalid(_field(path), data, f"factor MultipleOf declared for {path} must be positive: {ifactor}")
            )
            return
        if ifactor != 0 and int(data) % ifactor != 0:
            out.append(fe.invalid(_field(path), data, f"{path} in body should be a multiple of {ifactor}"))
        return
    ffactor = float(factor)
    if ffactor < 0:
        out.append(
            fe.invalid(
                _field(path), data, f"factor MultipleOf declared for {path} must be positive: {fe.go_float(ffactor)}"
            )
        )
        return
    if ffactor == 0:
        return
    mult = (1 / ffactor) * data if ffactor < 1 else data / ffactor
    if not math.isfinite(mult) or abs(mult - round(mult)) > 1e-9 * max(1.0, abs(mult)):
        out.append(fe.invalid(_field(path), data, f"{path} in body should be a multiple of {fe.go_float(ffactor)}"))


def _array(node: Node, data: list[Any], path: str, out: list[Cause], rules: RuleSink | None) -> None:
    items = node.items
    if items is not None:
        for i, item in enumerate(data):
            _validate(items, item, f"{path}[{i}]", out, rules)
    size = len(data)
    if node.min_items is not None and size < node.min_items:
        out.append(fe.invalid(_field(path), size, f"{path} in body should have at least {node.min_items} items"))
    if node.max_items is not None and size > node.max_items:
        out.append(fe.too_many(_field(path), size, node.max_items))
    if node.unique_items:
        for i, item in enumerate(data):
            if any(json_equal(item, earlier) for earlier in data[:i]):
                out.append(fe.invalid(_field(path), "", f"{path} in body shouldn't contain duplicates"))
                break


def _enum(node: Node, data: Any, path: str, out: list[Cause]) -> None:
    enum = node.enum
    assert enum is not None
    if data is not None and any(json_equal(data, allowed) for allowed in enum):
        return
    values = [v if isinstance(v, str) else fe.go_json(v) for v in enum]
    out.append(fe.not_supported(_field(path), data, values))


def _object(node: Node, data: dict[str, Any], path: str, out: list[Cause], rules: RuleSink | None) -> None:
    count = len(data)
    # objectValidator returns only this error when the property count is out of range
    if node.min_properties is not None and count < node.min_properties:
        out.append(
            fe.invalid(_field(path), count, f"{path} in body should have at least {node.min_properties} properties")
        )
        return
    if node.max_properties is not None and count > node.max_properties:
        out.append(fe.too_many(_field(path), count, node.max_properties))
        return
    props = node.properties
    addl = node.additional
    if addl is not None:
        for key, value in data.items():
            if key not in props:
                _validate(addl, value, _join(path, key), out, rules)
    for key, sub in props.items():
        if key in data:
            _validate(sub, data[key], _join(path, key), out, rules)
    for key in node.required:
        if key not in data:
            out.append(fe.required(_join(path, key)))


# --- formats (kube-openapi strfmt, for the formats CRDs keep) ------------------------------

_DATE_TIME: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_HOSTNAME: Final = re.compile(
    r"^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+$")
_MAC: Final = re.compile(r"^(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
_DURATION: Final = re.compile(
    r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$"
    r"|^\d+\s*(?:ns|us|ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours"
    r"|d|day|days|w|wk|week|weeks)$"
)
_BSON: Final = re.compile(r"^[0-9a-fA-F]{24}$")
_HEXCOLOR: Final = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGBCOLOR: Final = re.compile(r"^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$")


def _is_date_time(text: str) -> bool:
    match = _DATE_TIME.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_uuid(text: str, version: int | None = None) -> bool:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return False
    return version is None or parsed.version == version


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date-time": _is_date_time,
    "datetime": _is_date_time,
    "date": _is_date,
    "byte": _is_base64,
    "uuid": _is_uuid,
    "uuid3": lambda t: _is_uuid(t, 3),
    "uuid4": lambda t: _is_uuid(t, 4),
    "uuid5": lambda t: _is_uuid(t, 5),
    "ipv4": lambda t: _is_ip(t, 4),
    "ipv6": lambda t: _is_ip(t, 6),
    "cidr": _is_cidr,
    "mac": lambda t: _MAC.match(t) is not None,
    "hostname": lambda t: _HOSTNAME.match(t) is not None,
    "email": lambda t: _EMAIL.match(t) is not None,
    "duration": lambda t: _DURATION.match(t) is not None,
    "bsonobjectid": lambda t: _BSON.match(t) is not None,
    "hexcolor": lambda t: _HEXCOLOR.match(t) is not None,
    "rgbcolor": lambda t: _RGBCOLOR.match(t) is not None,
}


def _format(node: Node, data: str, path: str, out: list[Cause]) -> None:
    # uri, isbn*, creditcard, ssn and password are accepted as is (not worth simulating)
    check = _FORMATS.get(node.format)
    if check is not None and not check(data):
        out.append(
            fe.type_invalid(_field(path), data, f"{path} in body must be of type {node.format}: {fe.go_quote(data)}")
        )
