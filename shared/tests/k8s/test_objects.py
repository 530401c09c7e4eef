"""Generic object operations against the simulator's Kubernetes API (``kurator_sim.testing.serve``).

Covered: server-side apply creates, updates, re-applies without change and removes fields the
manager stopped sending; forced and unforced applies against another manager's fields; get,
find, list with label selectors and pages, delete (and deleting what is absent); discovery of
built-in and custom kinds; one CLIENT span per call. Error translation is in ``test_errors.py``.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from kurator_sim import testing
from shared.k8s import connection, errors, objects, resources, tracing

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
CONFIGMAPS = resources.Resource("", "v1", "configmaps", True, "ConfigMap")


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[connection.ApiClient]:
    async with testing.serve(crd_dir=CRDS) as sim:
        api = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
        try:
            yield api
        finally:
            await api.close()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def api(kube: connection.ApiClient, spans: InMemorySpanExporter) -> objects.Objects:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return objects.Objects(kube, field_manager="kurator-test", tracer=provider.get_tracer("test"))


def configmap(name: str, data: dict[str, str], **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels}, "data": data}


def managers(obj: dict[str, Any]) -> dict[str, str]:
    return {m["manager"]: m["operation"] for m in obj["metadata"].get("managedFields", [])}


async def test_apply_creates_then_updates(api: objects.Objects) -> None:
    created = await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    assert created["kind"] == "ConfigMap"  # filled from the resource when the body leaves it out
    assert created["data"] == {"x": "1"}
    assert managers(created) == {"kurator-test": "Apply"}
    updated = await api.apply(CONFIGMAPS, configmap("a", {"x": "2"}))
    assert updated["data"] == {"x": "2"}
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]


async def test_reapplying_the_same_body_changes_nothing(api: objects.Objects) -> None:
    first = await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}, team="a"))
    again = await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}, team="a"))
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_fields_the_manager_stops_sending_are_removed(api: objects.Objects) -> None:
    await api.apply(CONFIGMAPS, configmap("a", {"x": "1", "y": "2"}, team="a"))
    after = await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    assert after["data"] == {"x": "1"}
    assert "team" not in (after["metadata"].get("labels") or {})


async def test_another_managers_fields_survive_and_conflicts_are_forced(api: objects.Objects) -> None:
    await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    await api.apply(CONFIGMAPS, configmap("a", {"y": "other"}), field_manager="someone-else")
    mine = await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    assert mine["data"] == {"x": "1", "y": "other"}
    with pytest.raises(errors.Conflict) as info:
        await api.apply(CONFIGMAPS, configmap("a", {"y": "mine"}), force=False)
    assert info.value.transient
    assert info.value.causes, "a field conflict names the contested fields"
    forced = await api.apply(CONFIGMAPS, configmap("a", {"x": "1", "y": "mine"}))
    assert forced["data"] == {"x": "1", "y": "mine"}


async def test_get_find_and_list(api: objects.Objects) -> None:
    for i in range(5):
        await api.apply(CONFIGMAPS, configmap(f"cm-{i}", {"i": str(i)}, parity=str(i % 2)))
    got = await api.get(CONFIGMAPS, name="cm-3", namespace="default")
    assert got["data"] == {"i": "3"}
    assert await api.find(CONFIGMAPS, name="absent", namespace="default") is None
    with pytest.raises(errors.NotFound):
        await api.get(CONFIGMAPS, name="absent", namespace="default")
    odd = await api.list_objects(CONFIGMAPS, namespace="default", label_selector="parity=1", page_size=1)
    assert sorted(o["metadata"]["name"] for o in odd) == ["cm-1", "cm-3"]
    assert {o["kind"] for o in odd} == {"ConfigMap"}
    everywhere = await api.list_objects(CONFIGMAPS, label_selector="parity", page_size=2)
    assert len(everywhere) == 5


async def test_find_without_spans(kube: connection.ApiClient) -> None:
    # No span to mark: an absent object is read as an answer, not raised and caught as NotFound.
    quiet = objects.Objects(kube, field_manager="kurator-test", tracer=trace.NoOpTracer())
    assert await quiet.find(CONFIGMAPS, name="absent", namespace="default") is None
    assert await quiet.find(CONFIGMAPS, name="absent", namespace="missing-namespace") is None
    await quiet.apply(CONFIGMAPS, configmap("present", {"x": "1"}))
    found = await quiet.find(CONFIGMAPS, name="present", namespace="default")
    assert found is not None
    assert found["data"] == {"x": "1"}
    with pytest.raises(errors.NotFound):
        await quiet.get(CONFIGMAPS, name="absent", namespace="default")


def test_which_tracers_make_spans() -> None:
    assert not tracing.makes_spans(trace.NoOpTracer())
    assert tracing.makes_spans(TracerProvider().get_tracer("test"))
    # The global API tracer: none until a global provider is installed (none is, in tests).
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not tracing.makes_spans(tracing.default_tracer())


async def test_delete(api: objects.Objects) -> None:
    await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    assert await api.delete(CONFIGMAPS, name="a", namespace="default") is True
    assert await api.find(CONFIGMAPS, name="a", namespace="default") is None
    assert await api.delete(CONFIGMAPS, name="a", namespace="default", missing_ok=True) is False
    with pytest.raises(errors.NotFound):
        await api.delete(CONFIGMAPS, name="a", namespace="default")


async def test_cluster_scoped_custom_resources(api: objects.Objects) -> None:
    body = {
        "metadata": {"name": "member-x", "labels": {"tier": "a"}},
        "spec": {"syncMode": "Pull"},
    }
    created = await api.apply(resources.KARMADA_CLUSTERS, body)
    assert created["apiVersion"] == "cluster.karmada.io/v1alpha1"
    listed = await api.list_objects(resources.KARMADA_CLUSTERS, label_selector="tier=a")
    assert [c["metadata"]["name"] for c in listed] == ["member-x"]
    assert await api.delete(resources.KARMADA_CLUSTERS, name="member-x")


async def test_discovery(api: objects.Objects) -> None:
    deployments = await api.resource_for("apps/v1", "Deployment")
    assert deployments == resources.DEPLOYMENTS
    configmaps = await api.resource_for("v1", "ConfigMap")
    assert configmaps == CONFIGMAPS
    if CRDS is not None:
        jobs = await api.resource_for("batch.volcano.sh/v1alpha1", "Job")
        assert (jobs.plural, jobs.namespaced) == ("jobs", True)
    with pytest.raises(errors.NotFound):
        await api.resource_for("apps/v1", "Nonsense")
    with pytest.raises(errors.NotFound):
        await api.resource_for("nonsense.example.com/v1", "Thing")


async def test_one_client_span_per_call(api: objects.Objects, spans: InMemorySpanExporter) -> None:
    await api.apply(CONFIGMAPS, configmap("a", {"x": "1"}))
    await api.find(CONFIGMAPS, name="absent", namespace="default")
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["apply configmaps", "get configmaps"]
    assert all(s.kind is SpanKind.CLIENT for s in finished)
    applied, missing = finished
    assert applied.attributes is not None
    assert applied.attributes["k8s.namespace.name"] == "default"
    assert applied.attributes["k8s.object.name"] == "a"
    assert applied.attributes["k8s.field_manager"] == "kurator-test"
    assert missing.status.status_code is StatusCode.ERROR
    assert missing.attributes is not None
    assert missing.attributes["http.response.status_code"] == 404


async def test_calls_honour_the_environment_proxy_as_the_client_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Looked up once per origin rather than per request (shared.k8s.transport), but still used:
    # a proxy nobody listens on makes the call fail as unreachable.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with testing.serve(crd_dir=CRDS) as sim:
        kube = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
        try:
            with pytest.raises(errors.Unavailable):
                await objects.Objects(kube, field_manager="kurator-test").get(CONFIGMAPS, name="a", namespace="default")
            monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
            monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
            kube2 = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig2"))
            try:
                assert (
                    await objects.Objects(kube2, field_manager="kurator-test").find(
                        CONFIGMAPS, name="a", namespace="default"
                    )
                    is None
                )
            finally:
                await kube2.close()
        finally:
            await kube.close()
