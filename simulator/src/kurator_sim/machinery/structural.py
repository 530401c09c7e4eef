"""Compiled structural schemas: a CRD ``openAPIV3Schema`` (a plain dict) turned once into a
tree of ``Node`` objects that validation, pruning and defaulting walk quickly.

This module owns reading the schema dialect (JSONSchemaProps plus the ``x-kubernetes-*``
extensions) and the compile cache. Compiling keeps what the API server keeps: formats outside
the apiextensions supported list are dropped (``StripUnsupportedFormatsPostProcess``),
``x-kubernetes-int-or-string`` means type ``integer,string``, and patterns are precompiled.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

# apiextensions-apiserver pkg/apiserver/validation/formats.go: every other format (int32,
# int64, double, float, ...) is stripped before validation and never enforced.
SUPPORTED_FORMATS: Final = frozenset(
    {
        "bsonobjectid",
        "uri",
        "email",
        "hostname",
        "ipv4",
        "ipv6",
        "cidr",
        "mac",
        "uuid",
        "uuid3",
        "uuid4",
        "uuid5",
        "isbn",
        "isbn10",
        "isbn13",
        "creditcard",
        "ssn",
        "hexcolor",
        "rgbcolor",
        "byte",
        "password",
        "date",
        "duration",
        "datetime",
        "date-time",
    }
)

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``x-kubernetes-validations`` (CEL) rule; recorded, never evaluated."""

    rule: str
    message: str
    reason: str
    field_path: str


class Node:
    """One compiled schema node. Attributes mirror the JSONSchemaProps keywords we honour."""

    __slots__ = (
        "additional",
        "additional_any",
        "all_of",
        "any_of",
        "default",
        "defaults_below",
        "embedded",
        "enum",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "has_default",
        "items",
        "list_map_keys",
        "list_type",
        "max_items",
        "max_length",
        "max_properties",
        "maximum",
        "min_items",
        "min_length",
        "min_properties",
        "minimum",
        "multiple_of",
        "needs_walk",
        "not_",
        "nullable",
        "one_of",
        "pattern",
        "pattern_source",
        "preserve_unknown",
        "properties",
        "required",
        "rules",
        "type_name",
        "types",
        "unique_items",
    )

    def __init__(self) -> None:
        self.types: tuple[str, ...] = ()
        self.type_name = ""  # ",".join(types), as kube-openapi prints it
        self.nullable = False
        self.format = ""
        self.properties: dict[str, Node] = {}
        self.required: tuple[str, ...] = ()
        self.additional: Node | None = None
        # additionalProperties: true (no schema): values kept but, like the Go pruner's nil
        # schema, anything nested inside them is dropped.
        self.additional_any = False
        self.items: Node | None = None
        self.enum: list[Any] | None = None
        self.pattern: re.Pattern[str] | None = None
        self.pattern_source = ""
        self.minimum: float | int | None = None
        self.maximum: float | int | None = None
        self.exclusive_minimum = False
        self.exclusive_maximum = False
        self.multiple_of: float | int | None = None
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.min_properties: int | None = None
        self.max_properties: int | None = None
        self.unique_items = False
        self.all_of: tuple[Node, ...] = ()
        self.any_of: tuple[Node, ...] = ()
        self.one_of: tuple[Node, ...] = ()
        self.not_: Node | None = None
        self.preserve_unknown = False
        self.embedded = False
        self.list_type = ""
        self.list_map_keys: tuple[str, ...] = ()
        self.has_default = False
        self.default: Any = None
        self.rules: tuple[Rule, ...] = ()
        # True when this subtree holds an embedded resource or a set/map list, i.e. when the
        # field.Path walks (list uniqueness, embedded metadata) have anything to do below.
        self.needs_walk = False
        # True when this node or a node below it (through properties, additionalProperties or
        # items) declares a default, i.e. when defaulting has anything to do here.
        self.defaults_below = False


_INLINE_FLAGS: Final = re.compile(r"\(\?([ims]+)\)")


def _compile_pattern(source: str) -> re.Pattern[str] | None:
    # Go RE2 and Python re agree on the patterns CRDs use; the few RE2-only spellings are
    # translated, anything Python still rejects is skipped (the real server accepted the CRD).
    translated = source.replace("\\z", "\\Z")
    # RE2 allows flag groups anywhere (Istio: "^(?i)(abort|warn)?$"); Python only at the
    # start. Hoisting them is exact for the usual "^(?i)..." and close enough otherwise.
    flags = "".join(m.group(1) for m in _INLINE_FLAGS.finditer(translated))
    if flags and not translated.startswith("(?"):
        translated = f"(?{''.join(sorted(set(flags)))})" + _INLINE_FLAGS.sub("", translated)
    try:
        return re.compile(translated)
    except re.error:
        return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _number_or_none(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def compile_node(schema: dict[str, Any]) -> Node:
    """Compile one schema dict (recursively) into a ``Node``."""
    node = Node()
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    type_ = schema.get("type")
    if int_or_string:
        node.types = ("integer", "string")
    elif isinstance(type_, str) and type_:
        node.types = (type_,)
    node.type_name = ",".join(node.types)
    node.nullable = schema.get("nullable") is True
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in SUPPORTED_FORMATS:
        node.format = fmt
    props = schema.get("properties")
    if isinstance(props, dict):
        node.properties = {k: compile_node(v) for k, v in props.items() if isinstance(v, dict)}
    req = schema.get("required")
    if isinstance(req, list):
        node.required = tuple(r for r in req if isinstance(r, str))
    addl = schema.get("additionalProperties")
    if isinstance(addl, dict):
        node.additional = compile_node(addl)
    elif addl is True:
        node.additional_any = True
    items = schema.get("items")
    if isinstance(items, dict):
        node.items = compile_node(items)
    enum = schema.get("enum")
    if isinstance(enum, list):
        node.enum = enum
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and pattern:
        node.pattern_source = pattern
        node.pattern = _compile_pattern(pattern)
    node.minimum = _number_or_none(schema.get("minimum"))
    node.maximum = _number_or_none(schema.get("maximum"))
    node.exclusive_minimum = schema.get("exclusiveMinimum") is True
    node.exclusive_maximum = schema.get("exclusiveMaximum") is True
    node.multiple_of = _number_or_none(schema.get("multipleOf"))
    node.min_length = _int_or_none(schema.get("minLength"))
    node.max_length = _int_or_none(schema.get("maxLength"))
    node.min_items = _int_or_none(schema.get("minItems"))
    node.max_items = _int_or_none(schema.get("maxItems"))
    node.min_properties = _int_or_none(schema.get("minProperties"))
    node.max_properties = _int_or_none(schema.get("maxProperties"))
    node.unique_items = schema.get("uniqueItems") is True
    node.all_of = _compile_list(schema.get("allOf"))
    node.any_of = _compile_list(schema.get("anyOf"))
    node.one_of = _compile_list(schema.get("oneOf"))
    not_ = schema.get("not")
    if isinstance(not_, dict):
        node.not_ = compile_node(not_)
    node.preserve_unknown = schema.get("x-kubernetes-preserve-unknown-fields") is True
    node.embedded = schema.get("x-kubernetes-embedded-resource") is True
    list_type = schema.get("x-kubernetes-list-type")
    if isinstance(list_type, str):
        node.list_type = list_type
    keys = schema.get("x-kubernetes-list-map-keys")
    if isinstance(keys, list):
        node.list_map_keys = tuple(k for k in keys if isinstance(k, str))
    default = schema.get("default", _MISSING)
    if default is not _MISSING and default is not None:
        node.has_default = True
        node.default = default
    rules = schema.get("x-kubernetes-validations")
    if isinstance(rules, list):
        node.rules = tuple(
            Rule(
                rule=str(r.get("rule", "")),
                message=str(r.get("message", "")),
                reason=str(r.get("reason", "")),
                field_path=str(r.get("fieldPath", "")),
            )
            for r in rules
            if isinstance(r, dict)
        )
    children = [*node.properties.values(), node.additional, node.items]
    node.defaults_below = any(c is not None and (c.has_default or c.defaults_below) for c in children)
    node.needs_walk = (
        node.embedded or node.list_type in ("set", "map") or any(c is not None and c.needs_walk for c in children)
    )
    return node


def _compile_list(value: Any) -> tuple[Node, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(compile_node(v) for v in value if isinstance(v, dict))


# The cache keys on id(schema) and keeps the dict alive so the id cannot be reused while the
# entry exists. Schemas are treated as immutable once handed to us.
_CACHE_SIZE: Final = 512
_cache: OrderedDict[int, tuple[dict[str, Any], Node]] = OrderedDict()


def compiled(schema: dict[str, Any]) -> Node:
    """The compiled ``Node`` for ``schema``, compiling on first use (LRU-cached by identity)."""
    key = id(schema)
    hit = _cache.get(key)
    if hit is not None and hit[0] is schema:
        _cache.move_to_end(key)
        return hit[1]
    node = compile_node(schema)
    _cache[key] = (schema, node)
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return node


def clear_cache() -> None:
    """Forget every compiled schema (for tests and for CRD updates done in place)."""
    _cache.clear()
