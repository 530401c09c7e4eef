"""The Prometheus-compatible HTTP API over the simulated fleet, through aiohttp's client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.fleet import Fleet
from kurator_sim.prometheus import build_query_app


@pytest.fixture
def fleet() -> Fleet:
    clock = SimClock(scale=1)
    return Fleet(topology.load(), registry=resources.default_registry(), clock=clock)


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_query_app(fleet, fleet.clock))) as test_client:
        yield test_client


def aligned(fleet: Fleet) -> int:
    """A recent time on the 15 s (and 1 m) scrape grid, after scraping began."""
    return int(fleet.clock.now().timestamp()) // 60 * 60 - 120


async def query(client: TestClient[Any, Any], q: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/query", params={"query": q, **params})
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    assert body["status"] == "success"
    return body["data"]


async def error(client: TestClient[Any, Any], path: str, status: int, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["status"] == "error"
    return body


async def test_instant_vector_in_prometheus_format(client: TestClient[Any, Any], fleet: Fleet) -> None:
    t = aligned(fleet)
    data = await query(client, 'up{cluster="cluster-beijing", job="apiserver"}', time=str(t))
    assert data == {
        "resultType": "vector",
        "result": [
            {
                "metric": {
                    "__name__": "up",
                    "cluster": "cluster-beijing",
                    "instance": "apiserver.cluster-beijing:6443",
                    "job": "apiserver",
                },
                "value": [t, "1"],
            }
        ],
    }


async def test_scalar_string_and_matrix_results(client: TestClient[Any, Any], fleet: Fleet) -> None:
    t = aligned(fleet)
    assert await query(client, "1 + 2", time=f"{t}.5") == {"resultType": "scalar", "result": [t + 0.5, "3"]}
    assert (await query(client, '"hi"'))["resultType"] == "string"
    data = await query(client, 'up{cluster="cluster-beijing",job="apiserver"}[1m]', time=str(t + 10))
    assert data["resultType"] == "matrix"
    (row,) = data["result"]
    assert [v for _, v in row["values"]] == ["1", "1", "1", "1"]


async def test_every_series_has_a_cluster_label(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/series", params={"match[]": ['{__name__=~".+"}']})
    body = await response.json()
    assert body["status"] == "success"
    assert body["data"]
    assert all("cluster" in labels for labels in body["data"])


async def test_up_flips_to_zero_when_a_member_is_down(client: TestClient[Any, Any], fleet: Fleet) -> None:
    q = 'sum by (cluster) (up{cluster=~"cluster-(beijing|shanghai)"}) / count by (cluster) (up)'
    before = await query(client, q)
    assert {r["metric"]["cluster"]: r["value"][1] for r in before["result"]} == {
        "cluster-beijing": "1",
        "cluster-shanghai": "1",
    }
    fleet.member("cluster-beijing").faults.down = True
    after = await query(client, 'up{cluster="cluster-beijing"}')
    assert {r["value"][1] for r in after["result"]} == {"0"}
    assert (await query(client, 'kube_node_info{cluster="cluster-beijing"}'))["result"] == []
    shanghai = await query(client, 'min(up{cluster="cluster-shanghai"})')
    assert shanghai["result"][0]["value"][1] == "1"


async def test_edge_node_down_silences_its_exporter(client: TestClient[Any, Any], fleet: Fleet) -> None:
    fleet.member("edge-site-hangzhou").edge_down.add("edge-node-01")
    data = await query(client, 'up{job="node-exporter", cluster="edge-site-hangzhou"}')
    states = {r["metric"]["instance"]: r["value"][1] for r in data["result"]}
    assert states["edge-node-01:9100"] == "0"
    assert states["edge-node-02:9100"] == "1"


async def test_node_capacity_and_cluster_rules(client: TestClient[Any, Any]) -> None:
    gpus = await query(client, 'sum by (cluster) (kube_node_status_allocatable{resource="nvidia_com_gpu"})')
    assert [(r["metric"], r["value"][1]) for r in gpus["result"]] == [({"cluster": "cluster-guangzhou"}, "8")]
    cores = await query(client, 'cluster:cpu_cores:allocatable{cluster="cluster-guangzhou"}')
    assert cores["result"][0]["value"][1] == "96"
    usage = await query(client, "cluster:cpu_usage:ratio")
    assert all(0 <= float(r["value"][1]) <= 1 for r in usage["result"])


async def test_cpu_counters_match_the_usage_rule(client: TestClient[Any, Any]) -> None:
    q = (
        'sum by (cluster) (rate(node_cpu_seconds_total{cluster="cluster-hangzhou", mode!="idle"}[5m])) '
        "/ on(cluster) cluster:cpu_cores:allocatable"
    )
    rate = float((await query(client, q))["result"][0]["value"][1])
    averaged = await query(client, 'avg_over_time(cluster:cpu_usage:ratio{cluster="cluster-hangzhou"}[5m])')
    assert rate == pytest.approx(float(averaged["result"][0]["value"][1]), rel=0.05)


async def test_deployment_replicas_follow_the_store(client: TestClient[Any, Any], fleet: Fleet) -> None:
    store = fleet.member("cluster-shanghai").store
    rt = store.registry.by_key(("apps", "deployments"))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {}, "template": {"spec": {"containers": []}}},
    }
    created = store.create(rt, "default", deployment)
    created["status"] = {"replicas": 3, "readyReplicas": 2}
    store.update(rt, "default", "nginx", created, subresource="status")
    spec = await query(client, 'kube_deployment_spec_replicas{deployment="nginx"}')
    ready = await query(client, 'kube_deployment_status_replicas_ready{deployment="nginx"}')
    assert spec["result"][0]["metric"] == {
        "__name__": "kube_deployment_spec_replicas",
        "cluster": "cluster-shanghai",
        "namespace": "default",
        "deployment": "nginx",
    }
    assert spec["result"][0]["value"][1] == "3"
    assert ready["result"][0]["value"][1] == "2"


async def test_post_form_and_thanos_parameters(client: TestClient[Any, Any]) -> None:
    form = {"query": "count(up)", "dedup": "true", "partial_response": "false", "max_source_resolution": "auto"}
    response = await client.post("/api/v1/query", data=form)
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "success"
    assert int(body["data"]["result"][0]["value"][1]) > 10


async def test_query_range(client: TestClient[Any, Any], fleet: Fleet) -> None:
    t = aligned(fleet)
    params = {"query": 'sum(up{cluster="cluster-beijing"})', "start": str(t), "end": str(t + 120), "step": "1m"}
    response = await client.get("/api/v1/query_range", params=params)
    body = await response.json()
    assert body["data"]["resultType"] == "matrix"
    (row,) = body["data"]["result"]
    assert row["metric"] == {}
    assert row["values"] == [[t, "5"], [t + 60, "5"], [t + 120, "5"]]
    scalar = await client.get("/api/v1/query_range", params={**params, "query": "time()", "step": "60"})
    values = [v for _, v in (await scalar.json())["data"]["result"][0]["values"]]
    assert values == [str(t), str(t + 60), str(t + 120)]


@pytest.mark.parametrize(
    ("path", "params", "status", "kind", "message"),
    [
        (
            "/api/v1/query",
            {"query": "sum("},
            400,
            "bad_data",
            'invalid parameter "query": 1:4: parse error: unclosed left parenthesis',
        ),
        (
            "/api/v1/query",
            {"query": "up", "time": "yesterday"},
            400,
            "bad_data",
            'invalid parameter "time": cannot parse "yesterday" to a valid timestamp',
        ),
        ("/api/v1/query", {"query": "up + on(cluster) up"}, 422, "execution", "many-to-many matching not allowed"),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "10", "end": "5", "step": "1"},
            400,
            "bad_data",
            'invalid parameter "end": end timestamp must not be before start time',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "5", "step": "0"},
            400,
            "bad_data",
            "zero or negative query resolution step widths are not accepted",
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "5", "step": "soon"},
            400,
            "bad_data",
            'invalid parameter "step": cannot parse "soon" to a valid duration',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "100000", "step": "1"},
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
        (
            "/api/v1/query_range",
            {"query": "up[5m]", "start": "0", "end": "5", "step": "1"},
            400,
            "bad_data",
            'invalid expression type "range vector" for range query',
        ),
        ("/api/v1/series", {}, 400, "bad_data", "no match[] parameter provided"),
        ("/api/v1/series", {"match[]": "sum(up)"}, 400, "bad_data", 'invalid parameter "match[]"'),
        ("/api/v1/label/not-a-label/values", {}, 400, "bad_data", 'invalid label name: "not-a-label"'),
    ],
)
async def test_errors_are_answered_like_prometheus(
    client: TestClient[Any, Any], path: str, params: dict[str, str], status: int, kind: str, message: str
) -> None:
    body = await error(client, path, status, **params)
    assert body["errorType"] == kind
    assert message in body["error"]


async def test_labels_values_metadata_and_status(client: TestClient[Any, Any]) -> None:
    labels = (await (await client.get("/api/v1/labels")).json())["data"]
    assert {"__name__", "cluster", "job", "instance", "node", "resource"} <= set(labels)
    assert labels == sorted(labels)
    clusters = (await (await client.get("/api/v1/label/cluster/values")).json())["data"]
    assert clusters == sorted(fleet_names())
    jobs = await client.get("/api/v1/label/job/values", params={"match[]": 'up{cluster="cluster-beijing"}'})
    assert (await jobs.json())["data"] == ["apiserver", "kube-state-metrics", "node-exporter"]
    metadata = (await (await client.get("/api/v1/metadata", params={"metric": "up"})).json())["data"]
    assert metadata == {
        "up": [{"type": "gauge", "help": "Whether the target was scraped successfully (1) or not (0).", "unit": ""}]
    }
    info = await (await client.get("/api/v1/status/buildinfo")).json()
    assert info["status"] == "success"
    assert info["data"]["version"]
    ready = await client.get("/-/ready")
    assert ready.status == 200
    assert "Ready" in await ready.text()
    assert (await (await client.get("/api/v1/rules")).json())["data"] == {"groups": []}


def fleet_names() -> list[str]:
    return [c.name for c in topology.load().clusters]
