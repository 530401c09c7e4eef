"""A Fleet's members as the fleet service reports them: what an Application renders against.

Like upstream's controller (kurator-upstream.md 3.2-3.3), the members are the Fleet's
``spec.clusters`` (the Fleet in the Application's namespace), each read as its own object: an
``AttachedCluster`` from ``kurator.status.fleet.attachedcluster.<ns>.<name>`` (its labels and
kubeconfig Secret), a ``Cluster`` from ``kurator.status.fleet.cluster._.<name>`` (Karmada's
``Cluster``; its labels, see :meth:`FleetMember.from_karmada_cluster` for its kubeconfig).
A listed member the fleet service has no object for is *missing*: upstream then renders nothing
and retries, and so does the service (the Application is re-rendered when the member appears).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kurator_apps.applications.members import FleetMember
from shared.contracts import subjects

_FLEET = "fleet"


class Statuses(Protocol):
    """The latest status document of an object on the bus (``None``: no such object, or deleted)."""

    async def latest(self, address: subjects.ObjectAddress) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Membership:
    fleet: str
    namespace: str
    found: bool
    """Whether the fleet service has the Fleet at all."""
    members: tuple[FleetMember, ...] = ()
    missing: tuple[str, ...] = ()
    """``<Kind>/<name>`` of listed members the fleet service has no object for."""

    @property
    def complete(self) -> bool:
        """The Fleet exists and every member it lists does: safe to render (upstream's condition)."""
        return self.found and not self.missing

    def problem(self) -> str | None:
        """Why nothing can be rendered yet, or ``None``."""
        where = f"Fleet {self.namespace}/{self.fleet}"
        if not self.found:
            return f"{where} does not exist (yet)"
        if self.missing:
            return f"{where} lists members that do not exist (yet): {', '.join(self.missing)}"
        if not self.members:
            return f"{where} has no member clusters yet"
        return None


def fleet_address(*, namespace: str, name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress(_FLEET, "fleet", namespace, name)


def _member_address(kind: str, *, namespace: str, name: str) -> subjects.ObjectAddress:
    if kind == "AttachedCluster":
        return subjects.ObjectAddress(_FLEET, "attachedcluster", namespace, name)
    return subjects.ObjectAddress(_FLEET, "cluster", None, name)


async def read(statuses: Statuses, *, namespace: str, fleet: str) -> Membership:
    """The members of Fleet ``namespace/fleet`` as the fleet service reports them now."""
    document = await statuses.latest(fleet_address(namespace=namespace, name=fleet))
    if document is None:
        return Membership(fleet=fleet, namespace=namespace, found=False)
    members: list[FleetMember] = []
    missing: list[str] = []
    seen: set[tuple[str, str]] = set()
    for ref in (document.get("spec") or {}).get("clusters") or ():
        if not isinstance(ref, Mapping) or not ref.get("name"):
            continue
        kind, name = str(ref.get("kind") or "Cluster"), str(ref["name"])
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        obj = await statuses.latest(_member_address(kind, namespace=namespace, name=name))
        if obj is None:
            missing.append(f"{kind}/{name}")
        elif kind == "AttachedCluster":
            members.append(FleetMember.from_attached_cluster(obj))
        else:
            members.append(FleetMember.from_karmada_cluster(obj))
    return Membership(fleet=fleet, namespace=namespace, found=True, members=tuple(members), missing=tuple(missing))
