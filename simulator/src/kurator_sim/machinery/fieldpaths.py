"""Field paths and field sets in structured-merge-diff's model and wire format.

Owns ``PathElement`` (``f:<field>``, ``k:<json key object>``, ``v:<json value>``, ``i:<index>``),
``FieldSet`` (a trie of members and children with union/difference/intersection), the
``fieldsV1`` JSON form stored in ``metadata.managedFields`` (children sorted as SMD sorts them,
``"."`` for "the node itself" written before its children, as ``Set.ToJSON`` does) and the
human-readable path form (``.spec.containers[name="nginx"].image``) used in conflict messages.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["FieldSet", "Path", "PathElement", "path_string"]

_RANK_FIELD: Final = 0
_RANK_KEY: Final = 1
_RANK_VALUE: Final = 2
_RANK_INDEX: Final = 3


def _go_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (sorted keys, HTML-safe escapes, integral
    floats without a fraction)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        value = int(value)
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _value_order(value: Any) -> tuple[Any, ...]:
    """SMD ``value.Compare``: numbers < strings < bools < lists < maps < null."""
    if value is None:
        return (5,)
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(value[k])) for k in sorted(value)))
    return (6, repr(value))


def _value_string(value: Any) -> str:
    """SMD ``value.ToString`` (strings quoted, Go ``%v`` otherwise)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ",".join(_value_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_value_string(value[k])}" for k in sorted(value)) + "}"
    return str(value)


@dataclass(frozen=True, slots=True)
class PathElement:
    """One step of a field path. Equality and hashing use the serialized form, which is
    canonical (key fields sorted, compact JSON)."""

    text: str
    rank: int = field(compare=False)
    payload: Any = field(compare=False, hash=False)
    order: tuple[Any, ...] = field(compare=False, hash=False, repr=False)
    """``sort_key()``, computed once: every managedFields encoding sorts each level by it."""
    hashed: int = field(init=False, compare=False, repr=False)
    """``hash(text)``, computed once: field sets are sets and dicts of elements."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hashed", hash(self.text))

    def __hash__(self) -> int:
        return self.hashed

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, PathElement):
            return NotImplemented
        return self.text == other.text

    @staticmethod
    def field_name(name: str) -> PathElement:
        found = _FIELD_ELEMENTS.get(name)
        if found is None:
            found = PathElement("f:" + name, _RANK_FIELD, name, (_RANK_FIELD, name))
            if len(_FIELD_ELEMENTS) < _FIELD_ELEMENTS_KEPT:
                _FIELD_ELEMENTS[name] = found
        return found

    @staticmethod
    def key(fields: Mapping[str, Any]) -> PathElement:
        names = sorted(fields)
        text = "k:{" + ",".join(f"{_go_json(n)}:{_go_json(fields[n])}" for n in names) + "}"
        payload = tuple((n, fields[n]) for n in names)
        return PathElement(text, _RANK_KEY, payload, (_RANK_KEY, tuple((n, _value_order(v)) for n, v in payload)))

    @staticmethod
    def value(value: Any) -> PathElement:
        return PathElement("v:" + _go_json(value), _RANK_VALUE, value, (_RANK_VALUE, _value_order(value)))

    @staticmethod
    def index(i: int) -> PathElement:
        return PathElement(f"i:{i}", _RANK_INDEX, i, (_RANK_INDEX, i))

    @staticmethod
    def parse(text: str) -> PathElement:
        """Inverse of ``text`` (SMD ``DeserializePathElement``)."""
        if len(text) < 2 or text[1] != ":":
            raise ValueError(f"invalid path element: {text!r}")
        kind, body = text[0], text[2:]
        if kind == "f":
            return PathElement.field_name(body)
        if kind == "k":
            fields = json.loads(body)
            if not isinstance(fields, dict):
                raise ValueError(f"invalid key path element: {text!r}")
            return PathElement.key(fields)
        if kind == "v":
            return PathElement.value(json.loads(body))
        if kind == "i":
            return PathElement.index(int(body))
        raise ValueError(f"unknown path element type: {text!r}")

    @property
    def is_field(self) -> bool:
        return self.rank == _RANK_FIELD

    def sort_key(self) -> tuple[Any, ...]:
        """SMD's order of path elements: fields, then keys, values and indexes, each by value."""
        return self.order

    def __str__(self) -> str:
        if self.rank == _RANK_FIELD:
            return "." + str(self.payload)
        if self.rank == _RANK_KEY:
            return "[" + ",".join(f"{n}={_value_string(v)}" for n, v in self.payload) + "]"
        if self.rank == _RANK_VALUE:
            return f"[={_value_string(self.payload)}]"
        return f"[{self.payload}]"


Path = tuple[PathElement, ...]
_ORDER = operator.attrgetter("order")

# Field names repeat in every object of a kind; elements are immutable, so they are shared.
_FIELD_ELEMENTS: dict[str, PathElement] = {}
_FIELD_ELEMENTS_KEPT: Final = 10_000


def path_string(path: Path) -> str:
    """SMD ``Path.String``: ``.spec.template.spec.containers[name="nginx"].image``."""
    return "".join(str(pe) for pe in path)


class FieldSet:
    """A set of field paths, stored as a trie (SMD ``fieldpath.Set``).

    Build a set (``insert``, ``descend``) before combining it, never after: the results of
    ``union``/``difference``/``intersection`` share the sub-tries their operands leave intact.
    """

    __slots__ = ("children", "members")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, FieldSet] = {}

    # ----------------------------------------------------------------- building

    @classmethod
    def of(cls, *paths: Path) -> FieldSet:
        out = cls()
        for p in paths:
            out.insert(p)
        return out

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, FieldSet())
        node.members.add(path[-1])

    def descend(self, pe: PathElement) -> FieldSet:
        """The child set under ``pe``, created if missing (for building)."""
        return self.children.setdefault(pe, FieldSet())

    def copy(self) -> FieldSet:
        out = FieldSet()
        out.members = set(self.members)
        out.children = {pe: child.copy() for pe, child in self.children.items()}
        return out

    # ----------------------------------------------------------------- queries

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def has(self, path: Path) -> bool:
        if not path:
            return False
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
            if node is None:
                return False
        return node is not None and path[-1] in node.members

    def with_prefix(self, pe: PathElement) -> FieldSet:
        """The paths under ``pe``, with ``pe`` stripped (empty set if none)."""
        return self.children.get(pe) or FieldSet()

    def paths(self) -> Iterator[Path]:
        """Every path, members of a node before its children, each level in SMD order."""
        yield from self._paths(())

    def _paths(self, prefix: Path) -> Iterator[Path]:
        for pe in sorted(self.members, key=_ORDER):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=_ORDER):
            yield from self.children[pe]._paths((*prefix, pe))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return set(self.paths()) == set(other.paths())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FieldSet({[path_string(p) for p in self.paths()]})"

    # ----------------------------------------------------------------- algebra

    def union(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            mine, theirs = self.children.get(pe), other.children.get(pe)
            if mine is not None and theirs is not None:
                merged = mine.union(theirs)
            else:
                merged = mine if mine is not None else (theirs or FieldSet())
            if not merged.empty():
                out.children[pe] = merged
        return out

    def difference(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members - other.members
        for pe, mine in self.children.items():
            theirs = other.children.get(pe)
            rest = mine.difference(theirs) if theirs is not None else mine
            if not rest.empty():
                out.children[pe] = rest
        return out

    def intersection(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members & other.members
        for pe, mine in self.children.items():
            theirs = other.children.get(pe)
            if theirs is not None:
                common = mine.intersection(theirs)
                if not common.empty():
                    out.children[pe] = common
        return out

    # ----------------------------------------------------------------- wire format

    def to_fields_v1(self) -> dict[str, Any]:
        """The ``fieldsV1`` object of a managedFields entry."""
        return self._emit(include_self=False)

    def _emit(self, *, include_self: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        entries = sorted(self.members | self.children.keys(), key=_ORDER)
        if include_self and entries:
            out["."] = {}  # emitContentsV1 writes the node itself before its children
        children = self.children
        for pe in entries:
            child = children.get(pe)
            if child is not None and (child.members or not child.empty()):
                out[pe.text] = child._emit(include_self=pe in self.members)
            else:
                out[pe.text] = {}
        return out

    @classmethod
    def from_fields_v1(cls, data: Mapping[str, Any]) -> FieldSet:
        """Parse a ``fieldsV1`` object (SMD ``Set.FromJSON``); unknown element kinds are
        skipped, malformed ones raise ``ValueError``."""
        out = cls()
        for text, sub in data.items():
            if text == ".":
                continue
            try:
                pe = PathElement.parse(text)
            except ValueError:
                if text[:1] in ("f", "k", "v", "i") and text[1:2] == ":":
                    raise
                continue  # a future element kind: dropped, as SMD does
            sub = sub if isinstance(sub, Mapping) else {}
            grandchildren = cls.from_fields_v1(sub)
            if not sub or "." in sub:
                out.members.add(pe)
            if not grandchildren.empty():
                out.children[pe] = grandchildren
        return out
