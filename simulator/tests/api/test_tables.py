"""Server-side Tables (what ``kubectl get`` prints) and partial object metadata."""

from __future__ import annotations

import aiohttp
import pytest

from kurator_sim import testing
from kurator_sim.api import jsonpath, printers
from kurator_sim.testing import call

TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


async def test_deployment_table(http: aiohttp.ClientSession) -> None:
    body = {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }
    await call(http, "POST", DEPLOY, body)
    reply = await call(http, "GET", DEPLOY, headers={"Accept": TABLE})
    table = reply.body
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
    ]
    row = table["rows"][0]
    assert row["cells"][:4] == ["web", "0/3", 0, 0]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web"
    assert table["metadata"]["resourceVersion"]

    single = await call(http, "GET", f"{DEPLOY}/web", headers={"Accept": TABLE})
    assert len(single.body["rows"]) == 1
    full = await call(http, "GET", f"{DEPLOY}?includeObject=Object", headers={"Accept": TABLE})
    assert full.body["rows"][0]["object"]["kind"] == "Deployment"
    none = await call(http, "GET", f"{DEPLOY}?includeObject=None", headers={"Accept": TABLE})
    assert "object" not in none.body["rows"][0]


@pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")
async def test_crd_printer_columns(http: aiohttp.ClientSession) -> None:
    pp = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"
    body = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "p"},
        "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}], "placement": {}, "priority": 4},
    }
    await call(http, "POST", pp, body)
    table = (await call(http, "GET", pp, headers={"Accept": TABLE})).body
    # Karmada's CRD spells its columns in capitals; kubectl upper-cases them anyway.
    names = [c["name"].upper() for c in table["columnDefinitions"]]
    assert names[0] == "NAME"
    assert names[-1] == "AGE"
    cells = dict(zip(names, table["rows"][0]["cells"], strict=True))
    assert cells["NAME"] == "p"
    assert cells["PRIORITY"] == "4"  # a string column in the CRD
    assert cells["AGE"].endswith("s")


async def test_cluster_table_like_karmada(http: aiohttp.ClientSession, sim: testing.RunningSim) -> None:
    rt = sim.fleet.host.registry.by_key(("cluster.karmada.io", "clusters"))
    sim.fleet.host.create(rt, None, {"metadata": {"name": "member1"}, "spec": {"syncMode": "Push"}})
    sim.fleet.host.update(
        rt,
        None,
        "member1",
        {
            "metadata": {"name": "member1"},
            "status": {"kubernetesVersion": "v1.29.3", "conditions": [{"type": "Ready", "status": "True"}]},
        },
        subresource="status",
    )
    table = (await call(http, "GET", "/apis/cluster.karmada.io/v1alpha1/clusters", headers={"Accept": TABLE})).body
    main = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert main == ["Name", "Version", "Mode", "Ready", "Age"]
    assert table["rows"][0]["cells"][:4] == ["member1", "v1.29.3", "Push", "True"]


async def test_partial_object_metadata(http: aiohttp.ClientSession) -> None:
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
    listed = (await call(http, "GET", "/api/v1/namespaces", headers={"Accept": accept})).body
    assert listed["kind"] == "PartialObjectMetadataList"
    assert all(i["kind"] == "PartialObjectMetadata" and "spec" not in i for i in listed["items"])
    one_accept = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
    one = (await call(http, "GET", "/api/v1/namespaces/default", headers={"Accept": one_accept})).body
    assert one["kind"] == "PartialObjectMetadata"
    assert one["metadata"]["name"] == "default"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (9 * 3600, "9h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
    ],
)
def test_human_durations_match_kubernetes(seconds: int, text: str) -> None:
    assert printers.human_duration(seconds) == text


def test_simple_jsonpath() -> None:
    obj = {
        "status": {"conditions": [{"type": "Scheduled", "status": "False"}, {"type": "Ready", "status": "True"}]},
        "spec": {"tasks": [{"name": "ps"}, {"name": "worker"}], "dotted.key": 1},
    }
    assert jsonpath.find(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert jsonpath.find(obj, ".spec.tasks[1].name") == ["worker"]
    assert jsonpath.find(obj, ".spec.tasks[*].name") == ["ps", "worker"]
    assert jsonpath.find(obj, "{.spec['dotted.key']}") == [1]
    assert jsonpath.find(obj, ".spec.missing") == []
