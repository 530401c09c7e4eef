"""KubeEdge NodeGroup membership (``cloud/pkg/controllermanager/nodegroup/nodegroupcontroller.go``).

A NodeGroup (``apps.kubeedge.io/v1alpha1``, cluster-scoped) selects the nodes named in
``spec.nodes`` and those whose labels match ``spec.matchLabels`` (``null``: none; ``{}``:
all, as ``labels.SelectorFromSet`` does). Selected nodes get the label
``apps.kubeedge.io/belonging-to: <nodegroup>``; nodes that stop being selected lose it. A
node belongs to one group only: a node already labelled for another group is reported
``selectionStatus: Failed`` with "node <n> has already belonged to NodeGroup <group>" (groups
are reconciled oldest first, so the older group keeps it). ``status.nodeStatuses`` lists every
selected or named node, sorted by name, with ``readyStatus`` (``Ready``/``NotReady``/
``Unknown`` from the node's Ready condition) and ``selectionStatus`` (``Succeeded``/``Failed``,
"node does not exist" for a named node that is missing). The controller keeps the finalizer
``apps.kubeedge.io/nodegroup-controller`` on each group and, when the group is deleted,
removes its label from the nodes before letting it go.
"""

from __future__ import annotations

from typing import Any

from kurator_sim import errors
from kurator_sim.controllers.kubeedge_nodes import ready_status
from kurator_sim.store.objects import Obj, ObjectStore, clone

BELONGING_TO = "apps.kubeedge.io/belonging-to"
FINALIZER = "apps.kubeedge.io/nodegroup-controller"
NODEGROUPS = ("apps.kubeedge.io", "nodegroups")
_READY = {"True": "Ready", "False": "NotReady", "Unknown": "Unknown", "": "Unknown"}


def _labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels


def _order(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


def reconcile(store: ObjectStore) -> None:
    """One pass over every NodeGroup of a member."""
    groups_rt = store.registry.by_key(NODEGROUPS)
    for group in sorted((clone(g) for g in store.iter_raw(groups_rt)), key=_order):
        try:
            _reconcile_group(store, group)
        except errors.ApiError:
            continue  # raced with another writer; the next pass will see the new state


def _set_node_label(store: ObjectStore, name: str, value: str | None) -> bool:
    nodes_rt = store.registry.by_key(("", "nodes"))
    node = store.find(nodes_rt, None, name)
    if node is None:
        return False
    labels = node.setdefault("metadata", {}).setdefault("labels", {})
    if labels.get(BELONGING_TO) == value:
        return True
    if value is None:
        labels.pop(BELONGING_TO, None)
    else:
        labels[BELONGING_TO] = value
    store.update(nodes_rt, None, name, node)
    return True


def _reconcile_group(store: ObjectStore, group: Obj) -> None:
    groups_rt = store.registry.by_key(NODEGROUPS)
    nodes_rt = store.registry.by_key(("", "nodes"))
    meta = group.setdefault("metadata", {})
    name = meta["name"]
    members = [n["metadata"]["name"] for n in store.iter_raw(nodes_rt) if _labels(n).get(BELONGING_TO) == name]
    if meta.get("deletionTimestamp"):
        for node in members:
            _set_node_label(store, node, None)
        if FINALIZER in (meta.get("finalizers") or []):
            meta["finalizers"] = [f for f in meta["finalizers"] if f != FINALIZER]
            store.update(groups_rt, None, name, group)
        return
    if FINALIZER not in (meta.get("finalizers") or []):
        meta["finalizers"] = [*(meta.get("finalizers") or []), FINALIZER]
        group = store.update(groups_rt, None, name, group)
    spec = group.get("spec") or {}
    selected = _selected(store, spec)
    for node in members:
        if node not in selected:
            _set_node_label(store, node, None)
    statuses: list[dict[str, Any]] = []
    for node_name in sorted(selected):
        node = store.find(nodes_rt, None, node_name)
        if node is None:
            continue
        entry: dict[str, Any] = {"nodeName": node_name, "readyStatus": _READY.get(ready_status(node), "Unknown")}
        owner = _labels(node).get(BELONGING_TO)
        if owner not in (None, name):
            entry["selectionStatus"] = "Failed"
            entry["selectionStatusReason"] = f"node {node_name} has already belonged to NodeGroup {owner}"
        else:
            _set_node_label(store, node_name, name)
            entry["selectionStatus"] = "Succeeded"
        statuses.append(entry)
    present = set(selected)
    for missing in sorted(set(spec.get("nodes") or []) - present):
        statuses.append(
            {
                "nodeName": missing,
                "readyStatus": "Unknown",
                "selectionStatus": "Failed",
                "selectionStatusReason": "node does not exist",
            }
        )
    statuses.sort(key=lambda s: str(s["nodeName"]))
    current = store.find(groups_rt, None, name)
    if current is not None and (current.get("status") or {}).get("nodeStatuses") != statuses:
        current["status"] = {**(current.get("status") or {}), "nodeStatuses": statuses}
        store.update(groups_rt, None, name, current, subresource="status")


def _selected(store: ObjectStore, spec: dict[str, Any]) -> set[str]:
    nodes_rt = store.registry.by_key(("", "nodes"))
    out: set[str] = set()
    match = spec.get("matchLabels")
    if match is not None:
        for node in store.iter_raw(nodes_rt):
            labels = _labels(node)
            if all(labels.get(k) == v for k, v in match.items()):
                out.add(node["metadata"]["name"])
    for name in spec.get("nodes") or []:
        if store.find(nodes_rt, None, name) is not None:
            out.add(name)
    return out
