"""``selectGroups``: the best combination of topology groups (regions) for spread constraints.

Karmada finds it with a depth-first search over every feasible combination: enough groups
(``min <= len <= max``) whose values add up to the target. Groups are visited in
``(value asc, weight desc, name asc)`` order; recorded paths are numbered in discovery order
and their groups re-sorted by ``(weight desc, name asc)``. The best path has the highest total
weight, then the highest total value, then the lowest number, and a path that is a strict prefix
of it wins over it (fewer groups for the same leaders). When there are exactly ``min`` groups
the search stops after its first branch at every level, a quirk of Karmada's loop that is kept.

Enumerating every combination is exponential in the number of groups, so the same answer is
found in two cheaper steps: the same search in the same order, but skipping every branch whose
best conceivable ``(weight, value)`` cannot beat the best path found so far (a later path only
wins with strictly more), then the shortest prefix of that path which the full search would
have recorded. ``tests/placement/test_groups.py`` checks this against the enumeration.

The result depends only on the groups and the three numbers, and many bindings over one fleet
ask the same question, so answers are memoised.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

_MEMO_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    value: int
    """How many clusters the group has (regions) or can hold."""
    weight: int
    """The group score."""


def _top_sums(numbers: Sequence[int], depth: int) -> list[list[int]]:
    """``out[i][r]``: the sum of the ``r`` largest of ``numbers[i:]`` (``r <= depth``)."""
    out: list[list[int]] = []
    for i in range(len(numbers) + 1):
        best = sorted(numbers[i:], reverse=True)[:depth]
        sums = [0]
        for n in best:
            sums.append(sums[-1] + n)
        sums.extend([sums[-1]] * (depth + 1 - len(sums)))
        out.append(sums)
    return out


def _best_path(ordered: Sequence[Group], min_groups: int, max_groups: int, target: int) -> list[int] | None:
    """The best recorded path (indices into ``ordered``), by branch and bound."""
    count = len(ordered)
    values = [g.value for g in ordered]
    weights = [g.weight for g in ordered]
    if count == min_groups:
        # Karmada's quirk: no backtracking when every group is needed, so one path is walked,
        # and it can only be recorded once it holds every group.
        return list(range(count)) if count <= max_groups and sum(values) >= target else None
    top_weight = _top_sums(weights, max_groups)
    top_value = _top_sums(values, max_groups)
    best: list[int] | None = None
    best_key = (-1, -1)
    path: list[int] = []

    def dfs(total: int, weight: int, begin: int) -> None:
        nonlocal best, best_key
        depth = len(path)
        if total >= target and min_groups <= depth <= max_groups:
            # Found in discovery order, so a later path must be strictly better to win.
            if (weight, total) > best_key:
                best, best_key = list(path), (weight, total)
            return
        if depth >= max_groups:
            return
        room = max_groups - depth
        for i in range(begin, count):
            # Values only grow along a path, so it is recorded after at most ``picks`` more groups.
            picks = room
            if values[i] > 0:
                picks = min(room, max(1, min_groups - depth, -(-(target - total) // values[i])))
            if (weight + top_weight[i][picks], total + top_value[i][picks]) <= best_key:
                # No later sibling can do better either: fewer picks, from a subset.
                return
            # This child's own bound: group i itself plus the best of what may follow it.
            rest = picks - 1
            if (
                weight + weights[i] + top_weight[i + 1][rest],
                total + values[i] + top_value[i + 1][rest],
            ) <= best_key:
                continue
            path.append(i)
            dfs(total + values[i], weight + weights[i], i + 1)
            path.pop()

    dfs(0, 0, 0)
    return best


def _recorded(indices: Sequence[int], values: Sequence[int], min_groups: int, max_groups: int, target: int) -> bool:
    """Whether the full search records exactly this set of groups as a path."""
    total = 0
    chosen = sorted(indices)
    for depth, i in enumerate(chosen, start=1):
        total += values[i]
        if total >= target and min_groups <= depth <= max_groups:
            return depth == len(chosen)  # the search stops here: a longer set is never reached
    return False


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _best(groups: tuple[Group, ...], min_groups: int, max_groups: int, target: int) -> tuple[str, ...]:
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    found = _best_path(ordered, min_groups, max_groups, target)
    if found is None:
        return ()
    leaders = sorted(found, key=lambda i: (-ordered[i].weight, ordered[i].name))
    if len(ordered) != min_groups:
        values = [g.value for g in ordered]
        for size in range(min_groups, len(leaders)):
            if _recorded(leaders[:size], values, min_groups, max_groups, target):
                leaders = leaders[:size]
                break
    return tuple(ordered[i].name for i in leaders)


def select_groups(groups: Sequence[Group], min_groups: int, max_groups: int, target: int) -> list[Group]:
    """The chosen groups in ``(weight desc, name asc)`` order; empty when nothing is feasible."""
    if not groups:
        return []
    by_name = {g.name: g for g in groups}
    key = tuple(sorted(groups, key=lambda g: g.name))
    return [by_name[name] for name in _best(key, min_groups, max_groups, target)]
