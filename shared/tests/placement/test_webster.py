"""``webster`` against the plain seat-by-seat walk (what Karmada's ``AllocateWebsterSeats`` does)."""

from __future__ import annotations

import heapq

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.placement.webster import names_descend, webster

SETTINGS = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def walked(new_seats: int, votes: dict[str, int], initial: dict[str, int], uid: str) -> list[tuple[str, int]]:
    parties = {name: [0, seats] for name, seats in initial.items()}
    for name, v in votes.items():
        parties.setdefault(name, [0, 0])[0] = v
    names = sorted(parties)
    sign = -1 if names_descend(uid) else 1
    heap = [(-(parties[n][0] / (2 * parties[n][1] + 1)), parties[n][1], sign * i, n) for i, n in enumerate(names)]
    heapq.heapify(heap)
    for _ in range(new_seats):
        _, seats, order, name = heap[0]
        parties[name][1] = seats + 1
        heapq.heapreplace(heap, (-(parties[name][0] / (2 * seats + 3)), seats + 1, order, name))
    return [(n, parties[n][1]) for n in names]


party_names = st.sampled_from([f"p{i}" for i in range(12)])


@SETTINGS
@given(
    st.integers(0, 600),
    st.dictionaries(party_names, st.one_of(st.integers(0, 12), st.integers(0, 10**6)), min_size=1),
    st.dictionaries(party_names, st.integers(0, 40)),
    st.sampled_from(["", "a", "b", "uid-7", "uid-8"]),
)
def test_settling_seats_first_changes_nothing(
    new_seats: int, votes: dict[str, int], initial: dict[str, int], uid: str
) -> None:
    assert webster(new_seats, votes.items(), initial, uid=uid) == walked(new_seats, votes, initial, uid)


def test_equal_parties_split_a_large_house_evenly_with_the_remainder_by_name() -> None:
    assert webster(1001, [("a", 5), ("b", 5), ("c", 5)]) == [("a", 334), ("b", 334), ("c", 333)]
    assert webster(1001, [("a", 5), ("b", 5), ("c", 5)], uid="b") == [("a", 333), ("b", 334), ("c", 334)]
