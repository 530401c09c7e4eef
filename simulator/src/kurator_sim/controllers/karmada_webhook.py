"""karmada-webhook's mutating admission for propagation policies, as store admission hooks.

On every create and update of a ``PropagationPolicy``/``ClusterPropagationPolicy``
(``pkg/webhook/{propagationpolicy,clusterpropagationpolicy}/mutating.go``, v1.16+):

* a PP's resource selectors without ``namespace`` get the policy's namespace;
* spread constraints with neither ``spreadByField`` nor ``spreadByLabel`` become
  ``spreadByField: cluster``; ``minGroups`` 0 becomes 1;
* ``replicaScheduling`` with ``Divided`` (the CRD default when the type is absent) and no
  ``replicaDivisionPreference`` gets ``Weighted``;
* ``failover.application`` with purge mode ``Gracefully`` (the default) gets
  ``gracePeriodSeconds: 600`` when unset;
* on create, the ``propagationpolicy.karmada.io/permanent-id`` (or
  ``clusterpropagationpolicy.karmada.io/permanent-id``) label with a fresh UUID. Karmada's
  validating webhook refuses to change it; here an update that drops it gets the old value back.

Anything else (Kurator's ``replicaSchedulingType: Weighted`` shorthand, ``weightList``) passes
unchanged, to be refused by the CRD schema or ignored by the scheduler as Karmada would.
"""

from __future__ import annotations

import weakref
from typing import Any

from kurator_sim.controllers.karmada_names import (
    CLUSTER_PROPAGATION_POLICIES,
    CPP_PERMANENT_ID,
    PP_PERMANENT_ID,
    PROPAGATION_POLICIES,
)
from kurator_sim.store import objects
from kurator_sim.store.objects import Admission, Obj, ObjectStore, Operation

DEFAULT_APPLICATION_FAILOVER_GRACE_SECONDS = 600

_installed: weakref.WeakSet[ObjectStore] = weakref.WeakSet()


def install(host: ObjectStore) -> None:
    """Register the mutations on the Karmada host store (once per store)."""
    if host in _installed:
        return
    _installed.add(host)
    host.add_admission(PROPAGATION_POLICIES, _mutator(namespaced=True))
    host.add_admission(CLUSTER_PROPAGATION_POLICIES, _mutator(namespaced=False))


def _mutator(*, namespaced: bool) -> Admission:
    label = PP_PERMANENT_ID if namespaced else CPP_PERMANENT_ID

    def mutate(operation: Operation, new: Obj, old: Obj | None) -> None:
        if operation == "DELETE":
            return
        meta = new.setdefault("metadata", {})
        spec = new.get("spec")
        if isinstance(spec, dict):
            mutate_spec(spec, meta.get("namespace") if namespaced else None)
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        if label not in labels:
            previous = ((old or {}).get("metadata") or {}).get("labels") or {}
            labels[label] = previous.get(label) or objects.new_uid()

    return mutate


def mutate_spec(spec: dict[str, Any], namespace: str | None) -> None:
    if namespace:
        for selector in spec.get("resourceSelectors") or ():
            if isinstance(selector, dict) and not selector.get("namespace"):
                selector["namespace"] = namespace
    placement = spec.get("placement")
    if isinstance(placement, dict):
        for constraint in placement.get("spreadConstraints") or ():
            if not isinstance(constraint, dict):
                continue
            if not constraint.get("spreadByField") and not constraint.get("spreadByLabel"):
                constraint["spreadByField"] = "cluster"
            if not constraint.get("minGroups"):
                constraint["minGroups"] = 1
        scheduling = placement.get("replicaScheduling")
        if isinstance(scheduling, dict):
            scheduling.setdefault("replicaSchedulingType", "Divided")
            if scheduling["replicaSchedulingType"] == "Divided" and not scheduling.get("replicaDivisionPreference"):
                scheduling["replicaDivisionPreference"] = "Weighted"
    failover = spec.get("failover")
    application = failover.get("application") if isinstance(failover, dict) else None
    if isinstance(application, dict) and application.get("purgeMode", "Gracefully") in ("Gracefully", "Graciously"):
        application.setdefault("gracePeriodSeconds", DEFAULT_APPLICATION_FAILOVER_GRACE_SECONDS)
