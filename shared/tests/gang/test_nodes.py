"""Nodes as the scheduler sees them: readiness, cordons and taint toleration."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shared.gang import nodes

Obj = dict[str, Any]


def test_from_dict(make_node: Callable[..., Obj]) -> None:
    taint = {"key": "dedicated", "value": "ml", "effect": "NoSchedule"}
    node = nodes.Node.from_dict(make_node("n1", gpus="4", labels={"node-type": "gpu"}, taints=[taint]))
    assert node.name == "n1"
    assert node.allocatable == {
        "cpu": Decimal(16),
        "memory": Decimal(64 * 2**30),
        "pods": Decimal(110),
        "nvidia.com/gpu": Decimal(4),
    }
    assert node.labels == {"node-type": "gpu"}
    assert node.taints == (taint,)
    assert node.usable


def test_allocatable_falls_back_to_capacity(make_node: Callable[..., Obj]) -> None:
    doc = make_node("n1", cpu="8")
    del doc["status"]["allocatable"]
    assert nodes.Node.from_dict(doc).allocatable["cpu"] == Decimal(8)


@pytest.mark.parametrize(("ready", "usable"), [("True", True), ("False", False), ("Unknown", False), (None, True)])
def test_readiness(make_node: Callable[..., Obj], ready: str | None, usable: bool) -> None:
    # No Ready condition at all counts as ready: kube-scheduler never reads conditions.
    assert nodes.Node.from_dict(make_node("n", ready=ready)).usable is usable


def test_cordoned_node_is_not_usable(make_node: Callable[..., Obj]) -> None:
    node = nodes.Node.from_dict(make_node("n", unschedulable=True))
    assert node.ready
    assert not node.usable


TAINT = {"key": "gpu", "value": "true", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, True),
        ({"key": "gpu", "value": "true"}, True),  # operator defaults to Equal, any effect
        ({"key": "gpu", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # tolerates everything
        ({"key": "gpu", "value": "false"}, False),
        ({"key": "gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
        ({"key": "gpu", "operator": "Gt", "value": "1"}, False),
    ],
)
def test_tolerates(toleration: Obj, expected: bool) -> None:
    assert nodes.tolerates(toleration, TAINT) is expected


def test_untolerated_taint_ignores_prefer_no_schedule() -> None:
    soft = {"key": "spot", "effect": "PreferNoSchedule"}
    assert nodes.untolerated_taint([soft], []) is None
    assert nodes.untolerated_taint([soft, TAINT], []) == TAINT
    assert nodes.untolerated_taint([TAINT], [{"key": "gpu", "operator": "Exists"}]) is None


def test_taint_string() -> None:
    assert nodes.taint_string(TAINT) == "gpu=true:NoSchedule"
    assert nodes.taint_string({"key": "maintenance", "effect": "NoExecute"}) == "maintenance:NoExecute"
