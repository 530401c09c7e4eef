"""The controller manager: what it runs, how others join, and restarts with backoff."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers.manager import ControllerManager, ControllerSettings
from kurator_sim.fleet import Fleet
from shared.testing.eventually import eventually


def make_fleet() -> Fleet:
    return Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))


class Flaky:
    """Fails its first ``failures`` runs, then runs until cancelled."""

    def __init__(self, clock: SimClock, failures: int, *, exit_instead: bool = False) -> None:
        self.clock = clock
        self.failures = failures
        self.exit_instead = exit_instead
        self.started: list[float] = []

    async def run(self) -> None:
        self.started.append(self.clock.elapsed())
        if len(self.started) <= self.failures:
            if self.exit_instead:
                return
            raise RuntimeError("boom")
        await asyncio.Event().wait()


def test_the_manager_builds_the_karmada_and_member_controllers() -> None:
    manager = ControllerManager(make_fleet())
    assert sorted(manager.controllers) == [
        "BindingController",
        "BindingStatusController",
        "ClusterHealthController",
        "ClusterStatusController",
        "DeploymentController",
        "GracefulEvictionController",
        "KarmadaScheduler",
        "NodeHeartbeatController",
        "ResourceDetector",
        "TaintManager",
    ]
    without_failover = ControllerManager(
        make_fleet(), settings=ControllerSettings(taint_eviction=False, graceful_eviction=False)
    )
    assert "TaintManager" not in without_failover.controllers
    assert "GracefulEvictionController" not in without_failover.controllers


def test_controllers_are_added_under_unique_names() -> None:
    fleet = make_fleet()
    manager = ControllerManager(fleet)
    manager.add(Flaky(fleet.clock, 0))
    manager.add(Flaky(fleet.clock, 0), name="velero")
    assert {"Flaky", "velero"} <= set(manager.controllers)
    with pytest.raises(ValueError, match="already registered"):
        manager.add(Flaky(fleet.clock, 0))


@pytest.mark.parametrize("exit_instead", [False, True])
async def test_a_failing_controller_is_restarted_with_backoff(exit_instead: bool) -> None:
    fleet = make_fleet()
    settings = ControllerSettings(restart_backoff=2.0, restart_backoff_max=4.0)
    manager = ControllerManager(fleet, fleet.clock, settings)
    flaky = Flaky(fleet.clock, 3, exit_instead=exit_instead)
    manager.add(flaky, name="flaky")
    task = asyncio.create_task(manager.run())
    try:

        async def recovered() -> bool:
            assert len(flaky.started) == 4
            return True

        await eventually(recovered, timeout_seconds=10)
        assert manager.restarts["flaky"] == 3
        gaps = [b - a for a, b in zip(flaky.started, flaky.started[1:], strict=False)]
        assert gaps[0] >= 2.0
        assert gaps[1] >= 4.0
        assert gaps[2] >= 4.0  # capped at restart_backoff_max
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_policy_webhook_is_installed_on_the_host() -> None:
    fleet = make_fleet()
    ControllerManager(fleet)
    policy: dict[str, Any] = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "placement": {"spreadConstraints": [{"maxGroups": 2}]},
        },
    }
    created = fleet.host.create(
        fleet.host_registry.by_key(("policy.karmada.io", "propagationpolicies")), "default", policy
    )
    assert created["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    assert created["spec"]["resourceSelectors"][0]["namespace"] == "default"
    assert created["spec"]["placement"]["spreadConstraints"] == [
        {"maxGroups": 2, "spreadByField": "cluster", "minGroups": 1}
    ]
    # Installing twice does not register the hooks twice.
    ControllerManager(fleet)
    replaced = dict(created, metadata={**created["metadata"], "labels": {}})
    updated = fleet.host.update(
        fleet.host_registry.by_key(("policy.karmada.io", "propagationpolicies")), "default", "p", replaced
    )
    assert updated["metadata"]["labels"] == created["metadata"]["labels"]
