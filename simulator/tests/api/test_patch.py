"""PATCH in all four flavours: JSON patch, JSON merge patch, strategic merge patch (built-ins
only) and server-side apply with field managers, conflicts and force."""

from __future__ import annotations

from typing import Any

import aiohttp

from kurator_sim.testing import call

DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
PP = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def deployment(name: str, *, replicas: int = 1, image: str = "nginx:1.25") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}, {"name": "sidecar", "image": "envoy"}]},
            },
        },
    }


def policy(name: str, clusters: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
            "placement": {"clusterAffinity": {"clusterNames": clusters}},
        },
    }


async def test_merge_patch_on_custom_resource(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", PP, policy("m", ["cluster-beijing"]))
    reply = await call(
        http, "PATCH", f"{PP}/m", {"metadata": {"labels": {"team": "a"}}, "spec": {"priority": 7}}, content_type=MERGE
    )
    assert reply.status == 200
    assert reply.body["metadata"]["labels"] == {"team": "a"}
    assert reply.body["spec"]["priority"] == 7
    assert reply.body["metadata"]["generation"] == 2


async def test_json_patch_on_custom_resource(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", PP, policy("j", ["cluster-beijing"]))
    ops = [
        {"op": "add", "path": "/spec/placement/clusterAffinity/clusterNames/-", "value": "cluster-shanghai"},
        {"op": "test", "path": "/metadata/name", "value": "j"},
    ]
    reply = await call(http, "PATCH", f"{PP}/j", ops, content_type=JSON_PATCH)
    assert reply.status == 200
    assert reply.body["spec"]["placement"]["clusterAffinity"]["clusterNames"] == ["cluster-beijing", "cluster-shanghai"]
    failed = await call(
        http, "PATCH", f"{PP}/j", [{"op": "test", "path": "/metadata/name", "value": "x"}], content_type=JSON_PATCH
    )
    assert failed.status == 422


async def test_strategic_merge_patch_merges_containers_by_name(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", DEPLOY, deployment("smp"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}
    reply = await call(http, "PATCH", f"{DEPLOY}/smp", patch, content_type=STRATEGIC)
    assert reply.status == 200
    containers = reply.body["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.26"), ("sidecar", "envoy")]
    # A JSON merge patch replaces the list instead.
    merged = await call(http, "PATCH", f"{DEPLOY}/smp", patch, content_type=MERGE)
    assert [c["name"] for c in merged.body["spec"]["template"]["spec"]["containers"]] == ["web"]


async def test_strategic_merge_patch_is_unsupported_for_custom_resources(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", PP, policy("s", ["cluster-beijing"]))
    reply = await call(http, "PATCH", f"{PP}/s", {"spec": {"priority": 1}}, content_type=STRATEGIC)
    assert reply.status == 415
    assert reply.body["reason"] == "UnsupportedMediaType"
    assert "application/merge-patch+json" in reply.body["message"]
    other = await call(http, "PATCH", f"{PP}/s", {"spec": {}}, content_type="text/plain")
    assert other.status == 415


async def test_patch_missing_object_is_not_found(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "PATCH", f"{PP}/ghost", {"spec": {}}, content_type=MERGE)
    assert reply.status == 404


async def test_patch_with_stale_resource_version_conflicts(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", PP, policy("rv", ["cluster-beijing"]))).body
    await call(http, "PATCH", f"{PP}/rv", {"spec": {"priority": 1}}, content_type=MERGE)
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "spec": {"priority": 2}}
    reply = await call(http, "PATCH", f"{PP}/rv", stale, content_type=MERGE)
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"


async def test_force_on_a_non_apply_patch_is_invalid(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", PP, policy("f", ["cluster-beijing"]))
    reply = await call(http, "PATCH", f"{PP}/f?force=true", {"spec": {}}, content_type=MERGE)
    assert reply.status == 422


async def test_server_side_apply_creates_then_conflicts_then_forces(http: aiohttp.ClientSession) -> None:
    config = policy("ssa", ["cluster-beijing"])
    created = await call(http, "PATCH", f"{PP}/ssa?fieldManager=alice", config, content_type=APPLY)
    assert created.status == 201
    entry = created.body["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("alice", "Apply")

    # The same manager re-applying is fine.
    again = await call(http, "PATCH", f"{PP}/ssa?fieldManager=alice", config, content_type=APPLY)
    assert again.status == 200

    other = policy("ssa", ["cluster-shanghai"])
    conflict = await call(http, "PATCH", f"{PP}/ssa?fieldManager=bob", other, content_type=APPLY)
    assert conflict.status == 409
    assert conflict.body["reason"] == "Conflict"
    assert conflict.body["message"].startswith("Apply failed with 1 conflict")
    cause = conflict.body["details"]["causes"][0]
    assert cause["reason"] == "FieldManagerConflict"
    assert cause["field"] == ".spec.placement.clusterAffinity.clusterNames"
    assert '"alice"' in cause["message"]

    forced = await call(http, "PATCH", f"{PP}/ssa?fieldManager=bob&force=true", other, content_type=APPLY)
    assert forced.status == 200
    assert forced.body["spec"]["placement"]["clusterAffinity"]["clusterNames"] == ["cluster-shanghai"]


async def test_server_side_apply_needs_a_field_manager(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "PATCH", f"{PP}/nofm", policy("nofm", []), content_type=APPLY)
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "fieldManager"


async def test_server_side_apply_accepts_yaml(http: aiohttp.ClientSession) -> None:
    body = b"""apiVersion: v1
kind: ConfigMap
metadata:
  name: from-yaml
data:
  key: value
"""
    reply = await call(
        http, "PATCH", "/api/v1/namespaces/default/configmaps/from-yaml?fieldManager=me", body, content_type=APPLY
    )
    assert reply.status == 201
    assert reply.body["data"] == {"key": "value"}


async def test_update_after_apply_takes_ownership(http: aiohttp.ClientSession) -> None:
    await call(http, "PATCH", f"{DEPLOY}/own?fieldManager=applier", deployment("own", replicas=2), content_type=APPLY)
    await call(http, "PATCH", f"{DEPLOY}/own?fieldManager=scaler", {"spec": {"replicas": 5}}, content_type=MERGE)
    obj = (await call(http, "GET", f"{DEPLOY}/own")).body
    owners = {m["manager"]: m for m in obj["metadata"]["managedFields"]}
    assert "f:replicas" in owners["scaler"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners["applier"]["fieldsV1"]["f:spec"]
    # The applier now conflicts on replicas.
    reapply = await call(
        http, "PATCH", f"{DEPLOY}/own?fieldManager=applier", deployment("own", replicas=2), content_type=APPLY
    )
    assert reapply.status == 409


async def test_dry_run_patch_changes_nothing(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", PP, policy("dry", ["cluster-beijing"]))
    reply = await call(http, "PATCH", f"{PP}/dry?dryRun=All", {"spec": {"priority": 3}}, content_type=MERGE)
    assert reply.body["spec"]["priority"] == 3
    assert (await call(http, "GET", f"{PP}/dry")).body["spec"].get("priority", 0) == 0


async def test_apply_to_the_status_subresource(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", DEPLOY, deployment("st"))
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "st"}, "status": {"replicas": 1}}
    reply = await call(http, "PATCH", f"{DEPLOY}/st/status?fieldManager=ctrl", status, content_type=APPLY)
    assert reply.status == 200
    assert reply.body["status"] == {"replicas": 1}
    entries = {
        (m["manager"], m["operation"], m.get("subresource", "")) for m in reply.body["metadata"]["managedFields"]
    }
    assert ("ctrl", "Apply", "status") in entries
