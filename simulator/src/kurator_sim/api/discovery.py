"""API discovery documents, legacy and aggregated, built once per registry.

Legacy discovery is what every client understands: ``/api`` (APIVersions), ``/apis``
(APIGroupList), ``/apis/<g>`` (APIGroup) and ``/api/v1`` / ``/apis/<g>/<v>``
(APIResourceList). Aggregated discovery (``apidiscovery.k8s.io`` v2beta1 for client-go
1.26-1.29, v2 from 1.30) answers ``/api`` and ``/apis`` with every group, version and resource
in one document; kubectl >= 1.30 prefers it. Registries never change after start-up, so
every document is serialised once and served as bytes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from kurator_sim.resources import Registry, ResourceType

SUBRESOURCE_VERBS = ("get", "patch", "update")
CONNECT_VERBS = ("create", "delete", "get", "patch", "update")
CONNECT_KINDS = {("cluster.karmada.io", "proxy"): "ClusterProxyOptions"}
"""The options kind a connect subresource answers with (Karmada's cluster proxy)."""


def storage_version_hash(rt: ResourceType) -> str:
    """As the apiserver computes it: the first 8 bytes of sha256("group/version/kind"), base64."""
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _subresources(rt: ResourceType) -> list[tuple[str, dict[str, str], tuple[str, ...]]]:
    """``(name, responseKind, verbs)`` of each subresource."""
    out: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
    own = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    if rt.status_subresource:
        out.append(("status", own, SUBRESOURCE_VERBS))
    if rt.scale_subresource:
        out.append(("scale", {"group": "autoscaling", "version": "v1", "kind": "Scale"}, SUBRESOURCE_VERBS))
    for sub in rt.extra_subresources:
        kind = CONNECT_KINDS.get((rt.group, sub), f"{rt.kind}ProxyOptions")
        out.append((sub, {"group": "", "version": "", "kind": kind}, CONNECT_VERBS))
    return out


def _legacy_resources(types: list[ResourceType]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = storage_version_hash(rt)
        out.append(entry)
        for sub, kind, verbs in _subresources(rt):
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind["kind"],
                "verbs": list(verbs),
            }
            foreign = kind["group"] != rt.group or kind["version"] != rt.version
            if foreign and (kind["group"] or kind["version"]):
                # Only a subresource answering with another group's kind names it (Scale).
                sub_entry["group"], sub_entry["version"] = kind["group"], kind["version"]
            out.append(sub_entry)
    return out


def _aggregated_resources(types: list[ResourceType]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {
            "resource": rt.plural,
            "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "scope": "Namespaced" if rt.namespaced else "Cluster",
            "singularResource": rt.singular,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        subs = [
            {"subresource": sub, "responseKind": kind, "verbs": list(verbs)} for sub, kind, verbs in _subresources(rt)
        ]
        if subs:
            entry["subresources"] = subs
        out.append(entry)
    return out


@dataclass
class Discovery:
    """Every discovery document of one registry, serialised."""

    registry: Registry
    api_versions: bytes = b""
    group_list: bytes = b""
    groups: dict[str, bytes] = field(default_factory=dict)
    resource_lists: dict[tuple[str, str], bytes] = field(default_factory=dict)
    aggregated: dict[tuple[str, str], bytes] = field(default_factory=dict)
    """``(("api"|"apis"), "v2"|"v2beta1") -> APIGroupDiscoveryList``."""

    def __post_init__(self) -> None:
        groups = self.registry.groups()
        core_versions = next((v for g, v in groups if g == ""), [])
        self.api_versions = orjson.dumps(
            {
                "kind": "APIVersions",
                "versions": core_versions,
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
            }
        )
        group_docs: list[dict[str, Any]] = []
        for group, versions in groups:
            for version in versions:
                types = self.registry.in_group_version(group, version)
                self.resource_lists[(group, version)] = orjson.dumps(
                    {
                        "kind": "APIResourceList",
                        "apiVersion": "v1",
                        "groupVersion": _gv(group, version),
                        "resources": _legacy_resources(types),
                    }
                )
            if not group:
                continue
            doc = {
                "name": group,
                "versions": [{"groupVersion": _gv(group, v), "version": v} for v in versions],
                "preferredVersion": {"groupVersion": _gv(group, versions[0]), "version": versions[0]},
            }
            group_docs.append(doc)
            self.groups[group] = orjson.dumps({"kind": "APIGroup", "apiVersion": "v1", **doc})
        self.group_list = orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": group_docs})
        for version in ("v2", "v2beta1"):
            for root in ("api", "apis"):
                self.aggregated[(root, version)] = orjson.dumps(self._aggregated(root, version))

    def _aggregated(self, root: str, api_version: str) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for group, versions in self.registry.groups():
            if (root == "api") != (group == ""):
                continue
            meta: dict[str, Any] = {"creationTimestamp": None}
            if group:
                meta["name"] = group
            items.append(
                {
                    "metadata": meta,
                    "versions": [
                        {
                            "version": v,
                            "resources": _aggregated_resources(self.registry.in_group_version(group, v)),
                            "freshness": "Current",
                        }
                        for v in versions
                    ],
                }
            )
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{api_version}",
            "metadata": {},
            "items": items,
        }
