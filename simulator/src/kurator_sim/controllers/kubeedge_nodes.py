"""Edge node health as the cloud sees it: heartbeats through CloudCore, and what the node
lifecycle controller does when they stop.

An edge node (label ``node-role.kubernetes.io/edge`` with value ``""``, KubeEdge's
``IsEdgeNode``) that is up posts ``Ready=True`` (``KubeletReady``, "kubelet is posting ready
status", as KubeEdge's kubelet-based edged does) and the three pressure conditions, renewing
``lastHeartbeatTime`` and its Lease ``kube-node-lease/<node>``. When its heartbeats stop, the
node lifecycle controller waits ``--node-monitor-grace-period`` (40 s before Kubernetes 1.32,
50 s since: kubernetes/kubernetes#126287), then sets every condition ``Unknown`` with reason
``NodeStatusUnknown`` ("Kubelet stopped posting node status."), or ``NodeStatusNeverUpdated``
for a node that never posted, and taints the node ``node.kubernetes.io/unreachable``
(``NoSchedule``, and ``NoExecute`` with ``timeAdded``). Heartbeats coming back restore the
conditions and remove the taints.
"""

from __future__ import annotations

from typing import Any

EDGE_ROLE_LABEL = "node-role.kubernetes.io/edge"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
LEASE_NAMESPACE = "kube-node-lease"

_HEALTHY: tuple[tuple[str, str, str, str], ...] = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
_STOPPED = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
_NEVER = ("NodeStatusNeverUpdated", "Kubelet never posted node status.")


def is_edge_node(node: dict[str, Any]) -> bool:
    return ((node.get("metadata") or {}).get("labels") or {}).get(EDGE_ROLE_LABEL) == ""


def grace_period_seconds(kubernetes_version: str) -> float:
    """The node lifecycle controller's default ``--node-monitor-grace-period``."""
    major, _, rest = kubernetes_version.removeprefix("v").partition(".")
    minor = rest.partition(".")[0]
    try:
        version = (int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0))
    except ValueError:
        return 50.0
    return 50.0 if version >= (1, 32) else 40.0


def ready_status(node: dict[str, Any]) -> str:
    """``status`` of the node's Ready condition (``""`` when it has none)."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status") or "")
    return ""


def heartbeat_conditions(previous: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    """The conditions a healthy edged posts at ``now``."""
    before = {c.get("type"): c for c in previous}
    out = []
    for kind, status, reason, message in _HEALTHY:
        old = before.get(kind) or {}
        out.append(
            {
                "type": kind,
                "status": status,
                "lastHeartbeatTime": now,
                "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == status else now,
                "reason": reason,
                "message": message,
            }
        )
    return out


def unknown_conditions(previous: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    """What the node lifecycle controller writes once the grace period has passed."""
    if not previous:
        reason, message = _NEVER
        return [
            {
                "type": kind,
                "status": "Unknown",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }
            for kind, *_ in _HEALTHY
        ]
    reason, message = _STOPPED
    out = []
    for condition in previous:
        updated = dict(condition)
        if condition.get("status") != "Unknown":
            updated.update(status="Unknown", reason=reason, message=message, lastTransitionTime=now)
        out.append(updated)
    return out


def with_unreachable_taints(taints: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    out = list(taints)
    effects = {t.get("effect") for t in taints if t.get("key") == UNREACHABLE_TAINT}
    if "NoSchedule" not in effects:
        out.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule"})
    if "NoExecute" not in effects:
        out.append({"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": now})
    return out


def without_unreachable_taints(taints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in taints if t.get("key") != UNREACHABLE_TAINT]


def lease(node: dict[str, Any], now_micro: str, duration_seconds: int) -> dict[str, Any]:
    """The node's Lease as the edged renews it (through CloudCore)."""
    meta = node.get("metadata") or {}
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": meta.get("name"),
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta.get("name"), "uid": meta.get("uid")}],
        },
        "spec": {
            "holderIdentity": meta.get("name"),
            "leaseDurationSeconds": duration_seconds,
            "renewTime": now_micro,
        },
    }
