"""The binding tracker without a bus: which phase a workload's observation gets as its binding
moves, including members that are still starting it (``Unhealthy`` before it was ever
``Available``) and a binding first met with members' status already in it; a policy no intent
created gets no status requests, and its observation is composed when read, as it is then."""

from __future__ import annotations

from typing import Any, cast

import pytest

from kurator_fleet import observed
from kurator_fleet.watchers import placements
from kurator_fleet.watchers.binding_tracker import BindingTracker
from kurator_fleet.watchers.mirror import StatusMirror
from shared.contracts import subjects
from shared.k8s import watching

OWN = "kurator/fleet/test/watchers"
WEB = subjects.ObjectAddress("fleet", "deployment", "default", "web")


class Writer:
    """The status writer's side the tracker calls."""

    def __init__(self, observations: observed.ObservedStatus) -> None:
        self._observations = observations
        self.requested: list[subjects.ObjectAddress] = []
        self.awaiting: set[subjects.ObjectAddress] = set()

    def request(self, address: subjects.ObjectAddress) -> None:
        self.requested.append(address)

    def awaits_intent(self, address: subjects.ObjectAddress) -> bool:
        return address in self.awaiting

    def written_by_propagation(self, address: subjects.ObjectAddress) -> None:
        self.awaiting.add(address)  # as the writer: no record of its own is looked up

    def emit(self, *_: Any, **__: Any) -> None:
        pass

    def retire(self, address: subjects.ObjectAddress, document: Any) -> None:
        self._observations.discard(address)


def rb(members: dict[str, str] | None, *, policy: str | None = None) -> dict[str, Any]:
    """The ``web`` Deployment's binding on clusters a and b; ``members``: each one's health;
    ``policy``: the ``PropagationPolicy`` (in ``default``) that claimed it."""
    status: dict[str, Any] = {"conditions": [{"type": "Scheduled", "status": "True", "reason": "Success"}]}
    if members:
        status["aggregatedStatus"] = [
            {"clusterName": name, "applied": True, "health": health} for name, health in members.items()
        ]
    return {
        "apiVersion": "work.karmada.io/v1alpha2",
        "kind": "ResourceBinding",
        "metadata": {
            "name": "web-deployment",
            "namespace": "default",
            "resourceVersion": "1",
            **({"annotations": {placements.PP_NAME: policy}} if policy else {}),
        },
        "spec": {
            "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"},
            "replicas": 2,
            "clusters": [{"name": "a", "replicas": 1}, {"name": "b", "replicas": 1}],
        },
        "status": status,
    }


def event(obj: dict[str, Any], type_: watching.EventType = "MODIFIED") -> watching.WatchItem:
    return watching.ObjectEvent(type=type_, object=cast(Any, obj))


def tracker(
    mirror: StatusMirror | None = None, writer: Writer | None = None
) -> tuple[BindingTracker, observed.ObservedStatus]:
    observations = writer._observations if writer is not None else observed.ObservedStatus()
    t = BindingTracker(
        mirror=mirror or StatusMirror(cast(Any, None), own_source=OWN),
        writer=cast(Any, writer or Writer(observations)),
        observations=observations,
        ready=lambda _: True,
    )
    return t, observations


def phase(observations: observed.ObservedStatus) -> str | None:
    found = observations.get(WEB)
    return found.phase if found is not None else None


def test_members_starting_a_new_workload_are_progressing_and_unhealthy_after_available_is_degraded() -> None:
    t, observations = tracker()
    t.apply("ResourceBinding", event(rb(None), "ADDED"))
    assert phase(observations) == "Scheduled"
    t.apply("ResourceBinding", event(rb({"a": "Unhealthy", "b": "Unhealthy"})))
    assert phase(observations) == "Progressing"
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"})))
    assert phase(observations) == "Progressing"
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Healthy"})))
    assert phase(observations) == "Available"
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"})))
    assert phase(observations) == "Degraded"

    # Deleted and created again: a new workload, starting again.
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"}), "DELETED"))
    t.apply("ResourceBinding", event(rb(None), "ADDED"))
    t.apply("ResourceBinding", event(rb({"a": "Unhealthy", "b": "Unhealthy"})))
    assert phase(observations) == "Progressing"


def published(phase: str) -> StatusMirror:
    mirror = StatusMirror(cast(Any, None), own_source=OWN)
    mirror.published(WEB, seq=1, document={"status": {"phase": phase, "placement": {"clusters": []}}})
    return mirror


def test_a_binding_first_met_with_members_status_follows_what_the_bus_shows() -> None:
    """A re-list or a new lease holder: unhealthy is degraded unless the bus shows a rollout."""
    unknown, observations = tracker()
    unknown.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"}), "ADDED"))
    assert phase(observations) == "Degraded"

    available, observations = tracker(published("Available"))
    available.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"}), "ADDED"))
    assert phase(observations) == "Degraded"

    rolling, observations = tracker(published("Progressing"))
    rolling.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"}), "ADDED"))
    assert phase(observations) == "Progressing"


POLICY = subjects.ObjectAddress("fleet", "propagationpolicy", "default", "web-pp")


def test_a_policy_awaiting_an_intent_is_not_requested_and_is_composed_when_read() -> None:
    """A policy a Propagation wrote has no document to publish under: its steps request
    nothing and compose nothing; whoever reads its observation gets it as the bindings are now."""
    writer = Writer(observed.ObservedStatus())
    mirror = StatusMirror(cast(Any, None), own_source=OWN)
    t, observations = tracker(mirror, writer=writer)
    t.apply("ResourceBinding", event(rb(None, policy="web-pp"), "ADDED"))
    assert POLICY in writer.requested  # the writer has not looked its record up yet
    writer.requested.clear()
    writer.awaiting.add(POLICY)  # it has now, and found none
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Healthy"}, policy="web-pp")))
    assert POLICY not in writer.requested
    assert WEB in writer.requested  # the workload has a document of its own: published as before
    found = observations.get(POLICY)
    assert found is not None
    assert [line["phase"] for line in found.fields["placements"]] == ["Available"]
    assert observations.get(POLICY) is found  # built once, then held
    assert observations.merged(POLICY, {"phase": "Applied"})["placements"] == found.fields["placements"]

    # An intent for it now (its status on the bus): each step composes and requests it again.
    writer.awaiting.clear()
    mirror.published(POLICY, seq=1, document={"status": {"phase": "Applied"}})
    entry = mirror.get(POLICY)
    assert entry is not None
    entry.handler = {"status": {"phase": "Applied"}}
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Unhealthy"}, policy="web-pp")))
    assert POLICY in writer.requested
    found = observations.get(POLICY)
    assert found is not None
    assert [line["phase"] for line in found.fields["placements"]] == ["Degraded"]


PROPAGATION = subjects.ObjectAddress("fleet", "propagation", "default", "web-prop")


def test_workload_and_propagation_observations_are_composed_when_read_as_the_binding_is_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each step of a binding requests its workload and its Propagation; what a reader gets is
    composed from the latest step, once, however many steps came since it last read."""
    writer = Writer(observed.ObservedStatus())
    mirror = StatusMirror(cast(Any, None), own_source=OWN)
    t, observations = tracker(mirror, writer=writer)
    handler = {
        "status": {
            "phase": "Applied",
            "written": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"},
                {
                    "apiVersion": "policy.karmada.io/v1alpha1",
                    "kind": "PropagationPolicy",
                    "namespace": "default",
                    "name": "web-pp",
                },
            ],
        }
    }
    mirror.published(PROPAGATION, seq=1, document=handler)
    entry = mirror.get(PROPAGATION)
    assert entry is not None
    entry.handler = handler
    t.propagation_changed(PROPAGATION, entry)
    assert writer.awaiting == {WEB, POLICY}  # what it wrote has no intent of its own: not looked up
    writer.requested.clear()

    built: list[str] = []
    workload_observation = placements.workload_observation

    def counting(*args: Any, **kwargs: Any) -> observed.Observation:
        built.append("workload")
        return workload_observation(*args, **kwargs)

    monkeypatch.setattr(placements, "workload_observation", counting)
    t.apply("ResourceBinding", event(rb(None), "ADDED"))
    t.apply("ResourceBinding", event(rb({"a": "Unhealthy", "b": "Unhealthy"})))
    t.apply("ResourceBinding", event(rb({"a": "Healthy", "b": "Healthy"})))
    assert built == []  # nothing composed on the way
    assert writer.requested.count(WEB) == 3
    assert writer.requested.count(PROPAGATION) == 3
    assert phase(observations) == "Available"
    assert built == ["workload"]
    assert phase(observations) == "Available"
    assert built == ["workload"]  # built once, then held
    found = observations.get(PROPAGATION)
    assert found is not None
    assert found.phase == "Available"
    assert [line["phase"] for line in found.fields["placements"]] == ["Available"]
    assert found.milestone == frozenset(
        {(placements.Ref("apps/v1", "Deployment", "default", "web"), (("a", 1), ("b", 1)), "Available")}
    )

    # A write of fields no observation shows (a new resource version) requests nothing.
    writer.requested.clear()
    again = rb({"a": "Healthy", "b": "Healthy"})
    again["metadata"]["resourceVersion"] = "2"
    t.apply("ResourceBinding", event(again))
    assert writer.requested == []
    assert phase(observations) == "Available"

    # A member no longer ready: both are requested and read as they are now.
    ready = {"a": True, "b": True}
    t._ready = ready.get
    ready["b"] = False
    t.cluster_changed("b")
    assert WEB in writer.requested
    assert PROPAGATION in writer.requested
    assert phase(observations) == "Degraded"
    found = observations.get(WEB)
    assert found is not None
    assert [c.get("clusterReady") for c in found.fields["placement"]["clusters"]] == [True, False]
    found = observations.get(PROPAGATION)
    assert found is not None
    assert found.phase == "Degraded"
