"""Fleet membership: a Fleet's member clusters carry ``fleet.kurator.dev/fleet-name=<fleet>``.

Members are Karmada ``Cluster``s named like the Fleet's ``spec.clusters`` entries (a
``Cluster`` by its name, an ``AttachedCluster`` by the name it joins as, which is the same;
see :mod:`kurator_fleet.joining`). Besides upstream's ``fleet-name`` label we write
``fleet.kurator.dev/fleet-namespace``, since a Fleet is namespaced and two namespaces may
both have a Fleet called ``default``.

Each Fleet writes its labels with a field manager of its own
(``kurator-fleet/fleet/<ns>/<name>``): with server-side apply, a manager that stops sending a
field removes it, so the labels cannot share ``kurator-fleet`` with the Cluster's own spec
(a join would wipe them), and per Fleet no Fleet can remove another's label. A cluster
already labelled for another Fleet is left alone and reported (one Fleet per cluster, as
upstream assumes). Clusters not joined yet are reported too, and labelled when they join
(:func:`label_joined`). The watch side computes ``readyClusters``/``unReadyClusters`` from the
members this module records in ``status.clusters``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from kurator_fleet import failures, joining, ownership, ports, statuses
from shared.bus import store
from shared.contracts.meta import KubeObject
from shared.contracts.models import fleet

FLEET_NAME: Final = "fleet.kurator.dev/fleet-name"
FLEET_NAMESPACE: Final = "fleet.kurator.dev/fleet-namespace"


class DesiredObjects(Protocol):
    """What :func:`label_joined` reads from the service's desired state (a ``DesiredStateStore``)."""

    def items(self) -> AsyncIterator[tuple[str, store.Versioned]]: ...


def member_names(spec: fleet.FleetSpec) -> list[str]:
    """The Karmada ``Cluster`` names of a Fleet's members, in the order listed."""
    return list(dict.fromkeys(ref.name for ref in spec.clusters))


def labels(*, namespace: str, name: str) -> dict[str, str]:
    return {FLEET_NAME: name, FLEET_NAMESPACE: namespace}


def selector(*, namespace: str, name: str) -> str:
    """The label selector of a Fleet's members (for the watch side, too)."""
    return f"{FLEET_NAME}={name},{FLEET_NAMESPACE}={namespace}"


def field_manager(*, namespace: str, name: str) -> str:
    return f"{ownership.MANAGER}/fleet/{namespace}/{name}"[:128]


def _labels_patch(cluster: str, wanted: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": cluster}
    if wanted:
        meta["labels"] = wanted
    return {"apiVersion": joining.CLUSTER_API_VERSION, "kind": "Cluster", "metadata": meta}


@dataclass
class Membership:
    labelled: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    elsewhere: dict[str, str] = field(default_factory=dict)
    """Cluster -> the other Fleet it is labelled for."""
    released: list[str] = field(default_factory=list)


async def label(karmada: ports.Karmada, *, namespace: str, name: str, cluster: str) -> str | None:
    """Label one cluster for the Fleet; ``"missing"`` or the other Fleet (``Fleet ns/name``) when it cannot."""
    wanted = labels(namespace=namespace, name=name)
    found = await karmada.find(joining.cluster_ref(cluster))
    if found is None:
        return "missing"
    if ownership.held_by_other(found, wanted) is not None:
        theirs = ownership.labels_of(found)
        return f"Fleet {theirs.get(FLEET_NAMESPACE, '?')}/{theirs.get(FLEET_NAME, '?')}"
    # Applied even when the labels are there already, so that this Fleet's manager owns them.
    await karmada.apply(_labels_patch(cluster, wanted), field_manager=field_manager(namespace=namespace, name=name))
    return None


async def reconcile(karmada: ports.Karmada, *, namespace: str, name: str, members: list[str]) -> Membership:
    """Label ``members``, and release the clusters labelled for this Fleet that are no longer listed."""
    out = Membership()
    for cluster in members:
        problem = await label(karmada, namespace=namespace, name=name, cluster=cluster)
        if problem is None:
            out.labelled.append(cluster)
        elif problem == "missing":
            out.missing.append(cluster)
        else:
            out.elsewhere[cluster] = problem
    manager = field_manager(namespace=namespace, name=name)
    for obj in await karmada.clusters(label_selector=selector(namespace=namespace, name=name)):
        cluster = str(obj["metadata"]["name"])
        if cluster not in members:
            await karmada.apply(_labels_patch(cluster, {}), field_manager=manager)
            out.released.append(cluster)
    return out


def _membership_condition(record: store.Record, members: Membership) -> dict[str, Any]:
    problems = []
    if members.missing:
        problems.append(f"not joined to Karmada yet: {', '.join(members.missing)} (labelled when they join)")
    if members.elsewhere:
        held = "; ".join(f"{c} ({who})" for c, who in members.elsewhere.items())
        problems.append(f"already members of another Fleet: {held}")
    if not problems:
        message = f"{len(members.labelled)} member cluster(s) labelled {FLEET_NAME}"
        return statuses.condition(record, type="MembersLabelled", ok=True, reason="Labelled", message=message)
    reason = "ClustersInAnotherFleet" if members.elsewhere else "ClustersNotJoined"
    return statuses.condition(record, type="MembersLabelled", ok=False, reason=reason, message="; ".join(problems))


class FleetHandler:
    """Labels a Fleet's member clusters; removes the labels from clusters it no longer lists."""

    def __init__(self, *, karmada: ports.Karmada) -> None:
        self._karmada = karmada

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, fleet.Fleet)
        namespace, name = obj.metadata.namespace or "default", obj.metadata.name
        with failures.writing(f"the member labels of Fleet {namespace}/{name}", field="spec.clusters"):
            members = await reconcile(self._karmada, namespace=namespace, name=name, members=member_names(obj.spec))
        return statuses.applied(
            record,
            written=[joining.cluster_ref(c) for c in members.labelled + members.released],
            field_manager=field_manager(namespace=namespace, name=name),
            conditions=[_membership_condition(record, members)],
            clusters=members.labelled,
        )

    async def on_delete(self, record: store.Record) -> None:
        meta = record.document.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
        with failures.writing(f"the member labels of Fleet {namespace}/{name}"):
            await reconcile(self._karmada, namespace=namespace, name=name, members=[])


async def label_joined(
    karmada: ports.Karmada, desired: DesiredObjects, *, cluster: str, attached_namespace: str | None
) -> list[str]:
    """Label a cluster that has just joined for every Fleet that already lists it.

    A Fleet may list a cluster before it joins; this is where it catches up. It reads the
    Fleets from the desired state (a scan, so only done when a cluster first joins).
    ``attached_namespace`` is the AttachedCluster's namespace, ``None`` for a bare Cluster.
    """
    done = []
    async for key, item in desired.items():
        if not key.startswith("fleet."):
            continue
        listed = fleet.Fleet.model_validate(item.record.document)
        namespace = listed.metadata.namespace or "default"
        for ref in listed.spec.clusters:
            if ref.name != cluster or (ref.kind == "AttachedCluster" and namespace != attached_namespace):
                continue
            if await label(karmada, namespace=namespace, name=listed.metadata.name, cluster=cluster) is None:
                done.append(f"{namespace}/{listed.metadata.name}")
            break
    return done
