"""Kurator fleet kinds: ``Fleet`` (a named set of member clusters) and ``AttachedCluster``.

Shapes follow upstream Kurator (kurator-upstream.md 1.1, 1.3). Upstream has no Fleet webhook;
we add the checks a user would otherwise discover only from controller logs (unknown cluster
kind, duplicate members).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough, WireModel
from shared.contracts.models import common, workloads


class FleetClusterRef(WireModel):
    """A member: a ``Cluster`` or ``AttachedCluster`` in the Fleet's own namespace."""

    name: common.RequiredStr
    kind: Literal["Cluster", "AttachedCluster"] = "Cluster"
    # Upstream ignores the namespace (a Fleet only holds clusters of its own namespace).
    namespace: str | None = None
    api_version: str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _default_kind(cls, value: object) -> object:
        # Upstream treats an empty kind as Cluster.
        return "Cluster" if value in ("", None) else value

    @model_validator(mode="after")
    def _check(self) -> FleetClusterRef:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "name", self.name, what="cluster name")
        problems.raise_if_any()
        return self


class FleetPlugin(PassThrough):
    """``spec.plugin`` (metric, grafana, policy, backup, ...): handed on untouched."""


class FleetSpec(WireModel):
    clusters: list[FleetClusterRef]
    plugin: FleetPlugin | None = None

    @model_validator(mode="after")
    def _check(self) -> FleetSpec:
        problems = validation.Problems()
        common.check_unique(
            problems,
            ((f"clusters[{i}].name", (c.kind, c.name)) for i, c in enumerate(self.clusters)),
            what="cluster (kind, name)",
        )
        problems.raise_if_any()
        return self


class Fleet(KubeObject):
    # The name becomes the label value fleet.kurator.dev/fleet-name on every member.
    NAME_MAX_LENGTH = 63

    spec: FleetSpec


class SecretKeyRef(WireModel):
    name: common.RequiredStr
    key: common.RequiredStr = "value"


class AttachedClusterSpec(WireModel):
    kubeconfig: SecretKeyRef

    @model_validator(mode="after")
    def _check(self) -> AttachedClusterSpec:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "kubeconfig.name", self.kubeconfig.name, what="Secret name")
        err = workloads.config_key_error(self.kubeconfig.key)
        if err:
            problems.add("kubeconfig.key", f"invalid Secret key {self.kubeconfig.key!r}: {err}")
        problems.raise_if_any()
        return self


class AttachedCluster(KubeObject):
    """An existing cluster joined by kubeconfig, read from a Secret in the same namespace."""

    spec: AttachedClusterSpec
