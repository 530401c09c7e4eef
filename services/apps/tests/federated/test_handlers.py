"""The kind handlers with a recording fleet: what is published to the fleet, and when."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kurator_apps.federated import handlers, index, observed, propagation, tracker
from shared.bus import store
from shared.contracts import kinds
from shared.contracts.meta import KubeObject

Obj = dict[str, Any]


class RecordingFleet:
    def __init__(self) -> None:
        self.applied: list[Obj] = []
        self.deleted: list[tuple[str, str]] = []

    async def apply(self, document: Obj) -> None:
        self.applied.append(copy.deepcopy(document))

    async def delete(self, namespace: str, name: str) -> None:
        self.deleted.append((namespace, name))

    def templates(self, at: int = -1) -> list[tuple[str, str]]:
        return [(t["kind"], t["metadata"]["name"]) for t in self.applied[at]["spec"]["templates"]]


class Kit:
    def __init__(self, fleet_labels: dict[str, dict[str, str]]) -> None:
        self.fleet = RecordingFleet()
        self.state = tracker.Tracker(index.Index())
        for name, labels in fleet_labels.items():
            self.state.cluster(name, labels)
        shared = handlers.Federated(self.state, self.fleet)
        self.fd = handlers.FederatedDeploymentHandler(shared)
        self.companion = handlers.CompanionHandler(shared)
        self.generations: dict[tuple[str, str], int] = {}

    def _record(self, doc: Obj, *, deleted: bool = False) -> tuple[KubeObject, store.Record]:
        doc = {**doc, "metadata": {"namespace": "default", **doc["metadata"]}}
        at = (doc["kind"], doc["metadata"]["name"])
        generation = self.generations.get(at, 0) + (0 if deleted else 1)
        self.generations[at] = generation
        model = kinds.for_object(doc["apiVersion"], doc["kind"]).model.model_validate(doc)
        record = store.Record(doc, generation, generation, "i", "h", uid="u-1", deleted=deleted)
        return model, record

    async def apply(self, doc: Obj) -> Obj:
        model, record = self._record(doc)
        handler = self.fd if doc["kind"] == "FederatedDeployment" else self.companion
        return await handler.on_apply(model, record)

    async def delete(self, doc: Obj) -> None:
        _, record = self._record(doc, deleted=True)
        handler = self.fd if doc["kind"] == "FederatedDeployment" else self.companion
        await handler.on_delete(record)


@pytest.fixture
def kit(fleet_labels: dict[str, dict[str, str]]) -> Kit:
    return Kit(fleet_labels)


async def test_companions_before_and_after_join_one_propagation(kit: Kit, example: Callable[..., Obj]) -> None:
    fd, service, ingress = (example("06-federateddeployment-frontend.yaml", i) for i in range(3))
    first = await kit.apply(service)
    assert "followsFederatedDeployments" not in first
    assert kit.fleet.applied == []  # nothing to propagate it with yet

    status = await kit.apply(fd)
    assert status["phase"] == "Progressing"
    assert {c["name"]: c["desired"] for c in status["clusters"]} == {"cluster-beijing": 2, "cluster-shanghai": 1}
    assert kit.fleet.templates() == [("Deployment", "frontend-app"), ("Service", "frontend-service")]
    published = kit.fleet.applied[-1]
    assert published["metadata"] == {
        "name": "fd-frontend-app",
        "namespace": "default",
        "annotations": {"apps.kurator.dev/generation": "1"},
    }
    assert published["spec"]["owner"] == {
        "service": "apps",
        "kind": "FederatedDeployment",
        "namespace": "default",
        "name": "frontend-app",
    }

    after = await kit.apply(ingress)
    assert after["followsFederatedDeployments"] == ["frontend-app"]
    assert kit.fleet.templates() == [
        ("Deployment", "frontend-app"),
        ("Service", "frontend-service"),
        ("Ingress", "frontend-ingress"),
    ]


async def test_a_companion_that_stops_matching_is_withdrawn(kit: Kit, example: Callable[..., Obj]) -> None:
    fd, service = example("06-federateddeployment-frontend.yaml", 0), example("06-federateddeployment-frontend.yaml", 1)
    await kit.apply(fd)
    await kit.apply(service)
    assert ("Service", "frontend-service") in kit.fleet.templates()
    service["spec"]["selector"] = {"app": "someone-else"}
    changed = await kit.apply(service)
    assert "followsFederatedDeployments" not in changed
    assert kit.fleet.templates() == [("Deployment", "frontend-app")]  # the former owner re-published without it

    service["spec"]["selector"] = {"app": "frontend"}
    await kit.apply(service)
    published = len(kit.fleet.applied)
    await kit.delete(service)
    assert len(kit.fleet.applied) == published + 1
    assert kit.fleet.templates() == [("Deployment", "frontend-app")]


async def test_replicas_change_rolls_forward_and_delete_withdraws(kit: Kit, example: Callable[..., Obj]) -> None:
    fd = example("06-federateddeployment-frontend.yaml", 0)
    await kit.apply(fd)
    fd["spec"]["template"]["spec"]["replicas"] = 5
    fd["spec"]["placement"]["clusters"][1]["replicas"] = 3
    status = await kit.apply(fd)
    assert status["observedGeneration"] == 2
    weights = kit.fleet.applied[-1]["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"]
    assert [(w["targetCluster"]["clusterNames"], w["weight"]) for w in weights] == [
        (["cluster-beijing"], 2),
        (["cluster-shanghai"], 3),
    ]
    assert kit.fleet.applied[-1]["spec"]["templates"][0]["spec"]["replicas"] == 5
    assert kit.fleet.applied[-1]["metadata"]["annotations"]["apps.kurator.dev/generation"] == "2"

    await kit.delete(fd)
    assert kit.fleet.deleted == [("default", "fd-frontend-app")]
    assert kit.state.evaluate(("default", "frontend-app"), now=_now()) is None


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_a_companion_another_replica_recorded_is_propagated_once(kit: Kit, example: Callable[..., Obj]) -> None:
    """The handler's replica had not seen the Service: the desired-state watch brings it, and the
    Propagation it lacks is published once (and not again after a restart, as the fleet holds it)."""
    fd, service = example("06-federateddeployment-frontend.yaml", 0), example("06-federateddeployment-frontend.yaml", 1)
    await kit.apply(fd)
    at = ("default", "frontend-app")
    assert kit.state.unpropagated(at) is None  # sent by the handler just now

    service["metadata"]["namespace"] = "default"
    owners = kit.state.index.record("service", service, generation=1, deleted=False)
    assert [o.name for o in owners] == ["frontend-app"]
    missing = kit.state.unpropagated(at)
    assert missing is not None
    assert [t["kind"] for t in missing["spec"]["templates"]] == ["Deployment", "Service"]
    kit.state.sent(at, missing)
    assert kit.state.unpropagated(at) is None

    restarted = tracker.Tracker(kit.state.index)
    held = {**missing, "metadata": {**missing["metadata"], "generation": 2}, "status": {"observedGeneration": 2}}
    restarted.fleet(at, observed.fleet_view(held))
    assert restarted.unpropagated(at) is None
    assert kit.state.index.record("service", service, generation=1, deleted=True)[0].name == "frontend-app"


async def test_nothing_is_re_propagated_before_anything_was_sent_or_held(kit: Kit, example: Callable[..., Obj]) -> None:
    """A FederatedDeployment another replica accepted: its handler propagates it; here the
    Propagation is compared only once the fleet reports what it holds."""
    fd = {**example("06-federateddeployment-frontend.yaml", 0)}
    fd["metadata"] = {**fd["metadata"], "namespace": "default"}
    at = ("default", "frontend-app")
    assert kit.state.index.record_fd(fd, generation=1, deleted=False)
    assert kit.state.unpropagated(at) is None
    entry = kit.state.index.fd(*at)
    assert entry is not None
    document = kit.state.propagation_of(entry)
    assert kit.state.propagation_of(entry) is document  # made once per plan
    stale = {**document, "metadata": {**document["metadata"], "annotations": {"apps.kurator.dev/generation": "0"}}}
    held = {**stale, "metadata": {**stale["metadata"], "generation": 1}, "status": {"observedGeneration": 1}}
    kit.state.fleet(at, observed.fleet_view(held))
    assert kit.state.unpropagated(at) is document


async def test_what_was_sent_is_known_without_hashing_it(
    kit: Kit, example: Callable[..., Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Obj] = []
    fingerprint = propagation.fingerprint

    def counted(document: Obj) -> str:
        hashed.append(document)
        return fingerprint(document)

    monkeypatch.setattr(propagation, "fingerprint", counted)
    await kit.apply(example("06-federateddeployment-frontend.yaml", 0))
    at = ("default", "frontend-app")
    sent = kit.fleet.applied[-1]
    held = {**sent, "metadata": {**sent["metadata"], "generation": 1}, "status": {"observedGeneration": 1}}
    kit.state.fleet(at, observed.fleet_view(held))
    assert kit.state.unpropagated(at) is None
    assert hashed == []  # the plan it sent is the plan now: nothing to compare
