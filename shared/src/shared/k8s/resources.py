"""Naming a resource type: ``(group, version, plural, namespaced)``, its REST paths, and the
types this project reads and writes by name.

Operations in :mod:`shared.k8s.objects` work on any resource, built-in or custom, given a
:class:`Resource`; types not listed here are found through API discovery
(:meth:`shared.k8s.objects.Objects.resource_for`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

RawObject = dict[str, Any]
"""A Kubernetes object as the API serves it (JSON-decoded); validated models live elsewhere."""


@dataclass(frozen=True, slots=True)
class Resource:
    group: str
    """API group; ``""`` for the core group (``/api/v1``)."""
    version: str
    plural: str
    namespaced: bool
    kind: str = ""
    """The kind of its objects (for messages, and to fill list items, which may omit it)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        """``deployments.apps``, ``secrets`` (kubectl's ``<plural>.<group>``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path of the collection (in ``namespace``, or across all), or of one object."""
        if self.namespaced and namespace is None and name is not None:
            raise ValueError(f"{self.display} is namespaced: name a namespace for {name!r}")
        out = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            out += f"/namespaces/{_segment(namespace)}"
        out += f"/{self.plural}"
        if name is not None:
            out += f"/{_segment(name)}"
        return out


_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]*")
"""What ``quote`` leaves as it is (all a Kubernetes name is made of)."""


def _segment(text: str) -> str:
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


def discovery_path(api_version: str) -> str:
    """Where the API server lists the resources of ``api_version`` (an ``APIResourceList``)."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def from_api_resource_list(document: RawObject) -> dict[str, Resource]:
    """The resources of one group version by kind, from its ``APIResourceList`` (no subresources)."""
    group, _, version = str(document.get("groupVersion", "")).rpartition("/")
    found: dict[str, Resource] = {}
    for entry in document.get("resources") or ():
        name = str(entry.get("name", ""))
        kind = str(entry.get("kind", ""))
        if not name or "/" in name or not kind:
            continue
        found.setdefault(kind, Resource(group, version, name, bool(entry.get("namespaced")), kind))
    return found


# --- the types this project names ----------------------------------------------------------

NAMESPACES: Final = Resource("", "v1", "namespaces", False, "Namespace")
SECRETS: Final = Resource("", "v1", "secrets", True, "Secret")
CONFIGMAPS: Final = Resource("", "v1", "configmaps", True, "ConfigMap")
NODES: Final = Resource("", "v1", "nodes", False, "Node")
PODS: Final = Resource("", "v1", "pods", True, "Pod")
DEPLOYMENTS: Final = Resource("apps", "v1", "deployments", True, "Deployment")

KARMADA_CLUSTERS: Final = Resource("cluster.karmada.io", "v1alpha1", "clusters", False, "Cluster")
PROPAGATION_POLICIES: Final = Resource(
    "policy.karmada.io", "v1alpha1", "propagationpolicies", True, "PropagationPolicy"
)
CLUSTER_PROPAGATION_POLICIES: Final = Resource(
    "policy.karmada.io", "v1alpha1", "clusterpropagationpolicies", False, "ClusterPropagationPolicy"
)
OVERRIDE_POLICIES: Final = Resource("policy.karmada.io", "v1alpha1", "overridepolicies", True, "OverridePolicy")
CLUSTER_OVERRIDE_POLICIES: Final = Resource(
    "policy.karmada.io", "v1alpha1", "clusteroverridepolicies", False, "ClusterOverridePolicy"
)
RESOURCE_BINDINGS: Final = Resource("work.karmada.io", "v1alpha2", "resourcebindings", True, "ResourceBinding")
CLUSTER_RESOURCE_BINDINGS: Final = Resource(
    "work.karmada.io", "v1alpha2", "clusterresourcebindings", False, "ClusterResourceBinding"
)

WELL_KNOWN: Final[dict[tuple[str, str], Resource]] = {
    (r.api_version, r.kind): r
    for r in (
        NAMESPACES,
        SECRETS,
        CONFIGMAPS,
        NODES,
        PODS,
        DEPLOYMENTS,
        KARMADA_CLUSTERS,
        PROPAGATION_POLICIES,
        CLUSTER_PROPAGATION_POLICIES,
        OVERRIDE_POLICIES,
        CLUSTER_OVERRIDE_POLICIES,
        RESOURCE_BINDINGS,
        CLUSTER_RESOURCE_BINDINGS,
    )
}
"""``(apiVersion, kind)`` -> resource, for the types known without asking the API server."""
