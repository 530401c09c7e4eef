"""Resource lists as Kubernetes computes them: parsing, pod requests, sums and canonical printing.

Quantities are exact :class:`~decimal.Decimal` values (``shared.contracts.quantity``).
:func:`format_quantity` prints a sum the way ``resource.Quantity.String()`` does for the
canonical form: binary suffixes (``192Gi``) for memory-like resources, decimal SI (``300m``,
``48``, ``2k``) for the rest. :func:`pod_requests` is the scheduler's effective request of a
pod spec: the sum over containers, at least the largest init container, plus overhead;
a container without ``requests`` is defaulted from its ``limits`` as the API server does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from shared.contracts.quantity import parse_quantity

ResourceList = dict[str, Decimal]

_BINARY_PREFIXES = ("memory", "ephemeral-storage", "storage", "hugepages-")
_BINARY_SUFFIXES = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_DECIMAL_SUFFIXES = ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k"), (0, ""), (-3, "m"), (-6, "u"))


def parse_list(raw: Mapping[str, Any] | None) -> ResourceList:
    """A ``ResourceList`` from an object; entries that are not quantities are ignored."""
    out: ResourceList = {}
    for name, value in (raw or {}).items():
        try:
            out[str(name)] = parse_quantity(value)
        except ValueError:
            continue
    return out


def add(*lists: Mapping[str, Decimal]) -> ResourceList:
    out: ResourceList = {}
    for rl in lists:
        for name, value in rl.items():
            out[name] = out.get(name, Decimal(0)) + value
    return out


def times(rl: Mapping[str, Decimal], count: int) -> ResourceList:
    return {name: value * count for name, value in rl.items()}


def value(q: Decimal) -> int:
    """``Quantity.Value()``: rounded up to an integer."""
    return int(q.to_integral_value(rounding=ROUND_CEILING))


def milli_value(q: Decimal) -> int:
    """``Quantity.MilliValue()``: thousandths, rounded up."""
    return int((q * 1000).to_integral_value(rounding=ROUND_CEILING))


def is_binary(name: str) -> bool:
    return name.startswith(_BINARY_PREFIXES)


def format_quantity(name: str, q: Decimal) -> str:
    """The canonical string of ``q`` for resource ``name`` (``192Gi``, ``300m``, ``48``)."""
    if q == 0:
        return "0"
    sign = "-" if q < 0 else ""
    q = abs(q)
    if is_binary(name) and q == q.to_integral_value():
        n = int(q)
        for suffix, factor in _BINARY_SUFFIXES:
            if n % factor == 0:
                return f"{sign}{n // factor}{suffix}"
        return f"{sign}{n}"
    for exponent, suffix in _DECIMAL_SUFFIXES:
        mantissa = q.scaleb(-exponent)
        if mantissa == mantissa.to_integral_value():
            return f"{sign}{int(mantissa)}{suffix}"
    nanos = int(q.scaleb(9).to_integral_value(rounding=ROUND_CEILING))
    return f"{sign}{nanos}n"


def format_list(rl: Mapping[str, Decimal], *, always: Iterable[str] = ()) -> dict[str, str]:
    """Printed resource list, sorted by name; names in ``always`` appear even when zero."""
    names = sorted({*rl, *always})
    return {name: format_quantity(name, rl.get(name, Decimal(0))) for name in names}


def _container_requests(container: Mapping[str, Any]) -> ResourceList:
    resources = container.get("resources") or {}
    requests = parse_list(resources.get("requests"))
    # API server defaulting: a resource with a limit and no request requests its limit.
    for name, limit in parse_list(resources.get("limits")).items():
        requests.setdefault(name, limit)
    return requests


def pod_requests(pod_spec: Mapping[str, Any] | None) -> ResourceList:
    """The effective resource request of one pod with this spec (kube-scheduler's rule)."""
    spec = pod_spec or {}
    total = add(*(_container_requests(c) for c in spec.get("containers") or ()))
    for init in spec.get("initContainers") or ():
        if init.get("restartPolicy") == "Always":  # sidecar: runs alongside the app containers
            total = add(total, _container_requests(init))
            continue
        for name, q in _container_requests(init).items():
            if q > total.get(name, Decimal(0)):
                total[name] = q
    return add(total, parse_list(spec.get("overhead")))


def fits(count_of: Mapping[str, Decimal], per_item: Mapping[str, Decimal]) -> int:
    """How many items of size ``per_item`` fit in ``count_of`` (resources absent from it: none)."""
    best: float = math.inf
    for name, need in per_item.items():
        if need <= 0:
            continue
        have = count_of.get(name, Decimal(0))
        if have <= 0:
            return 0
        best = min(best, int(have // need))
    return int(best) if best != math.inf else 2**31 - 1
