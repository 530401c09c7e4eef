"""Karmada's execution step: a ``Work``'s manifest applied to (or removed from) a member cluster.

:func:`render` builds the manifest the binding controller puts in a ``Work`` (the template
without server-set metadata and status, replicas revised for Divided placements, Karmada's
labels and annotations), :func:`apply` creates or updates it in the member (creating the
namespace first, as Karmada's namespace sync does), refusing to take over an object Karmada
does not manage unless the conflict resolution is ``Overwrite``; :func:`remove` deletes the
member object if Karmada manages it for that binding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kurator_sim import errors
from kurator_sim.controllers import karmada_interpreter
from kurator_sim.controllers.karmada_names import (
    CRB_NAME,
    CRB_PERMANENT_ID,
    MANAGED_ANNOTATIONS,
    MANAGED_BY_KARMADA,
    MANAGED_LABELS,
    NAMESPACES,
    RB_NAME,
    RB_NAMESPACE,
    RB_PERMANENT_ID,
    TEMPLATE_GENERATION,
    TEMPLATE_UID,
    WORK_NAME,
    WORK_NAMESPACE,
    WORK_PERMANENT_ID,
    split_api_version,
)
from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import ObjectStore

Obj = dict[str, Any]

_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)


def render(
    template: Mapping[str, Any],
    binding: Mapping[str, Any],
    *,
    work_name: str,
    work_namespace: str,
    work_id: str,
    replicas: int | None,
) -> Obj:
    """The manifest of ``template`` for one cluster (``replicas``: revise them, ``None``: keep)."""
    # Shares the template's values (stored objects are never changed in place): only what
    # changes here is new, not a deep copy of the template with its managedFields and status.
    manifest = {key: value for key, value in template.items() if key != "status"}
    meta = {key: value for key, value in (template.get("metadata") or {}).items() if key not in _SERVER_FIELDS}
    manifest["metadata"] = meta
    if replicas is not None:
        if isinstance(manifest.get("spec"), dict):
            manifest["spec"] = dict(manifest["spec"])
        karmada_interpreter.revise_replicas(manifest, replicas)
    bmeta = binding["metadata"]
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    if bmeta.get("namespace"):
        labels[RB_PERMANENT_ID] = str((bmeta.get("labels") or {}).get(RB_PERMANENT_ID) or "")
        annotations[RB_NAME] = bmeta["name"]
        annotations[RB_NAMESPACE] = bmeta["namespace"]
    else:
        labels[CRB_PERMANENT_ID] = str((bmeta.get("labels") or {}).get(CRB_PERMANENT_ID) or "")
        annotations[CRB_NAME] = bmeta["name"]
    generation = int((template.get("metadata") or {}).get("generation") or 0)
    if generation:
        annotations[TEMPLATE_GENERATION] = str(generation)
    labels[MANAGED_BY_KARMADA] = "true"
    labels[WORK_PERMANENT_ID] = work_id
    annotations[TEMPLATE_UID] = str((template.get("metadata") or {}).get("uid") or "")
    annotations[WORK_NAME] = work_name
    annotations[WORK_NAMESPACE] = work_namespace
    annotations[MANAGED_LABELS] = ",".join(sorted(labels))
    annotations[MANAGED_ANNOTATIONS] = ",".join(sorted({*annotations, MANAGED_ANNOTATIONS}))
    meta["labels"], meta["annotations"] = labels, annotations
    return manifest


def resource_type(store: ObjectStore, manifest: Mapping[str, Any]) -> ResourceType | None:
    group, version = split_api_version(str(manifest.get("apiVersion") or ""))
    return store.registry.by_kind(group, version, str(manifest.get("kind") or ""))


def apply(store: ObjectStore, manifest: Mapping[str, Any], *, cluster: str, conflict_resolution: str) -> str | None:
    """Create or update ``manifest`` in ``store``; ``None`` on success, else Karmada's failure message."""
    rt = resource_type(store, manifest)
    meta = manifest.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), meta.get("namespace")
    if rt is None:
        return f'the server could not find the requested resource (kind "{manifest.get("kind")}")'
    try:
        if rt.namespaced and namespace:
            ns_rt = store.registry.by_key(NAMESPACES)
            if store.peek(ns_rt, None, str(namespace)) is None:
                store.create(ns_rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # Read only, as is ``manifest`` (a stored Work's): the member object shares their values.
        existing = store.peek(rt, namespace, name)
        if existing is None:
            store.create(rt, namespace, dict(manifest), copy_result=False, copy_input=False)
            return None
        managed = (existing["metadata"].get("labels") or {}).get(MANAGED_BY_KARMADA) == "true"
        if not managed and conflict_resolution != "Overwrite":
            return (
                f"resource({rt.kind}/{namespace + '/' if namespace else ''}{name}) already exists in the cluster "
                f"{cluster} and the ConflictResolution is {conflict_resolution or 'Abort'}, "
                "Karmada will not manage this resource"
            )
        desired = {**manifest, "metadata": {**meta, "resourceVersion": existing["metadata"]["resourceVersion"]}}
        if not rt.status_subresource and "status" in existing:
            desired["status"] = existing["status"]
        store.update(rt, namespace, name, desired, copy_result=False, copy_input=False)
    except errors.ApiError as exc:
        return exc.message
    return None


def remove(store: ObjectStore, manifest: Mapping[str, Any], *, binding_annotation: tuple[str, str]) -> None:
    """Delete the member object of ``manifest`` if it was put there for this binding."""
    rt = resource_type(store, manifest)
    if rt is None:
        return
    meta = manifest.get("metadata") or {}
    existing = store.find(rt, meta.get("namespace"), str(meta.get("name") or ""))
    if existing is None:
        return
    key, value = binding_annotation
    if (existing["metadata"].get("annotations") or {}).get(key) != value:
        return
    try:
        store.delete(rt, meta.get("namespace"), str(meta.get("name") or ""))
    except errors.ApiError as exc:
        if exc.code != 404:
            raise
