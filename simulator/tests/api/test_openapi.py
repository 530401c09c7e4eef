"""OpenAPI endpoints: the v3 index and documents kubectl uses for ``explain`` and to detect
server-side field validation, and the empty v2 document that keeps kubectl 1.27 happy."""

from __future__ import annotations

import aiohttp
import pytest

from kurator_sim import testing
from kurator_sim.testing import call


async def test_v3_index_points_at_hashed_documents(http: aiohttp.ClientSession) -> None:
    index = (await call(http, "GET", "/openapi/v3")).body
    paths = index["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/policy.karmada.io/v1alpha1"} <= set(paths)
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    doc = await call(http, "GET", url)
    assert doc.status == 200
    assert doc.headers["Cache-Control"] == "public, immutable"
    assert doc.body["openapi"].startswith("3.")


async def test_patch_operations_declare_field_validation(http: aiohttp.ClientSession) -> None:
    doc = (await call(http, "GET", "/openapi/v3/apis/apps/v1")).body
    patches = [
        op["patch"]
        for op in doc["paths"].values()
        if "patch" in op and op["patch"].get("x-kubernetes-group-version-kind", {}).get("kind") == "Deployment"
    ]
    assert patches
    assert all("fieldValidation" in {p["name"] for p in op["parameters"]} for op in patches)
    schema = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert schema["x-kubernetes-group-version-kind"] == [{"group": "apps", "version": "v1", "kind": "Deployment"}]


@pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")
async def test_crd_schemas_are_published(http: aiohttp.ClientSession) -> None:
    doc = (await call(http, "GET", "/openapi/v3/apis/batch.volcano.sh/v1alpha1")).body
    job = doc["components"]["schemas"]["sh.volcano.batch.v1alpha1.Job"]
    assert "minAvailable" in job["properties"]["spec"]["properties"]


async def test_member_openapi_through_the_proxy(http: aiohttp.ClientSession) -> None:
    proxy = "/apis/cluster.karmada.io/v1alpha1/clusters/cluster-beijing/proxy"
    index = (await call(http, "GET", proxy + "/openapi/v3")).body
    assert "apis/policy.karmada.io/v1alpha1" not in index["paths"]
    # URLs stay server-relative to the member, as Karmada passes them through.
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1")
    assert (await call(http, "GET", proxy + url)).status == 200


async def test_v2_is_an_empty_document(http: aiohttp.ClientSession) -> None:
    accept = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    async with http.get("/openapi/v2", headers=accept) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/octet-stream"
        assert await resp.read() == b""
    as_json = await call(http, "GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert as_json.body["swagger"] == "2.0"
    assert (await call(http, "GET", "/openapi/v3/apis/nope/v1")).status == 404


async def test_a_stale_hash_is_redirected(http: aiohttp.ClientSession) -> None:
    async with http.get("/openapi/v3/apis/apps/v1?hash=STALE", allow_redirects=False) as resp:
        assert resp.status == 301
        location = resp.headers["Location"]
    index = (await call(http, "GET", "/openapi/v3")).body
    assert location == index["paths"]["apis/apps/v1"]["serverRelativeURL"]
