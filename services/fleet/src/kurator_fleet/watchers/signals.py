"""Cluster events from one view to the next: joined, left, ready, notready, pressure.

Pure code. Events fire on transitions only, judged against what was last *published* (the
status on the bus when this replica has not seen the cluster yet), so a new lease holder
does not announce the whole fleet again:

* ``joined``: a cluster nobody reported before; ``left``: its Cluster object is gone;
* ``ready`` / ``notready``: ``ready`` flips (``NotReady`` and ``Unknown`` are both not ready);
* ``pressure``: the free fraction of ``cpu`` or ``memory`` falls below ``enter`` (payload
  ``active: true``), or climbs back above ``leave`` (``active: false``). ``leave`` is above
  ``enter`` (hysteresis), so a cluster hovering at the threshold does not flap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kurator_fleet.watchers.clusters import ClusterView

PRESSURE_RESOURCES: Final = ("cpu", "memory")


@dataclass(frozen=True, slots=True)
class Thresholds:
    enter: float = 0.10
    """Free fraction below which a resource is under pressure."""
    leave: float = 0.15
    """Free fraction above which it no longer is."""


@dataclass(frozen=True, slots=True)
class Reported:
    """What was last said about a cluster."""

    ready: bool
    pressure: frozenset[str]

    @classmethod
    def from_status(cls, document: Mapping[str, Any] | None) -> Reported | None:
        """From a published status document (``None`` if absent or ``Deleted``)."""
        st = (document or {}).get("status") or {}
        if not st or st.get("phase") == "Deleted" or "ready" not in st:
            return None
        return cls(ready=bool(st.get("ready")), pressure=frozenset(st.get("pressure") or ()))


Event = tuple[str, dict[str, Any]]
"""``(event name, payload)``."""


def pressure(cluster: ClusterView, before: frozenset[str], thresholds: Thresholds) -> frozenset[str]:
    """The resources under pressure now, given those that were before (hysteresis)."""
    out = set()
    for resource in PRESSURE_RESOURCES:
        fraction = cluster.free_fraction.get(resource)
        if fraction is None:
            continue
        limit = thresholds.leave if resource in before else thresholds.enter
        if fraction < limit:
            out.add(resource)
    return frozenset(out)


def payload(cluster: ClusterView) -> dict[str, Any]:
    ready = cluster.condition("Ready") or {}
    out: dict[str, Any] = {
        "cluster": cluster.name,
        "phase": cluster.phase,
        "ready": cluster.ready,
        "labels": dict(cluster.labels),
        "edge": bool(cluster.fields.get("edge")),
    }
    if cluster.fleet:
        out["fleet"] = cluster.fleet
    if ready.get("reason"):
        out["reason"] = ready["reason"]
    if ready.get("message"):
        out["message"] = ready["message"]
    return out


def transitions(before: Reported | None, cluster: ClusterView, pressure_now: frozenset[str]) -> list[Event]:
    base = payload(cluster)
    events: list[Event] = []
    if before is None:
        events.append(("joined", base))
    elif before.ready != cluster.ready:
        events.append(("ready" if cluster.ready else "notready", base))
    was = before.pressure if before is not None else frozenset()
    if pressure_now != was:
        changed = sorted(pressure_now ^ was)
        events.append(
            (
                "pressure",
                {
                    **base,
                    "active": bool(pressure_now),
                    "resources": sorted(pressure_now),
                    "changed": changed,
                    "free": {r: cluster.free.get(r) for r in PRESSURE_RESOURCES if r in cluster.free},
                    "capacity": {r: cluster.capacity.get(r) for r in PRESSURE_RESOURCES if r in cluster.capacity},
                    "freeFraction": {
                        r: cluster.free_fraction[r] for r in PRESSURE_RESOURCES if r in cluster.free_fraction
                    },
                },
            )
        )
    return events


def left(cluster: ClusterView) -> Event:
    return ("left", payload(cluster))
