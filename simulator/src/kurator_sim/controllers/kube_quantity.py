"""Resource lists as Kubernetes computes them: parsing, pod requests, sums and canonical printing.

Quantities are exact :class:`~decimal.Decimal` values; parsing, ``Value()``/``MilliValue()`` and
the effective pod request come from :mod:`shared.placement.resources` (the placement engine's
estimator uses the same rules).
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

from shared.placement import resources

ResourceList = resources.ResourceList

# Parsing, Value()/MilliValue() and the effective pod request are the placement engine's.
parse_list = resources.parse_list
add = resources.add
value = resources.value
milli_value = resources.milli_value
pod_requests = resources.pod_requests

_BINARY_PREFIXES = ("memory", "ephemeral-storage", "storage", "hugepages-")
_BINARY_SUFFIXES = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_DECIMAL_SUFFIXES = ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k"), (0, ""), (-3, "m"), (-6, "u"))


def times(rl: Mapping[str, Decimal], count: int) -> ResourceList:
    return {name: value * count for name, value in rl.items()}


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
