"""A Karmada ``Cluster`` as the fleet reports it: readiness, capacity and free capacity.

Pure code, from the object the watch delivers to a :class:`ClusterView` and the observation
published on ``kurator.status.fleet.cluster._.<name>``:

* ``phase`` ``Ready``/``NotReady``/``Unknown`` and ``ready`` from Karmada's ``Ready`` condition
  (none yet counts as ``Unknown``), Karmada's ``Ready`` and ``CompleteAPIEnablements`` conditions;
* ``capacity``: ``resourceSummary.allocatable``; ``free``: allocatable - allocated - allocating
  per resource (integration notes 6.3), never below zero; ``pressure``: the resources whose
  free fraction is low (see :mod:`.signals`);
* ``kubernetesVersion``, ``nodeSummary``, ``labels``, ``taints``, ``region``, ``provider``,
  ``zones``, ``syncMode``, and ``fleet`` (``fleetNamespace``) from the membership labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from kurator_fleet import edge, observed
from shared.contracts import quantity

FLEET_NAME: Final = "fleet.kurator.dev/fleet-name"
FLEET_NAMESPACE: Final = "fleet.kurator.dev/fleet-namespace"
OWNER_KIND: Final = "kurator.dev/owner-kind"
OWNER_NAMESPACE: Final = "kurator.dev/owner-namespace"
API_VERSION: Final = "cluster.karmada.io/v1alpha1"

READY: Final = "Ready"
NOT_READY: Final = "NotReady"
UNKNOWN: Final = "Unknown"

OWNED_CONDITIONS: Final = ("Ready", "CompleteAPIEnablements")
OWNERSHIP: Final = observed.Ownership(
    fields=frozenset(
        {
            "ready",
            "kubernetesVersion",
            "capacity",
            "free",
            "pressure",
            "nodeSummary",
            "labels",
            "taints",
            "fleet",
            "fleetNamespace",
            "region",
            "provider",
            "zones",
            "syncMode",
            "edge",
        }
    ),
    conditions=frozenset(OWNED_CONDITIONS),
    phase=True,
)

_BYTES: Final = frozenset({"memory", "ephemeral-storage", "storage"})
_BINARY_SUFFIXES: Final = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


@dataclass(frozen=True, slots=True)
class ClusterView:
    name: str
    phase: str
    ready: bool
    conditions: tuple[Mapping[str, Any], ...]
    capacity: Mapping[str, str]
    free: Mapping[str, str]
    free_fraction: Mapping[str, float]
    """Free / allocatable per resource with a positive allocatable."""
    labels: Mapping[str, str]
    fleet: str | None
    fleet_namespace: str | None
    attached_namespace: str | None
    """The namespace of the ``AttachedCluster`` this cluster was joined for (ownership labels)."""
    fields: Mapping[str, Any]
    """The rest of the observed status fields."""
    document: Mapping[str, Any]

    def condition(self, type_: str) -> Mapping[str, Any] | None:
        return next((c for c in self.conditions if c.get("type") == type_), None)


def format_quantity(value: Decimal, resource: str) -> str:
    """A quantity as Kubernetes would print it: ``62Gi``, ``3500m``, ``12``."""
    if value == value.to_integral_value():
        whole = int(value)
        if resource in _BYTES or resource.startswith("hugepages-"):
            for suffix, size in _BINARY_SUFFIXES:
                if whole and whole % size == 0:
                    return f"{whole // size}{suffix}"
        return str(whole)
    millis = value * 1000
    if millis == millis.to_integral_value():
        return f"{int(millis)}m"
    return str(value.normalize())


def _quantities(raw: Any) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for name, value in (raw or {}).items():
        try:
            out[str(name)] = quantity.parse_quantity(value)
        except ValueError:
            continue  # a value we cannot read is left out rather than guessed
    return out


def _condition(raw: Mapping[str, Any]) -> dict[str, Any]:
    # Karmada's own observedGeneration would read as ours in a kurator status: leave it out.
    return {k: raw[k] for k in ("type", "status", "reason", "message", "lastTransitionTime") if k in raw}


def view(obj: Mapping[str, Any]) -> ClusterView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    name = str(meta.get("name", ""))
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    by_type = {c.get("type"): c for c in st.get("conditions") or () if isinstance(c, Mapping)}
    conditions = tuple(_condition(by_type[t]) for t in OWNED_CONDITIONS if t in by_type)
    ready_status = (by_type.get("Ready") or {}).get("status")
    phase = READY if ready_status == "True" else NOT_READY if ready_status == "False" else UNKNOWN
    summary = st.get("resourceSummary") or {}
    allocatable = _quantities(summary.get("allocatable"))
    used = _quantities(summary.get("allocated"))
    pending = _quantities(summary.get("allocating"))
    free: dict[str, str] = {}
    fraction: dict[str, float] = {}
    for resource, total in sorted(allocatable.items()):
        left = max(Decimal(0), total - used.get(resource, Decimal(0)) - pending.get(resource, Decimal(0)))
        free[resource] = format_quantity(left, resource)
        if total > 0:
            fraction[resource] = round(float(left / total), 4)
    capacity = {str(k): str(v) for k, v in sorted((summary.get("allocatable") or {}).items())}
    fields: dict[str, Any] = {
        "kubernetesVersion": st.get("kubernetesVersion"),
        "nodeSummary": st.get("nodeSummary"),
        "taints": list(spec.get("taints") or ()),
        "region": spec.get("region"),
        "provider": spec.get("provider"),
        "zones": list(spec.get("zones") or ([spec["zone"]] if spec.get("zone") else [])),
        "syncMode": spec.get("syncMode"),
        "edge": edge.is_edge(labels, spec.get("provider")),
    }
    document = {
        "apiVersion": obj.get("apiVersion") or API_VERSION,
        "kind": "Cluster",
        "metadata": {
            k: meta[k] for k in ("name", "labels", "uid", "generation", "creationTimestamp") if meta.get(k) is not None
        },
    }
    return ClusterView(
        name=name,
        phase=phase,
        ready=phase == READY,
        conditions=conditions,
        capacity=capacity,
        free=free,
        free_fraction=fraction,
        labels=labels,
        fleet=labels.get(FLEET_NAME),
        fleet_namespace=labels.get(FLEET_NAMESPACE),
        attached_namespace=labels.get(OWNER_NAMESPACE) if labels.get(OWNER_KIND) == "AttachedCluster" else None,
        fields=fields,
        document=document,
    )


def observation(cluster: ClusterView, *, pressure: frozenset[str]) -> observed.Observation:
    fields = {
        **cluster.fields,
        "ready": cluster.ready,
        "capacity": dict(cluster.capacity),
        "free": dict(cluster.free),
        "pressure": sorted(pressure),
        "labels": dict(cluster.labels),
        "fleet": cluster.fleet,
        "fleetNamespace": cluster.fleet_namespace,
    }
    return observed.Observation(
        owner=OWNERSHIP,
        fields={k: v for k, v in fields.items() if v is not None},
        conditions=cluster.conditions,
        phase=cluster.phase,
        document=cluster.document,
    )


def absent_observation(name: str) -> observed.Observation:
    """For a cluster an intent asked for that Karmada does not have (not joined, or removed)."""
    return observed.Observation(
        owner=OWNERSHIP,
        fields={"ready": False},
        conditions=(
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "ClusterNotJoined",
                "message": f"Karmada has no Cluster {name}",
            },
        ),
        phase=UNKNOWN,
    )
