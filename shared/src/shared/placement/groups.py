"""``selectGroups``: the best combination of topology groups (regions) for spread constraints.

A depth-first search finds every feasible combination: enough groups (``min <= len <= max``)
whose values add up to the target. Groups are visited in ``(value asc, weight desc, name asc)``
order; recorded paths are numbered in discovery order and their groups re-sorted by
``(weight desc, name asc)``. The best path has the highest total weight, then the highest total
value, then the lowest number, and a path that is a strict prefix of it wins over it (fewer
groups for the same leaders). When there are exactly ``min`` groups the search stops after its
first branch at every level, a quirk of Karmada's loop that is kept.

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


Path = tuple[int, int, int, tuple[str, ...]]
"""``(-weight, -value, id, group names by (weight desc, name asc))``: sorts best first."""


def _feasible_paths(groups: Sequence[Group], min_groups: int, max_groups: int, target: int) -> list[Path]:
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    keys = [(-g.weight, g.name) for g in ordered]
    values = [g.value for g in ordered]
    weights = [g.weight for g in ordered]
    count = len(ordered)
    every = count == min_groups
    paths: list[Path] = []
    path: list[int] = []

    def dfs(total: int, weight: int, begin: int) -> None:
        depth = len(path)
        if total >= target and min_groups <= depth <= max_groups:
            chosen = sorted([keys[i] for i in path])
            paths.append((-weight, -total, len(paths) + 1, tuple(name for _, name in chosen)))
            return
        if depth >= max_groups:
            return
        for i in range(begin, count):
            path.append(i)
            dfs(total + values[i], weight + weights[i], i + 1)
            if every:
                break  # Karmada's quirk: no backtracking (and no pop) when every group is needed
            path.pop()

    dfs(0, 0, 0)
    return paths


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _best(groups: tuple[Group, ...], min_groups: int, max_groups: int, target: int) -> tuple[str, ...]:
    paths = _feasible_paths(groups, min_groups, max_groups, target)
    if not paths:
        return ()
    paths.sort()
    final = paths[0][3]
    for _, _, _, names in paths[1:]:
        if len(names) < len(final) and final[: len(names)] == names:
            final = names
    return final


def select_groups(groups: Sequence[Group], min_groups: int, max_groups: int, target: int) -> list[Group]:
    """The chosen groups in ``(weight desc, name asc)`` order; empty when nothing is feasible."""
    if not groups:
        return []
    by_name = {g.name: g for g in groups}
    key = tuple(sorted(groups, key=lambda g: g.name))
    return [by_name[name] for name in _best(key, min_groups, max_groups, target)]
