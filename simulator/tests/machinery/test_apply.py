"""Server-side apply and managedFields tracking, checked against the apiserver's wire format."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kurator_sim.machinery.apply import LAST_APPLIED_ANNOTATION, ApplyConflict, ApplyError, apply, track_update
from kurator_sim.machinery.fieldpaths import FieldSet, PathElement, path_string
from kurator_sim.machinery.listkeys import ListKeyResolver
from kurator_sim.machinery.managedfields import manager_from_user_agent, manager_or_user_agent

DEPLOYMENTS = ListKeyResolver.for_builtin("apps", "v1", "Deployment")
CONFIG_MAPS = ListKeyResolver.for_builtin("", "v1", "ConfigMap")
T0, T1, T2, T3 = ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z")


def deployment(*, replicas: int = 2, image: str = "nginx:1.25", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


def test_apply_creates_with_the_apiserver_managed_fields_shape() -> None:
    obj = apply(None, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T0)
    assert without_managed_fields(obj) == deployment()
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"nginx"}': {
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        'k:{"containerPort":80,"protocol":"TCP"}': {"f:containerPort": {}, ".": {}}
                                    },
                                    ".": {},
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    # The serialized key order is SMD's Set.ToJSON: "." first, then children in SMD order.
    containers = obj["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(containers['k:{"name":"nginx"}']) == [".", "f:image", "f:name", "f:ports"]


def test_reapplying_the_same_configuration_is_a_complete_no_op() -> None:
    live = apply(None, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T0)
    again = apply(live, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T1)
    # managedFieldsUpdater only stamps a new time when the object changed.
    assert again == live


def test_changing_a_value_updates_the_time() -> None:
    live = apply(None, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T0)
    out = apply(live, deployment(image="nginx:1.26"), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert entries(out)["kubectl", "Apply"]["time"] == T1


def _created_by_client_side_apply() -> dict[str, Any]:
    return track_update(
        None, deployment(replicas=3), manager="kubectl-client-side-apply", now=T0, list_keys=DEPLOYMENTS
    )


def test_conflict_on_replicas_owned_by_another_manager() -> None:
    live = _created_by_client_side_apply()
    with pytest.raises(ApplyConflict) as exc:
        apply(live, deployment(replicas=5), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T1)
    err = exc.value
    assert err.conflicts == [("kubectl-client-side-apply", ".spec.replicas")]
    assert (
        err.message
        == 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert err.causes == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    status = err.status()
    assert (status["code"], status["reason"], status["status"]) == (409, "Conflict", "Failure")


def test_same_value_is_shared_ownership_not_a_conflict() -> None:
    live = _created_by_client_side_apply()
    out = apply(live, deployment(replicas=3), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T1)
    owners = entries(out)
    assert "f:replicas" in owners["ci", "Apply"]["fieldsV1"]["f:spec"]
    assert "f:replicas" in owners["kubectl-client-side-apply", "Update"]["fieldsV1"]["f:spec"]


def test_force_takes_ownership() -> None:
    live = _created_by_client_side_apply()
    out = apply(live, deployment(replicas=5), manager="ci", force=True, list_keys=DEPLOYMENTS, now=T1)
    assert out["spec"]["replicas"] == 5
    owners = entries(out)
    assert "f:replicas" in owners["ci", "Apply"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners["kubectl-client-side-apply", "Update"]["fieldsV1"]["f:spec"]


def test_several_conflicts_are_listed_by_manager() -> None:
    live = _created_by_client_side_apply()
    with pytest.raises(ApplyConflict) as exc:
        apply(live, deployment(replicas=5, image="nginx:2"), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert exc.value.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )


def test_fields_dropped_from_the_configuration_are_removed() -> None:
    live = apply(
        None,
        deployment(labels={"app": "web", "tier": "front"}),
        manager="kubectl",
        force=False,
        list_keys=DEPLOYMENTS,
        now=T0,
    )
    out = apply(live, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert entries(out)["kubectl", "Apply"]["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_dropped_field_still_owned_by_someone_else_is_kept() -> None:
    live = apply(None, deployment(replicas=3), manager="a", force=False, list_keys=DEPLOYMENTS, now=T0)
    live = apply(live, deployment(replicas=3), manager="b", force=False, list_keys=DEPLOYMENTS, now=T1)
    config = deployment()
    del config["spec"]["replicas"]
    out = apply(live, config, manager="a", force=False, list_keys=DEPLOYMENTS, now=T2)
    assert out["spec"]["replicas"] == 3
    assert "f:replicas" not in entries(out)["a", "Apply"]["fieldsV1"]["f:spec"]


def test_dropped_container_is_removed_but_unowned_defaults_stay() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "s:1"})
    live = apply(None, two, manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T0)
    # A server-side default nobody owns (as the apiserver's defaulting would add).
    live["spec"]["revisionHistoryLimit"] = 10
    out = apply(live, deployment(), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert out["spec"]["revisionHistoryLimit"] == 10


def test_update_tracking_for_a_label_change_by_kubectl_label() -> None:
    created = track_update(None, deployment(), manager="kubectl-create", now=T0, list_keys=DEPLOYMENTS)
    create_fields = entries(created)["kubectl-create", "Update"]["fieldsV1"]
    # Fields added with a whole new map record the map itself too ("." on f:labels).
    assert create_fields["f:metadata"] == {"f:labels": {"f:app": {}, ".": {}}}
    labelled = copy.deepcopy(created)
    labelled["metadata"]["labels"]["env"] = "prod"
    labelled["metadata"]["labels"]["app"] = "site"
    out = track_update(created, labelled, manager="kubectl-label", now=T1, list_keys=DEPLOYMENTS)
    owners = entries(out)
    assert owners["kubectl-label", "Update"] == {
        "manager": "kubectl-label",
        "operation": "Update",
        "apiVersion": "apps/v1",
        "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:env": {}}}},
    }
    # kubectl-create loses the label it no longer set; the labels map itself stays its.
    assert owners["kubectl-create", "Update"]["fieldsV1"]["f:metadata"] == {"f:labels": {}}
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-label"]


def test_update_without_changes_records_nothing() -> None:
    created = track_update(None, deployment(), manager="kubectl-create", now=T0, list_keys=DEPLOYMENTS)
    out = track_update(created, copy.deepcopy(created), manager="kubectl-edit", now=T1, list_keys=DEPLOYMENTS)
    assert out == created


def test_update_of_an_object_without_managed_fields_is_not_tracked() -> None:
    old = deployment()
    new = deployment(replicas=4)
    assert (
        "managedFields" not in track_update(old, new, manager="kubectl-edit", now=T1, list_keys=DEPLOYMENTS)["metadata"]
    )


def test_update_can_reset_managed_fields() -> None:
    created = track_update(None, deployment(), manager="kubectl-create", now=T0, list_keys=DEPLOYMENTS)
    reset = copy.deepcopy(created)
    reset["metadata"]["managedFields"] = [{}]
    out = track_update(created, reset, manager="kubectl-edit", now=T1, list_keys=DEPLOYMENTS)
    assert "managedFields" not in out["metadata"]


def test_update_strips_identity_metadata() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "uid": "u", "resourceVersion": "1"},
        "data": {"a": "1"},
    }
    out = track_update(None, obj, manager="OpenAPI-Generator", now=T0, list_keys=CONFIG_MAPS)
    assert out["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:a": {}, ".": {}}}


def test_kubectl_server_side_apply_upgrades_from_client_side_apply() -> None:
    # Client-side apply recorded replicas=3 in last-applied; live still has 3. kubectl's
    # server-side apply may then take the field over without --force-conflicts.
    created = deployment(replicas=3)
    created["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: json.dumps(deployment(replicas=3)) + "\n"}
    live = track_update(None, created, manager="kubectl-client-side-apply", now=T0, list_keys=DEPLOYMENTS)
    out = apply(live, deployment(replicas=5), manager="kubectl", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert out["spec"]["replicas"] == 5
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])["spec"]["replicas"] == 5
    # Another manager name gets no such allowance.
    with pytest.raises(ApplyConflict):
        apply(live, deployment(replicas=5), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T1)


def test_first_apply_to_an_object_without_managed_fields_conflicts_with_before_first_apply() -> None:
    with pytest.raises(ApplyConflict) as exc:
        apply(deployment(replicas=3), deployment(replicas=4), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T1)
    assert exc.value.conflicts == [("before-first-apply", ".spec.replicas")]


def test_status_is_ignored_on_the_main_resource() -> None:
    config = deployment()
    config["status"] = {"replicas": 9}
    out = apply(None, config, manager="ci", force=False, list_keys=DEPLOYMENTS, now=T0, ignored_fields=[("status",)])
    assert "f:status" not in entries(out)["ci", "Apply"]["fieldsV1"]


def test_apply_rejects_managed_fields_and_wrong_versions() -> None:
    config = deployment()
    config["metadata"]["managedFields"] = []
    with pytest.raises(ApplyError) as exc:
        apply(None, config, manager="ci", force=False, list_keys=DEPLOYMENTS, now=T0)
    assert (exc.value.code, exc.value.message) == (400, "metadata.managedFields must be nil")
    with pytest.raises(ApplyError) as exc:
        apply(None, deployment(), manager="ci", force=False, list_keys=DEPLOYMENTS, now=T0, api_version="apps/v1beta1")
    assert exc.value.message == (
        "Incorrect version specified in apply patch. Specified patch version: apps/v1, expected: apps/v1beta1"
    )


CRD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
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
            },
        },
    },
}


def widget(ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"ports": ports, **spec},
    }


def test_crd_list_map_keys_from_the_schema() -> None:
    resolver = ListKeyResolver.from_crd_schema(CRD_SCHEMA)
    assert resolver.list_type(("spec", "ports")).keys == ("name", "protocol")
    live = apply(
        None,
        widget([{"name": "http", "port": 80}], tags=["a"], args=["x"], extra={"k": {"v": 1}}),
        manager="one",
        force=False,
        list_keys=resolver,
        now=T0,
    )
    assert entries(live)["one", "Apply"]["fieldsV1"] == {
        "f:spec": {
            "f:args": {},
            "f:extra": {"f:k": {"f:v": {}, ".": {}}},
            "f:ports": {'k:{"name":"http","protocol":"TCP"}': {"f:name": {}, "f:port": {}, ".": {}}},
            "f:tags": {'v:"a"': {}},
        }
    }
    live = apply(live, widget([{"name": "grpc", "port": 90}]), manager="two", force=False, list_keys=resolver, now=T1)
    assert [p["name"] for p in live["spec"]["ports"]] == ["http", "grpc"]
    # "one" drops its port: only its item goes, the other manager's stays.
    out = apply(live, widget([], tags=["a"], args=["x"]), manager="one", force=False, list_keys=resolver, now=T2)
    assert out["spec"]["ports"] == [{"name": "grpc", "port": 90}]
    assert "extra" not in out["spec"]


def test_crd_lists_without_a_list_type_are_atomic() -> None:
    resolver = ListKeyResolver.from_crd_schema(CRD_SCHEMA)
    assert resolver.list_type(("spec", "args")).list_type == "atomic"
    live = apply(None, widget([], args=["a", "b"]), manager="one", force=False, list_keys=resolver, now=T0)
    with pytest.raises(ApplyConflict) as exc:
        apply(live, widget([], args=["c"]), manager="two", force=False, list_keys=resolver, now=T1)
    assert exc.value.conflicts == [("one", ".spec.args")]


def test_keyed_item_without_its_key_is_refused() -> None:
    resolver = ListKeyResolver.from_crd_schema(CRD_SCHEMA)
    with pytest.raises(ApplyError) as exc:
        apply(None, widget([{"port": 1}]), manager="one", force=False, list_keys=resolver, now=T0)
    assert (exc.value.code, exc.value.message) == (
        500,
        "failed to create typed patch object (example.com/v1, Kind=Widget): .spec.ports: element 0: "
        'associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    )


def test_fields_v1_round_trip_and_path_strings() -> None:
    raw = {
        "f:metadata": {"f:finalizers": {'v:"a"': {}, ".": {}}},
        "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {"f:port": {}, ".": {}}}, "f:list": {"i:0": {}}},
    }
    fields = FieldSet.from_fields_v1(raw)
    assert fields.to_fields_v1() == raw
    assert sorted(path_string(p) for p in fields.paths()) == [
        ".metadata.finalizers",
        '.metadata.finalizers[="a"]',
        ".spec.list[0]",
        '.spec.ports[port=80,protocol="TCP"]',
        '.spec.ports[port=80,protocol="TCP"].port',
    ]
    assert PathElement.key({"protocol": "TCP", "port": 80}).text == 'k:{"port":80,"protocol":"TCP"}'


def test_manager_name_from_the_user_agent() -> None:
    assert manager_from_user_agent("OpenAPI-Generator/33.3.0+snapshot/python") == "OpenAPI-Generator"
    assert manager_from_user_agent("kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd") == "kubectl"
    assert manager_or_user_agent("kubectl-patch", "kubectl/v1.32.4") == "kubectl-patch"
    assert len(manager_from_user_agent("x" * 300)) == 128


def test_create_by_client_side_apply_matches_the_apiserver_update_entry() -> None:
    # Shape of a real kubectl-client-side-apply entry for a defaulted pod template: new optional
    # fields (annotations, ports, securityContext) carry ".", non-omitempty ones (containers,
    # spec, template) do not, empty structs are leaves.
    obj = deployment()
    obj["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: "{}\n"}
    pod = obj["spec"]["template"]["spec"]
    pod["containers"][0].update(ports=[{"containerPort": 80, "protocol": "TCP"}], resources={})
    pod["securityContext"] = {}
    out = track_update(None, obj, manager="kubectl-client-side-apply", now=T0, list_keys=DEPLOYMENTS)
    fields = entries(out)["kubectl-client-side-apply", "Update"]["fieldsV1"]
    assert fields["f:metadata"]["f:annotations"] == {".": {}, f"f:{LAST_APPLIED_ANNOTATION}": {}}
    assert fields["f:spec"]["f:template"]["f:spec"] == {
        "f:containers": {
            'k:{"name":"nginx"}': {
                ".": {},
                "f:image": {},
                "f:name": {},
                "f:ports": {
                    ".": {},
                    'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}, "f:protocol": {}},
                },
                "f:resources": {},
            }
        },
        "f:securityContext": {},
    }
    assert next(iter(fields["f:metadata"]["f:annotations"])) == "."


def test_custom_resource_create_records_added_structs() -> None:
    resolver = ListKeyResolver.from_crd_schema(CRD_SCHEMA)
    out = track_update(None, widget([], args=["a"]), manager="kubectl-create", now=T0, list_keys=resolver)
    # An empty list is a leaf (SMD emptyPromoteToLeaf), so `ports: []` is owned too.
    assert entries(out)["kubectl-create", "Update"]["fieldsV1"] == {"f:spec": {".": {}, "f:args": {}, "f:ports": {}}}


def test_an_apply_that_creates_drops_repeated_list_items_only_when_there_are_any() -> None:
    keys = ListKeyResolver.for_builtin("", "v1", "ConfigMap")
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "finalizers": ["x", "y"]}}
    created = apply(None, plain, manager="m", force=False, list_keys=keys, now="2026-01-01T00:00:00Z")
    assert created["metadata"]["finalizers"] == ["x", "y"]
    assert "managedFields" not in plain["metadata"]  # the configuration's own metadata is left alone
    repeated = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "finalizers": ["x", "y", "x"]}}
    created = apply(None, repeated, manager="m", force=False, list_keys=keys, now="2026-01-01T00:00:00Z")
    assert created["metadata"]["finalizers"] == ["x", "y"]


@pytest.mark.parametrize("manager", ["kurator-fleet", "kubectl"])
def test_an_apply_that_creates_gives_what_the_general_path_gives_and_shares_only_the_encoding(manager: str) -> None:
    # The general path runs for a live object that has nothing in it; an apply that creates
    # takes its own way, with the fields worked out once per shape of configuration.
    widgets = ListKeyResolver.from_crd_schema(CRD_SCHEMA)
    annotated = deployment(labels={"app": "web", "tier": "front"})
    annotated["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: "{}\n", "note": "x"}
    configs: list[tuple[dict[str, Any], ListKeyResolver, list[tuple[str, ...]]]] = [
        (deployment(), DEPLOYMENTS, [("status",)]),
        (deployment(replicas=5, image="busybox"), DEPLOYMENTS, [("status",)]),
        (deployment(labels={"other": "web"}), DEPLOYMENTS, [("status",)]),
        (annotated, DEPLOYMENTS, []),
        ({**deployment(), "status": {"replicas": 1}}, DEPLOYMENTS, [("status",)]),
        ({**deployment(), "status": {"replicas": 1}}, DEPLOYMENTS, [("spec",)]),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["x", "x"]}}, CONFIG_MAPS, []),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, CONFIG_MAPS, []),
        (widget([{"name": "http", "port": 80}], args=["a"]), widgets, []),
        (widget([{"name": "grpc", "port": 81}], args=["b"]), widgets, []),
    ]
    encodings: dict[int, str] = {}
    for config, keys, ignored in configs * 2:
        kwargs: dict[str, Any] = {"manager": manager, "force": False, "list_keys": keys, "now": T1}
        created = apply(None, copy.deepcopy(config), ignored_fields=ignored, **kwargs)
        general = apply({}, copy.deepcopy(config), ignored_fields=ignored, **kwargs)
        assert created == general
        for entry in created["metadata"].get("managedFields", []):
            text = json.dumps(entry["fieldsV1"], sort_keys=True)
            assert encodings.setdefault(id(entry["fieldsV1"]), text) == text
    assert len(encodings) < len(configs)  # repeated shapes share their encoding
