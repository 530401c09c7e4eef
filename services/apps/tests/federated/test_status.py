"""The FederatedDeployment status machine: phases, conditions and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kurator_apps.federated.status import AppStatus, Event, Phase, Transition, advance

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SEED = {"cluster-beijing": 2, "cluster-shanghai": 1}


def _step(
    previous: AppStatus | None,
    ready: dict[str, int],
    *,
    at: int,
    generation: int = 1,
    desired: dict[str, int] = SEED,
    failures: dict[str, str] | None = None,
) -> Transition:
    return advance(
        previous, generation=generation, desired=desired, ready=ready, failures=failures, now=T0 + timedelta(seconds=at)
    )


def _conditions(status: AppStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_rollout_to_available() -> None:
    first = _step(None, {}, at=0)
    assert first.status.phase is Phase.PROGRESSING
    assert first.events == ()
    assert _conditions(first.status) == {
        "Available": ("False", "ReplicasUnavailable"),
        "Progressing": ("True", "RollingOut"),
        "Degraded": ("False", "AsExpected"),
    }
    available = first.status.condition("Available")
    assert available is not None
    assert available.message == "0/3 replicas ready in 2 cluster(s); cluster-beijing 0/2, cluster-shanghai 0/1"
    partial = _step(first.status, {"cluster-beijing": 2}, at=5)
    assert partial.status.phase is Phase.PROGRESSING
    assert partial.events == ()
    done = _step(partial.status, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=10)
    assert done.status.phase is Phase.AVAILABLE
    assert done.events == (
        Event("Normal", "Available", "3/3 replicas ready in 2 cluster(s): cluster-beijing 2/2, cluster-shanghai 1/1"),
    )
    assert _conditions(done.status) == {
        "Available": ("True", "AllReplicasReady"),
        "Progressing": ("True", "RolloutComplete"),
        "Degraded": ("False", "AsExpected"),
    }
    # Nothing changes: no event, and conditions keep their transition times.
    again = _step(done.status, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=60)
    assert again.events == ()
    assert again.status.conditions == done.status.conditions
    degraded = done.status.condition("Degraded")
    assert degraded is not None
    assert degraded.last_transition_time == T0  # False since the first observation


def test_losing_replicas_degrades_and_recovering_makes_it_available_again() -> None:
    available = _step(None, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=0).status
    lost = _step(available, {"cluster-beijing": 2}, at=30)
    assert lost.status.phase is Phase.DEGRADED
    assert lost.events == (Event("Warning", "Degraded", "ReplicasLost: cluster-shanghai 0/1"),)
    assert _conditions(lost.status)["Degraded"] == ("True", "ReplicasLost")
    assert _conditions(lost.status)["Progressing"] == ("True", "RolloutComplete")
    still = _step(lost.status, {"cluster-beijing": 1}, at=40)
    assert still.status.phase is Phase.DEGRADED
    assert still.events == ()
    back = _step(still.status, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=50)
    assert back.status.phase is Phase.AVAILABLE
    assert [e.reason for e in back.events] == ["Available"]


def test_a_new_generation_rolls_forward() -> None:
    available = _step(None, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=0).status
    scaled = {"cluster-beijing": 2, "cluster-shanghai": 3}
    rolling = _step(available, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=10, generation=2, desired=scaled)
    assert rolling.status.phase is Phase.PROGRESSING  # not Degraded: generation 2 was never available
    assert rolling.status.progressing_since == T0 + timedelta(seconds=10)
    assert rolling.events == ()
    assert _conditions(rolling.status)["Progressing"] == ("True", "RollingOut")
    done = _step(rolling.status, {"cluster-beijing": 2, "cluster-shanghai": 3}, at=20, generation=2, desired=scaled)
    assert done.status.phase is Phase.AVAILABLE
    assert done.status.to_dict()["conditions"][0]["observedGeneration"] == 2


def test_moving_away_from_a_cluster_waits_until_it_runs_nothing() -> None:
    available = _step(None, {"cluster-beijing": 2, "cluster-shanghai": 1}, at=0).status
    moved = {"cluster-beijing": 2, "cluster-guangzhou": 1}
    ready = {"cluster-beijing": 2, "cluster-guangzhou": 1, "cluster-shanghai": 1}
    step = _step(available, ready, at=5, generation=2, desired=moved)
    assert step.status.phase is Phase.PROGRESSING
    assert [(c.cluster, c.desired, c.ready) for c in step.status.clusters] == [
        ("cluster-beijing", 2, 2),
        ("cluster-guangzhou", 1, 1),
        ("cluster-shanghai", 0, 1),
    ]
    ready.pop("cluster-shanghai")
    assert _step(step.status, ready, at=9, generation=2, desired=moved).status.phase is Phase.AVAILABLE


def test_a_rollout_past_its_deadline_is_degraded() -> None:
    first = _step(None, {"cluster-beijing": 1}, at=0)
    late = _step(first.status, {"cluster-beijing": 1}, at=601)
    assert late.status.phase is Phase.DEGRADED
    assert late.events == (
        Event("Warning", "Degraded", "ProgressDeadlineExceeded: cluster-beijing 1/2, cluster-shanghai 0/1"),
    )
    assert _conditions(late.status) == {
        "Available": ("False", "ReplicasUnavailable"),
        "Progressing": ("False", "ProgressDeadlineExceeded"),
        "Degraded": ("True", "ProgressDeadlineExceeded"),
    }
    assert _step(late.status, SEED, at=700).status.phase is Phase.AVAILABLE


def test_a_cluster_that_cannot_apply_it_degrades_at_once() -> None:
    failed = _step(None, {"cluster-beijing": 2}, at=0, failures={"cluster-shanghai": "namespace shop not found"})
    assert failed.status.phase is Phase.DEGRADED
    assert failed.events == (Event("Warning", "Degraded", "ApplyFailed: cluster-shanghai: namespace shop not found"),)
    assert failed.status.to_dict() == {
        "phase": "Degraded",
        "observedGeneration": 1,
        "replicas": 3,
        "readyReplicas": 2,
        "clusters": [
            {"name": "cluster-beijing", "desired": 2, "ready": 2},
            {"name": "cluster-shanghai", "desired": 1, "ready": 0, "failure": "namespace shop not found"},
        ],
        "conditions": [
            {
                "type": "Available",
                "status": "False",
                "reason": "ReplicasUnavailable",
                "message": "2/3 replicas ready in 2 cluster(s); cluster-shanghai: namespace shop not found",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 1,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "RollingOut",
                "message": "rolling out generation 1",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 1,
            },
            {
                "type": "Degraded",
                "status": "True",
                "reason": "ApplyFailed",
                "message": "cluster-shanghai: namespace shop not found",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 1,
            },
        ],
    }


def test_scaled_to_zero_is_available() -> None:
    zero = _step(None, {}, at=0, desired={"cluster-beijing": 0})
    assert zero.status.phase is Phase.AVAILABLE
    assert zero.events == (Event("Normal", "Available", "0/0 replicas ready in 0 cluster(s)"),)


def test_a_selector_that_matches_no_cluster_is_degraded_not_available() -> None:
    why = "the cluster selector matches no member of the fleet"
    unplaced = advance(None, generation=1, desired={}, ready={}, unplaced=why, now=T0)
    assert unplaced.status.phase is Phase.DEGRADED
    assert _conditions(unplaced.status)["Degraded"] == ("True", "Unplaced")
    assert _conditions(unplaced.status)["Available"] == ("False", "ReplicasUnavailable")
    assert unplaced.events == (Event("Warning", "Degraded", f"Unplaced: {why}"),)
    placed = advance(
        unplaced.status, generation=1, desired={"cluster-beijing": 1}, ready={"cluster-beijing": 1}, now=T0
    )
    assert placed.status.phase is Phase.AVAILABLE


def test_an_unchanged_condition_is_the_same_value_and_a_changed_message_keeps_its_time() -> None:
    first = _step(None, {"cluster-beijing": 1}, at=0)
    again = _step(first.status, {"cluster-beijing": 1}, at=5)
    assert all(a is b for a, b in zip(first.status.conditions, again.status.conditions, strict=True))
    more = _step(again.status, {"cluster-beijing": 2}, at=9)  # the Available message moves, not its status
    before, after = first.status.condition("Available"), more.status.condition("Available")
    assert before is not None
    assert after is not None
    assert (after.status, after.last_transition_time) == ("False", T0)
    assert after.message != before.message
    assert more.status.to_dict()["conditions"][0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
