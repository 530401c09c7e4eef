"""The fast walks of server-side apply (field sets built node by node, merging into nothing)
give exactly what the general, path-tracking walks give."""

from __future__ import annotations

from typing import Any

import pytest

from kurator_sim.machinery import fieldwalk
from kurator_sim.machinery.fieldpaths import FieldSet
from kurator_sim.machinery.listkeys import ListKeyResolver
from kurator_sim.machinery.patchmeta import DEDUCED, PatchMeta

DEPLOYMENTS = ListKeyResolver.for_builtin("apps", "v1", "Deployment").root
PODS = ListKeyResolver.for_builtin("", "v1", "Pod").root
WIDGETS = ListKeyResolver.from_crd_schema(
    {
        "type": "object",
        "properties": {
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name", "protocol"],
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "protocol": {"type": "string", "default": "TCP"},
                                "port": {"type": "integer"},
                            },
                        },
                    },
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                    "args": {"type": "array", "items": {"type": "string"}},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "atomic": {"type": "object", "x-kubernetes-map-type": "atomic"},
                },
            },
        },
    }
).root

CASES: list[tuple[str, Any, PatchMeta]] = [
    (
        "deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}, "finalizers": ["a", "b", "a"]},
            "spec": {
                "replicas": 2,
                "paused": None,
                "selector": {"matchLabels": {"app": "web"}, "matchExpressions": []},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx",
                                "ports": [{"containerPort": 80}, {"containerPort": 80, "name": "again"}],
                                "env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}],
                                "resources": {"requests": {"cpu": "10m"}, "limits": {}},
                                "args": ["x", "x"],
                            },
                            {"name": "web", "image": "duplicate"},
                            {"name": "side", "image": "busybox", "command": []},
                        ],
                        "volumes": [],
                        "nodeSelector": {"zone": "a"},
                    },
                },
            },
            "status": {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]},
        },
        DEPLOYMENTS,
    ),
    (
        "pod",
        {
            "spec": {
                "containers": [{"name": "c", "ports": [{"containerPort": 1, "protocol": "UDP"}]}],
                "tolerations": [{}],
            }
        },
        PODS,
    ),
    (
        "widget",
        {
            "spec": {
                "ports": [{"name": "http", "port": 80}, {"name": "http", "protocol": "TCP", "port": 81}, {"name": "b"}],
                "tags": ["a", "b", "a"],
                "args": ["x", "x"],
                "extra": {"k": {"v": [1, {"x": None}]}, "e": {}},
                "atomic": {"a": {"b": 1}},
                "unknown": {"deep": [1, 2]},
            }
        },
        WIDGETS,
    ),
    ("deduced", {"a": {"b": {"c": 1}, "l": [1, 1], "e": {}}, "n": None}, DEDUCED),
    ("empty", {}, DEPLOYMENTS),
    ("scalar", 3, DEPLOYMENTS),
    ("list root", [{"x": 1}], DEDUCED),
]


def _slow_field_set(value: Any, node: PatchMeta) -> FieldSet:
    out = FieldSet()
    fieldwalk._to_set(value, node, (), out)
    return out


def _slow_merge(lhs: Any, rhs: Any, node: PatchMeta) -> Any:
    def keep_rhs(left: Any, right: Any, _path: Any) -> Any:
        return right if right is not fieldwalk.ABSENT else left

    result = fieldwalk._walk(lhs, rhs, node, (), keep_rhs, None, False)
    return {} if result is fieldwalk.ABSENT else result


@pytest.mark.parametrize(("value", "node"), [(v, n) for _, v, n in CASES], ids=[c[0] for c in CASES])
def test_field_sets_match_the_path_tracking_walk(value: Any, node: PatchMeta) -> None:
    fast = fieldwalk.to_field_set(value, node)
    slow = _slow_field_set(value, node)
    assert fast == slow
    assert fast.to_fields_v1() == slow.to_fields_v1()


@pytest.mark.parametrize(("value", "node"), [(v, n) for _, v, n in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("into", [{}, fieldwalk.ABSENT], ids=["empty", "absent"])
def test_merging_into_nothing_matches_the_general_walk(value: Any, node: PatchMeta, into: Any) -> None:
    assert fieldwalk.merge(into, value, node) == _slow_merge(into, value, node)


def test_a_keyed_item_without_its_key_names_its_path_either_way() -> None:
    bad = {"spec": {"ports": [{"port": 1}]}}
    with pytest.raises(fieldwalk.SchemaError, match=r"^\.spec\.ports: element 0: associative list"):
        fieldwalk.to_field_set(bad, WIDGETS)
    with pytest.raises(fieldwalk.SchemaError, match=r"^\.spec\.ports: element 0: associative list"):
        fieldwalk.merge({}, bad, WIDGETS)


def test_set_algebra_shares_untouched_sub_tries_without_changing_its_operands() -> None:
    value = CASES[0][1]
    fields = fieldwalk.to_field_set(value, DEPLOYMENTS)
    spec = fieldwalk.to_field_set({"spec": value["spec"]}, DEPLOYMENTS)
    before = fields.to_fields_v1()
    rest = fields.difference(spec)
    assert rest.to_fields_v1() == {k: v for k, v in before.items() if k != "f:spec"}
    both = rest.union(spec)
    assert both == fields
    assert fields.intersection(spec) == spec
    assert fields.to_fields_v1() == before
    assert spec == fieldwalk.to_field_set({"spec": value["spec"]}, DEPLOYMENTS)


def _variants() -> list[tuple[Any, PatchMeta]]:
    """Values that differ from one another in what their field sets depend on, each in pairs
    that differ only in leaf values (which the sets do not depend on)."""
    out: list[tuple[Any, PatchMeta]] = []
    for image, name in (("nginx", "a"), ("busybox", "b")):
        out.append(({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}, DEPLOYMENTS))
        out.append(({"spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}}, DEPLOYMENTS))
        out.append(({"metadata": {"labels": {"app": name}}, "spec": {"replicas": len(image)}}, DEPLOYMENTS))
        out.append(({"metadata": {"labels": {name: "x"}}}, DEPLOYMENTS))
    for tags in (["1"], [1], [True], [1.0], [0], [False], [None], ["a", "a"], ["a", "b"], []):
        out.append(({"spec": {"tags": tags}}, WIDGETS))
    for ports in ([{"name": "a", "port": 1}], [{"name": "a", "protocol": "TCP"}], [{"name": "a", "protocol": "UDP"}]):
        out.append(({"spec": {"ports": ports}}, WIDGETS))
    for extra in ({"k": 1}, {"k": {}}, {"k": []}, {"k": [1]}, {"k": {"j": None}}, {"k": None}):
        out.append(({"spec": {"extra": extra, "atomic": extra, "unknown": extra}}, WIDGETS))
    out.append(({"spec": {"template": {"spec": {"containers": [], "volumes": [{"name": "v"}]}}}}, DEPLOYMENTS))
    out.append(({"spec": {"template": {"spec": {"containers": {}}}}}, DEPLOYMENTS))
    return out


def test_field_sets_found_by_shape_match_the_path_tracking_walk_and_are_shared_only_within_a_shape() -> None:
    fieldwalk._SHAPES.clear()
    seen: dict[int, Any] = {}
    for value, node in _variants() * 2:
        fields, repeats = fieldwalk.field_set_and_repeats(value, node)
        slow = _slow_field_set(value, node)
        assert fields == slow, value
        assert fields.to_fields_v1() == slow.to_fields_v1(), value
        assert repeats == (fieldwalk.merge({}, value, node) != value), value
        shape = fieldwalk.field_shape(value, node)
        assert shape is not None
        # One set per shape, and shapes apart whenever their sets are.
        assert seen.setdefault(id(fields), (shape, fields.to_fields_v1()))[0] == shape


def test_leaf_values_do_not_change_the_shape_and_key_values_do() -> None:
    def shape(name: str, image: str, replicas: Any) -> Any:
        containers = [{"name": name, "image": image, "resources": {"requests": {"cpu": "10m"}}}]
        value = {"spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}}
        return fieldwalk.field_shape(value, DEPLOYMENTS)

    assert shape("web", "nginx", 1) == shape("web", "busybox", 3) == shape("web", "x", None)
    assert shape("web", "nginx", 1) != shape("side", "nginx", 1)


def test_values_the_fast_walk_refuses_have_no_shape_and_still_raise_with_their_path() -> None:
    for bad in ({"spec": {"ports": [{"port": 1}]}}, {"spec": {"ports": ["x"]}}, {"spec": {"tags": [{"a": 1}]}}):
        assert fieldwalk.field_shape(bad, WIDGETS) is None
        with pytest.raises(fieldwalk.SchemaError, match=r"^\.spec\.(ports|tags): element 0"):
            fieldwalk.to_field_set(bad, WIDGETS)
