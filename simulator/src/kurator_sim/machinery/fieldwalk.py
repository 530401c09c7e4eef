"""structured-merge-diff's walks over an object and its schema, on plain dicts.

Owns ``to_field_set`` (the paths an object sets), ``compare`` (added / modified / removed
paths between two versions), ``merge`` (an apply configuration laid over a live object),
``remove_items`` and ``ensure_named_fields_are_members``: ports of SMD's ``tofieldset.go``,
``compare.go``/``merge.go``, ``remove.go`` and ``fieldpath.Set.EnsureNamedFieldsAreMembers``.
Field sets are found again by the object's shape (``field_shape``: what they depend on, leaf
values left out), so objects of one shape share one set.

SMD walks *typed* values, where a non-pointer, non-omitempty field is never absent (it holds its
zero value), so it is never recorded as added as a whole. On dicts we know this only from the
``required`` marks in the kind's metadata; unmarked fields (all of a custom resource's, as for
the apiserver's unstructured objects) are recorded as added, which gives their ``"."``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kurator_sim.machinery.fieldpaths import FieldSet, Path, PathElement, path_string
from kurator_sim.machinery.patches import json_equal
from kurator_sim.machinery.patchmeta import ANY, PatchMeta

__all__ = [
    "ABSENT",
    "Comparison",
    "SchemaError",
    "compare",
    "ensure_named_fields_are_members",
    "field_set_and_repeats",
    "field_shape",
    "item_element",
    "merge",
    "remove_items",
    "to_field_set",
]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


# "No value here" (Go's nil Value), as opposed to an explicit JSON null (None).
ABSENT: Final = _Absent()


class SchemaError(ValueError):
    """An object that does not fit its schema (e.g. a keyed list item without its key); the
    apiserver answers these with 422/500 depending on where they surface."""


def item_element(list_node: PatchMeta, item: Any, index: int, path: Path = ()) -> PathElement:
    """The path element naming ``item`` inside a list of type ``list_node`` found at ``path``."""
    where = f"{path_string(path)}: " if path else ""
    if list_node.list_type == "map":
        if not isinstance(item, dict):
            raise SchemaError(f"{where}element {index}: expected map, got {item!r}")
        fields: dict[str, Any] = {}
        for key in list_node.list_keys:
            if key in item:
                fields[key] = item[key]
            elif key in list_node.key_defaults:
                fields[key] = list_node.key_defaults[key]
            else:
                raise SchemaError(
                    f'{where}element {index}: associative list with keys has an element that omits key field "{key}" '
                    "(and doesn't have default value)"
                )
        return PathElement.key(fields)
    if list_node.list_type == "set":
        if isinstance(item, dict | list):
            raise SchemaError(f"{where}element {index}: associative list without keys has an element that's a map type")
        return PathElement.value(item)
    return PathElement.index(index)


def _child(node: PatchMeta, pe: PathElement) -> PatchMeta:
    if pe.is_field:
        return node.child(str(pe.payload))
    return node.item()


def _is_granular_list(node: PatchMeta, value: Any) -> bool:
    return isinstance(value, list) and node.kind == "list" and node.list_type != "atomic"


def _is_granular_dict(node: PatchMeta, value: Any) -> bool:
    return isinstance(value, dict) and not node.atomic


# --------------------------------------------------------------------------- to_field_set


def to_field_set(value: Any, node: PatchMeta) -> FieldSet:
    """SMD ``TypedValue.ToFieldSet``: leaves, list items, map entries, empty maps and nulls."""
    return field_set_and_repeats(value, node)[0]


def field_set_and_repeats(value: Any, node: PatchMeta) -> tuple[FieldSet, bool]:
    """:func:`to_field_set`, and whether a granular list in ``value`` holds an item twice (what
    :func:`merge` into nothing drops; without such items it gives ``value`` back as it is).

    The set may be shared with other callers (see :func:`field_shape`): like every combined
    set, it must not be changed."""
    if not _has_below(value, node):
        return FieldSet(), False  # a leaf or an atomic root: the root itself is never a member
    shape = field_shape(value, node)
    if shape is None:
        return _field_set_and_repeats(value, node)
    key = (id(node), shape)
    hit = _SHAPES.get(key)
    if hit is not None and hit[0] is node:
        return hit[1], hit[2]
    out, repeats = _field_set_and_repeats(value, node)
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[key] = (node, out, repeats)
    return out, repeats


_SHAPES: dict[tuple[int, Hashable], tuple[PatchMeta, FieldSet, bool]] = {}
"""Field sets by node and shape. The node is kept with its set: its ``id`` stays its own."""
_SHAPES_KEPT: Final = 2048

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_CONTAINERS: Final = (dict, list)


def field_shape(value: Any, node: PatchMeta) -> Hashable | None:
    """What ``value``'s field set under ``node`` depends on, as a hashable value, or ``None``
    (not worth it, or a value :func:`to_field_set` refuses).

    Objects of one kind written by one client repeat in shape: the same keys, the same keyed
    items, only other leaf values (names, images, replica counts). Their field sets (and the
    managedFields encoding of them) are therefore equal, and this walk, which makes no sets
    and no path elements, finds them. It follows :func:`_fill` decision by decision: a key's
    entry is the key alone where ``_fill`` makes the key a member and nothing else (leaves,
    empty or atomic maps, atomic lists), ``(key, None)`` for an empty granular list and
    ``(key, shape)`` for what ``_fill`` descends into. A list item is its path element's
    content (key field values, a set value, or its position) with the shape below it; values
    carry their type where equality would confuse them (``1``, ``1.0`` and ``True``).
    """
    if isinstance(value, dict):
        return None if node.atomic else _dict_shape(value, node)
    if _is_granular_list(node, value):
        return _list_shape(value, node)
    return None


def _members_of(node: PatchMeta) -> tuple[Mapping[str, PatchMeta] | None, PatchMeta | None]:
    """How a map node's fields are typed: by name (a struct's ``fields``), or all alike
    (``fixed``: a map's element type, or the node itself when its type is deduced)."""
    if node.deduced:
        return None, node
    if node.kind == "struct":
        return node.fields, None
    return None, (node.elem or ANY) if node.kind == "map" else ANY


def _dict_shape(value: dict[str, Any], node: PatchMeta) -> tuple[Any, ...] | None:
    fields, fixed = _members_of(node)
    parts: list[Any] = []
    append = parts.append
    for key, sub in value.items():
        if not isinstance(sub, _CONTAINERS):
            append(key)  # a leaf: most entries (labels, annotations, requests, ...)
            continue
        if isinstance(sub, dict):
            if not sub:
                append(key)
                continue
            child = fixed if fields is None else fields.get(key, ANY)
            assert child is not None
            if child.atomic:
                append(key)
                continue
            below = _dict_shape(sub, child)
        else:
            child = fixed if fields is None else fields.get(key, ANY)
            assert child is not None
            if child.kind != "list" or child.list_type == "atomic":
                append(key)
                continue
            if not sub:
                append((key, None))
                continue
            below = _list_shape(sub, child)
        if below is None:
            return None
        append((key, below))
    return tuple(parts)


def _list_shape(value: list[Any], node: PatchMeta) -> tuple[Any, ...] | None:
    item_node = node.item()
    list_type = node.list_type
    parts: list[Any] = []
    for item in value:
        element: Any
        if list_type == "map":
            if not isinstance(item, dict):
                return None
            keys: list[Any] = []
            for name in node.list_keys:
                if name in item:
                    found = item[name]
                elif name in node.key_defaults:
                    found = node.key_defaults[name]
                else:
                    return None
                kind = type(found)
                if kind is str:
                    keys.append(found)
                elif kind in _SCALARS:
                    keys.append((kind, found))
                else:
                    return None
            element = tuple(keys)
        elif list_type == "set":
            kind = type(item)
            if kind is str:
                element = item
            elif kind in _SCALARS:
                element = (kind, item)
            else:
                return None
        else:
            element = None  # an index: the item's place in the shape says it
        below: Any = None
        if item and _has_below(item, item_node):
            below = _dict_shape(item, item_node) if isinstance(item, dict) else _list_shape(item, item_node)
            if below is None:
                return None
        parts.append((element, below))
    return tuple(parts)


def _field_set_and_repeats(value: Any, node: PatchMeta) -> tuple[FieldSet, bool]:
    out = FieldSet()
    try:
        repeats = _fill(value, node, out)
    except SchemaError:
        # The fast walk does not track paths; the path-tracking one raises the same error with
        # the path in its message.
        out = FieldSet()
        _to_set(value, node, (), out)
        repeats = True
    return out, repeats


def _has_below(value: Any, node: PatchMeta) -> bool:
    """Whether ``value``'s field set has paths below it (a granular map or list)."""
    if isinstance(value, dict):
        return not node.atomic
    return _is_granular_list(node, value)


def _fill(value: Any, node: PatchMeta, here: FieldSet) -> bool:
    """``_to_set`` for a granular ``value``, building the trie node by node (each insert is
    O(1), no path tuples) into ``here``, the set of paths relative to ``value``; whether a list
    in it holds an item twice."""
    members, children = here.members, here.children
    repeats = False
    if isinstance(value, dict):
        # PatchMeta.child, .declares and _has_below inlined: this loop runs for every field of
        # every object applied, and whether the node declares a field does not depend on which.
        field_name = PathElement.field_name
        declares = node.declares("")
        fields, fixed = _members_of(node)
        for key, sub in value.items():
            pe = field_name(key)
            child = fixed if fields is None else fields.get(key, ANY)
            assert child is not None
            if isinstance(sub, dict):
                below_ok = bool(sub) and not child.atomic
            elif isinstance(sub, list):
                if child.kind != "list" or child.list_type == "atomic":
                    members.add(pe)
                    continue
                below_ok = bool(sub)
            else:
                members.add(pe)
                continue
            if below_ok:
                below = FieldSet()
                if _fill(sub, child, below):
                    repeats = True
                if below.members or below.children:
                    children[pe] = below
                if not declares:
                    members.add(pe)
            elif isinstance(sub, list):
                if not declares:  # an empty granular list: a member only as a map entry
                    members.add(pe)
            else:
                members.add(pe)
        return repeats
    item_node = node.item()
    for i, item in enumerate(value):
        pe = item_element(node, item, i)
        if pe in members:
            repeats = True
        members.add(pe)
        if _has_below(item, item_node) and item:
            # A repeated item adds to what its first occurrence set, as inserting its paths would.
            known = children.get(pe)
            item_set = known if known is not None else FieldSet()
            if _fill(item, item_node, item_set):
                repeats = True
            if item_set.members or item_set.children:
                children[pe] = item_set
    return repeats


def _to_set(value: Any, node: PatchMeta, path: Path, out: FieldSet) -> None:
    if isinstance(value, dict):
        if node.atomic:
            out.insert(path)
            return
        for key, sub in value.items():
            child_path = (*path, PathElement.field_name(key))
            _to_set(sub, node.child(key), child_path, out)
            if sub is None or sub == {} or not node.declares(key):
                out.insert(child_path)
    elif isinstance(value, list):
        if not _is_granular_list(node, value):
            out.insert(path)
            return
        for i, item in enumerate(value):
            item_path = (*path, item_element(node, item, i, path))
            _to_set(item, node.item(), item_path, out)
            out.insert(item_path)
    else:
        out.insert(path)


def ensure_named_fields_are_members(fields: FieldSet, node: PatchMeta) -> FieldSet:
    """Also own the named struct fields on the way to each path (needed to remove them)."""
    out = FieldSet()
    out.members = set(fields.members)
    for pe, child in fields.children.items():
        if pe.is_field and node.kind == "struct" and node.declares(str(pe.payload)):
            out.members.add(pe)
        out.children[pe] = ensure_named_fields_are_members(child, _child(node, pe))
    return out


# --------------------------------------------------------------------------- merge / compare


@dataclass
class Comparison:
    """Paths ``added``, ``modified`` (leaf value changed) and ``removed`` from lhs to rhs."""

    added: FieldSet = field(default_factory=FieldSet)
    modified: FieldSet = field(default_factory=FieldSet)
    removed: FieldSet = field(default_factory=FieldSet)

    def is_same(self) -> bool:
        return self.added.empty() and self.modified.empty() and self.removed.empty()


_Leaf = Callable[[Any, Any, Path], Any]
_Hook = Callable[[Any, Any, Path], None]


def _walk(lhs: Any, rhs: Any, node: PatchMeta, path: Path, leaf: _Leaf, hook: _Hook | None, granular: bool) -> Any:
    """SMD mergingWalker: ``leaf`` decides leaves (and atomic/empty subtrees), ``hook`` sees
    every granular non-leaf node afterwards. Returns the merged value or ABSENT."""
    present = [v for v in (lhs, rhs) if v is not ABSENT and v is not None]
    shapes = {type(v) for v in present if isinstance(v, dict | list)}
    out: Any
    if len(shapes) == 1 and len(present) == sum(isinstance(v, dict | list) for v in present):
        sample = present[-1]
        if isinstance(sample, dict) and _is_granular_dict(node, sample):
            lmap = lhs if isinstance(lhs, dict) else {}
            rmap = rhs if isinstance(rhs, dict) else {}
            if lmap or rmap:
                out = _walk_map(lhs, rhs, lmap, rmap, node, path, leaf, hook)
                if hook is not None and (granular or not node.required):
                    hook(lhs, rhs, path)
                return out
        elif isinstance(sample, list) and _is_granular_list(node, sample):
            llist = lhs if isinstance(lhs, list) else []
            rlist = rhs if isinstance(rhs, list) else []
            if llist or rlist:
                out = _walk_list(llist, rlist, node, path, leaf, hook)
                if hook is not None and (granular or not node.required):
                    hook(lhs, rhs, path)
                return out
    return leaf(lhs, rhs, path)


def _walk_map(
    lhs: Any,
    rhs: Any,
    lmap: dict[str, Any],
    rmap: dict[str, Any],
    node: PatchMeta,
    path: Path,
    leaf: _Leaf,
    hook: _Hook | None,
) -> Any:
    out: dict[str, Any] = {}
    entries_granular = node.kind == "map" or node.deduced
    for key in [*lmap, *(k for k in rmap if k not in lmap)]:
        sub = _walk(
            lmap.get(key, ABSENT),
            rmap.get(key, ABSENT),
            node.child(key),
            (*path, PathElement.field_name(key)),
            leaf,
            hook,
            entries_granular,
        )
        if sub is not ABSENT:
            out[key] = sub
    return out if out else ABSENT


def _index_items(node: PatchMeta, items: list[Any], path: Path) -> tuple[list[PathElement], dict[PathElement, Any]]:
    order: list[PathElement] = []
    seen: dict[PathElement, Any] = {}
    for i, item in enumerate(items):
        pe = item_element(node, item, i, path)
        if pe in seen:
            continue  # repeated occurrences are ignored, as SMD does
        seen[pe] = item
        order.append(pe)
    return order, seen


def _walk_list(lhs: list[Any], rhs: list[Any], node: PatchMeta, path: Path, leaf: _Leaf, hook: _Hook | None) -> Any:
    r_order, r_seen = _index_items(node, rhs, path)
    l_order, l_seen = _index_items(node, lhs, path)
    shared = [pe for pe in r_order if pe in l_seen]
    out: list[Any] = []
    item_node = node.item()

    def visit(pe: PathElement) -> None:
        sub = _walk(l_seen.get(pe, ABSENT), r_seen.get(pe, ABSENT), item_node, (*path, pe), leaf, hook, True)
        if sub is not ABSENT:
            out.append(sub)

    next_shared = shared.pop(0) if shared else None
    li = ri = 0
    while li < len(l_order) or ri < len(r_order):
        if li < len(l_order) and ri < len(r_order):
            pe = l_order[li]
            if pe == r_order[ri]:
                visit(pe)
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in r_seen and next_shared is not None and next_shared != pe:
                li += 1  # a shared item, but not the one wanted in this round
                continue
        if li < len(l_order) and l_order[li] not in r_seen:
            visit(l_order[li])  # lhs-only item keeps its place
            li += 1
            continue
        if ri < len(r_order):
            pe = r_order[ri]
            visit(pe)
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out if out else ABSENT


def _rebuild(value: Any, node: PatchMeta) -> Any:
    """What merging ``value`` into nothing gives: granular maps and lists rebuilt, repeated
    list items dropped (the first occurrence wins), leaves and atomic subtrees shared."""
    if isinstance(value, dict):
        if not value or node.atomic:
            return value
        return {key: _rebuild(sub, node.child(key)) for key, sub in value.items()}
    if not value or not _is_granular_list(node, value):
        return value
    item_node = node.item()
    seen: set[PathElement] = set()
    out: list[Any] = []
    for i, item in enumerate(value):
        pe = item_element(node, item, i)
        if pe not in seen:
            seen.add(pe)
            out.append(_rebuild(item, item_node))
    return out


def merge(lhs: Any, rhs: Any, node: PatchMeta) -> Any:
    """SMD ``TypedValue.Merge``: ``rhs`` (the apply configuration) wins at every leaf and
    atomic subtree; maps and granular lists merge; lhs-only list items keep their place."""
    if isinstance(rhs, dict) and (lhs is ABSENT or (isinstance(lhs, dict) and not lhs)):
        # Nothing to merge into (an apply that creates): one walk over the configuration.
        try:
            return _rebuild(rhs, node)
        except SchemaError:
            pass  # the general walk raises it with the path in the message

    def keep_rhs(left: Any, right: Any, _path: Path) -> Any:
        return right if right is not ABSENT else left

    result = _walk(lhs, rhs, node, (), keep_rhs, None, False)
    return {} if result is ABSENT else result


def compare(lhs: Any, rhs: Any, node: PatchMeta) -> Comparison:
    """SMD ``TypedValue.Compare`` from ``lhs`` (old) to ``rhs`` (new)."""
    result = Comparison()

    def leaf(left: Any, right: Any, path: Path) -> Any:
        if left is ABSENT:
            result.added.insert(path)
        elif right is ABSENT:
            result.removed.insert(path)
        elif not json_equal(left, right):
            result.modified.insert(path)
        return right if right is not ABSENT else left

    def hook(left: Any, right: Any, path: Path) -> None:
        if left is ABSENT:
            result.added.insert(path)
        elif right is ABSENT:
            result.removed.insert(path)

    _walk(lhs, rhs, node, (), leaf, hook, False)
    return result


# --------------------------------------------------------------------------- remove


def remove_items(value: Any, to_remove: FieldSet, node: PatchMeta) -> Any:
    """SMD ``TypedValue.RemoveItems``: drop every member path of ``to_remove`` (and what is
    under it). Maps or lists emptied this way disappear (ABSENT at the root)."""
    if isinstance(value, dict):
        if not value or node.atomic:
            return ABSENT
        out: dict[str, Any] = {}
        for key, sub in value.items():
            pe = PathElement.field_name(key)
            if pe in to_remove.members:
                continue
            below = to_remove.children.get(pe)
            if below is not None and not below.empty():
                kept = remove_items(sub, below, node.child(key))
                if kept is ABSENT:
                    continue
                sub = kept
            out[key] = sub
        return out if out else ABSENT
    if isinstance(value, list):
        if not value or not _is_granular_list(node, value):
            return ABSENT
        items: list[Any] = []
        for i, item in enumerate(value):
            pe = item_element(node, item, i)
            if pe in to_remove.members:
                continue
            below = to_remove.children.get(pe)
            if below is not None and not below.empty():
                kept = remove_items(item, below, node.item())
                item = {} if kept is ABSENT else kept
            items.append(item)
        return items if items else ABSENT
    return value
