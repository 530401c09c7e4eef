"""The kubelets of the members' ordinary nodes: node leases and the node status they post.

Like a kubelet, each node renews its ``Lease`` in ``kube-node-lease`` every
``node-status-update-frequency`` (10 s) and posts its conditions (``MemoryPressure``,
``DiskPressure``, ``PIDPressure`` False and ``Ready`` True, reason ``KubeletReady``) when they
change and at least every ``node-status-report-frequency`` (5 min), with ``lastHeartbeatTime``.
A member that is down runs no kubelets: nothing is renewed or posted. Edge nodes (label
``node-role.kubernetes.io/edge``) belong to the KubeEdge controller and are left alone.
"""

from __future__ import annotations

from typing import Any

from kurator_sim.controllers import kube_conditions
from kurator_sim.controllers.karmada_names import LEASES, NODES
from kurator_sim.fleet import EDGE_ROLE_LABEL, Fleet, Member

Obj = dict[str, Any]
NODE_LEASE_NAMESPACE = "kube-node-lease"

_HEALTHY = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def _healthy(conditions: list[Obj]) -> bool:
    for type_, value, reason, _ in _HEALTHY:
        cond = kube_conditions.peek(conditions, type_)
        if cond is None or cond.get("status") != value or cond.get("reason") != reason:
            return False
    return True


class NodeHeartbeatController:
    def __init__(
        self,
        *,
        fleet: Fleet,
        status_update_frequency: float = 10.0,
        status_report_frequency: float = 300.0,
        lease_duration_seconds: int = 40,
    ) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.status_update_frequency = status_update_frequency
        self.status_report_frequency = status_report_frequency
        self.lease_duration_seconds = lease_duration_seconds
        self._reported: dict[tuple[str, str], float] = {}

    async def run(self) -> None:
        self._reported = {}
        while True:
            for member in self.fleet.members.values():
                if not member.faults.down:
                    self.sync_member(member)
            await self.clock.sleep(self.status_update_frequency)

    def sync_member(self, member: Member) -> None:
        store = member.store
        nodes = store.registry.by_key(NODES)
        for node in list(store.iter_raw(nodes)):
            labels = node["metadata"].get("labels") or {}
            if EDGE_ROLE_LABEL in labels:
                continue
            name = node["metadata"]["name"]
            self._renew_lease(member, node)
            self._post_status(member, name)

    def _post_status(self, member: Member, name: str) -> None:
        store = member.store
        rt = store.registry.by_key(NODES)
        # Read only (most rounds post nothing): the write below copies what it sends.
        node = store.peek(rt, None, name)
        if node is None:
            return
        key = (member.name, name)
        now = self.clock.elapsed()
        status = dict(node.get("status") or {})
        conditions = status.get("conditions") or []
        healthy = _healthy(conditions)
        last = self._reported.get(key)
        if healthy and last is not None and now - last < self.status_report_frequency:
            return
        stamp = self.clock.timestamp()
        for type_, value, reason, message in _HEALTHY:
            conditions = kube_conditions.set_condition(
                conditions,
                kube_conditions.condition(type_, value, reason, message, lastHeartbeatTime=stamp),
                stamp,
            )
        status["conditions"] = conditions
        store.update(rt, None, name, {**node, "status": status}, subresource="status")
        self._reported[key] = now

    def _renew_lease(self, member: Member, node: Obj) -> None:
        store = member.store
        rt = store.registry.by_key(LEASES)
        name = node["metadata"]["name"]
        lease = store.peek(rt, NODE_LEASE_NAMESPACE, name)
        spec = {
            "holderIdentity": name,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "renewTime": self.clock.micro_timestamp(),
        }
        if lease is None:
            owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
            store.create(
                rt,
                NODE_LEASE_NAMESPACE,
                {
                    "apiVersion": rt.api_version,
                    "kind": "Lease",
                    "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE, "ownerReferences": [owner]},
                    "spec": spec,
                },
            )
            return
        # ``lease`` is the stored object (read only): the update takes a new top level and
        # metadata over it (copy_input=False) and the new spec is a new dict.
        renewed = {**lease, "spec": {**(lease.get("spec") or {}), **spec}}
        store.update(rt, NODE_LEASE_NAMESPACE, name, renewed, copy_input=False, copy_result=False)
