"""EdgeNode and NodeGroup models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import kubeedge

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

EDGE_FILE = "03-edgenode.yaml"

NODE_GROUP: dict[str, Any] = {
    "apiVersion": "apps.kubeedge.io/v1alpha1",
    "kind": "NodeGroup",
    "metadata": {"name": "east-china-industrial"},
    "spec": {"nodes": ["edge-node-01"], "matchLabels": {"region": "east-china", "edge-type": "industrial"}},
}


def test_seed_edge_node(example: Callable[..., dict[str, Any]]) -> None:
    node = kubeedge.EdgeNode.model_validate(example(EDGE_FILE))
    assert node.spec.node_info.node_id == "edge-node-01"
    assert node.spec.node_info.node_ip == "192.168.1.100"
    assert node.to_wire()["spec"]["nodeInfo"] == {"nodeID": "edge-node-01", "nodeIP": "192.168.1.100"}


def test_edge_node_optional_fields(example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]]) -> None:
    doc = edit(
        example(EDGE_FILE),
        ("spec.nodeInfo.nodeIP", "fd00::1"),
        ("spec.nodeGroup", "east-china-industrial"),
        ("spec.cluster", "cluster-shanghai"),
        ("spec.taints", [{"key": "edge.kurator.dev/industrial", "effect": "NoSchedule"}]),
    )
    node = kubeedge.EdgeNode.model_validate(doc)
    assert node.spec.cluster == "cluster-shanghai"
    kubeedge.EdgeNode.model_validate(edit(doc, ("spec.nodeInfo.nodeIP", ...), ("spec.labels", ...)))


_N = "spec.nodeInfo"

EDGE_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no spec", [("spec", ...)], [("spec", "FieldValueRequired")]),
    ("no node info", [(_N, ...)], [(_N, "FieldValueRequired")]),
    ("no node id", [(f"{_N}.nodeID", ...)], [(f"{_N}.nodeID", "FieldValueRequired")]),
    ("empty node id", [(f"{_N}.nodeID", "")], [(f"{_N}.nodeID", "FieldValueRequired")]),
    ("node id not a DNS name", [(f"{_N}.nodeID", "Edge_Node_01")], [(f"{_N}.nodeID", "FieldValueInvalid")]),
    ("bad IP", [(f"{_N}.nodeIP", "192.168.1.300")], [(f"{_N}.nodeIP", "FieldValueInvalid")]),
    ("host name as IP", [(f"{_N}.nodeIP", "edge-node-01.local")], [(f"{_N}.nodeIP", "FieldValueInvalid")]),
    ("label value", [("spec.labels.region", "east china")], [("spec.labels[region]", "FieldValueInvalid")]),
    ("label key", [("spec.labels", {"edge type": "x"})], [("spec.labels[edge type]", "FieldValueInvalid")]),
    (
        "taint effect",
        [("spec.taints", [{"key": "a", "effect": "Evict"}])],
        [("spec.taints[0].effect", "FieldValueNotSupported")],
    ),
    (
        "taint without key",
        [("spec.taints", [{"effect": "NoSchedule"}])],
        [("spec.taints[0].key", "FieldValueRequired")],
    ),
    (
        "duplicate taint",
        [("spec.taints", [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}])],
        [("spec.taints[1]", "FieldValueDuplicate")],
    ),
    ("node group name", [("spec.nodeGroup", "East China")], [("spec.nodeGroup", "FieldValueInvalid")]),
    ("cluster name too long", [("spec.cluster", "c" * 49)], [("spec.cluster", "FieldValueInvalid")]),
    ("name", [("metadata.name", "Edge-Node-01")], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in EDGE_BROKEN], ids=[c[0] for c in EDGE_BROKEN])
def test_edge_node_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(kubeedge.EdgeNode, example(EDGE_FILE), *edits) == expected


def test_node_group_valid(edit: Callable[..., dict[str, Any]]) -> None:
    group = kubeedge.NodeGroup.model_validate(NODE_GROUP)
    assert group.spec.nodes == ["edge-node-01"]
    kubeedge.NodeGroup.model_validate(edit(NODE_GROUP, ("spec.nodes", ...), ("spec.topologyEnabled", True)))


NODE_GROUP_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no spec", [("spec", ...)], [("spec", "FieldValueRequired")]),
    ("node name", [("spec.nodes", ["Edge Node"])], [("spec.nodes[0]", "FieldValueInvalid")]),
    ("duplicate node", [("spec.nodes", ["a", "a"])], [("spec.nodes[1]", "FieldValueDuplicate")]),
    ("match label", [("spec.matchLabels", {"region": "-east"})], [("spec.matchLabels[region]", "FieldValueInvalid")]),
    ("name too long for a label value", [("metadata.name", "g" * 64)], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in NODE_GROUP_BROKEN], ids=[c[0] for c in NODE_GROUP_BROKEN]
)
def test_node_group_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(kubeedge.NodeGroup, NODE_GROUP, *edits) == expected
