"""Resource arithmetic for the simulated Volcano: the generic part is :mod:`shared.gang.resources`
(also what the apps service predicts with); this module adds Volcano's quota view of a pod.

The generic names are re-exported so the Volcano modules keep one import for resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from shared.gang.resources import (
    PODS,
    Resources,
    add,
    format_list,
    format_quantity,
    parse_list,
    pod_limits,
    pod_requests,
    shortages,
    subtract,
    total,
)

__all__ = [
    "PODS",
    "Resources",
    "add",
    "format_list",
    "format_quantity",
    "format_quota",
    "parse_list",
    "pod_limits",
    "pod_requests",
    "quota_usage",
    "shortages",
    "subtract",
    "total",
]


def quota_usage(requests: Mapping[str, Decimal], limits: Mapping[str, Decimal]) -> Resources:
    """A pod's usage in ResourceQuota terms, the keys Volcano writes into ``minResources``:
    ``pods``, ``count/pods``, ``cpu``/``requests.cpu``, ``limits.cpu`` (same for memory) and
    ``requests.<extended>`` (the plain name too, which is what readers usually look up)."""
    out: Resources = {PODS: Decimal(1), "count/pods": Decimal(1)}
    for name, value in requests.items():
        if name == PODS:
            continue
        out[name] = value
        out[f"requests.{name}"] = value
    for name, value in limits.items():
        if name in ("cpu", "memory", "ephemeral-storage"):
            out[f"limits.{name}"] = value
    return out


def format_quota(resources: Mapping[str, Decimal]) -> dict[str, str]:
    def base(key: str) -> str:
        return key.split(".", 1)[1] if key.startswith(("requests.", "limits.")) else key

    return {name: format_quantity(base(name), value) for name, value in sorted(resources.items())}
