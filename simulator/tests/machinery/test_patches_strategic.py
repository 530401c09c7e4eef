"""Strategic merge patch on built-in kinds, including the patches kubectl's client-side apply sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kurator_sim.machinery.patches import PatchError
from kurator_sim.machinery.patchmeta import PatchMeta
from kurator_sim.machinery.strategic import patch_meta_for, smp_unsupported, strategic_merge


def _meta(group: str, version: str, kind: str) -> PatchMeta:
    meta = patch_meta_for(group, version, kind)
    assert meta is not None
    return meta


DEPLOYMENT = _meta("apps", "v1", "Deployment")
POD = _meta("", "v1", "Pod")
SERVICE = _meta("", "v1", "Service")
CONFIG_MAP = _meta("", "v1", "ConfigMap")


def _deployment(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
            **spec,
        },
    }


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def _patch_containers(containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": containers, **extra}}}}


def test_containers_merge_by_name_and_keep_order() -> None:
    live = _deployment([{"name": "app", "image": "app:1", "args": ["-v"]}, {"name": "sidecar", "image": "s:1"}])
    out = strategic_merge(live, _patch_containers([{"name": "sidecar", "image": "s:2"}]), kind_schema=DEPLOYMENT)
    assert _containers(out) == [{"name": "app", "image": "app:1", "args": ["-v"]}, {"name": "sidecar", "image": "s:2"}]
    assert _containers(live)[1]["image"] == "s:1"  # input untouched


def test_new_container_without_element_order_goes_first() -> None:
    # mergeSortedSlice only puts a server item first when the live list orders it before the
    # patch item; a brand-new item is in no live order, so it wins the tie and leads.
    live = _deployment([{"name": "app", "image": "app:1"}])
    out = strategic_merge(live, _patch_containers([{"name": "metrics", "image": "m:1"}]), kind_schema=DEPLOYMENT)
    assert [c["name"] for c in _containers(out)] == ["metrics", "app"]


def test_patch_delete_directive_removes_a_container() -> None:
    live = _deployment([{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "s:1"}])
    out = strategic_merge(live, _patch_containers([{"$patch": "delete", "name": "sidecar"}]), kind_schema=DEPLOYMENT)
    assert _containers(out) == [{"name": "app", "image": "app:1"}]


def test_patch_replace_directive_on_a_list() -> None:
    live = _deployment([{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "s:1"}])
    patch = _patch_containers([{"name": "only", "image": "o:1"}, {"$patch": "replace"}])
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert _containers(out) == [{"name": "only", "image": "o:1"}]


def test_patch_replace_directive_on_a_map() -> None:
    live = _deployment([{"name": "app", "image": "app:1"}])
    patch = {"spec": {"selector": {"$patch": "replace", "matchLabels": {"tier": "web"}}}}
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert out["spec"]["selector"] == {"matchLabels": {"tier": "web"}}


def test_patch_delete_directive_on_a_map_empties_it() -> None:
    live = {"metadata": {"name": "a", "labels": {"x": "1"}}}
    out = strategic_merge(live, {"metadata": {"labels": {"$patch": "delete"}}}, kind_schema=POD)
    assert out["metadata"]["labels"] == {}


def test_set_element_order_reorders_the_merged_list() -> None:
    live = _deployment([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}])
    patch = _patch_containers(
        [{"name": "a", "image": "a:2"}],
        **{"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]},
    )
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert [(c["name"], c["image"]) for c in _containers(out)] == [("c", "c:1"), ("a", "a:2"), ("b", "b:1")]


def test_set_element_order_interleaves_server_only_items_by_live_order() -> None:
    # "server" sat before "b" in the live list, so it stays before "b"; the patch items take
    # the $setElementOrder order among themselves.
    live = _deployment([{"name": "a"}, {"name": "server"}, {"name": "b"}])
    patch = _patch_containers([], **{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]})
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert [c["name"] for c in _containers(out)] == ["server", "b", "a"]


def test_retain_keys_clears_fields_not_listed() -> None:
    live = _deployment(
        [{"name": "app"}], strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    )
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_rejects_patch_keys_missing_from_the_list() -> None:
    live = _deployment([{"name": "app"}], strategy={"type": "RollingUpdate"})
    patch = {"spec": {"strategy": {"$retainKeys": ["rollingUpdate"], "type": "Recreate"}}}
    with pytest.raises(PatchError) as exc:
        strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert (exc.value.code, exc.value.reason, exc.value.message) == (
        400,
        "BadRequest",
        "invalid patch format of retainKeys",
    )


def test_retain_keys_on_a_volume_switches_its_source() -> None:
    live = {"spec": {"volumes": [{"name": "data", "emptyDir": {}}]}}
    patch = {"spec": {"volumes": [{"$retainKeys": ["name", "hostPath"], "name": "data", "hostPath": {"path": "/d"}}]}}
    out = strategic_merge(live, patch, kind_schema=POD)
    assert out["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/d"}}]


def test_finalizers_merge_as_a_set() -> None:
    live = {"metadata": {"name": "a", "finalizers": ["x", "y"]}}
    out = strategic_merge(live, {"metadata": {"finalizers": ["y", "z"]}}, kind_schema=POD)
    assert out["metadata"]["finalizers"] == ["x", "y", "z"]


def test_delete_from_primitive_list_on_finalizers() -> None:
    live = {"metadata": {"name": "a", "finalizers": ["x", "y", "z"]}}
    out = strategic_merge(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["y"]}}, kind_schema=POD)
    assert out["metadata"]["finalizers"] == ["x", "z"]


def test_delete_from_primitive_list_on_a_missing_list_is_a_no_op() -> None:
    live = {"metadata": {"name": "a"}}
    out = strategic_merge(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["y"]}}, kind_schema=POD)
    assert out == {"metadata": {"name": "a"}}


def test_null_deletes_fields_and_map_entries() -> None:
    live = {"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}, "spec": {"nodeName": "n1"}}
    out = strategic_merge(live, {"metadata": {"labels": {"x": None}}, "spec": {"nodeName": None}}, kind_schema=POD)
    assert out == {"metadata": {"name": "a", "labels": {"y": "2"}}, "spec": {}}


def test_nulls_in_a_new_subtree_are_dropped() -> None:
    out = strategic_merge({"metadata": {"name": "a"}}, {"metadata": {"labels": {"x": "1", "y": None}}}, kind_schema=POD)
    assert out["metadata"]["labels"] == {"x": "1"}


def test_tolerations_are_replaced_not_merged() -> None:
    live = {"spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}}
    out = strategic_merge(live, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}, kind_schema=POD)
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_env_ports_and_volume_mounts_merge_by_their_keys() -> None:
    live = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                }
            ]
        }
    }
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                    "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 9090}],
                    "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                }
            ]
        }
    }
    container = strategic_merge(live, patch, kind_schema=POD)["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert container["ports"] == [{"containerPort": 80, "name": "web"}, {"containerPort": 9090}]
    assert container["volumeMounts"] == [{"mountPath": "/data", "name": "data", "readOnly": True}]


def test_service_ports_merge_by_port() -> None:
    live = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = strategic_merge(live, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, kind_schema=SERVICE)
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_owner_references_merge_by_uid() -> None:
    live = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}}
    out = strategic_merge(live, {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}}, kind_schema=CONFIG_MAP)
    assert [r["uid"] for r in out["metadata"]["ownerReferences"]] == ["2", "1"]


def test_conditions_merge_by_type() -> None:
    live = {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}]}}
    out = strategic_merge(live, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, kind_schema=POD)
    assert out["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Scheduled", "status": "True"},
    ]


def test_configmap_data_merges_as_a_map() -> None:
    live = {"data": {"a": "1", "b": "2"}}
    out = strategic_merge(live, {"data": {"b": None, "c": "3"}}, kind_schema=CONFIG_MAP)
    assert out["data"] == {"a": "1", "c": "3"}


def test_missing_merge_key_is_unclassified_500() -> None:
    live = _deployment([{"name": "app"}])
    with pytest.raises(PatchError) as exc:
        strategic_merge(live, _patch_containers([{"image": "x"}]), kind_schema=DEPLOYMENT)
    assert exc.value.code == 500
    assert exc.value.message == "map: map[image:x] does not contain declared merge key: name"


def test_unknown_directive_is_rejected() -> None:
    with pytest.raises(PatchError) as exc:
        strategic_merge({"metadata": {}}, {"metadata": {"$patch": "frobnicate"}}, kind_schema=POD)
    assert exc.value.message.startswith("unknown patch type: frobnicate in map:")


def test_bad_set_element_order_prefix_is_400() -> None:
    with pytest.raises(PatchError) as exc:
        strategic_merge({"spec": {}}, {"spec": {"$setElementOrder": []}}, kind_schema=POD)
    assert (exc.value.code, exc.value.message) == (400, "invalid patch format of setElementOrder list")


def test_custom_resources_have_no_strategic_merge() -> None:
    assert patch_meta_for("stable.example.com", "v1", "CronTab") is None
    err = smp_unsupported()
    assert (err.code, err.reason) == (415, "UnsupportedMediaType")
    assert err.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )


def test_kubectl_client_side_apply_patch_on_a_deployment() -> None:
    """The three-way patch kubectl 1.27-1.33 sends when a manifest changes an image, drops an
    env var, replaces a sidecar by a new container and stops setting replicas."""
    live = _deployment(
        [
            {
                "name": "app",
                "image": "app:1",
                "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            },
            {"name": "sidecar", "image": "s:1"},
        ]
    )
    live["metadata"]["annotations"] = {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": '{"old":true}\n',
    }
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"new":true}\n'}},
        "spec": {
            "replicas": None,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}, {"name": "metrics"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"$patch": "delete", "name": "B"}],
                            "image": "app:2",
                            "name": "app",
                        },
                        {"image": "m:1", "name": "metrics"},
                        {"$patch": "delete", "name": "sidecar"},
                    ],
                }
            },
        },
    }
    before = copy.deepcopy(live)
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert live == before
    assert out["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": '{"new":true}\n',
    }
    assert "replicas" not in out["spec"]
    assert _containers(out) == [
        {"name": "app", "image": "app:2", "imagePullPolicy": "IfNotPresent", "env": [{"name": "A", "value": "1"}]},
        {"image": "m:1", "name": "metrics"},
    ]
    assert out["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_kubectl_apply_patch_adding_a_container_in_front() -> None:
    live = _deployment([{"name": "app", "image": "app:1"}])
    patch = _patch_containers(
        [{"image": "init:1", "name": "first"}],
        **{"$setElementOrder/containers": [{"name": "first"}, {"name": "app"}]},
    )
    out = strategic_merge(live, patch, kind_schema=DEPLOYMENT)
    assert [c["name"] for c in _containers(out)] == ["first", "app"]


def test_directives_never_leak_into_new_subtrees() -> None:
    live = {"metadata": {"name": "a"}, "spec": {}}
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "app", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "A"}]}],
        }
    }
    out = strategic_merge(live, patch, kind_schema=POD)
    assert out["spec"] == {"containers": [{"name": "app", "env": [{"name": "A"}]}]}
