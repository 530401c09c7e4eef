"""The tracker over fleet status documents shaped as the fleet service publishes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kurator_apps.federated import index, observed, propagation, status, tracker
from shared.contracts.models import apps

Obj = dict[str, Any]
AT = ("default", "frontend-app")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def propagation_status(*, generation: int, fd_generation: int, observed_generation: int | None = None) -> Obj:
    return {
        "metadata": {
            "name": "fd-frontend-app",
            "namespace": "default",
            "generation": generation,
            "annotations": {"apps.kurator.dev/generation": str(fd_generation)},
        },
        "spec": {
            "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "default", "name": "frontend-app"}
        },
        "status": {
            "phase": "Available",
            "observedGeneration": generation if observed_generation is None else observed_generation,
            "placements": [
                {
                    "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend-app"},
                    "clusters": [
                        {"name": "cluster-beijing", "replicas": 2},
                        {"name": "cluster-shanghai", "replicas": 1},
                    ],
                    "phase": "Available",
                },
                {
                    "resource": {"apiVersion": "v1", "kind": "Service", "name": "frontend-service"},
                    "clusters": [{"name": "cluster-beijing"}, {"name": "cluster-shanghai"}],
                    "phase": "Available",
                },
            ],
        },
    }


def deployment_status(**clusters: Obj) -> Obj:
    entries = [{"name": name.replace("_", "-"), **entry} for name, entry in clusters.items()]
    return {"status": {"placement": {"clusters": entries}}}


def healthy(assigned: int, ready: int, updated: int | None = None) -> Obj:
    member = {"replicas": assigned, "readyReplicas": ready, "updatedReplicas": ready if updated is None else updated}
    return {"replicas": assigned, "clusterReady": True, "applied": True, "health": "Healthy", "status": member}


@pytest.fixture
def state(seeded: tracker.Tracker) -> tracker.Tracker:
    return seeded


def test_owner_and_applied_generation_come_from_the_fleets_propagation_status() -> None:
    doc = propagation_status(generation=4, fd_generation=2)
    assert observed.owner_of(doc) == AT
    view = observed.fleet_view(doc)
    assert view.generation == 2
    line = view.line("Service")
    assert line is not None
    assert line.clusters == ("cluster-beijing", "cluster-shanghai")
    # The fleet has not handled the latest Propagation yet: which generation runs is not known.
    assert (
        observed.fleet_view(propagation_status(generation=4, fd_generation=2, observed_generation=3)).generation is None
    )
    assert observed.owner_of({"spec": {"owner": {"service": "backup", "kind": "Schedule", "name": "x"}}}) is None


def test_members_count_updated_ready_pods_and_name_failures() -> None:
    found = observed.members(
        deployment_status(
            cluster_beijing=healthy(2, 2, updated=1),
            cluster_shanghai={"replicas": 1, "clusterReady": False},
            cluster_hangzhou={"replicas": 1, "clusterReady": True, "applied": False, "appliedMessage": "quota"},
        )
    )
    assert found == (
        observed.Member("cluster-beijing", 2, 1),
        observed.Member("cluster-shanghai", 1, 0, "cluster not ready"),
        observed.Member("cluster-hangzhou", 1, 0, "not applied: quota"),
    )


def test_progressing_until_the_fleet_applied_this_generation_then_available(state: tracker.Tracker) -> None:
    state.deployment(
        AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2), cluster_shanghai=healthy(1, 1)))
    )
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert body["phase"] == "Progressing"  # ready pods, but of no generation the fleet confirmed
    assert body["readyReplicas"] == 0
    assert state.take_events(AT) == []

    state.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    body = state.evaluate(AT, now=T0 + timedelta(seconds=1))
    assert body is not None
    assert body["phase"] == "Available"
    assert [(c["name"], c["desired"], c["ready"]) for c in body["clusters"]] == [
        ("cluster-beijing", 2, 2),
        ("cluster-shanghai", 1, 1),
    ]
    assert body["propagation"] == {"name": "fd-frontend-app", "appliedGeneration": 1}
    [event] = state.take_events(AT)
    assert (event.type, event.reason) == ("Normal", "Available")
    assert state.changed(AT, body)
    state.published(AT, body)
    again = state.evaluate(AT, now=T0 + timedelta(seconds=2))
    assert not state.changed(AT, again or {})  # nothing new: nothing to publish


def test_losing_a_cluster_degrades_with_an_event(state: tracker.Tracker) -> None:
    state.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    state.deployment(
        AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2), cluster_shanghai=healthy(1, 1)))
    )
    state.evaluate(AT, now=T0)
    state.take_events(AT)
    down = {"replicas": 1, "clusterReady": False, "applied": True, "status": {"readyReplicas": 1}}
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2), cluster_shanghai=down)))
    body = state.evaluate(AT, now=T0 + timedelta(seconds=5))
    assert body is not None
    assert body["phase"] == "Degraded"
    shanghai = next(c for c in body["clusters"] if c["name"] == "cluster-shanghai")
    assert shanghai["failure"] == "cluster not ready"
    [event] = state.take_events(AT)
    assert (event.type, event.reason) == ("Warning", "Degraded")
    assert "cluster-shanghai: cluster not ready" in event.message


def test_a_named_cluster_outside_the_fleet_is_a_failure(
    seed_fd: Obj, fleet_labels: dict[str, dict[str, str]], example: Callable[..., Obj]
) -> None:
    state = tracker.Tracker(index.Index())
    for name, labels in fleet_labels.items():
        state.cluster(name, labels)
    doc = {**seed_fd, "metadata": {**seed_fd["metadata"], "namespace": "default"}}
    doc["spec"]["placement"]["clusters"][1]["name"] = "cluster-wuhan"
    state.index.put_fd(apps.FederatedDeployment.model_validate(doc), doc, generation=1)
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert body["phase"] == "Degraded"
    assert {c["name"]: c.get("failure") for c in body["clusters"]}["cluster-wuhan"] == "not a member of the fleet"
    assert body["warnings"] == ["not members of the fleet: cluster-wuhan"]


def test_a_restart_resumes_conditions_from_the_published_status(
    state: tracker.Tracker, fleet_labels: dict[str, dict[str, str]]
) -> None:
    state.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    state.deployment(
        AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2), cluster_shanghai=healthy(1, 1)))
    )
    before = state.evaluate(AT, now=T0)
    assert before is not None

    restarted = tracker.Tracker(state.index)
    for name, labels in fleet_labels.items():
        restarted.cluster(name, labels)
    restarted.on_bus(AT, before)
    restarted.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    restarted.deployment(
        AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2), cluster_shanghai=healthy(1, 1)))
    )
    after = restarted.evaluate(AT, now=T0 + timedelta(hours=1))
    assert after == before  # same transition times, no new event
    assert restarted.take_events(AT) == []


def test_deleted_is_forgotten_and_not_revived_by_late_observations(state: tracker.Tracker) -> None:
    body = state.evaluate(AT, now=T0)
    assert body is not None
    state.publishing(AT, body)
    state.forget(AT)
    state.published(AT, body, sequence=3)  # its publish was acknowledged after the delete
    assert not state.knows_status(AT)  # so the Deleted status that follows is read
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(2, 2))))
    assert AT not in state.dirty
    assert state.evaluate(AT, now=T0) is None


def test_a_selector_waits_for_the_fleet_and_says_when_it_matches_nothing(seed_fd: Obj) -> None:
    state = tracker.Tracker(index.Index())
    doc = {**seed_fd, "metadata": {**seed_fd["metadata"], "namespace": "default"}}
    doc["spec"]["placement"] = {"clusterSelector": {"matchLabels": {"environment": "nowhere"}}}
    state.index.put_fd(apps.FederatedDeployment.model_validate(doc), doc, generation=1)
    assert state.evaluate(AT, now=T0) is None  # the fleet's clusters are not known yet
    state.cluster("cluster-beijing", {"environment": "production"})
    assert AT in state.dirty  # the fleet arriving re-evaluates it
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert body["phase"] == "Degraded"
    assert body["warnings"] == ["the cluster selector matches no member of the fleet"]


def test_a_desired_cluster_the_fleet_reports_not_ready_is_a_failure(
    state: tracker.Tracker, fleet_labels: dict[str, dict[str, str]]
) -> None:
    state.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(3, 3))))
    state.dirty.clear()
    state.cluster("cluster-shanghai", fleet_labels["cluster-shanghai"], ready=False)
    assert AT in state.dirty
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert body["phase"] == "Degraded"
    assert {c["name"]: c.get("failure") for c in body["clusters"]} == {
        "cluster-beijing": None,
        "cluster-shanghai": "cluster not ready",
    }
    state.cluster("cluster-shanghai", fleet_labels["cluster-shanghai"], ready=True)
    again = state.evaluate(AT, now=T0)
    assert again is not None
    assert all("failure" not in c for c in again["clusters"])


def test_own_statuses_seen_on_the_bus_are_not_evaluated_again(state: tracker.Tracker) -> None:
    body = state.evaluate(AT, now=T0)
    assert body is not None
    state.dirty.clear()
    state.publishing(AT, body)
    state.on_bus(AT, body, sequence=7)  # the echo, before the acknowledgement
    assert AT not in state.dirty
    state.published(AT, body, sequence=7)
    state.on_bus(AT, body, sequence=7)
    assert AT not in state.dirty
    older = {**body, "phase": "Degraded"}
    state.on_bus(AT, older, sequence=5)  # published before ours: the bus holds ours
    assert AT not in state.dirty
    assert not state.changed(AT, body)
    theirs = {**body, "observedGeneration": 2}
    state.on_bus(AT, theirs, sequence=9)  # another replica's: checked against this replica's view
    assert AT in state.dirty
    assert state.changed(AT, body)


def test_a_fleet_status_that_changes_nothing_shown_does_not_re_evaluate(state: tracker.Tracker) -> None:
    doc = propagation_status(generation=1, fd_generation=1)
    state.fleet(AT, observed.fleet_view(doc))
    assert AT in state.dirty
    state.dirty.clear()
    doc["status"]["phase"] = "Progressing"
    doc["status"]["placements"][0]["phase"] = "Progressing"
    state.fleet(AT, observed.fleet_view(doc))
    assert AT not in state.dirty  # phases move with every binding update and show nowhere
    doc["status"]["placements"][0]["phase"] = "Unschedulable"
    state.fleet(AT, observed.fleet_view(doc))
    assert AT in state.dirty
    state.dirty.clear()
    doc["metadata"]["generation"] = 2  # the fleet holds another Propagation (its fingerprint moved)
    view = observed.fleet_view(doc)
    assert view.fingerprint == propagation.fingerprint(doc)
    state.fleet(AT, view)
    assert AT in state.dirty
    state.dirty.clear()
    members = observed.members(deployment_status(cluster_beijing=healthy(2, 1)))
    state.deployment(AT, members)
    assert AT in state.dirty
    state.dirty.clear()
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(2, 1))))
    assert AT not in state.dirty


def test_only_rollouts_past_the_deadline_are_due_again(state: tracker.Tracker) -> None:
    state.evaluate(AT, now=T0)
    assert state.overdue(T0 + timedelta(minutes=5)) == []
    assert state.overdue(T0 + status.DEFAULT_PROGRESS_DEADLINE + timedelta(seconds=1)) == [AT]
    body = state.evaluate(AT, now=T0 + status.DEFAULT_PROGRESS_DEADLINE + timedelta(seconds=1))
    assert body is not None
    assert body["phase"] == "Degraded"
    assert state.overdue(T0 + timedelta(hours=1)) == []


def test_what_shows_no_difference_is_not_evaluated_again(
    state: tracker.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    advance = status.advance

    def counted(*args: Any, **kwargs: Any) -> status.Transition:
        calls.append(1)
        return advance(*args, **kwargs)

    monkeypatch.setattr(status, "advance", counted)
    state.fleet(AT, observed.fleet_view(propagation_status(generation=1, fd_generation=1)))
    first = state.evaluate(AT, now=T0)
    # Karmada assigned the replicas, none ready yet: the same status as before, not worked out again.
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(2, 0))))
    again = state.evaluate(AT, now=T0 + timedelta(seconds=1))
    assert (again, len(calls)) == (first, 1)
    assert again is not first  # the caller's own copy
    state.deployment(AT, observed.members(deployment_status(cluster_beijing=healthy(2, 1))))
    moved = state.evaluate(AT, now=T0 + timedelta(seconds=2))
    assert moved is not None
    assert (moved["readyReplicas"], len(calls)) == (1, 2)


def test_the_publisher_leaves_what_a_handler_is_answering(state: tracker.Tracker) -> None:
    state.touch(AT)
    state.answering(AT)
    assert state.take_dirty() == set()
    state.touch(AT)
    body = state.evaluate(AT, now=T0)
    state.answered(AT, body)
    assert AT not in state.dirty  # the answer is the status: nothing to publish again
    assert not state.changed(AT, body or {})
    state.answering(AT)
    state.answered(AT, None)  # the handler failed
    assert state.take_dirty() == {AT}


def test_a_record_from_the_bucket_is_parsed_when_asked_for(seed_fd: Obj) -> None:
    idx = index.Index()
    doc = {**seed_fd, "metadata": {**seed_fd["metadata"], "namespace": "default", "uid": "u-1"}}
    assert idx.record_fd(doc, generation=1, deleted=False)
    assert idx.knows_fd(*AT)
    assert not idx.record_fd(doc, generation=1, deleted=False)  # known already
    entry = idx.fd(*AT)
    assert entry is not None
    assert (entry.generation, entry.uid, entry.model.metadata.name) == (1, "u-1", "frontend-app")
    assert not idx.put_fd(entry.model, doc, generation=0)  # older than what is known
    broken = {**doc, "spec": {"placement": {}}}
    assert idx.record_fd(broken, generation=2, deleted=False)
    assert idx.fd(*AT) is entry  # a record that no longer parses is not ours to judge
    assert idx.record_fd(doc, generation=3, deleted=True)
    assert idx.fd(*AT) is None
    assert not idx.knows_fd(*AT)


def test_a_propagation_status_showing_nothing_new_changes_nothing(state: tracker.Tracker) -> None:
    doc = propagation_status(generation=1, fd_generation=1)
    state.fleet(AT, observed.fleet_view(doc))
    assert AT in state.dirty
    state.dirty.clear()
    doc["status"]["placements"][0]["phase"] = "Progressing"  # a phase the status does not show
    state.fleet(AT, observed.fleet_view(doc))
    assert AT not in state.dirty
    doc["status"]["placements"][1]["clusters"] = [{"name": "cluster-beijing"}]  # where a companion went
    state.fleet(AT, observed.fleet_view(doc))
    assert AT in state.dirty
    state.dirty.clear()
    state.fleet(AT, None)  # the fleet holds no Propagation any more
    assert AT in state.dirty
    state.dirty.clear()
    state.fleet(AT, observed.fleet_view(doc))  # and again: the same view as before it went is news
    assert AT in state.dirty
    assert (
        observed.fleet_view(propagation_status(generation=2, fd_generation=3, observed_generation=1)).generation is None
    )
    assert observed.fleet_view(propagation_status(generation=2, fd_generation=3)).generation == 3
