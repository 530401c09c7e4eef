"""Karmada's Webster division, on the worked examples of karmada-placement-spec.md 9.2-9.6."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kurator_apps.federated import division

ODD_UID = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"


def test_fnv1a32() -> None:
    assert division.fnv1a32(b"") == 2166136261
    assert division.fnv1a32(b"a") == 0xE40C292C
    assert division.fnv1a32(ODD_UID.encode()) % 2 == 1


@pytest.mark.parametrize(
    ("seats", "weights", "expected"),
    [
        (14, [("m1", 3), ("m2", 2), ("m3", 1)], {"m1": 7, "m2": 5, "m3": 2}),
        (13, [("m1", 3), ("m2", 2), ("m3", 1)], {"m1": 7, "m2": 4, "m3": 2}),
        (7, [("a", 2), ("b", 1), ("c", 1), ("d", 1)], {"a": 3, "b": 2, "c": 1, "d": 1}),
        (8, [("a", 2), ("b", 1), ("c", 1), ("d", 1)], {"a": 3, "b": 2, "c": 2, "d": 1}),
        (12, [("a", 20), ("b", 12), ("c", 6)], {"a": 6, "b": 4, "c": 2}),
        (3, [("member1", 1), ("member2", 1)], {"member1": 2, "member2": 1}),
        (7, [("a", 3), ("b", 1)], {"a": 5, "b": 2}),
        (0, [("a", 1)], {}),
        (3, [("a", 0)], {}),
    ],
)
def test_worked_examples(seats: int, weights: list[tuple[str, int]], expected: dict[str, int]) -> None:
    assert division.webster(seats, weights) == expected


def test_an_odd_uid_breaks_ties_by_name_descending() -> None:
    assert division.webster(3, [("member1", 1), ("member2", 1)], uid=ODD_UID) == {"member1": 1, "member2": 2}


@given(
    counts=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(1, 30), min_size=1, max_size=8),
    uid=st.sampled_from(["", ODD_UID, "even-or-odd"]),
)
def test_weights_equal_to_the_counts_divide_exactly(counts: dict[str, int], uid: str) -> None:
    # Why explicit per-cluster replicas are written as static weights with replicas = their sum.
    assert division.webster(sum(counts.values()), list(counts.items()), uid=uid) == counts
