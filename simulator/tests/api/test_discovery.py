"""Discovery: legacy documents, aggregated discovery (v2 and v2beta1) with the negotiated
content type, and members' own discovery through the Karmada cluster proxy."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from kurator_sim import testing

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
PROXY = "/apis/cluster.karmada.io/v1alpha1/clusters/cluster-beijing/proxy"


async def _json(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, str, Any]:
    async with http.get(path, headers=headers) as resp:
        return resp.status, resp.headers["Content-Type"], await resp.json(content_type=None)


async def test_version_names_the_simulator(http: aiohttp.ClientSession) -> None:
    status, _, body = await _json(http, "/version")
    assert status == 200
    assert body["major"] == "1"
    assert body["minor"] == "29"
    assert body["gitVersion"].startswith("v1.29.3")
    assert "kurator-sim" in body["gitVersion"]


async def test_legacy_discovery_documents(http: aiohttp.ClientSession) -> None:
    _, _, api = await _json(http, "/api")
    assert api["kind"] == "APIVersions"
    assert api["versions"] == ["v1"]
    _, _, groups = await _json(http, "/apis")
    assert groups["kind"] == "APIGroupList"
    names = {g["name"] for g in groups["groups"]}
    assert {"apps", "cluster.karmada.io", "policy.karmada.io", "work.karmada.io"} <= names
    _, _, group = await _json(http, "/apis/policy.karmada.io")
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"] == {"groupVersion": "policy.karmada.io/v1alpha1", "version": "v1alpha1"}


async def test_resource_list_has_subresources_and_hashes(http: aiohttp.ClientSession) -> None:
    _, _, apps = await _json(http, "/apis/apps/v1")
    assert apps["kind"] == "APIResourceList"
    assert apps["groupVersion"] == "apps/v1"
    by_name = {r["name"]: r for r in apps["resources"]}
    deploy = by_name["deployments"]
    assert deploy["singularName"] == "deployment"
    assert deploy["namespaced"] is True
    assert deploy["kind"] == "Deployment"
    assert deploy["shortNames"] == ["deploy"]
    assert deploy["categories"] == ["all"]
    assert "watch" in deploy["verbs"]
    assert deploy["storageVersionHash"]
    assert by_name["deployments/status"]["verbs"] == ["get", "patch", "update"]
    scale = by_name["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")

    _, _, karmada = await _json(http, "/apis/cluster.karmada.io/v1alpha1")
    names = {r["name"]: r for r in karmada["resources"]}
    assert names["clusters"]["namespaced"] is False
    assert names["clusters/proxy"]["kind"] == "ClusterProxyOptions"
    assert "clusters/status" in names


@pytest.mark.parametrize(("accept", "version"), [(V2, "v2"), (V2BETA1, "v2beta1")])
async def test_aggregated_discovery_is_negotiated(http: aiohttp.ClientSession, accept: str, version: str) -> None:
    # kubectl lists both aggregated versions, then plain JSON, and reads the answer's type.
    status, content_type, body = await _json(http, "/apis", Accept=f"{accept},application/json")
    assert status == 200
    assert content_type == accept
    assert body["kind"] == "APIGroupDiscoveryList"
    assert body["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    groups = {item["metadata"]["name"]: item for item in body["items"]}
    apps = groups["apps"]["versions"][0]
    assert apps["version"] == "v1"
    assert apps["freshness"] == "Current"
    deploy = next(r for r in apps["resources"] if r["resource"] == "deployments")
    assert deploy["scope"] == "Namespaced"
    assert deploy["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    subs = {s["subresource"]: s for s in deploy["subresources"]}
    assert subs["scale"]["responseKind"]["kind"] == "Scale"

    _, core_type, core = await _json(http, "/api", Accept=accept)
    assert core_type == accept
    assert [v["version"] for v in core["items"][0]["versions"]] == ["v1"]


async def test_old_clients_get_legacy_discovery(http: aiohttp.ClientSession) -> None:
    _, content_type, body = await _json(http, "/apis", Accept="application/json, */*")
    assert content_type == "application/json"
    assert body["kind"] == "APIGroupList"


async def test_protobuf_only_is_not_acceptable(http: aiohttp.ClientSession) -> None:
    status, _, body = await _json(http, "/api/v1/namespaces", Accept="application/vnd.kubernetes.protobuf")
    assert status == 406
    assert body["reason"] == "NotAcceptable"


async def test_unknown_group_and_resource_are_404_status(http: aiohttp.ClientSession) -> None:
    for path in ("/apis/nope.example.com", "/apis/apps/v9", "/apis/apps/v1/widgets", "/nothing/here"):
        status, _, body = await _json(http, path)
        assert status == 404, path
        assert body["kind"] == "Status"
        assert body["reason"] == "NotFound"


async def test_member_discovery_through_the_proxy(http: aiohttp.ClientSession, sim: testing.RunningSim) -> None:
    _, _, groups = await _json(http, PROXY + "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert "apps" in names
    # Karmada's own APIs live on the host only.
    assert "policy.karmada.io" not in names
    assert "cluster.karmada.io" not in names
    _, _, version = await _json(http, PROXY + "/version")
    assert version["gitVersion"].startswith(sim.fleet.members["cluster-beijing"].spec.kubernetes_version)
    _, content_type, aggregated = await _json(http, PROXY + "/apis", Accept=V2)
    assert content_type == V2
    assert all(item["metadata"]["name"] != "policy.karmada.io" for item in aggregated["items"])


async def test_flux_kinds_are_served_on_the_host_only(http: aiohttp.ClientSession) -> None:
    """Kurator's Application writes Flux sources and delivery units on the host (no Flux CRDs
    ship with ../shared/crds, so they are served unvalidated, with a status subresource)."""
    served = {
        "source.toolkit.fluxcd.io/v1beta2": {"gitrepositories", "helmrepositories", "ocirepositories"},
        "kustomize.toolkit.fluxcd.io/v1beta2": {"kustomizations"},
        "helm.toolkit.fluxcd.io/v2beta1": {"helmreleases"},
    }
    for group_version, plurals in served.items():
        status, _, listing = await _json(http, f"/apis/{group_version}")
        assert status == 200, group_version
        names = {r["name"] for r in listing["resources"]}
        assert plurals | {f"{p}/status" for p in plurals} <= names
        assert all(r["namespaced"] for r in listing["resources"])
    _, _, groups = await _json(http, PROXY + "/apis")
    assert not {g["name"] for g in groups["groups"]} & {"kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io"}
