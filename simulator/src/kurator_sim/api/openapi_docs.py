"""OpenAPI v3 documents for one cluster's registry, built with ``machinery.openapi``: each
served group version with its kinds (CRD schemas where known, the machinery's minimal built-in
schemas for core kinds, an open object otherwise).
"""

from __future__ import annotations

from typing import Any

from kurator_sim.api.context import ClusterApi
from kurator_sim.machinery import builtin_schemas, openapi
from kurator_sim.resources import ResourceType


def _entry(rt: ResourceType) -> openapi.KindEntry:
    schema = rt.schema
    if schema is None and rt.builtin:
        known = builtin_schemas.builtin_kind(rt.group, rt.version, rt.kind)
        schema = known.schema if known is not None else None
    return openapi.KindEntry(rt.kind, rt.plural, rt.namespaced, schema, rt.status_subresource)


def documents(api: ClusterApi) -> dict[str, bytes]:
    """``{"apis/apps/v1": serialized document, ...}`` for every served group version."""
    out: dict[str, bytes] = {}
    for group, versions in api.registry.groups():
        builtin = any(t.builtin for t in api.registry.types if t.group == group)
        for version in versions:
            kinds = [_entry(rt) for rt in api.registry.in_group_version(group, version)]
            doc: dict[str, Any] = openapi.group_version_document(
                group, version, kinds, builtin=builtin, kubernetes_version=api.kubernetes_version
            )
            out[openapi.group_version_path(group, version)] = openapi.serialize_document(doc)
    return out
