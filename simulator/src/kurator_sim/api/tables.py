"""Server-side representations other than the object itself: ``Table`` and
``PartialObjectMetadata`` (``meta.k8s.io``), as chosen by content negotiation.

``kubectl get`` asks for a Table and prints its cells; each row carries the object as
``PartialObjectMetadata`` unless the client asked ``includeObject=Object`` (or ``None``).
Watch events carry one-row Tables.
"""

from __future__ import annotations

from typing import Any

from kurator_sim.api import printers
from kurator_sim.api.negotiation import MediaType
from kurator_sim.resources import ResourceType

Obj = dict[str, Any]


def partial(obj: Obj, version: str = "v1") -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}", "metadata": obj.get("metadata")}


def partial_list(items: list[Obj], list_meta: Obj, version: str = "v1") -> Obj:
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta,
        "items": [partial(o, version) for o in items],
    }


def table(
    rt: ResourceType,
    items: list[Obj],
    *,
    media: MediaType,
    list_meta: Obj,
    include_object: str,
    now: Any,
    with_columns: bool = True,
) -> Obj:
    columns = printers.columns_for(rt)
    rows = []
    for obj in items:
        row: Obj = {"cells": [c.cell(obj, now) for c in columns]}
        if include_object == "Metadata":
            row["object"] = partial(obj)
        elif include_object == "Object":
            row["object"] = obj
        rows.append(row)
    out: Obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{media.version}", "metadata": list_meta}
    out["columnDefinitions"] = [c.definition() for c in columns] if with_columns else None
    out["rows"] = rows
    return out


def represent(
    rt: ResourceType,
    obj: Obj,
    *,
    media: MediaType,
    include_object: str,
    now: Any,
    with_columns: bool = True,
) -> Obj:
    """One object (a get or a watch event) as the negotiated media type asks."""
    if media.as_ == "Table":
        meta = {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")}
        return table(
            rt, [obj], media=media, list_meta=meta, include_object=include_object, now=now, with_columns=with_columns
        )
    if media.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return partial(obj, media.version)
    return obj


def represent_list(
    rt: ResourceType, items: list[Obj], list_meta: Obj, *, media: MediaType, include_object: str, now: Any
) -> Obj:
    if media.as_ == "Table":
        return table(rt, items, media=media, list_meta=list_meta, include_object=include_object, now=now)
    if media.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return partial_list(items, list_meta, media.version)
    return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": items}
