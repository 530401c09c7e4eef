"""Edge kinds the edge service owns: the seed's ``EdgeNode`` and KubeEdge's ``NodeGroup``.

KubeEdge has no edge-node CRD (edge nodes are ordinary ``v1/Node`` objects, integrations.md
4.1); ``EdgeNode`` (``edge.kubeedge.io/v1``, cluster-scoped) is the seed's declarative intent
for one, which the edge service realises as a labelled Node in the member cluster that hosts
it. ``NodeGroup`` is KubeEdge's own ``apps.kubeedge.io/v1alpha1`` kind (4.3).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough, WireModel
from shared.contracts.models import common

_CLUSTER_NAME_MAX = 48  # Karmada member cluster names


class NodeInfo(WireModel):
    node_id: common.RequiredStr = Field(alias="nodeID")
    """The edge node's name in its cluster (the ``v1/Node`` name)."""
    node_ip: str | None = Field(default=None, alias="nodeIP")
    hostname: str | None = None

    @model_validator(mode="after")
    def _check(self) -> NodeInfo:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "nodeID", self.node_id, what="node ID")
        if self.node_ip is not None:
            try:
                ipaddress.ip_address(self.node_ip)
            except ValueError:
                problems.add("nodeIP", f"invalid IP address {self.node_ip!r}: must be an IPv4 or IPv6 address")
        problems.raise_if_any()
        return self


class EdgeTaint(WireModel):
    key: common.RequiredStr
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

    @model_validator(mode="after")
    def _check(self) -> EdgeTaint:
        problems = validation.Problems()
        common.check_taint(problems, self.key, self.value)
        problems.raise_if_any()
        return self


class EdgeNodeSpec(WireModel):
    node_info: NodeInfo
    labels: dict[str, str] | None = None
    """Labels for the Node, besides ``node-role.kubernetes.io/edge`` which is always set."""
    taints: list[EdgeTaint] | None = None
    node_group: str | None = None
    """The ``NodeGroup`` to join (a node belongs to at most one)."""
    cluster: str | None = None
    """The member cluster whose CloudCore the node joins; the edge service picks one if unset."""
    unschedulable: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> EdgeNodeSpec:
        problems = validation.Problems()
        validation.check_labels(problems, "labels", self.labels)
        common.check_dns_subdomain(problems, "nodeGroup", self.node_group, what="node group name")
        common.check_dns_label(problems, "cluster", self.cluster, what="cluster name", max_length=_CLUSTER_NAME_MAX)
        common.check_unique(
            problems,
            ((f"taints[{i}]", (t.key, t.effect)) for i, t in enumerate(self.taints or ())),
            what="taint (key, effect)",
        )
        problems.raise_if_any()
        return self


class EdgeNode(KubeObject):
    """An edge node to register (cluster-scoped)."""

    spec: EdgeNodeSpec


class NodeGroupSpec(PassThrough):
    nodes: list[str] | None = None
    match_labels: dict[str, str] | None = None
    topology_enabled: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> NodeGroupSpec:
        problems = validation.Problems()
        for i, node in enumerate(self.nodes or ()):
            common.check_dns_subdomain(problems, f"nodes[{i}]", node, what="node name")
        common.check_unique(problems, ((f"nodes[{i}]", n) for i, n in enumerate(self.nodes or ())), what="node")
        validation.check_labels(problems, "matchLabels", self.match_labels)
        problems.raise_if_any()
        return self


class NodeGroup(KubeObject):
    """``apps.kubeedge.io/v1alpha1 NodeGroup`` (cluster-scoped); membership = nodes plus matchLabels."""

    # The name becomes the label value apps.kubeedge.io/belonging-to on member nodes.
    NAME_MAX_LENGTH = 63

    spec: NodeGroupSpec
