"""Resource arithmetic for the simulated Volcano: what a pod asks for, and how to print it.

A pod's request is what kube-scheduler (and Volcano's ``NewResource``) use: per resource, the
sum over containers of ``requests`` (falling back to ``limits`` where a container sets only a
limit, as the API server's defaulting does), at least the largest init container's, plus one
``pods``. Quantities are exact decimals (``shared.contracts.quantity``); they are printed in
the canonical Kubernetes forms (``3500m``, ``4``, ``20Gi``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from shared.contracts.quantity import parse_quantity

Resources = dict[str, Decimal]

PODS = "pods"
_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_BYTE_RESOURCES = ("memory", "ephemeral-storage", "storage")


def parse_list(values: Mapping[str, Any] | None) -> Resources:
    """A ``ResourceList`` as decimals (unparsable entries are skipped)."""
    out: Resources = {}
    for name, raw in (values or {}).items():
        try:
            out[name] = parse_quantity(raw)
        except ValueError:
            continue
    return out


def add(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> Resources:
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, Decimal(0)) + value
    return out


def subtract(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> Resources:
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, Decimal(0)) - value
    return out


def total(resources: Iterable[Mapping[str, Decimal]]) -> Resources:
    out: Resources = {}
    for r in resources:
        out = add(out, r)
    return out


def shortages(need: Mapping[str, Decimal], free: Mapping[str, Decimal]) -> Resources:
    """How much more of each resource ``need`` asks for than ``free`` has (only the short ones)."""
    return {name: value - free.get(name, Decimal(0)) for name, value in need.items() if value > free.get(name, 0)}


def _container_requests(container: Mapping[str, Any]) -> Resources:
    resources = container.get("resources") or {}
    out = parse_list(resources.get("limits"))
    out.update(parse_list(resources.get("requests")))
    return out


def pod_requests(pod_spec: Mapping[str, Any]) -> Resources:
    """What the scheduler reserves for one pod of ``pod_spec`` (``pods`` included)."""
    regular = total(_container_requests(c) for c in pod_spec.get("containers") or [])
    for init in pod_spec.get("initContainers") or []:
        for name, value in _container_requests(init).items():
            if value > regular.get(name, Decimal(0)):
                regular[name] = value
    regular[PODS] = Decimal(1)
    return {name: value for name, value in regular.items() if value != 0 or name == PODS}


def pod_limits(pod_spec: Mapping[str, Any]) -> Resources:
    return total(parse_list((c.get("resources") or {}).get("limits")) for c in pod_spec.get("containers") or [])


def format_quantity(name: str, value: Decimal) -> str:
    """Canonical text of a quantity of resource ``name`` (``500m``, ``2``, ``8Gi``)."""
    if name in _BYTE_RESOURCES and value == value.to_integral_value() and value > 0:
        whole = int(value)
        for suffix, size in _BINARY:
            if whole % size == 0:
                return f"{whole // size}{suffix}"
        return str(whole)
    if value == value.to_integral_value():
        return str(int(value))
    millis = value * 1000
    if millis == millis.to_integral_value():
        return f"{int(millis)}m"
    return format(value.normalize(), "f")


def format_list(resources: Mapping[str, Decimal]) -> dict[str, str]:
    return {name: format_quantity(name, value) for name, value in sorted(resources.items())}


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
