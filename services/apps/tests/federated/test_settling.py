"""Holding back status changes that move no milestone while the publisher is busy (:mod:`.settling`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from kurator_apps.federated import follow, observed, settling, tracker

Obj = dict[str, Any]
AT = ("default", "frontend-app")
OTHER = ("default", "other-app")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SETTLE = timedelta(seconds=5)


def body(*, phase: str = "Progressing", ready: int = 0, applied: int | None = None) -> Obj:
    return {
        "phase": phase,
        "observedGeneration": 1,
        "readyReplicas": ready,
        "clusters": [{"name": "cluster-beijing", "desired": 2, "ready": ready}],
        "conditions": [{"type": "Available", "status": "True" if phase == "Available" else "False", "reason": "x"}],
        "propagation": {"name": "fd-frontend-app", **({"appliedGeneration": applied} if applied else {})},
    }


def busy() -> settling.Settling:
    found = settling.Settling(settle=SETTLE)
    for _ in range(4):
        found.window(20)  # many changes in every window: a load
    assert found.busy
    return found


def test_milestones_are_the_phase_conditions_and_clusters_not_counters_or_the_applied_generation() -> None:
    assert settling.milestone(body()) == settling.milestone(body(ready=1, applied=1))
    assert settling.milestone(body()) != settling.milestone(body(phase="Available"))
    failed = body()
    failed["clusters"] = [{"name": "cluster-beijing", "desired": 2, "ready": 0, "failure": "cluster not ready"}]
    assert settling.milestone(body()) != settling.milestone(failed)
    assert settling.milestone(None) != settling.milestone(body())


def test_a_quiet_publisher_holds_nothing() -> None:
    held = settling.Settling(settle=SETTLE)
    for _ in range(10):
        held.window(2)  # a few rollouts at a time
    assert not held.busy
    assert not held.hold(AT, before=body(), after=body(applied=1), now=0.0)


def test_details_wait_for_the_next_milestone_at_most_settle() -> None:
    held = busy()
    assert held.hold(AT, before=body(), after=body(applied=1), now=0.0)
    assert held.hold(AT, before=body(), after=body(ready=1, applied=1), now=1.0)  # still since 0.0
    assert held.due(4.9) == []
    assert held.next_due(1.0) == pytest.approx(4.0)
    assert held.due(5.0) == [AT]
    assert not held.hold(AT, before=body(), after=body(ready=1, applied=1), now=5.0)  # waited enough
    assert AT not in held
    assert held.next_due(5.0) is None


def test_a_milestone_is_never_held_and_takes_what_was_held_with_it() -> None:
    held = busy()
    assert held.hold(AT, before=body(), after=body(applied=1), now=0.0)
    assert not held.hold(AT, before=body(), after=body(phase="Available", ready=2, applied=1), now=0.5)
    assert AT not in held
    assert not held.hold(OTHER, before=None, after=body(), now=0.5)  # no status yet: the first is one


def test_held_in_time_order_and_all_due_once_quiet() -> None:
    held = busy()
    assert held.hold(AT, before=body(), after=body(applied=1), now=0.0)
    assert held.hold(OTHER, before=body(), after=body(applied=1), now=2.0)
    assert held.due(5.5) == [AT]
    held.window(0)  # one window with nothing new: a pause between two waves of a load
    held.window(3)
    assert held.busy
    for _ in range(10):
        held.window(0)  # the load is over
    assert not held.busy
    assert held.due(5.5) == [AT, OTHER]
    held.window(3)  # a few changes now: still quiet
    assert not held.busy


class FakePublisher:
    def __init__(self) -> None:
        self.statuses: list[Obj] = []
        self.events: list[str] = []

    async def status(self, address: Any, document: Obj, *, causation_id: str | None) -> Any:
        self.statuses.append(document["status"])
        return SimpleNamespace(seq=len(self.statuses))

    async def event(self, *, name: str, **_: Any) -> None:
        self.events.append(name)


class NoFleet:
    async def apply(self, document: Obj) -> None:
        raise AssertionError("the Propagation was sent already")

    async def delete(self, namespace: str, name: str) -> None:
        raise AssertionError


@pytest.fixture
def state(seeded: tracker.Tracker) -> tracker.Tracker:
    found = seeded
    entry = found.index.fd(*AT)
    assert entry is not None
    found.sent(AT, found.propagation_of(entry))
    answer = found.evaluate(AT, now=T0)
    found.answered(AT, answer)
    return found


def fleet_applied(generation: int = 1) -> observed.FleetView:
    owner = {"service": "apps", "kind": "FederatedDeployment", "namespace": "default", "name": "frontend-app"}
    return observed.fleet_view(
        {
            "metadata": {"generation": 1, "annotations": {"apps.kurator.dev/generation": str(generation)}},
            "spec": {"owner": owner},
            "status": {"observedGeneration": 1, "placements": []},
        }
    )


def ready(beijing: int, shanghai: int) -> tuple[observed.Member, ...]:
    return (observed.Member("cluster-beijing", 2, beijing), observed.Member("cluster-shanghai", 1, shanghai))


async def test_under_load_the_applied_generation_goes_out_with_available(state: tracker.Tracker) -> None:
    publisher, held = FakePublisher(), busy()

    async def publish_one(moment: float) -> None:
        await follow._publish_one(state, publisher, NoFleet(), AT, T0, held=held, moment=moment)  # type: ignore[arg-type]

    state.fleet(AT, fleet_applied())
    await publish_one(0.0)
    state.deployment(AT, ready(1, 0))
    await publish_one(0.5)
    assert publisher.statuses == []  # details only: held
    state.deployment(AT, ready(2, 1))
    await publish_one(1.0)
    [available] = publisher.statuses
    assert available["phase"] == "Available"
    assert available["propagation"]["appliedGeneration"] == 1
    assert publisher.events == ["available"]
    assert AT not in held


async def test_a_held_detail_goes_out_once_due(state: tracker.Tracker) -> None:
    publisher, held = FakePublisher(), busy()
    state.fleet(AT, fleet_applied())
    await follow._publish_one(state, publisher, NoFleet(), AT, T0, held=held, moment=0.0)  # type: ignore[arg-type]
    assert held.due(SETTLE.total_seconds()) == [AT]
    await follow._publish_one(state, publisher, NoFleet(), AT, T0, held=held, moment=SETTLE.total_seconds())  # type: ignore[arg-type]
    [applied] = publisher.statuses
    assert (applied["phase"], applied["propagation"]["appliedGeneration"]) == ("Progressing", 1)
    assert AT not in held


async def test_when_quiet_every_step_goes_out_at_once(state: tracker.Tracker) -> None:
    publisher, held = FakePublisher(), settling.Settling(settle=SETTLE)
    state.fleet(AT, fleet_applied())
    await follow._publish_one(state, publisher, NoFleet(), AT, T0, held=held, moment=0.0)  # type: ignore[arg-type]
    [applied] = publisher.statuses
    assert applied["propagation"]["appliedGeneration"] == 1
