"""Resource lists as exact decimals: parsing, sums, a pod's effective request, canonical text.

A pod's request is what kube-scheduler and Volcano (``NewResource``) reserve for it: per
resource, the sum over its containers of ``requests`` (a resource with only a limit requests
that limit, as the API server defaults it) and its sidecars (init containers with
``restartPolicy: Always``, which keep running), at least what any init container needs while it
runs, plus the pod ``overhead`` and one ``pods`` slot. Quantities are :class:`~decimal.Decimal` values from
:func:`shared.contracts.quantity.parse_quantity`, so sums and comparisons never round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any, Final

from shared.contracts.quantity import parse_quantity

Resources = dict[str, Decimal]
"""``{resource name: amount}``; ``cpu`` in cores, ``memory`` in bytes, extended resources in units."""

PODS: Final = "pods"
_ZERO: Final = Decimal(0)
_BINARY_PREFIXES: Final = ("memory", "ephemeral-storage", "storage", "hugepages-")
_BINARY_SUFFIXES: Final = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_DECIMAL_SUFFIXES: Final = (
    (18, "E"),
    (15, "P"),
    (12, "T"),
    (9, "G"),
    (6, "M"),
    (3, "k"),
    (0, ""),
    (-3, "m"),
    (-6, "u"),
)


def parse_list(raw: Mapping[str, Any] | None) -> Resources:
    """A ``ResourceList`` from an object; entries that are not quantities are skipped."""
    out: Resources = {}
    for name, value in (raw or {}).items():
        try:
            out[str(name)] = parse_quantity(value)
        except ValueError:
            continue
    return out


def add(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> Resources:
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, _ZERO) + value
    return out


def subtract(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> Resources:
    out = dict(a)
    for name, value in b.items():
        out[name] = out.get(name, _ZERO) - value
    return out


def total(lists: Iterable[Mapping[str, Decimal]]) -> Resources:
    out: Resources = {}
    for resources in lists:
        for name, value in resources.items():
            out[name] = out.get(name, _ZERO) + value
    return out


def shortages(need: Mapping[str, Decimal], free: Mapping[str, Decimal]) -> Resources:
    """How much more of each resource ``need`` asks for than ``free`` holds (only the short ones)."""
    return {name: value - free.get(name, _ZERO) for name, value in need.items() if value > free.get(name, _ZERO)}


def container_requests(container: Mapping[str, Any]) -> Resources:
    """One container's requests, each missing request defaulted from its limit (API server defaulting)."""
    resources = container.get("resources") or {}
    requests = parse_list(resources.get("requests"))
    for name, limit in parse_list(resources.get("limits")).items():
        requests.setdefault(name, limit)
    return requests


def _at_least(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> Resources:
    out = dict(a)
    for name, value in b.items():
        if value > out.get(name, _ZERO):
            out[name] = value
    return out


def pod_requests(pod_spec: Mapping[str, Any] | None) -> Resources:
    """What the scheduler reserves for one pod of ``pod_spec``: ``pods: 1`` included, zeros left out.

    Kubernetes' ``PodRequests``: the app containers plus every sidecar, or the most any init
    container needs while the sidecars started before it run, whichever is larger; plus overhead.
    """
    spec = pod_spec or {}
    apps = total(container_requests(c) for c in spec.get("containers") or ())
    sidecars: Resources = {}
    init_peak: Resources = {}
    for init in spec.get("initContainers") or ():
        own = container_requests(init)
        if init.get("restartPolicy") == "Always":
            sidecars = add(sidecars, own)
            init_peak = _at_least(init_peak, sidecars)
        else:
            init_peak = _at_least(init_peak, add(own, sidecars))
    regular = add(_at_least(add(apps, sidecars), init_peak), parse_list(spec.get("overhead")))
    regular[PODS] = Decimal(1)
    return {name: value for name, value in regular.items() if value != 0}


def pod_limits(pod_spec: Mapping[str, Any] | None) -> Resources:
    """The sum of the containers' limits (what quota's ``limits.*`` counts)."""
    spec = pod_spec or {}
    return total(parse_list((c.get("resources") or {}).get("limits")) for c in spec.get("containers") or ())


def format_quantity(name: str, value: Decimal) -> str:
    """Canonical text of an amount of resource ``name``, as ``resource.Quantity.String()`` prints it.

    Binary suffixes for memory-like resources (``20Gi``), decimal SI for the rest (``500m``,
    ``4``, ``2k``).
    """
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if name.startswith(_BINARY_PREFIXES) and amount == amount.to_integral_value():
        whole = int(amount)
        for suffix, factor in _BINARY_SUFFIXES:
            if whole % factor == 0:
                return f"{sign}{whole // factor}{suffix}"
        return f"{sign}{whole}"
    for exponent, suffix in _DECIMAL_SUFFIXES:
        mantissa = amount.scaleb(-exponent)
        if mantissa == mantissa.to_integral_value():
            return f"{sign}{int(mantissa)}{suffix}"
    nanos = int(amount.scaleb(9).to_integral_value(rounding=ROUND_CEILING))
    return f"{sign}{nanos}n"


def format_list(resources: Mapping[str, Decimal]) -> dict[str, str]:
    """A resource list as canonical strings, sorted by name."""
    return {name: format_quantity(name, value) for name, value in sorted(resources.items())}
