"""Karmada ``Cluster`` objects for the members, and the status their heartbeats keep current.

At start every member of the topology is joined (as ``karmadactl join``/``register`` would):
a ``cluster.karmada.io/v1alpha1`` ``Cluster`` named after the member, with the topology's
labels, ``syncMode``, ``provider``, ``region``, ``zones``, taints, an ``apiEndpoint`` and the
member's ``id`` (its ``kube-system`` namespace UID), plus the join secret for Push clusters.
Clusters are only created then: one deleted later has been unjoined and stays gone.

Every ``cluster-status-update-frequency`` (10 s) each ``Cluster`` gets a heartbeat, as
karmada-controller-manager's cluster-status-controller does for Push clusters and karmada-agent
for Pull clusters:

* **Push**: the control plane probes the member. A member that is down or partitioned is
  "not online"; Karmada's threshold cache keeps the old ``Ready`` for
  ``--cluster-failure-threshold`` (30 s) of consistent failures, then posts ``Ready=False``,
  reason ``ClusterNotReachable``. Recovery likewise needs ``--cluster-success-threshold``
  (30 s) of consistent success before ``Ready=True`` (``ClusterReady``) returns.
* **Pull**: the agent runs in the member and posts status and renews its ``Lease``
  (``karmada-cluster/<name>``, ``--cluster-lease-duration`` 40 s). A member that is down, or
  partitioned from the control plane, posts nothing; the cluster controller
  (:mod:`.karmada_cluster_health`) turns ``Ready`` ``Unknown`` after the 40 s grace period.

A healthy heartbeat collects ``kubernetesVersion``, ``apiEnablements`` (every group version and
resource the member serves, subresources included), ``nodeSummary`` and ``resourceSummary``
(``allocatable``: the nodes' allocatable; ``allocated``/``allocating``: requests of the pods that
the member's workloads have scheduled/pending, from :mod:`.kube_capacity`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from kurator_sim.controllers import kube_capacity, kube_conditions, kube_quantity
from kurator_sim.controllers.karmada_names import (
    CLUSTERS,
    CONDITION_COMPLETE_API_ENABLEMENTS,
    CONDITION_READY,
    KARMADA_CLUSTER,
    LEASES,
    SECRETS,
)
from kurator_sim.fleet import Fleet, Member

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

DEFAULT_API_ENDPOINT = "/apis/cluster.karmada.io/v1alpha1/clusters/{name}/proxy"

REASON_READY = "ClusterReady"
MESSAGE_READY = "cluster is healthy and ready to accept workloads"
REASON_NOT_REACHABLE = "ClusterNotReachable"
MESSAGE_NOT_REACHABLE = "cluster is not reachable"


def ready_condition(online: bool) -> Obj:
    if online:
        return kube_conditions.condition(CONDITION_READY, "True", REASON_READY, MESSAGE_READY)
    return kube_conditions.condition(CONDITION_READY, "False", REASON_NOT_REACHABLE, MESSAGE_NOT_REACHABLE)


@dataclass(slots=True)
class _Threshold:
    status: str
    since: float


class ClusterStatusController:
    """cluster-status-controller (Push) and karmada-agent (Pull) for every ``Cluster``."""

    def __init__(
        self,
        *,
        fleet: Fleet,
        status_update_frequency: float = 10.0,
        success_threshold: float = 30.0,
        failure_threshold: float = 30.0,
        lease_duration: float = 40.0,
        register_members: bool = True,
        api_endpoint: str = DEFAULT_API_ENDPOINT,
    ) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.status_update_frequency = status_update_frequency
        self.success_threshold = success_threshold
        self.failure_threshold = failure_threshold
        self.lease_duration = lease_duration
        self.register_members = register_members
        self.api_endpoint = api_endpoint
        self._registered = False
        self._thresholds: dict[str, _Threshold] = {}
        self._demands: dict[str, kube_capacity.DemandCache] = {}
        self._enablements: dict[str, list[Obj]] = {}
        """Per member: its ``apiEnablements`` (what it serves is fixed; the status write copies them)."""
        self.clusters_rt = fleet.host_registry.by_key(CLUSTERS)

    async def run(self) -> None:
        if self.register_members and not self._registered:
            self.register()
        self._registered = True
        while True:
            self.heartbeat()
            await self.clock.sleep(self.status_update_frequency)

    # --- join -------------------------------------------------------------------------------

    def register(self) -> None:
        """Create the ``Cluster`` (and join secret) of every member that has none."""
        self._registered = True
        for name, member in self.fleet.members.items():
            if self.host.find(self.clusters_rt, None, name) is None:
                self.host.create(self.clusters_rt, None, self.cluster_object(member))
                log.info("cluster.joined", cluster=name, sync_mode=member.spec.sync_mode)
            if member.spec.sync_mode == "Push":
                self._ensure_secret(name)

    def cluster_object(self, member: Member) -> Obj:
        spec = member.spec
        kube_system = member.store.find(member.store.registry.by_key(("", "namespaces")), None, "kube-system")
        cluster_spec: Obj = {"syncMode": spec.sync_mode, "apiEndpoint": self.api_endpoint.format(name=spec.name)}
        if spec.sync_mode == "Push":
            cluster_spec["secretRef"] = {"namespace": KARMADA_CLUSTER, "name": spec.name}
        if spec.provider:
            cluster_spec["provider"] = spec.provider
        if spec.region:
            cluster_spec["region"] = spec.region
        if spec.zones:
            cluster_spec["zones"] = list(spec.zones)
        if spec.taints:
            cluster_spec["taints"] = [
                {k: v for k, v in t.model_dump(by_alias=True).items() if v not in ("", None)} for t in spec.taints
            ]
        if kube_system is not None:
            cluster_spec["id"] = kube_system["metadata"]["uid"]
        return {
            "apiVersion": self.clusters_rt.api_version,
            "kind": "Cluster",
            "metadata": {"name": spec.name, "labels": dict(spec.labels)},
            "spec": cluster_spec,
        }

    def _ensure_secret(self, name: str) -> None:
        rt = self.fleet.host_registry.by_key(SECRETS)
        if self.host.find(rt, KARMADA_CLUSTER, name) is not None:
            return
        token = base64.b64encode(f"kurator-sim-token-{name}".encode()).decode()
        self.host.create(
            rt,
            KARMADA_CLUSTER,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": KARMADA_CLUSTER},
                "type": "Opaque",
                "data": {"token": token, "caBundle": ""},
            },
        )

    # --- heartbeats -------------------------------------------------------------------------

    def heartbeat(self) -> None:
        for cluster in list(self.host.iter_raw(self.clusters_rt)):
            if cluster["metadata"].get("deletionTimestamp"):
                continue
            self.sync(cluster["metadata"]["name"])

    def sync(self, name: str) -> None:
        # Read only: the status is built anew (sharing what it keeps) and handed to the store.
        cluster = self.host.peek(self.clusters_rt, None, name)
        if cluster is None:
            self._thresholds.pop(name, None)
            return
        member = self.fleet.members.get(name)
        pull = (cluster.get("spec") or {}).get("syncMode") == "Pull"
        if pull and (member is None or not member.faults.reachable):
            return  # the agent is down or cannot reach the control plane: nothing is posted
        online = member is not None and (pull or member.faults.reachable)
        status = dict(cluster.get("status") or {})
        current = kube_conditions.find(status.get("conditions"), CONDITION_READY)
        ready = self._threshold_adjusted(name, ready_condition(online), current)
        now = self.clock.timestamp()
        if online and ready["status"] == "True" and member is not None:
            status.update(self.collect(member))
            status["conditions"] = kube_conditions.set_condition(
                status.get("conditions"),
                kube_conditions.condition(
                    CONDITION_COMPLETE_API_ENABLEMENTS,
                    "True",
                    "Complete",
                    "collected complete APIs from member cluster",
                ),
                now,
            )
        status["conditions"] = kube_conditions.set_condition(status.get("conditions"), ready, now)
        if status != (cluster.get("status") or {}):
            self.host.replace_status(self.clusters_rt, None, name, cluster, status)
            if current is None or current.get("status") != ready["status"]:
                log.info("cluster.ready", cluster=name, status=ready["status"], reason=ready["reason"])
        if pull:
            self._renew_lease(cluster)

    def _threshold_adjusted(self, name: str, observed: Obj, current: Mapping[str, Any] | None) -> Obj:
        """Karmada's ``clusterConditionStore.thresholdAdjustedReadyCondition``."""
        saved = self._thresholds.get(name)
        now = self.clock.elapsed()
        if saved is None:
            self._thresholds[name] = _Threshold(observed["status"], now)
            return observed
        if current is None:
            return observed
        if saved.status != observed["status"]:
            saved = self._thresholds[name] = _Threshold(observed["status"], now)
        threshold = self.success_threshold if observed["status"] == "True" else self.failure_threshold
        flipping = (observed["status"] == "True") != (current.get("status") == "True")
        if flipping and now < saved.since + threshold:
            return dict(current)
        return observed

    def collect(self, member: Member) -> Obj:
        """The member's status as a heartbeat reports it (all but the conditions)."""
        store = member.store
        packing = kube_capacity.member_packing(
            store, self._demands.setdefault(member.name, kube_capacity.DemandCache())
        )
        allocatable: dict[str, Decimal] = kube_quantity.add(*(node.allocatable for node in packing.nodes))
        return {
            "kubernetesVersion": member.spec.kubernetes_version,
            "apiEnablements": self._enablements.get(member.name)
            or self._enablements.setdefault(member.name, api_enablements(member)),
            "nodeSummary": {
                "totalNum": len(packing.nodes),
                "readyNum": sum(1 for node in packing.nodes if node.ready),
            },
            "resourceSummary": {
                "allocatable": kube_quantity.format_list(allocatable),
                "allocated": kube_quantity.format_list(packing.allocated, always=("cpu", "memory", "pods")),
                "allocating": kube_quantity.format_list(packing.allocating, always=("cpu", "memory", "pods")),
            },
        }

    def _renew_lease(self, cluster: Mapping[str, Any]) -> None:
        rt = self.fleet.host_registry.by_key(LEASES)
        name = cluster["metadata"]["name"]
        lease = self.host.find(rt, KARMADA_CLUSTER, name)
        spec = {
            "holderIdentity": name,
            "leaseDurationSeconds": int(self.lease_duration),
            "renewTime": self.clock.micro_timestamp(),
        }
        if lease is None:
            owner = {
                "apiVersion": self.clusters_rt.api_version,
                "kind": "Cluster",
                "name": name,
                "uid": cluster["metadata"]["uid"],
            }
            body = {
                "apiVersion": rt.api_version,
                "kind": "Lease",
                "metadata": {"name": name, "namespace": KARMADA_CLUSTER, "ownerReferences": [owner]},
                "spec": spec,
            }
            self.host.create(rt, KARMADA_CLUSTER, body)
        else:
            # ``lease`` is the store's copy already (find): handed over with the new spec.
            renewed = {**lease, "spec": {**(lease.get("spec") or {}), **spec}}
            self.host.update(rt, KARMADA_CLUSTER, name, renewed, copy_input=False, copy_result=False)


def api_enablements(member: Member) -> list[Obj]:
    """``status.apiEnablements``: group versions served by the member, resources sorted by name."""
    by_gv: dict[str, list[Obj]] = {}
    for rt in member.store.registry.types:
        resources = by_gv.setdefault(rt.api_version, [])
        resources.append({"name": rt.plural, "kind": rt.kind})
        if rt.status_subresource:
            resources.append({"name": f"{rt.plural}/status", "kind": rt.kind})
        if rt.scale_subresource:
            resources.append({"name": f"{rt.plural}/scale", "kind": "Scale"})
    return [
        {"groupVersion": gv, "resources": sorted(resources, key=lambda r: str(r["name"]))}
        for gv, resources in sorted(by_gv.items())
    ]
