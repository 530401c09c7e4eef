"""Right after start-up: no status judges subsets before the fleet view has caught up with the
cluster statuses a fleet service starting at the same time publishes one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from kurator_apps.traffic import feeds, report
from kurator_apps.traffic.mesh import MemberCluster
from kurator_apps.traffic.reconciler import Traffic
from shared.contracts.models import istio


class _Mesh:
    """Every member takes every write at once."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []

    async def apply(self, cluster: str, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        self.applied.append((cluster, obj["kind"]))
        return obj

    async def list_labelled(self, cluster: str, kind: str, *, namespace: str, selector: str) -> list[Any]:
        return []

    async def delete(self, cluster: str, kind: str, *, namespace: str, name: str) -> bool:
        return True


def _status(cluster: MemberCluster) -> dict[str, Any]:
    phase = "Ready" if cluster.ready else "NotReady"
    st = {"phase": phase, "ready": cluster.ready, "labels": dict(cluster.labels)}
    return {"metadata": {"name": cluster.name}, "status": st}


def _traffic(view: feeds.FleetView) -> Traffic:
    rules = feeds.UserRules(cast(Any, None))
    rules.synced.set()
    return Traffic(mesh=cast(Any, _Mesh()), fleet=view, rules=rules, publisher=cast(Any, None), desired=cast(Any, None))


async def test_an_answer_before_the_fleet_view_caught_up_does_not_call_ready_clusters_missing(
    fleet: list[MemberCluster], seed_vs: dict[str, Any]
) -> None:
    seed_vs["metadata"]["namespace"] = "default"
    vs = istio.VirtualService.model_validate(seed_vs)
    view = feeds.FleetView(cast(Any, None))
    view.synced.set()  # the snapshot was read before the fleet service had published anything
    primary = next(c for c in fleet if c.name == "cluster-beijing")
    view._take(_status(primary))  # the primary's status is the first of the fleet's burst

    async def the_rest() -> None:
        await asyncio.sleep(0.05)
        for cluster in fleet:
            if cluster is not primary:
                view._take(_status(cluster))

    rest = asyncio.create_task(the_rest())
    body = await asyncio.wait_for(_traffic(view).apply_virtual_service(vs, 1), 5)
    await rest
    assert body["phase"] == report.APPLIED, body["conditions"]
    assert [(s["cluster"], s["ok"]) for s in body["subsets"]] == [
        ("cluster-beijing", True),
        ("cluster-shanghai", True),
        ("cluster-guangzhou", True),
    ]


async def test_caught_up_waits_for_quiet_and_is_bounded() -> None:
    view = feeds.FleetView(cast(Any, None))
    assert not await view.caught_up(0.05, settle_seconds=0.01)  # snapshot not read
    view.synced.set()
    assert not await view.caught_up(0.05, settle_seconds=0.01)  # no cluster known

    async def flapping() -> None:
        for i in range(40):
            view._take(_status(MemberCluster("a", ready=i % 2 == 0)))
            await asyncio.sleep(0.005)

    flaps = asyncio.create_task(flapping())
    assert not await view.caught_up(0.1, settle_seconds=0.05)  # never quiet for long enough
    await flaps
    assert await view.caught_up(1.0, settle_seconds=0.05)
    view._take(_status(MemberCluster("b", ready=True)))
    assert await view.caught_up(0.0)  # once caught up, later changes are the fleet changing
