"""The simulated fleet: one Karmada host and its member clusters, each with its own store.

Built from a topology (``kurator_sim.topology``): every member gets its namespaces, its
nodes (with capacity, labels and taints from the topology) and its edge nodes; the host gets
the Karmada namespaces. Controllers and the API layer reach clusters only through here.
Fault state (down, partitioned, slow, failing) lives on each :class:`Member` and is what
both the cluster controller and the API layer consult.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kurator_sim import resources
from kurator_sim.clock import SimClock
from kurator_sim.store.objects import DEFAULT_NAMESPACES, Obj, ObjectStore
from kurator_sim.topology import ClusterSpec, EdgeNode, NodePool, Topology

HOST_NAMESPACES = (*DEFAULT_NAMESPACES, "karmada-system", "karmada-cluster")
MEMBER_NAMESPACES = (*DEFAULT_NAMESPACES, "velero", "volcano-system", "istio-system", "monitoring", "kubeedge")
EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge"


@dataclass
class Faults:
    """What is wrong with a member right now (see ``kurator_sim.faults``)."""

    down: bool = False
    """The cluster stops answering and stops reporting: Karmada marks it not ready after its timeout."""
    partitioned: bool = False
    """The control plane cannot reach it (the proxy fails) but the cluster itself keeps running."""
    latency_seconds: float = 0.0
    error_rate: float = 0.0
    """Fraction of proxied API calls answered with 500."""
    timeout_rate: float = 0.0
    """Fraction of proxied API calls that hang until the client gives up."""

    @property
    def reachable(self) -> bool:
        return not (self.down or self.partitioned)


@dataclass
class Member:
    spec: ClusterSpec
    store: ObjectStore
    faults: Faults = field(default_factory=Faults)
    edge_down: set[str] = field(default_factory=set)
    """Edge nodes taken down (their heartbeats stop)."""

    @property
    def name(self) -> str:
        return self.spec.name


class Fleet:
    def __init__(
        self,
        topology: Topology,
        *,
        registry: resources.Registry,
        clock: SimClock,
        bookmark_interval_seconds: float = 60.0,
    ) -> None:
        self.topology = topology
        self.clock = clock
        self.registry = registry
        self.host_registry = registry.for_placement("host")
        self.member_registry = registry.for_placement("member")
        self.host = ObjectStore(
            name="karmada",
            registry=self.host_registry,
            clock=clock,
            namespaces=HOST_NAMESPACES,
            bookmark_interval_seconds=bookmark_interval_seconds,
        )
        self.members: dict[str, Member] = {}
        for spec in topology.clusters:
            store = ObjectStore(
                name=spec.name,
                registry=self.member_registry,
                clock=clock,
                namespaces=MEMBER_NAMESPACES,
                bookmark_interval_seconds=bookmark_interval_seconds,
            )
            self.members[spec.name] = Member(spec=spec, store=store)
            seed_nodes(store, spec)

    def member(self, name: str) -> Member:
        return self.members[name]


def _node(
    name: str, cluster: ClusterSpec, pool: NodePool | EdgeNode, zone: str | None, *, edge: bool, ip: str | None
) -> Obj:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        **({"topology.kubernetes.io/region": cluster.region} if cluster.region else {}),
        **({"topology.kubernetes.io/zone": zone} if zone else {}),
        **pool.labels,
    }
    if edge:
        labels[EDGE_ROLE_LABEL] = ""
    else:
        labels["node-role.kubernetes.io/worker"] = ""
    capacity = dict(pool.capacity)
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [],
            "nodeInfo": {
                "kubeletVersion": "v1.23.15-kubeedge-v1.23.1" if edge else cluster.kubernetes_version,
                "kubeProxyVersion": "" if edge else cluster.kubernetes_version,
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.13",
                # Required by typed clients (kubernetes_asyncio's V1NodeSystemInfo refuses None).
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "5.15.0-105-generic",
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, f"machine.{cluster.name}.{name}").hex,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"system.{cluster.name}.{name}")),
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"boot.{cluster.name}.{name}")),
            },
            "addresses": [{"type": "InternalIP", "address": ip}] if ip else [],
        },
    }
    if isinstance(pool, NodePool) and pool.taints:
        node["spec"]["taints"] = [t.model_dump(exclude_defaults=False) for t in pool.taints]
    return node


def _register(store: ObjectStore, node: Obj) -> None:
    # Like a kubelet: create the Node, then report its status through the status subresource.
    rt = store.registry.by_key(("", "nodes"))
    store.create(rt, None, node)
    store.update(rt, None, node["metadata"]["name"], node, subresource="status")


def seed_nodes(store: ObjectStore, cluster: ClusterSpec) -> None:
    """Create a member's nodes as the topology describes them (conditions come from controllers)."""
    index = 0
    for pool in cluster.pools():
        prefix = pool.name_prefix or f"{cluster.name}-node"
        for _ in range(pool.count):
            zone = cluster.zones[index % len(cluster.zones)] if cluster.zones else None
            name = f"{prefix}-{index}"
            ip = f"10.{len(cluster.name) % 200}.{index // 250}.{index % 250 + 1}"
            _register(store, _node(name, cluster, pool, zone, edge=False, ip=ip))
            index += 1
    for edge in cluster.edge_nodes:
        zone = cluster.zones[0] if cluster.zones else None
        _register(store, _node(edge.name, cluster, edge, zone, edge=True, ip=edge.ip))
