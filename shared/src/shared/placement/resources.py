"""Resource lists as Kubernetes computes them: parsing, ``Value()``/``MilliValue()``, pod requests.

Quantities are exact :class:`~decimal.Decimal` values (:mod:`shared.contracts.quantity`);
Karmada's estimator compares ``Value()`` (rounded up to an integer) for every resource but
``cpu``, which it compares in thousandths (``MilliValue()``, also rounded up).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from shared.contracts.quantity import parse_quantity

ResourceList = dict[str, Decimal]

CPU = "cpu"
PODS = "pods"


def parse_list(raw: Mapping[str, Any] | None) -> ResourceList:
    """A ``ResourceList`` from an object; entries that are not quantities are ignored."""
    out: ResourceList = {}
    for name, quantity in (raw or {}).items():
        try:
            out[str(name)] = parse_quantity(quantity)
        except ValueError:
            continue
    return out


def add(*lists: Mapping[str, Decimal]) -> ResourceList:
    out: ResourceList = {}
    for rl in lists:
        for name, quantity in rl.items():
            out[name] = out.get(name, Decimal(0)) + quantity
    return out


def value(q: Decimal) -> int:
    """``Quantity.Value()``: rounded up to an integer."""
    return int(q.to_integral_value(rounding=ROUND_CEILING))


def milli_value(q: Decimal) -> int:
    """``Quantity.MilliValue()``: thousandths, rounded up."""
    return int((q * 1000).to_integral_value(rounding=ROUND_CEILING))


def _container_requests(container: Mapping[str, Any], *, default_from_limits: bool) -> ResourceList:
    resources = container.get("resources") or {}
    requests = parse_list(resources.get("requests"))
    if default_from_limits:
        # API server defaulting of Pods: a resource with a limit and no request requests its limit.
        for name, limit in parse_list(resources.get("limits")).items():
            requests.setdefault(name, limit)
    return requests


def pod_requests(pod_spec: Mapping[str, Any] | None, *, default_from_limits: bool = True) -> ResourceList:
    """The effective resource request of one pod with this spec (kube-scheduler's rule).

    The sum over containers, at least the largest init container (sidecars, init containers
    with ``restartPolicy: Always``, add up), plus ``overhead``. ``default_from_limits`` applies
    the API server's Pod defaulting, which a pod *template* (a Deployment's) does not get.
    """
    spec = pod_spec or {}
    total = add(
        *(_container_requests(c, default_from_limits=default_from_limits) for c in spec.get("containers") or ())
    )
    for init in spec.get("initContainers") or ():
        requests = _container_requests(init, default_from_limits=default_from_limits)
        if init.get("restartPolicy") == "Always":  # a sidecar runs alongside the app containers
            total = add(total, requests)
            continue
        for name, q in requests.items():
            if q > total.get(name, Decimal(0)):
                total[name] = q
    return add(total, parse_list(spec.get("overhead")))
