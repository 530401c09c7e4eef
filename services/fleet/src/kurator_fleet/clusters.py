"""Member clusters: Karmada ``Cluster`` intents, and Kurator ``AttachedCluster`` join and unjoin.

A bare ``Cluster`` intent is written as it is. An ``AttachedCluster`` joins through
:mod:`kurator_fleet.joining`: its kubeconfig Secret (in its namespace, in Karmada) becomes the
join Secret and the ``Cluster`` Karmada pushes work to; deleting it unjoins (both go).
A join that cannot happen yet (the Secret or its key missing, a kubeconfig without a server)
answers ``Pending`` with a ``Joined=False`` condition naming what to fix; applying the same
intent again after fixing it joins. Either way, a cluster that has just joined is labelled
for the Fleets already listing it (:func:`kurator_fleet.fleets.label_joined`).
"""

from __future__ import annotations

from typing import Any

from kurator_fleet import edge, failures, fleets, joining, ownership, ports, statuses
from shared import errors
from shared.bus import store
from shared.contracts import validation
from shared.contracts.meta import KubeObject
from shared.contracts.models import fleet, karmada

_OWNER_KEYS = (ownership.OWNER_SERVICE, ownership.OWNER_KIND, ownership.OWNER_NAMESPACE, ownership.OWNER_NAME)


def _refuse(field: str, message: str) -> errors.InvalidIntent:
    return errors.InvalidIntent([validation.Reason(field=field, message=message)])


def _holder(obj: dict[str, Any]) -> str:
    labels = ownership.labels_of(obj)
    if labels.get(ownership.OWNER_KIND):
        where = "/".join(labels[k] for k in (ownership.OWNER_NAMESPACE, ownership.OWNER_NAME) if k in labels)
        return f"{labels[ownership.OWNER_KIND]} {where}"
    return "a join made outside Kurator"


class ClusterHandler:
    """A Karmada ``Cluster`` written as the intent says; deleting the intent unjoins it."""

    def __init__(self, *, karmada: ports.Karmada, desired: fleets.DesiredObjects) -> None:
        self._karmada = karmada
        self._desired = desired

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, karmada.Cluster)
        ref = joining.cluster_ref(obj.metadata.name)
        with failures.writing(ref.display()):
            existing = await self._karmada.find(ref)
            if existing is not None and ownership.labels_of(existing).get(ownership.OWNER_KIND) == "AttachedCluster":
                raise _refuse("metadata.name", f"Cluster {ref.name} was joined by {_holder(existing)}: change it there")
            wire = obj.to_wire()
            await self._karmada.apply(edge.labelled(wire, edge=edge.of_cluster(wire)))
            joined = (
                await fleets.label_joined(self._karmada, self._desired, cluster=ref.name, attached_namespace=None)
                if existing is None
                else []
            )
        return statuses.applied(record, written=[ref], field_manager=ownership.MANAGER, fleets=joined)

    async def on_delete(self, record: store.Record) -> None:
        ref = ports.ObjectRef.of(record.document)
        with failures.writing(ref.display()):
            await self._karmada.delete(ref)


class AttachedClusterHandler:
    """Joins an AttachedCluster to Karmada as a Push ``Cluster`` (and its Secret); unjoins on delete."""

    def __init__(self, *, karmada: ports.Karmada, desired: fleets.DesiredObjects) -> None:
        self._karmada = karmada
        self._desired = desired

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, fleet.AttachedCluster)
        name = joining.cluster_name(obj)
        problem = joining.cluster_name_error(name)
        if problem:
            raise _refuse("metadata.name", f"joins Karmada as Cluster {name!r}, which {problem}")
        namespace = obj.metadata.namespace or "default"
        ref = joining.cluster_ref(name)
        with failures.writing(ref.display()):
            existing = await self._karmada.find(ref)
            if existing is not None and not self._ours(existing, obj):
                raise _refuse("metadata.name", f"Karmada already has a Cluster {name!r}, joined by {_holder(existing)}")
            secret = await self._karmada.read_secret(namespace=namespace, name=obj.spec.kubeconfig.name)
        where = f"Secret {namespace}/{obj.spec.kubeconfig.name}"
        if secret is None:
            return self._pending(record, "KubeconfigSecretNotFound", f"{where} does not exist in Karmada")
        if obj.spec.kubeconfig.key not in secret:
            return self._pending(record, "KubeconfigKeyNotFound", f"{where} has no key {obj.spec.kubeconfig.key!r}")
        try:
            access = joining.member_access(secret[obj.spec.kubeconfig.key])
        except joining.KubeconfigError as exc:
            return self._pending(record, "KubeconfigInvalid", f"{where} key {obj.spec.kubeconfig.key!r}: {exc}")
        # The Cluster is derived from the kubeconfig, so Karmada's complaints are about spec.kubeconfig.
        with failures.writing(f"the Cluster built from {where}", field="spec.kubeconfig", nest=False):
            await self._karmada.apply(joining.join_secret(obj, access))
            await self._karmada.apply(joining.cluster(obj, access))
            joined = (
                await fleets.label_joined(self._karmada, self._desired, cluster=name, attached_namespace=namespace)
                if existing is None
                else []
            )
        message = f"joined Karmada as Cluster {name} (Push, apiEndpoint {access.api_endpoint})"
        if access.token is None:
            message += "; the kubeconfig carries no bearer token, which Karmada's Push mode authenticates with"
        joined_condition = statuses.condition(record, type="Joined", ok=True, reason="Joined", message=message)
        return statuses.applied(
            record,
            written=[joining.secret_ref(name), ref],
            field_manager=ownership.MANAGER,
            conditions=[joined_condition],
            clusterName=name,
            fleets=joined,
        )

    async def on_delete(self, record: store.Record) -> None:
        attached = fleet.AttachedCluster.model_validate(record.document)
        name = joining.cluster_name(attached)
        ref = joining.cluster_ref(name)
        with failures.writing(f"the unjoin of {ref.display()}"):
            existing = await self._karmada.find(ref)
            if existing is None or not self._ours(existing, attached):
                return  # never joined, or the name belongs to someone else: nothing of ours to remove
            await self._karmada.delete(ref)
            await self._karmada.delete(joining.secret_ref(name))

    @staticmethod
    def _ours(existing: dict[str, Any], attached: fleet.AttachedCluster) -> bool:
        labels = ownership.labels_of(existing)
        return all(labels.get(k) == v for k, v in joining.owner_labels(attached).items() if k in _OWNER_KEYS)

    @staticmethod
    def _pending(record: store.Record, reason: str, message: str) -> dict[str, Any]:
        return statuses.pending(
            record, condition_type="Joined", reason=reason, message=f"{message}; apply the AttachedCluster again"
        )
