"""The Application handler over an in-memory host: what it writes, prunes, refuses and reports."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from kurator_apps.applications import handler, render
from shared.bus import store
from shared.contracts import subjects
from shared.errors import InvalidIntent

Obj = dict[str, Any]


class MemoryHost:
    """Flux objects and Secrets by ``(kind, namespace, name)``; records the writes."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.secrets: dict[tuple[str, str], frozenset[str]] = {}
        self.reads = 0

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        stored = copy.deepcopy(dict(obj))
        self.objects[(str(obj["kind"]), meta["namespace"], meta["name"])] = stored
        return stored

    async def labelled(self, *, namespace: str, selector: str) -> list[dict[str, Any]]:
        wanted = dict(term.split("=") for term in selector.split(","))
        return [
            o
            for (_, ns, _), o in self.objects.items()
            if ns == namespace and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]

    async def find(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.objects.get((kind, namespace, name))

    async def delete(self, *, kind: str, namespace: str, name: str) -> bool:
        return self.objects.pop((kind, namespace, name), None) is not None

    async def secret_keys(self, *, namespace: str, name: str) -> frozenset[str] | None:
        return self.secrets.get((namespace, name))


class Statuses:
    def __init__(self, documents: Mapping[subjects.ObjectAddress, Obj]) -> None:
        self.documents = dict(documents)

    async def latest(self, address: subjects.ObjectAddress) -> Mapping[str, Any] | None:
        return self.documents.get(address)


FLEET = subjects.ObjectAddress("fleet", "fleet", "team", "quickstart")
FLEET_DOC = {"metadata": {"name": "quickstart"}, "spec": {"clusters": [{"name": "a"}]}}
CLUSTER_A = subjects.ObjectAddress("fleet", "cluster", None, "a")


def app(source: Obj | None = None, destination: Obj | None = None, name: str = "web") -> Any:
    doc: Obj = {
        "apiVersion": "apps.kurator.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {
            "source": source or {"gitRepository": {"url": "https://example.com/web.git", "interval": "1m"}},
            "syncPolicies": [{"name": "web", "kustomization": {"interval": "5m", "prune": True}}],
        },
    }
    if destination is not None:
        doc["spec"]["destination"] = destination
    return render.parse(doc)


def _kinds(host: MemoryHost) -> set[tuple[str, str]]:
    return {(kind, name) for kind, _, name in host.objects}


async def test_without_a_destination_it_deploys_to_the_host_without_a_kubeconfig() -> None:
    host = MemoryHost()
    subject = handler.ApplicationHandler(flux=host, statuses=Statuses({}))
    st = await subject.reconcile(app(), generation=1, changed_at="t")
    assert st is not None
    assert _kinds(host) == {("GitRepository", "web"), ("Kustomization", "web-currentcluster-host")}
    assert "kubeConfig" not in host.objects[("Kustomization", "team", "web-currentcluster-host")]["spec"]
    assert [(s["cluster"], s["reason"]) for s in st["syncStatus"]] == [("host", "WaitingForFlux")]
    assert "fleet" not in st


async def test_a_missing_fleet_writes_nothing_and_another_source_kind_replaces_the_old() -> None:
    host = MemoryHost()
    statuses = Statuses({})
    subject = handler.ApplicationHandler(flux=host, statuses=statuses)
    to_fleet = {"fleet": "quickstart"}
    st = await subject.reconcile(app(destination=to_fleet), generation=1, changed_at="t")
    assert st is not None
    assert (st["phase"], host.objects) == ("Pending", {})

    statuses.documents |= {FLEET: FLEET_DOC, CLUSTER_A: {"metadata": {"name": "a"}}}
    host.secrets[("team", "a-kubeconfig")] = frozenset({"value"})
    await subject.reconcile(app(destination=to_fleet), generation=1, changed_at="t")
    assert _kinds(host) == {("GitRepository", "web"), ("Kustomization", "web-cluster-a")}

    oci = {"ociRepository": {"url": "oci://ghcr.io/example/web", "interval": "1m"}}
    st = await subject.reconcile(app(source=oci, destination=to_fleet), generation=2, changed_at="t")
    assert st is not None
    assert _kinds(host) == {("OCIRepository", "web"), ("Kustomization", "web-cluster-a")}
    assert st["pruned"] == ["GitRepository/web"]
    assert host.objects[("Kustomization", "team", "web-cluster-a")]["spec"]["sourceRef"]["kind"] == "OCIRepository"


async def test_objects_it_did_not_write_are_not_taken_over() -> None:
    host = MemoryHost()
    host.objects[("Kustomization", "team", "web-currentcluster-host")] = {
        "kind": "Kustomization",
        "metadata": {"name": "web-currentcluster-host", "namespace": "team", "labels": {}},
    }
    subject = handler.ApplicationHandler(flux=host, statuses=Statuses({}))
    with pytest.raises(InvalidIntent) as info:
        await subject.reconcile(app(), generation=1, changed_at="t")
    [reason] = info.value.reasons
    assert reason.field == "spec.syncPolicies[0].name"
    assert "Kustomization team/web-currentcluster-host was not written by Kurator" in reason.message
    assert ("GitRepository", "team", "web") not in host.objects  # refused before anything is written


async def test_its_own_objects_are_read_once_per_intent() -> None:
    host = MemoryHost()
    subject = handler.ApplicationHandler(flux=host, statuses=Statuses({}))
    await subject.reconcile(app(), generation=1, changed_at="t")
    reads = host.reads
    await subject.reconcile(app(), generation=1, changed_at="t")  # a resync
    assert host.reads == reads
    await subject.on_delete(_record(app()))
    assert host.objects == {}


def _record(application: Any) -> store.Record:
    return store.Record(
        document=application.to_wire(), generation=1, intent_seq=1, intent_id="i", spec_hash="h", changed_at="t"
    )
