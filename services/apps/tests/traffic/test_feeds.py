"""The views fed from the status stream: what counts as a change."""

from __future__ import annotations

from typing import Any, cast

from kurator_apps.traffic import feeds
from kurator_apps.traffic.mesh import MemberCluster


def _cluster(name: str, *, ready: bool = True, phase: str = "Ready", cpu: str = "4") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"stale": "metadata"}},
        "status": {"phase": phase, "ready": ready, "labels": {"region": "north"}, "free": {"cpu": cpu}},
    }


async def test_the_fleet_view_changes_only_with_readiness_labels_and_membership() -> None:
    view = feeds.FleetView(cast(Any, None))
    view._take(_cluster("a"))
    assert view.version == 1
    assert view.clusters() == (MemberCluster("a", {"region": "north"}, ready=True),)
    view._take(_cluster("a", cpu="2"))  # a heartbeat: free capacity moved
    assert view.version == 1
    view._take(_cluster("a", ready=False, phase="NotReady"))
    assert view.version == 2
    assert view.clusters()[0].ready is False
    view._take(_cluster("a", phase="Deleted"))
    assert (view.version, view.clusters()) == (3, ())
    view._take({"metadata": {}, "status": {}})
    assert view.version == 3


async def test_user_rules_by_namespace() -> None:
    rules = feeds.UserRules(cast(Any, None))
    rule = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "r", "namespace": "shop"},
        "spec": {"host": "web", "subsets": [{"name": "beijing", "labels": {"topology.istio.io/cluster": "b"}}]},
    }
    assert rules.update({**rule, "status": {"phase": "Applied"}})
    assert not rules.update({**rule, "status": {"phase": "Applied"}})
    assert [r.metadata.name for r in rules.in_namespace("shop")] == ["r"]
    assert rules.in_namespace("default") == ()
    assert rules.update({**rule, "status": {"phase": "Deleted"}})
    assert rules.in_namespace("shop") == ()
