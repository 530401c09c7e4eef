"""Parsing API paths into what they address, as the apiserver's request-info resolver does.

``/api/v1/namespaces/default/configmaps/x`` becomes a :class:`ResourcePath` (group "",
version v1, namespace default, resource configmaps, name x); ``/apis/apps/v1/deployments``
one without namespace or name (a cluster-wide list). The legacy ``/watch/`` segment is kept
as a flag. Anything that is not a resource path (discovery, OpenAPI, ``/version``) yields
``None`` and is answered elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from kurator_sim import errors
from kurator_sim.resources import Registry, ResourceType


@dataclass(frozen=True, slots=True)
class ResourcePath:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None = None
    rest: str = ""
    """What follows a connect subresource (``clusters/x/proxy/<rest>``), with its leading slash."""
    watch: bool = False
    """Reached through the legacy ``/watch/`` prefix."""


@dataclass(frozen=True, slots=True)
class GroupVersionPath:
    """``/api/v1`` or ``/apis/<g>/<v>``: a group version's resource list."""

    group: str
    version: str


@dataclass(frozen=True, slots=True)
class GroupPath:
    """``/apis/<g>``: one API group."""

    group: str


Parsed = ResourcePath | GroupVersionPath | GroupPath


def _not_found() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource")


def parse(path: str, registry: Registry) -> Parsed | None:
    """What an ``/api`` or ``/apis`` path addresses; ``None`` for other paths.

    Raises:
        ApiError: 404 for a resource, group or version the registry does not serve.
    """
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        if len(parts) < 2:
            return None
        group, version, tail = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 2:
            return None
        if len(parts) == 2:
            if not any(t.group == parts[1] for t in registry.types):
                raise _not_found()
            return GroupPath(parts[1])
        group, version, tail = parts[1], parts[2], parts[3:]
    else:
        return None
    if not tail:
        if not registry.in_group_version(group, version):
            raise _not_found()
        return GroupVersionPath(group, version)
    watch = False
    if tail[0] == "watch":
        watch, tail = True, tail[1:]
        if not tail:
            raise _not_found()
    namespace: str | None = None
    if tail[0] == "namespaces" and len(tail) >= 3:
        candidate = registry.lookup(group, version, tail[2])
        if candidate is not None and candidate.namespaced:
            namespace, tail = tail[1], tail[2:]
    rt = registry.lookup(group, version, tail[0])
    if rt is None:
        raise _not_found()
    name = tail[1] if len(tail) > 1 else None
    if name == "":
        name = None
    subresource = tail[2] if len(tail) > 2 else None
    rest = ""
    if len(tail) > 3:
        if subresource not in rt.extra_subresources:
            raise _not_found()
        rest = "/" + "/".join(tail[3:])
    if subresource is not None and not _has_subresource(rt, subresource):
        raise _not_found()
    if rt.namespaced and namespace is None and name is not None:
        # ``/api/v1/configmaps/x``: named objects of namespaced kinds live under a namespace.
        raise _not_found()
    return ResourcePath(rt, namespace, name, subresource, rest, watch)


def _has_subresource(rt: ResourceType, sub: str) -> bool:
    if sub == "status":
        return rt.status_subresource
    if sub == "scale":
        return rt.scale_subresource
    return sub in rt.extra_subresources
