"""The topology file: which member clusters the simulated Karmada has, and what is in them.

A YAML (or JSON) document::

    clusters:
      - name: cluster-beijing
        provider: huaweicloud
        region: cn-north
        zones: [cn-north-1a, cn-north-1b]
        labels: {environment: production}
        kubernetesVersion: v1.29.3
        syncMode: Push
        nodes:
          count: 3
          capacity: {cpu: "16", memory: 64Gi, pods: "110", nvidia.com/gpu: "0"}
          labels: {node-type: cpu}
        nodePools:               # more node shapes, e.g. GPU nodes
          - count: 2
            capacity: {cpu: "32", memory: 128Gi, pods: "110", nvidia.com/gpu: "4"}
            labels: {node-type: gpu}
        taints: [{key: dedicated, value: ml, effect: NoSchedule}]
        edgeNodes:
          - {name: edge-node-01, ip: 192.168.1.100, labels: {edge-type: industrial}}

Cluster labels get Karmada's conventions added: ``cluster.karmada.io/provider``-style fields
live in ``spec.provider``/``spec.region``/``spec.zones`` as Karmada's Cluster does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class Taint(_Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(_Model):
    count: int = Field(ge=0)
    capacity: dict[str, str] = Field(default_factory=lambda: {"cpu": "8", "memory": "32Gi", "pods": "110"})
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    name_prefix: str | None = None


class EdgeNode(_Model):
    name: str
    ip: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    capacity: dict[str, str] = Field(default_factory=lambda: {"cpu": "4", "memory": "8Gi", "pods": "110"})


class ClusterSpec(_Model):
    name: str
    provider: str | None = None
    region: str | None = None
    zones: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    kubernetes_version: str = "v1.29.3"
    sync_mode: Literal["Push", "Pull"] = "Push"
    nodes: NodePool = Field(default_factory=lambda: NodePool(count=3))
    node_pools: list[NodePool] = Field(default_factory=list)
    taints: list[Taint] = Field(default_factory=list)
    """Karmada cluster taints (on the Cluster object, not on nodes)."""
    edge_nodes: list[EdgeNode] = Field(default_factory=list)

    def pools(self) -> list[NodePool]:
        return [self.nodes, *self.node_pools]


class Topology(_Model):
    clusters: list[ClusterSpec]

    def cluster(self, name: str) -> ClusterSpec:
        for c in self.clusters:
            if c.name == name:
                return c
        raise KeyError(name)


def load(path: Path | None = None) -> Topology:
    """Read a topology file; without one, the example fleet that ships with the simulator."""
    if path is None:
        text = resources.files("kurator_sim.fleets").joinpath("example.yaml").read_text()
    else:
        text = path.read_text()
    return Topology.model_validate(yaml.safe_load(text))
