"""The whole simulator process as kurator sim runs it: controllers, fault API, Prometheus API."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from kurator_sim import app
from kurator_sim.settings import SimSettings
from shared.testing.eventually import eventually


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[app.Running, aiohttp.ClientSession]]:
    settings = SimSettings(port=0, prometheus_port=0, time_scale=20, kubeconfig=tmp_path / "kubeconfig", seed=1)
    async with app.running(settings) as running, aiohttp.ClientSession() as http:
        yield running, http


async def _json(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as resp:
        return resp.status, await resp.json(content_type=None)


def _ready(cluster: dict[str, Any]) -> str | None:
    for cond in (cluster.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status"))
    return None


async def test_kubeconfig_names_the_host_and_every_member(
    sim: tuple[app.Running, aiohttp.ClientSession], tmp_path: Path
) -> None:
    running, _ = sim
    doc = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert doc["current-context"] == "karmada-sim"
    servers = {c["name"]: c["cluster"]["server"] for c in doc["clusters"]}
    assert servers["karmada-sim"] == running.base_url
    assert servers["cluster-beijing"].endswith("/apis/cluster.karmada.io/v1alpha1/clusters/cluster-beijing/proxy")


async def test_cluster_down_goes_not_ready_on_karmadas_timing_and_recovers(
    sim: tuple[app.Running, aiohttp.ClientSession],
) -> None:
    """The fault API takes a member down: its proxy fails at once, Ready goes False after the
    failure threshold (30 s simulated, 1.5 s here), and everything returns on /up."""
    running, http = sim
    base = running.base_url
    cluster_url = f"{base}/apis/cluster.karmada.io/v1alpha1/clusters/cluster-beijing"

    async def ready_is(value: str) -> bool:
        _, body = await _json(http, "GET", cluster_url)
        return _ready(body) == value

    await eventually(lambda: ready_is("True"), timeout_seconds=20, message="cluster-beijing Ready")
    status, faults = await _json(http, "POST", f"{base}/sim/v1/clusters/cluster-beijing/down")
    assert status == 200
    assert faults["down"] is True
    code, body = await _json(http, "GET", f"{cluster_url}/proxy/api/v1/namespaces")
    assert code == 503
    assert body["kind"] == "Status"
    started = running.fleet.clock.elapsed()
    await eventually(lambda: ready_is("False"), timeout_seconds=20, message="cluster-beijing not ready")
    assert running.fleet.clock.elapsed() - started >= 29
    _, cluster = await _json(http, "GET", cluster_url)
    assert any(t["key"] == "cluster.karmada.io/not-ready" for t in cluster["spec"].get("taints", []))
    await _json(http, "POST", f"{base}/sim/v1/clusters/cluster-beijing/up")
    await eventually(lambda: ready_is("True"), timeout_seconds=20, message="cluster-beijing Ready again")


async def test_api_faults_fail_and_slow_proxied_calls(sim: tuple[app.Running, aiohttp.ClientSession]) -> None:
    running, http = sim
    base = running.base_url
    proxied = f"{base}/apis/cluster.karmada.io/v1alpha1/clusters/cluster-shanghai/proxy/api/v1/namespaces"
    status, _ = await _json(http, "PUT", f"{base}/sim/v1/clusters/cluster-shanghai/faults", json={"errorRate": 1.0})
    assert status == 200
    code, body = await _json(http, "GET", proxied)
    assert code == 500
    assert body["reason"] == "InternalError"
    bad, _ = await _json(http, "PUT", f"{base}/sim/v1/clusters/cluster-shanghai/faults", json={"errorRate": 2})
    assert bad == 400
    await _json(http, "DELETE", f"{base}/sim/v1/faults")
    code, _ = await _json(http, "GET", proxied)
    assert code == 200
    missing, _ = await _json(http, "POST", f"{base}/sim/v1/clusters/nowhere/down")
    assert missing == 404


async def test_prometheus_api_reports_up_per_cluster(sim: tuple[app.Running, aiohttp.ClientSession]) -> None:
    running, http = sim
    assert running.prometheus_url is not None

    async def up_values() -> dict[str, str]:
        _, body = await _json(http, "GET", f"{running.prometheus_url}/api/v1/query", params={"query": "up"})
        return {r["metric"]["cluster"]: r["value"][1] for r in body["data"]["result"]}

    values = await up_values()
    assert set(values) == set(running.fleet.members)
    assert set(values.values()) == {"1"}
    await _json(http, "POST", f"{running.base_url}/sim/v1/clusters/cluster-hangzhou/down")
    assert (await up_values())["cluster-hangzhou"] == "0"


def test_tune_gc_collects_young_objects_less_often_and_freezes_start_up() -> None:
    thresholds = gc.get_threshold()
    try:
        app.tune_gc()
        assert gc.get_threshold() == app.GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
