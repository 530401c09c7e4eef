"""Karmada's replica division (v1.16+): the Webster / Sainte-Laguë divisor method.

``karmada-placement-spec.md`` 9.2: seats go one at a time to the cluster with the highest
priority ``weight / (2 * seats + 1)``; ties go to the cluster with fewer seats, then by name -
ascending when the workload's uid is empty or its FNV-1a-32 hash is even, descending when odd.
Priorities are compared as exact fractions (the same order as Go's float64 for weights below
2**53).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Final

_FNV_OFFSET: Final = 2166136261
_FNV_PRIME: Final = 16777619


def fnv1a32(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def webster(seats: int, weights: Sequence[tuple[str, int]], *, uid: str = "") -> dict[str, int]:
    """``seats`` divided among ``weights`` (``(cluster, weight)``); clusters that get none are left out."""
    if seats <= 0 or not weights or sum(w for _, w in weights) <= 0:
        return {}
    descending = bool(uid) and fnv1a32(uid.encode()) % 2 == 1
    held = {name: 0 for name, _ in weights}
    votes = dict(weights)
    for _ in range(seats):

        def rank(name: str) -> tuple[Fraction, int]:
            return Fraction(votes[name], 2 * held[name] + 1), -held[name]

        best = max(rank(name) for name in held)
        tied = sorted((name for name in held if rank(name) == best), reverse=descending)
        held[tied[0]] += 1
    return {name: n for name, n in sorted(held.items()) if n > 0}
