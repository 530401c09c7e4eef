"""Create, get, list, replace, delete and delete-collection over HTTP, with the apiserver's
answers: codes, Status errors, server-set metadata, selectors and paging."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from multidict import MultiDict

from kurator_sim import testing
from kurator_sim.api.options import NO_LIST_OPTIONS, ListOptions
from kurator_sim.testing import call

CM = "/api/v1/namespaces/default/configmaps"
PP = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
            "placement": {"clusterAffinity": {"clusterNames": ["cluster-beijing"]}},
        },
    }


async def test_create_sets_server_fields(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, configmap("a", x="1"))
    assert reply.status == 201
    meta = reply.body["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"]
    assert meta["resourceVersion"]
    assert meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["managedFields"][0]["operation"] == "Update"
    got = await call(http, "GET", f"{CM}/a")
    assert got.status == 200
    assert got.body["data"] == {"x": "1"}
    assert got.body["metadata"]["uid"] == meta["uid"]


async def test_default_field_manager_comes_from_the_user_agent(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, configmap("ua", x="1"), headers={"User-Agent": "kubectl/v1.33.1 (linux)"})
    assert reply.body["metadata"]["managedFields"][0]["manager"] == "kubectl"
    named = await call(http, "POST", CM + "?fieldManager=mine", configmap("named", x="1"))
    assert named.body["metadata"]["managedFields"][0]["manager"] == "mine"


async def test_create_twice_is_already_exists(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, configmap("dup"))
    reply = await call(http, "POST", CM, configmap("dup"))
    assert reply.status == 409
    assert reply.body["reason"] == "AlreadyExists"
    assert reply.body["message"] == 'configmaps "dup" already exists'
    assert reply.body["details"] == {"name": "dup", "kind": "configmaps"}


async def test_get_missing_is_not_found_status(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "GET", f"{PP}/x")
    assert reply.status == 404
    assert reply.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'propagationpolicies.policy.karmada.io "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "group": "policy.karmada.io", "kind": "propagationpolicies"},
        "code": 404,
    }


def test_a_request_without_a_query_gets_the_options_an_empty_query_gives() -> None:
    # The GET path skips parsing when there is no query string, and takes these instead.
    assert ListOptions.parse(MultiDict()) == NO_LIST_OPTIONS
    assert not NO_LIST_OPTIONS.watch
    assert NO_LIST_OPTIONS.include_object == "Metadata"


async def test_create_in_missing_namespace_is_not_found(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", "/api/v1/namespaces/nope/configmaps", configmap("a"))
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "nope" not found'


async def test_body_of_another_kind_is_bad_request(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
    assert reply.status == 400
    assert reply.body["reason"] == "BadRequest"
    assert "does not match the expected API version" in reply.body["message"]


async def test_invalid_name_is_unprocessable(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, configmap("Not_Valid"))
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    assert reply.body["details"]["causes"][0]["field"] == "metadata.name"
    assert reply.body["message"].startswith('ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value')


async def test_malformed_json_is_bad_request(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, b"{not json")
    assert reply.status == 400
    assert reply.body["kind"] == "Status"


async def test_generate_name(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM, {"metadata": {"generateName": "gen-"}, "data": {}})
    assert reply.status == 201
    assert reply.body["metadata"]["name"].startswith("gen-")
    assert reply.body["kind"] == "ConfigMap"


async def test_replace_with_stale_resource_version_conflicts(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", CM, configmap("r", v="1"))).body
    updated = dict(created, data={"v": "2"})
    ok = await call(http, "PUT", f"{CM}/r", updated)
    assert ok.status == 200
    assert ok.body["data"] == {"v": "2"}
    assert int(ok.body["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = await call(http, "PUT", f"{CM}/r", dict(created, data={"v": "3"}))
    assert stale.status == 409
    assert stale.body["reason"] == "Conflict"
    assert "the object has been modified" in stale.body["message"]


async def test_replace_missing_is_not_found_and_name_mismatch_is_bad_request(http: aiohttp.ClientSession) -> None:
    assert (await call(http, "PUT", f"{CM}/ghost", configmap("ghost"))).status == 404
    await call(http, "POST", CM, configmap("real"))
    reply = await call(http, "PUT", f"{CM}/real", configmap("other"))
    assert reply.status == 400


async def test_generation_counts_spec_changes(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", PP, policy("g"))).body
    assert created["metadata"]["generation"] == 1
    changed = dict(created, spec=dict(created["spec"], priority=5))
    assert (await call(http, "PUT", f"{PP}/g", changed)).body["metadata"]["generation"] == 2


async def test_list_with_selectors_and_paging(http: aiohttp.ClientSession) -> None:
    for i in range(5):
        await call(http, "POST", CM, configmap(f"item-{i}", {"tier": "a" if i % 2 else "b"}))
    listed = await call(http, "GET", CM)
    assert listed.body["kind"] == "ConfigMapList"
    assert listed.body["apiVersion"] == "v1"
    assert int(listed.body["metadata"]["resourceVersion"]) > 0
    assert [i["metadata"]["name"] for i in listed.body["items"]] == [f"item-{i}" for i in range(5)]

    by_label = await call(http, "GET", CM + "?labelSelector=tier%3Da")
    assert [i["metadata"]["name"] for i in by_label.body["items"]] == ["item-1", "item-3"]
    by_set = await call(http, "GET", CM + "?labelSelector=tier+in+(a,b),tier!=b")
    assert len(by_set.body["items"]) == 2
    by_field = await call(http, "GET", CM + "?fieldSelector=metadata.name%3Ditem-4")
    assert [i["metadata"]["name"] for i in by_field.body["items"]] == ["item-4"]

    names: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await call(http, "GET", CM + "?limit=2" + (f"&continue={token}" if token else ""))
        names += [i["metadata"]["name"] for i in page.body["items"]]
        pages += 1
        token = page.body["metadata"].get("continue", "")
        if not token:
            break
        assert page.body["metadata"]["remainingItemCount"] >= 1
    assert pages == 3
    assert names == [f"item-{i}" for i in range(5)]


async def test_cluster_wide_list_of_a_namespaced_kind(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, configmap("here"))
    await call(http, "POST", "/api/v1/namespaces/kube-system/configmaps", configmap("there"))
    listed = await call(http, "GET", "/api/v1/configmaps")
    assert {i["metadata"]["namespace"] for i in listed.body["items"]} >= {"default", "kube-system"}


async def test_bad_selector_is_bad_request(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "GET", CM + "?fieldSelector=nonsense")
    assert reply.status == 400


async def test_delete_answers_a_status_or_the_object(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", CM, configmap("d"))).body
    gone = await call(http, "DELETE", f"{CM}/d")
    assert gone.status == 200
    assert gone.body["kind"] == "Status"
    assert gone.body["status"] == "Success"
    assert gone.body["details"] == {"name": "d", "group": "", "kind": "configmaps", "uid": created["metadata"]["uid"]}
    assert (await call(http, "GET", f"{CM}/d")).status == 404
    again = await call(http, "DELETE", f"{CM}/d")
    assert again.status == 404

    pods = "/api/v1/namespaces/default/pods"
    await call(http, "POST", pods, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    pod = await call(http, "DELETE", f"{pods}/p")
    assert pod.body["kind"] == "Pod"


async def test_delete_with_finalizers_marks_then_removes(http: aiohttp.ClientSession) -> None:
    obj = configmap("f")
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    await call(http, "POST", CM, obj)
    pending = await call(http, "DELETE", f"{CM}/f", {"kind": "DeleteOptions", "propagationPolicy": "Foreground"})
    assert pending.status == 200
    assert pending.body["metadata"]["deletionTimestamp"]
    current = (await call(http, "GET", f"{CM}/f")).body
    current["metadata"]["finalizers"] = []
    await call(http, "PUT", f"{CM}/f", current)
    assert (await call(http, "GET", f"{CM}/f")).status == 404


async def test_delete_preconditions(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, configmap("pre"))
    wrong = await call(http, "DELETE", f"{CM}/pre", {"preconditions": {"uid": "not-the-uid"}})
    assert wrong.status == 409
    assert "Precondition failed" in wrong.body["message"]
    bad_policy = await call(http, "DELETE", f"{CM}/pre", {"propagationPolicy": "Sometimes"})
    assert bad_policy.status == 422


async def test_delete_collection(http: aiohttp.ClientSession) -> None:
    for name, tier in (("c1", "x"), ("c2", "x"), ("c3", "y")):
        await call(http, "POST", CM, configmap(name, {"tier": tier}))
    reply = await call(http, "DELETE", CM + "?labelSelector=tier%3Dx")
    assert reply.status == 200
    assert reply.body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in reply.body["items"]) == ["c1", "c2"]
    left = await call(http, "GET", CM + "?labelSelector=tier")
    assert [i["metadata"]["name"] for i in left.body["items"]] == ["c3"]


async def test_dry_run_persists_nothing(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", CM + "?dryRun=All", configmap("dry"))
    assert reply.status == 201
    assert reply.body["metadata"]["name"] == "dry"
    assert (await call(http, "GET", f"{CM}/dry")).status == 404
    await call(http, "POST", CM, configmap("wet"))
    assert (await call(http, "DELETE", f"{CM}/wet?dryRun=All")).status == 200
    assert (await call(http, "GET", f"{CM}/wet")).status == 200
    assert (await call(http, "POST", CM + "?dryRun=Some", configmap("x"))).status == 400


DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }


async def test_status_subresource_writes_only_status(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", DEPLOY, deployment("s"))).body
    with_status = dict(created, status={"replicas": 1, "readyReplicas": 1})
    with_status["spec"] = dict(created["spec"], replicas=9)
    reply = await call(http, "PUT", f"{DEPLOY}/s/status", with_status, headers={"User-Agent": "ctrl/1.0"})
    assert reply.status == 200
    assert reply.body["status"] == {"replicas": 1, "readyReplicas": 1}
    assert reply.body["spec"]["replicas"] == 1
    assert reply.body["metadata"]["generation"] == 1
    # Writing the main resource leaves status alone.
    main = dict(reply.body, status={"replicas": 0})
    after = await call(http, "PUT", f"{DEPLOY}/s", main)
    assert after.body["status"]["readyReplicas"] == 1
    got = await call(http, "GET", f"{DEPLOY}/s/status")
    assert got.body["status"]["readyReplicas"] == 1
    managers = {(m["manager"], m.get("subresource", "")) for m in got.body["metadata"]["managedFields"]}
    assert ("ctrl", "status") in managers
    # Status of a kind without the subresource is not there.
    assert (await call(http, "GET", "/api/v1/namespaces/default/configmaps/x/status")).status == 404


async def test_scale_subresource(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", DEPLOY, deployment("sc", replicas=2))
    scale = await call(http, "GET", f"{DEPLOY}/sc/scale")
    assert scale.status == 200
    assert scale.body["kind"] == "Scale"
    assert scale.body["apiVersion"] == "autoscaling/v1"
    assert scale.body["spec"] == {"replicas": 2}
    assert scale.body["status"]["selector"] == "app=sc"
    put = await call(http, "PUT", f"{DEPLOY}/sc/scale", dict(scale.body, spec={"replicas": 4}))
    assert put.body["spec"]["replicas"] == 4
    patched = await call(
        http,
        "PATCH",
        f"{DEPLOY}/sc/scale",
        {"spec": {"replicas": 6}},
        content_type="application/merge-patch+json",
    )
    assert patched.status == 200
    assert patched.body["spec"]["replicas"] == 6
    deploy = (await call(http, "GET", f"{DEPLOY}/sc")).body
    assert deploy["spec"]["replicas"] == 6
    assert deploy["metadata"]["generation"] == 3
    negative = await call(http, "PUT", f"{DEPLOY}/sc/scale", {"spec": {"replicas": -1}})
    assert negative.status == 422


async def test_methods_not_allowed(http: aiohttp.ClientSession) -> None:
    await call(http, "POST", CM, configmap("m"))
    reply = await call(http, "POST", f"{CM}/m", configmap("m"))
    assert reply.status == 405
    assert reply.body["reason"] == "MethodNotAllowed"
    assert (await call(http, "PUT", CM, configmap("m"))).status == 405


async def test_built_in_defaults_are_filled_in(http: aiohttp.ClientSession) -> None:
    deploy = (await call(http, "POST", DEPLOY, deployment("defaults"))).body
    assert deploy["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert deploy["spec"]["revisionHistoryLimit"] == 10
    pod = deploy["spec"]["template"]["spec"]
    assert (pod["restartPolicy"], pod["dnsPolicy"], pod["schedulerName"]) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    assert pod["containers"][0]["imagePullPolicy"] == "Always"  # "nginx" has no tag

    svc = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    created = (await call(http, "POST", "/api/v1/namespaces/default/services", svc)).body
    assert created["spec"]["type"] == "ClusterIP"
    assert created["spec"]["clusterIP"].startswith("10.96.")
    assert created["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]

    ns = (await call(http, "POST", "/api/v1/namespaces", {"metadata": {"name": "fresh"}})).body
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}


async def test_a_bug_still_answers_a_status(
    http: aiohttp.ClientSession, sim: testing.RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.fleet.host, "view", broken)
    reply = await call(http, "GET", f"{CM}/anything")
    assert reply.status == 500
    assert reply.body["reason"] == "InternalError"
    assert "boom" in reply.body["message"]
