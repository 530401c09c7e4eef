"""Table columns per kind: what ``kubectl get`` shows, computed on the server.

Built-in kinds get the columns of the apiserver's printers (``NAME READY UP-TO-DATE AVAILABLE
AGE`` for deployments, ...); Karmada's ``Cluster`` those of karmada-aggregated-apiserver;
custom resources their CRD's ``additionalPrinterColumns`` (evaluated with simple JSONPath),
or ``NAME AGE`` when the CRD declares none. Cells are computed from the stored object; ages use
the simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from kurator_sim.api import jsonpath
from kurator_sim.resources import ResourceType

Obj = dict[str, Any]
NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
    "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rem = s % 60
        return f"{minutes}m" if rem == 0 else f"{minutes}m{rem}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rem = minutes % 60
        return f"{hours}h" if rem == 0 else f"{hours}h{rem}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rem = hours % 24
        return f"{hours // 24}d" if rem == 0 else f"{hours // 24}d{rem}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(timestamp: Any, now: datetime) -> str:
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    when = parse_time(timestamp)
    if when is None:
        return "<invalid>"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return human_duration((now - when).total_seconds())


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    cell: Callable[[Obj, datetime], Any]
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _name(obj: Obj, _: datetime) -> Any:
    return _get(obj, "metadata", "name") or ""


def _age(obj: Obj, now: datetime) -> Any:
    return age(_get(obj, "metadata", "creationTimestamp"), now)


NAME = Column("Name", "string", _name, format="name", description=NAME_DESCRIPTION)
AGE = Column("Age", "string", _age, description=AGE_DESCRIPTION)


def _s(*path: str, default: str = "<none>") -> Callable[[Obj, datetime], Any]:
    def cell(obj: Obj, _: datetime) -> Any:
        value = _get(obj, *path)
        return default if value in (None, "") else value

    return cell


def _i(*path: str) -> Callable[[Obj, datetime], Any]:
    def cell(obj: Obj, _: datetime) -> Any:
        value = _get(obj, *path)
        return int(value) if isinstance(value, int | float) else 0

    return cell


def _condition(obj: Obj, kind: str) -> str | None:
    for cond in _get(obj, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return str(cond.get("status", "Unknown"))
    return None


def _node_status(obj: Obj, _: datetime) -> str:
    ready = _condition(obj, "Ready")
    status = {"True": "Ready", "False": "NotReady"}.get(ready or "", "Unknown")
    if _get(obj, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(obj: Obj, _: datetime) -> str:
    labels = _get(obj, "metadata", "labels") or {}
    roles = sorted(
        k.removeprefix("node-role.kubernetes.io/") for k in labels if k.startswith("node-role.kubernetes.io/")
    )
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    return ",".join(r for r in roles if r) or "<none>"


def _address(kind: str) -> Callable[[Obj, datetime], str]:
    def cell(obj: Obj, _: datetime) -> str:
        for addr in _get(obj, "status", "addresses") or []:
            if isinstance(addr, dict) and addr.get("type") == kind:
                return str(addr.get("address", ""))
        return "<none>"

    return cell


def _deploy_ready(obj: Obj, _: datetime) -> str:
    return f"{_get(obj, 'status', 'readyReplicas') or 0}/{_get(obj, 'spec', 'replicas') or 0}"


def _containers(field: str) -> Callable[[Obj, datetime], str]:
    def cell(obj: Obj, _: datetime) -> str:
        containers = _get(obj, "spec", "template", "spec", "containers") or []
        return ",".join(str(c.get(field, "")) for c in containers if isinstance(c, dict))

    return cell


def _selector(obj: Obj, _: datetime) -> str:
    sel = _get(obj, "spec", "selector") or {}
    labels = sel.get("matchLabels", sel) if isinstance(sel, dict) else {}
    return ",".join(f"{k}={v}" for k, v in labels.items() if isinstance(v, str)) or "<none>"


def _count(*path: str) -> Callable[[Obj, datetime], int]:
    def cell(obj: Obj, _: datetime) -> int:
        value = _get(obj, *path)
        return len(value) if isinstance(value, dict | list) else 0

    return cell


def _secret_data(obj: Obj, _: datetime) -> int:
    return len(obj.get("data") or {}) + len(obj.get("stringData") or {})


def _configmap_data(obj: Obj, _: datetime) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _ports(obj: Obj, _: datetime) -> str:
    out = []
    for p in _get(obj, "spec", "ports") or []:
        if isinstance(p, dict):
            text = f"{p.get('port')}"
            if p.get("nodePort"):
                text += f":{p['nodePort']}"
            out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(obj: Obj, _: datetime) -> str:
    ingress = _get(obj, "status", "loadBalancer", "ingress") or []
    ips = [str(i.get("ip") or i.get("hostname")) for i in ingress if isinstance(i, dict)]
    ips += list(_get(obj, "spec", "externalIPs") or [])
    if ips:
        return ",".join(ips)
    return "<pending>" if _get(obj, "spec", "type") == "LoadBalancer" else "<none>"


def _pod_ready(obj: Obj, _: datetime) -> str:
    statuses = _get(obj, "status", "containerStatuses") or []
    total = len(_get(obj, "spec", "containers") or [])
    ready = sum(1 for c in statuses if isinstance(c, dict) and c.get("ready"))
    return f"{ready}/{total}"


def _pod_restarts(obj: Obj, _: datetime) -> int:
    statuses = _get(obj, "status", "containerStatuses") or []
    return sum(int(c.get("restartCount", 0)) for c in statuses if isinstance(c, dict))


def _ingress_hosts(obj: Obj, _: datetime) -> str:
    hosts = [str(r.get("host")) for r in _get(obj, "spec", "rules") or [] if isinstance(r, dict) and r.get("host")]
    return ",".join(hosts) or "*"


def _ingress_ports(obj: Obj, _: datetime) -> str:
    return "80, 443" if _get(obj, "spec", "tls") else "80"


def _event_last_seen(obj: Obj, now: datetime) -> str:
    ts = obj.get("lastTimestamp") or obj.get("eventTime") or _get(obj, "metadata", "creationTimestamp")
    return age(ts, now)


def _event_object(obj: Obj, _: datetime) -> str:
    ref = obj.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _cluster_ready(obj: Obj, _: datetime) -> str:
    return _condition(obj, "Ready") or "Unknown"


def _deploy_available(obj: Obj, _: datetime) -> int:
    return int(_get(obj, "status", "availableReplicas") or 0)


BUILTIN_COLUMNS: dict[tuple[str, str], tuple[Column, ...]] = {
    ("", "namespaces"): (NAME, Column("Status", "string", _s("status", "phase", default="Active")), AGE),
    ("", "nodes"): (
        NAME,
        Column("Status", "string", _node_status),
        Column("Roles", "string", _node_roles),
        AGE,
        Column("Version", "string", _s("status", "nodeInfo", "kubeletVersion", default="")),
        Column("Internal-IP", "string", _address("InternalIP"), priority=1),
        Column("External-IP", "string", _address("ExternalIP"), priority=1),
        Column("OS-Image", "string", _s("status", "nodeInfo", "osImage", default="<unknown>"), priority=1),
        Column("Kernel-Version", "string", _s("status", "nodeInfo", "kernelVersion", default="<unknown>"), priority=1),
        Column(
            "Container-Runtime",
            "string",
            _s("status", "nodeInfo", "containerRuntimeVersion", default="<unknown>"),
            priority=1,
        ),
    ),
    ("", "pods"): (
        NAME,
        Column("Ready", "string", _pod_ready),
        Column("Status", "string", _s("status", "phase", default="Pending")),
        Column("Restarts", "string", _pod_restarts),
        AGE,
        Column("IP", "string", _s("status", "podIP"), priority=1),
        Column("Node", "string", _s("spec", "nodeName"), priority=1),
    ),
    ("", "configmaps"): (NAME, Column("Data", "integer", _configmap_data), AGE),
    ("", "secrets"): (
        NAME,
        Column("Type", "string", _s("type", default="Opaque")),
        Column("Data", "string", _secret_data),
        AGE,
    ),
    ("", "services"): (
        NAME,
        Column("Type", "string", _s("spec", "type", default="ClusterIP")),
        Column("Cluster-IP", "string", _s("spec", "clusterIP")),
        Column("External-IP", "string", _external_ip),
        Column("Port(s)", "string", _ports),
        AGE,
        Column("Selector", "string", _selector, priority=1),
    ),
    ("", "serviceaccounts"): (NAME, Column("Secrets", "string", _count("secrets")), AGE),
    ("", "events"): (
        Column("Last Seen", "string", _event_last_seen),
        Column("Type", "string", _s("type", default="")),
        Column("Reason", "string", _s("reason", default="")),
        Column("Object", "string", _event_object),
        Column("Message", "string", _s("message", default="")),
    ),
    ("apps", "deployments"): (
        NAME,
        Column("Ready", "string", _deploy_ready),
        Column("Up-to-date", "integer", _i("status", "updatedReplicas")),
        Column("Available", "integer", _deploy_available),
        AGE,
        Column("Containers", "string", _containers("name"), priority=1),
        Column("Images", "string", _containers("image"), priority=1),
        Column("Selector", "string", _selector, priority=1),
    ),
    ("networking.k8s.io", "ingresses"): (
        NAME,
        Column("Class", "string", _s("spec", "ingressClassName")),
        Column("Hosts", "string", _ingress_hosts),
        Column("Address", "string", _s("status", "loadBalancer", "ingress", default="")),
        Column("Ports", "string", _ingress_ports),
        AGE,
    ),
    ("coordination.k8s.io", "leases"): (
        NAME,
        Column("Holder", "string", _s("spec", "holderIdentity", default="")),
        AGE,
    ),
    ("cluster.karmada.io", "clusters"): (
        Column("Name", "string", _name, format="name", description="the name of the cluster"),
        Column("Version", "string", _s("status", "kubernetesVersion", default="")),
        Column("Mode", "string", _s("spec", "syncMode", default="")),
        Column("Ready", "string", _cluster_ready),
        AGE,
        Column("APIEndpoint", "string", _s("spec", "apiEndpoint", default=""), priority=1),
    ),
}


def _go_text(value: Any) -> str:
    """A value as the table convertor's ``PrintResults`` prints it (Go ``%v``-like)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _crd_column(spec: Obj) -> Column:
    path = str(spec.get("jsonPath", ""))
    kind = str(spec.get("type", "string"))

    def cell(obj: Obj, now: datetime) -> Any:
        try:
            found = jsonpath.find(obj, path)
        except ValueError:
            return None
        if not found or found[0] is None:
            return None
        value = found[0]
        if kind == "string":
            return _go_text(value)
        if kind == "date":
            return age(value, now) if isinstance(value, str) else None
        if kind == "integer":
            return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        if kind == "number":
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if kind == "boolean":
            return value if isinstance(value, bool) else None
        return value

    return Column(
        name=str(spec.get("name", "")),
        type=kind,
        cell=cell,
        priority=int(spec.get("priority", 0) or 0),
        format=str(spec.get("format", "")),
        description=str(spec.get("description", "")),
    )


_crd_cache: dict[int, tuple[tuple[Obj, ...], tuple[Column, ...]]] = {}


def columns_for(rt: ResourceType) -> tuple[Column, ...]:
    builtin = BUILTIN_COLUMNS.get(rt.key)
    if builtin is not None:
        return builtin
    if not rt.printer_columns:
        return (NAME, AGE)
    # Keyed by identity; the entry keeps the spec alive so its id cannot be reused meanwhile.
    hit = _crd_cache.get(id(rt.printer_columns))
    if hit is not None and hit[0] is rt.printer_columns:
        return hit[1]
    # Like the CRD table convertor: Name, then the declared columns (which usually end in Age).
    columns = (NAME, *(_crd_column(c) for c in rt.printer_columns))
    _crd_cache[id(rt.printer_columns)] = (rt.printer_columns, columns)
    return columns
