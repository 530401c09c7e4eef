"""``select_groups`` against a literal port of Karmada's enumeration (``selectGroups``)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.placement.groups import Group, _best, select_groups

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def enumerated(groups: Sequence[Group], min_groups: int, max_groups: int, target: int) -> tuple[str, ...]:
    """Every feasible path, numbered in discovery order, sorted, then the prefix rule."""
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    every = len(ordered) == min_groups
    paths: list[tuple[int, int, int, tuple[str, ...]]] = []
    path: list[int] = []

    def dfs(total: int, weight: int, begin: int) -> None:
        depth = len(path)
        if total >= target and min_groups <= depth <= max_groups:
            chosen = sorted((-ordered[i].weight, ordered[i].name) for i in path)
            paths.append((-weight, -total, len(paths) + 1, tuple(name for _, name in chosen)))
            return
        if depth >= max_groups:
            return
        for i in range(begin, len(ordered)):
            path.append(i)
            dfs(total + ordered[i].value, weight + ordered[i].weight, i + 1)
            if every:
                break  # Karmada's quirk: no backtracking (and no pop) when every group is needed
            path.pop()

    dfs(0, 0, 0)
    if not paths:
        return ()
    paths.sort()
    final = paths[0][3]
    for _, _, _, names in paths[1:]:
        if len(names) < len(final) and final[: len(names)] == names:
            final = names
    return final


@st.composite
def questions(draw: st.DrawFn) -> tuple[tuple[Group, ...], int, int, int]:
    count = draw(st.integers(1, 9))
    # Few distinct numbers, so ties in weight, value and totals are common.
    groups = tuple(
        Group(f"g{i}", draw(st.integers(0, 6)), draw(st.sampled_from([0, 1, 2, 5, 5, 7, 100]))) for i in range(count)
    )
    min_groups = draw(st.integers(0, count + 1))
    max_groups = draw(st.integers(min_groups, count + 2))
    target = draw(st.integers(0, 25))
    return groups, min_groups, max_groups, target


@SETTINGS
@given(questions())
def test_the_search_agrees_with_the_enumeration(question: tuple[tuple[Group, ...], int, int, int]) -> None:
    groups, min_groups, max_groups, target = question
    assert _best(groups, min_groups, max_groups, target) == enumerated(groups, min_groups, max_groups, target)


def test_a_prefix_of_the_best_path_wins_with_fewer_groups() -> None:
    # {a, c} is the heaviest path; {a} alone already reaches the target and is recorded first.
    groups = [Group("a", 5, 10), Group("b", 1, 1), Group("c", 2, 3)]
    assert enumerated(groups, 1, 3, 4) == ("a",)
    assert [g.name for g in select_groups(groups, 1, 3, 4)] == ["a"]


def test_every_group_needed_walks_one_path() -> None:
    groups = [Group("a", 1, 1), Group("b", 1, 9)]
    assert [g.name for g in select_groups(groups, 2, 2, 2)] == ["b", "a"]
    assert select_groups(groups, 2, 2, 3) == []
