"""Which objects a simulated Velero backup takes and a restore puts back.

Velero's item selection (``pkg/backup/item_collector.go``, ``pkg/util/collections``):
namespaces as glob patterns (``*``, ``?``, ``[abc]``; empty or ``*`` = all), excluded
namespaces and namespaces labelled ``velero.io/exclude-from-backup=true``, resource filters
(old-style ``includedResources``/``excludedResources`` or the new scoped ones), a
``labelSelector`` or ``orLabelSelectors``, and ``includeClusterResources`` (``null``: cluster
-scoped objects only when every namespace is included). A backup here is a snapshot of those
objects taken from the member's store; a restore filters that snapshot the same way, maps
namespaces and creates what does not exist yet.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import Obj, ObjectStore, clone

EXCLUDE_LABEL = "velero.io/exclude-from-backup"

NON_RESTORABLE = (
    "nodes",
    "events",
    "events.events.k8s.io",
    "backups.velero.io",
    "restores.velero.io",
    "resticrepositories.velero.io",
    "csinodes.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "backuprepositories.velero.io",
)
"""``restore_controller.go: nonRestorableResources``."""


@dataclass(frozen=True, slots=True)
class Item:
    """One backed-up object: its resource (group, plural), scope and a copy of the object."""

    group: str
    plural: str
    namespaced: bool
    obj: Obj

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


# --- matching --------------------------------------------------------------------------------


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """``metav1.LabelSelector`` semantics (``matchLabels`` and ``matchExpressions``)."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def labels_selected(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    """``labelSelector`` or any of ``orLabelSelectors`` (neither set: everything)."""
    ors = spec.get("orLabelSelectors")
    if ors:
        return any(selector_matches(s, labels) for s in ors)
    return selector_matches(spec.get("labelSelector"), labels)


def _glob(patterns: Iterable[str], name: str) -> bool:
    return any(p == "*" or fnmatch.fnmatchcase(name, p) for p in patterns)


def namespace_included(namespace: str, spec: dict[str, Any]) -> bool:
    included = spec.get("includedNamespaces") or []
    excluded = spec.get("excludedNamespaces") or []
    if included and not _glob(included, namespace):
        return False
    return not _glob(excluded, namespace)


def all_namespaces(spec: dict[str, Any]) -> bool:
    included = spec.get("includedNamespaces") or []
    return not included or "*" in included


def _names(rt_plural: str, group: str, kind: str, short: Iterable[str]) -> set[str]:
    qualified = f"{rt_plural}.{group}" if group else rt_plural
    return {rt_plural, qualified, kind.lower(), f"{kind.lower()}.{group}" if group else kind.lower(), *short}


def _resource_listed(names: set[str], entries: Iterable[str]) -> bool:
    return any(e == "*" or e.lower() in names for e in entries)


def resource_included(rt: ResourceType, spec: dict[str, Any]) -> bool:
    """Resource filters, old style and new (scoped) style."""
    names = _names(rt.plural, rt.group, rt.kind, rt.short_names)
    inc, exc = spec.get("includedResources") or [], spec.get("excludedResources") or []
    if inc and not _resource_listed(names, inc):
        return False
    if _resource_listed(names, exc):
        return False
    scope = "Namespace" if rt.namespaced else "Cluster"
    inc_scoped = spec.get(f"included{scope}ScopedResources") or []
    exc_scoped = spec.get(f"excluded{scope}ScopedResources") or []
    if inc_scoped and not _resource_listed(names, inc_scoped):
        return False
    return not _resource_listed(names, exc_scoped)


def _cluster_scoped_wanted(spec: dict[str, Any]) -> bool:
    if spec.get("includedClusterScopedResources"):
        return True
    flag = spec.get("includeClusterResources")
    if flag is None:
        return all_namespaces(spec)
    return bool(flag)


def _labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels


# --- backup ----------------------------------------------------------------------------------


def _storage_types(store: ObjectStore) -> Iterator[ResourceType]:
    seen: set[tuple[str, str]] = set()
    for rt in store.registry.types:
        if rt.storage and rt.key not in seen:
            seen.add(rt.key)
            yield rt


def collect(store: ObjectStore, spec: dict[str, Any]) -> list[Item]:
    """The objects a backup with ``spec`` takes from ``store`` (copies, in a stable order)."""
    ns_rt = store.registry.by_key(("", "namespaces"))
    excluded_ns = {ns["metadata"]["name"] for ns in store.iter_raw(ns_rt) if _labels(ns).get(EXCLUDE_LABEL) == "true"}
    namespaces = {
        ns["metadata"]["name"]
        for ns in store.iter_raw(ns_rt)
        if namespace_included(ns["metadata"]["name"], spec) and ns["metadata"]["name"] not in excluded_ns
    }
    cluster_wanted = _cluster_scoped_wanted(spec)
    items: list[Item] = []
    for rt in _storage_types(store):
        if rt.key == ("", "namespaces"):
            for ns in store.iter_raw(rt):
                if ns["metadata"]["name"] in namespaces:
                    items.append(Item(rt.group, rt.plural, False, clone(ns)))
            continue
        if not resource_included(rt, spec):
            continue
        if not rt.namespaced and not cluster_wanted:
            continue
        for obj in store.iter_raw(rt):
            meta = obj.get("metadata") or {}
            if rt.namespaced and meta.get("namespace") not in namespaces:
                continue
            labels = _labels(obj)
            if labels.get(EXCLUDE_LABEL) == "true" or not labels_selected(spec, labels):
                continue
            items.append(Item(rt.group, rt.plural, rt.namespaced, _as_stored(rt, obj)))
    items.sort(key=lambda i: (i.plural != "namespaces", i.qualified, _ns(i.obj), _name(i.obj)))
    return items


def _as_stored(rt: ResourceType, obj: Obj) -> Obj:
    out = clone(obj)
    out["apiVersion"], out["kind"] = rt.api_version, rt.kind
    return out


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


# --- restore ---------------------------------------------------------------------------------


def restorable(items: Iterable[Item], spec: dict[str, Any]) -> list[Item]:
    """The items of a backup a restore with ``spec`` puts back (before namespace mapping)."""
    out: list[Item] = []
    cluster_wanted = _cluster_scoped_wanted(spec)
    for item in items:
        if item.qualified in NON_RESTORABLE:
            continue
        if item.plural == "namespaces":
            if namespace_included(_name(item.obj), spec):
                out.append(item)
            continue
        names = _names(item.plural, item.group, str(item.obj.get("kind", "")), ())
        inc, exc = spec.get("includedResources") or [], spec.get("excludedResources") or []
        if (inc and not _resource_listed(names, inc)) or _resource_listed(names, exc):
            continue
        if item.namespaced:
            if not namespace_included(_ns(item.obj), spec):
                continue
        elif not cluster_wanted:
            continue
        if not labels_selected(spec, _labels(item.obj)):
            continue
        out.append(item)
    return out


_SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


def prepared_for_restore(item: Item, *, namespace_mapping: dict[str, str], backup: str, restore: str) -> Obj:
    """The object as Velero creates it: server-set metadata and status dropped, namespace
    mapped, labels ``velero.io/backup-name`` and ``velero.io/restore-name`` added."""
    obj = clone(item.obj)
    meta = obj.setdefault("metadata", {})
    for key in (*_SERVER_SET, "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers"):
        meta.pop(key, None)
    obj.pop("status", None)
    if item.plural == "namespaces":
        meta["name"] = namespace_mapping.get(meta["name"], meta["name"])
    elif item.namespaced:
        meta["namespace"] = namespace_mapping.get(meta.get("namespace", ""), meta.get("namespace", ""))
    labels = meta.setdefault("labels", {})
    labels["velero.io/backup-name"] = backup
    labels["velero.io/restore-name"] = restore
    return obj
