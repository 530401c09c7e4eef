"""The binding tracker without a bus: which phase a workload's observation gets as its binding
moves, including members that are still starting it (``Unhealthy`` before it was ever
``Available``) and a binding first met with members' status already in it."""

from __future__ import annotations

from typing import Any, cast

from kurator_fleet import observed
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

    def request(self, address: subjects.ObjectAddress) -> None:
        pass

    def emit(self, *_: Any, **__: Any) -> None:
        pass

    def retire(self, address: subjects.ObjectAddress, document: Any) -> None:
        self._observations.discard(address)


def rb(members: dict[str, str] | None) -> dict[str, Any]:
    """The ``web`` Deployment's binding on clusters a and b; ``members``: each one's health."""
    status: dict[str, Any] = {"conditions": [{"type": "Scheduled", "status": "True", "reason": "Success"}]}
    if members:
        status["aggregatedStatus"] = [
            {"clusterName": name, "applied": True, "health": health} for name, health in members.items()
        ]
    return {
        "apiVersion": "work.karmada.io/v1alpha2",
        "kind": "ResourceBinding",
        "metadata": {"name": "web-deployment", "namespace": "default", "resourceVersion": "1"},
        "spec": {
            "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"},
            "replicas": 2,
            "clusters": [{"name": "a", "replicas": 1}, {"name": "b", "replicas": 1}],
        },
        "status": status,
    }


def event(obj: dict[str, Any], type_: watching.EventType = "MODIFIED") -> watching.WatchItem:
    return watching.ObjectEvent(type=type_, object=cast(Any, obj))


def tracker(mirror: StatusMirror | None = None) -> tuple[BindingTracker, observed.ObservedStatus]:
    observations = observed.ObservedStatus()
    t = BindingTracker(
        mirror=mirror or StatusMirror(cast(Any, None), own_source=OWN),
        writer=cast(Any, Writer(observations)),
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
