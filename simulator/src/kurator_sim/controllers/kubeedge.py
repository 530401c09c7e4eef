"""Simulated KubeEdge: edge node heartbeats and health, and NodeGroup membership, per member.

Every ``node_monitor_period_seconds`` (kube-controller-manager's ``--node-monitor-period``,
5 s) and whenever nodes or NodeGroups change, for each member:

* edge nodes that are up (member not down, node not in ``member.edge_down``) post their
  status every ``heartbeat_seconds`` (CloudCore's ``nodeUpdateFrequency``/EdgeCore's
  ``nodeStatusUpdateFrequency``, 10 s) and renew their Lease; nodes silent for longer than the
  grace period (``grace_period_seconds``, default by the member's Kubernetes version: 40 s,
  or 50 s from 1.32) go ``Unknown`` and are tainted unreachable (``kubeedge_nodes``);
* NodeGroups label their nodes and report them (``kubeedge_nodegroups``).
"""

from __future__ import annotations

import asyncio
import contextlib

from kurator_sim import errors
from kurator_sim.controllers import kubeedge_nodegroups, kubeedge_nodes
from kurator_sim.fleet import Fleet, Member
from kurator_sim.store.objects import Obj, clone
from kurator_sim.store.watch import Subscription


class KubeEdgeController:
    """KubeEdge's cloud side in every member of ``fleet`` (see the module docstring)."""

    def __init__(
        self,
        *,
        fleet: Fleet,
        heartbeat_seconds: float = 10.0,
        node_monitor_period_seconds: float = 5.0,
        grace_period_seconds: float | None = None,
        lease_duration_seconds: int = 40,
    ) -> None:
        self.fleet = fleet
        self.heartbeat_seconds = heartbeat_seconds
        self.node_monitor_period_seconds = node_monitor_period_seconds
        self.grace_period_seconds = grace_period_seconds
        self.lease_duration_seconds = lease_duration_seconds

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for member in self.fleet.members.values():
                group.create_task(_EdgeCloud(self, member).run())


class _EdgeCloud:
    """CloudCore plus the node lifecycle controller of one member."""

    def __init__(self, owner: KubeEdgeController, member: Member) -> None:
        self.owner = owner
        self.member = member
        self.store = member.store
        self.clock = owner.fleet.clock
        self.nodes = self.store.registry.by_key(("", "nodes"))
        self.leases = self.store.registry.by_key(("coordination.k8s.io", "leases"))
        self.nodegroups = self.store.registry.by_key(kubeedge_nodegroups.NODEGROUPS)
        self.grace = owner.grace_period_seconds or kubeedge_nodes.grace_period_seconds(member.spec.kubernetes_version)
        self.last_beat: dict[str, float] = {}
        self.wake = asyncio.Event()

    async def run(self) -> None:
        rv = str(self.store.resource_version)
        subs = [self.store.watch(rt, None, resource_version=rv) for rt in (self.nodes, self.nodegroups)]
        try:
            async with asyncio.TaskGroup() as group:
                for sub in subs:
                    group.create_task(self._pump(sub))
                while True:
                    edges = self._monitor_nodes()
                    kubeedge_nodegroups.reconcile(self.store)
                    # Without edge nodes nothing is timed: wait for the next change.
                    period = self.clock.real_seconds(self.owner.node_monitor_period_seconds) if edges else None
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(period):
                            await self.wake.wait()
                    self.wake.clear()
        finally:
            for sub in subs:
                sub.close()

    async def _pump(self, sub: Subscription) -> None:
        async for _ in sub.events():
            self.wake.set()

    def _monitor_nodes(self) -> bool:
        """Heartbeats and grace periods of the member's edge nodes; whether it has any."""
        elapsed = self.clock.elapsed()
        edges = [clone(n) for n in self.store.iter_raw(self.nodes) if kubeedge_nodes.is_edge_node(n)]
        for node in edges:
            name = node["metadata"]["name"]
            up = not self.member.faults.down and name not in self.member.edge_down
            try:
                if up:
                    last = self.last_beat.get(name)
                    stale = last is None or elapsed - last >= self.owner.heartbeat_seconds
                    if stale or kubeedge_nodes.ready_status(node) != "True":
                        self._heartbeat(node)
                        self.last_beat[name] = elapsed
                else:
                    last = self.last_beat.setdefault(name, elapsed)
                    if elapsed - last >= self.grace:
                        self._mark_unknown(node)
            except errors.ApiError:
                continue  # raced with another writer; retried next period
        return bool(edges)

    def _heartbeat(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        status = node.setdefault("status", {})
        status["conditions"] = kubeedge_nodes.heartbeat_conditions(
            status.get("conditions") or [], self.clock.timestamp()
        )
        node = self.store.update(self.nodes, None, name, node, subresource="status")
        taints = (node.get("spec") or {}).get("taints") or []
        cleared = kubeedge_nodes.without_unreachable_taints(taints)
        if cleared != taints:
            node["spec"]["taints"] = cleared
            if not cleared:
                node["spec"].pop("taints")
            self.store.update(self.nodes, None, name, node)
        self._renew_lease(node)

    def _renew_lease(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        wanted = kubeedge_nodes.lease(node, self.clock.micro_timestamp(), self.owner.lease_duration_seconds)
        current = self.store.find(self.leases, kubeedge_nodes.LEASE_NAMESPACE, name)
        if current is None:
            self.store.create(self.leases, kubeedge_nodes.LEASE_NAMESPACE, wanted)
            return
        current["spec"] = {**(current.get("spec") or {}), **wanted["spec"]}
        self.store.update(self.leases, kubeedge_nodes.LEASE_NAMESPACE, name, current)

    def _mark_unknown(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        now = self.clock.timestamp()
        status = node.setdefault("status", {})
        previous = status.get("conditions") or []
        conditions = kubeedge_nodes.unknown_conditions(previous, now)
        if conditions != previous:
            status["conditions"] = conditions
            node = self.store.update(self.nodes, None, name, node, subresource="status")
        spec = node.setdefault("spec", {})
        taints = spec.get("taints") or []
        tainted = kubeedge_nodes.with_unreachable_taints(taints, now)
        if tainted != taints:
            spec["taints"] = tainted
            self.store.update(self.nodes, None, name, node)
