"""The division primitive: Webster / Sainte-Laguë seats with Karmada's tie-breaks (v1.16+).

Seat after seat goes to the party with the highest ``votes / (2 * seats + 1)`` (compared as
IEEE doubles, as Go does); exact ties go to the party with fewer seats, then by name:
ascending, or descending when the workload UID's FNV-1a-32 hash is odd
(``tieBreakerByUID``), so remainders land on different clusters for different workloads but
stay put for one workload. Because each party's priorities fall as it gains seats, the
sequence of winners is the merge of per-party sequences under one static order, which a heap
walks in ``O(seats * log parties)``. Most seats are settled before the walk: every seat whose
priority clears a threshold goes first, and when no more than ``new_seats`` seats can clear it,
those are exactly the first ones the walk would hand out (:func:`_settled`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def names_descend(uid: str | None) -> bool:
    """Whether ties between equal parties go to the later name (odd UID hash)."""
    return bool(uid) and fnv1a32(str(uid).encode()) % 2 == 1


def webster(
    new_seats: int,
    votes: Iterable[tuple[str, int]],
    initial: Mapping[str, int] | None = None,
    *,
    uid: str | None = None,
) -> list[tuple[str, int]]:
    """``AllocateWebsterSeats``: every party (sorted by name) with its seats after ``new_seats`` more.

    ``uid`` selects the scheduler's tie-break (``tieBreakerByUID``); ``None`` or "" is the
    built-in one (fewer seats, then name ascending).
    """
    parties: dict[str, list[int]] = {name: [0, seats] for name, seats in (initial or {}).items()}
    for name, v in votes:
        parties.setdefault(name, [0, 0])[0] = v
    if not parties:
        return []
    names = sorted(parties)
    sign = -1 if names_descend(uid) else 1
    new_seats = max(0, new_seats) - _settled(parties, max(0, new_seats))
    heap = [(-(v / (2 * s + 1)), s, sign * i, name) for i, name in enumerate(names) for v, s in (parties[name],)]
    heapq.heapify(heap)
    for _ in range(new_seats):
        _, seats, order, name = heap[0]
        seats += 1
        party = parties[name]
        party[1] = seats
        heapq.heapreplace(heap, (-(party[0] / (2 * seats + 1)), seats, order, name))
    return [(name, parties[name][1]) for name in names]


def _settled(parties: dict[str, list[int]], new_seats: int) -> int:
    """Give every party the seats whose priority is above a threshold; how many were given.

    The threshold sits a little above where the walk would end (``votes / seats / 2``), and
    seats are counted generously against it: if even that count fits in ``new_seats``, every
    seat above it is among the first ``new_seats`` of the walk, whatever the tie-breaks. The
    seats given are then counted exactly (same float division as the walk) and always fewer.
    """
    total_votes = sum(v for v, _ in parties.values())
    if new_seats < 8 or total_votes <= 0:
        return 0
    threshold = total_votes / (2 * (new_seats + sum(s for _, s in parties.values()))) * 1.1
    generous = 0
    given: list[tuple[list[int], int]] = []
    for party in parties.values():
        votes, seats = party
        # A seat k (0-based) has priority votes / (2k + 1), above the threshold while k < (votes/threshold - 1) / 2.
        upper = int((votes / threshold - 1) / 2) + 2
        generous += max(0, upper - seats)
        exact = max(seats, upper)
        while exact > seats and not votes / (2 * (exact - 1) + 1) > threshold:
            exact -= 1
        given.append((party, exact))
    if generous > new_seats:
        return 0
    handed = 0
    for party, exact in given:
        handed += exact - party[1]
        party[1] = exact
    return handed


def allocate_by_weight(replicas: int, weights: Sequence[tuple[str, int]], uid: str = "") -> list[tuple[str, int]]:
    """``Dispenser(replicas, [], uid).AllocateByWeight(weights)`` (nothing when every weight is 0)."""
    if sum(w for _, w in weights) == 0:
        return []
    return webster(replicas, weights, uid=uid)
