"""Server-side apply and ``managedFields`` tracking: the HTTP layer's adapter over
``machinery.apply``.

Every write records its manager's fields (operation ``Update``); apply patches merge the
configuration, take ownership and refuse (409) to change fields another manager owns unless
forced. Field-type knowledge (list keys, atomic structs) comes from the built-in registry or
the CRD schema, resolved once per kind.
"""

from __future__ import annotations

from typing import Any

from kurator_sim import errors
from kurator_sim.api.context import ClusterApi
from kurator_sim.machinery import apply as smd
from kurator_sim.machinery.listkeys import ListKeyResolver
from kurator_sim.resources import ResourceType

Obj = dict[str, Any]
_resolvers: dict[tuple[str, str, str], tuple[object, ListKeyResolver]] = {}


def resolver(rt: ResourceType) -> ListKeyResolver:
    key = (rt.group, rt.version, rt.kind)
    hit = _resolvers.get(key)
    if hit is not None and hit[0] is rt.schema:
        return hit[1]
    if rt.builtin:
        found = ListKeyResolver.for_builtin(rt.group, rt.version, rt.kind)
    else:
        found = ListKeyResolver.from_crd_schema(rt.schema)
    # The entry holds the schema so that identity check above stays meaningful.
    _resolvers[key] = (rt.schema, found)
    return found


def _ignored(rt: ResourceType, subresource: str | None) -> list[tuple[str, ...]]:
    """The endpoint's reset fields: what a write there cannot change, so nobody owns it."""
    if subresource == "status":
        return [("spec",)]
    if rt.status_subresource and subresource is None:
        return [("status",)]
    return []


def track_update(
    api: ClusterApi, rt: ResourceType, old: Obj | None, new: Obj, *, manager: str, subresource: str | None
) -> Obj:
    """``new`` with managedFields updated for an ``Update`` by ``manager`` (``old`` None: create)."""
    return smd.track_update(
        old,
        new,
        manager=manager,
        now=api.clock.timestamp(),
        list_keys=resolver(rt),
        subresource=subresource or "",
        ignored_fields=_ignored(rt, subresource),
    )


def apply(
    api: ClusterApi,
    rt: ResourceType,
    current: Obj | None,
    patch: Obj,
    *,
    manager: str,
    force: bool,
    subresource: str | None,
) -> Obj:
    """The object after applying ``patch`` as ``manager``.

    Raises:
        ApiError: 409 Conflict with one cause per contested field, 400/500 for bad patches.
    """
    try:
        return smd.apply(
            current,
            patch,
            manager=manager,
            force=force,
            list_keys=resolver(rt),
            now=api.clock.timestamp(),
            api_version=rt.api_version,
            subresource=subresource or "",
            ignored_fields=_ignored(rt, subresource),
        )
    except smd.ApplyConflict as conflict:
        causes = [errors.StatusCause(c["reason"], c["message"], c["field"]) for c in conflict.causes]
        raise errors.ApiError(409, "Conflict", conflict.message, causes=causes) from conflict
    except smd.ApplyError as exc:
        raise errors.ApiError(exc.code, exc.reason, exc.message) from exc
