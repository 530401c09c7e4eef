"""The simulated series: what a Prometheus scraping every member would hold, computed from
the fleet at query time.

Every series carries a ``cluster`` label (the Thanos external-label convention,
integrations.md 5.5). Per member:

* ``up{job, instance}``: ``apiserver``, ``kube-state-metrics``, ``node-exporter`` per node,
  ``velero`` where a BackupStorageLocation exists; 1, or 0 when the member is down or
  partitioned (or, for an edge node's exporter, when that node is down). A member that cannot
  be scraped has no other series.
* kube-state-metrics: ``kube_node_info``, ``kube_node_status_condition{condition,status}``,
  ``kube_node_status_capacity``/``kube_node_status_allocatable{resource,unit}`` (resources
  sanitised as ksm does: ``nvidia_com_gpu``), ``kube_node_spec_taint``,
  ``kube_node_spec_unschedulable``, ``kube_deployment_spec_replicas``,
  ``kube_deployment_status_replicas{,_ready,_available,_updated}``.
* node-exporter: ``node_cpu_seconds_total{cpu,mode}`` (counters, ``idle``/``user``/``system``),
  ``node_memory_MemTotal_bytes``, ``node_memory_MemAvailable_bytes``.
* velero: ``velero_backup_total``, ``velero_backup_success_total``/``_failure_total``/
  ``_partial_failure_total``/``_validation_failure_total`` and
  ``velero_backup_last_successful_timestamp`` by ``schedule``.
* recording rules: ``cluster:cpu_cores:allocatable``, ``cluster:memory_bytes:allocatable``,
  ``cluster:cpu_usage:ratio``, ``cluster:memory_usage:ratio``.

Usage is a deterministic pseudo-load: the share of a node's allocatable requested by the
member's workloads (Deployment ready replicas, running Volcano jobs, bound Pods) plus a small
sine of time with a per-node phase; CPU counters are its exact integral, so ``rate()`` of
``node_cpu_seconds_total`` gives the usage back. Samples exist from an hour before the
simulator started, on a 15 s scrape grid.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kurator_sim.clock import SimClock
from kurator_sim.fleet import EDGE_ROLE_LABEL, Fleet, Member
from kurator_sim.prometheus.values import NAME, LabelKey, Labels, key
from shared.contracts.quantity import parse_quantity

SCRAPE_INTERVAL = 15.0
HISTORY_SECONDS = 3600.0
_PERIOD = 600.0
_OMEGA = 2 * math.pi / _PERIOD
_SWING = 0.05

ValueFn = Callable[[float], float]

METADATA: dict[str, tuple[str, str]] = {
    "up": ("gauge", "Whether the target was scraped successfully (1) or not (0)."),
    "kube_node_info": ("gauge", "Information about a cluster node."),
    "kube_node_status_condition": ("gauge", "The condition of a cluster node."),
    "kube_node_status_capacity": ("gauge", "The capacity for different resources of a node."),
    "kube_node_status_allocatable": ("gauge", "The allocatable for different resources of a node."),
    "kube_node_spec_taint": ("gauge", "The taint of a cluster node."),
    "kube_node_spec_unschedulable": ("gauge", "Whether a node can schedule new pods."),
    "kube_deployment_spec_replicas": ("gauge", "Number of desired pods for a deployment."),
    "kube_deployment_status_replicas": ("gauge", "The number of replicas per deployment."),
    "kube_deployment_status_replicas_ready": ("gauge", "The number of ready replicas per deployment."),
    "kube_deployment_status_replicas_available": ("gauge", "The number of available replicas per deployment."),
    "kube_deployment_status_replicas_updated": ("gauge", "The number of updated replicas per deployment."),
    "node_cpu_seconds_total": ("counter", "Seconds the CPUs spent in each mode."),
    "node_memory_MemTotal_bytes": ("gauge", "Memory information field MemTotal_bytes."),
    "node_memory_MemAvailable_bytes": ("gauge", "Memory information field MemAvailable_bytes."),
    "velero_backup_total": ("gauge", "Current number of existent backups"),
    "velero_backup_success_total": ("counter", "Total number of successful backups"),
    "velero_backup_failure_total": ("counter", "Total number of failed backups"),
    "velero_backup_partial_failure_total": ("counter", "Total number of partially failed backups"),
    "velero_backup_validation_failure_total": ("counter", "Total number of validation failed backups"),
    "velero_backup_last_successful_timestamp": (
        "gauge",
        "Last time a backup ran successfully, Unix timestamp in seconds",
    ),
    "cluster:cpu_cores:allocatable": ("gauge", "Allocatable CPU cores of the cluster's nodes (recording rule)."),
    "cluster:memory_bytes:allocatable": ("gauge", "Allocatable memory of the cluster's nodes (recording rule)."),
    "cluster:cpu_usage:ratio": ("gauge", "Fraction of the cluster's CPU in use (recording rule)."),
    "cluster:memory_usage:ratio": ("gauge", "Fraction of the cluster's memory in use (recording rule)."),
}


@dataclass(frozen=True, slots=True)
class SimSeries:
    """One series: its labels and its value at any scrape time (``t`` in unix seconds)."""

    labels: Labels
    value: ValueFn
    key: LabelKey = field(default=())

    @classmethod
    def of(cls, labels: Labels, value: ValueFn) -> SimSeries:
        return cls(labels, value, key(labels))


def _constant(value: float) -> ValueFn:
    return lambda t: value


def _phase(*parts: str) -> float:
    return (zlib.crc32("/".join(parts).encode()) % 10_000) / 10_000 * 2 * math.pi


def _number(raw: Any) -> float:
    try:
        return float(parse_quantity(raw))
    except ValueError:
        return 0.0


@dataclass
class _Load:
    """How loaded a node is: requested CPU and memory as a fraction of its allocatable."""

    cpu: float = 0.0
    memory: float = 0.0


def _usage_level(requested: float) -> float:
    """The mean usage around which the pseudo-load swings (at least the swing, at most 0.9)."""
    return min(0.9, _SWING + 0.7 * max(0.0, requested))


def usage(requested: float, phase: float, t: float) -> float:
    return _usage_level(requested) + _SWING * math.sin(_OMEGA * t + phase)


def busy_seconds(requested: float, phase: float, t: float, boot: float) -> float:
    """The integral of :func:`usage` from ``boot`` to ``t`` (per core)."""

    def integral(x: float) -> float:
        return _usage_level(requested) * x - (_SWING / _OMEGA) * math.cos(_OMEGA * x + phase)

    return max(0.0, integral(t) - integral(boot))


class FleetSeries:
    """Series of every member of a fleet, computed from its stores when asked."""

    def __init__(self, fleet: Fleet, clock: SimClock) -> None:
        self.fleet = fleet
        self.clock = clock

    @property
    def boot(self) -> float:
        """When the first samples were scraped (an hour before the simulator started)."""
        return self.clock.now().timestamp() - self.clock.elapsed() - HISTORY_SECONDS

    def snapshot(self) -> list[SimSeries]:
        out: list[SimSeries] = []
        for member in self.fleet.members.values():
            out.extend(_MemberSeries(member, self.boot).series())
        return out


class _MemberSeries:
    def __init__(self, member: Member, boot: float) -> None:
        self.member = member
        self.store = member.store
        self.cluster = member.name
        self.boot = boot
        registry = self.store.registry
        self.nodes = sorted(self.store.iter_raw(registry.by_key(("", "nodes"))), key=lambda n: n["metadata"]["name"])
        self.deployments = list(self.store.iter_raw(registry.by_key(("apps", "deployments"))))

    def _labels(self, name: str, **labels: str) -> Labels:
        return {NAME: name, "cluster": self.cluster, **labels}

    def series(self) -> list[SimSeries]:
        reachable = not (self.member.faults.down or self.member.faults.partitioned)
        out = list(self._up(reachable))
        if not reachable:
            return out
        out += self._nodes()
        out += self._deployments()
        out += self._node_exporter()
        out += self._velero()
        out += self._rules()
        return out

    # -- targets ----------------------------------------------------------------------------------

    def _edge_down(self, node: dict[str, Any]) -> bool:
        return node["metadata"]["name"] in self.member.edge_down

    def _up(self, reachable: bool) -> Iterable[SimSeries]:
        up = 1.0 if reachable else 0.0
        yield SimSeries.of(
            self._labels("up", job="apiserver", instance=f"apiserver.{self.cluster}:6443"), _constant(up)
        )
        yield SimSeries.of(
            self._labels("up", job="kube-state-metrics", instance="kube-state-metrics.monitoring.svc:8080"),
            _constant(up),
        )
        for node in self.nodes:
            name = node["metadata"]["name"]
            value = 0.0 if not reachable or self._edge_down(node) else 1.0
            yield SimSeries.of(self._labels("up", job="node-exporter", instance=f"{name}:9100"), _constant(value))
        if self._has_velero():
            yield SimSeries.of(self._labels("up", job="velero", instance="velero.velero.svc:8085"), _constant(up))

    # -- kube-state-metrics -------------------------------------------------------------------------

    def _nodes(self) -> Iterable[SimSeries]:
        for node in self.nodes:
            name = node["metadata"]["name"]
            status, spec = node.get("status") or {}, node.get("spec") or {}
            info = status.get("nodeInfo") or {}
            addresses = [a.get("address", "") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
            yield SimSeries.of(
                self._labels(
                    "kube_node_info",
                    node=name,
                    kubelet_version=str(info.get("kubeletVersion", "")),
                    container_runtime_version=str(info.get("containerRuntimeVersion", "")),
                    os_image=str(info.get("osImage", "")),
                    internal_ip=addresses[0] if addresses else "",
                ),
                _constant(1.0),
            )
            for condition in status.get("conditions") or []:
                current = str(condition.get("status", "")).lower()
                for state in ("true", "false", "unknown"):
                    labels = self._labels(
                        "kube_node_status_condition", node=name, condition=str(condition.get("type")), status=state
                    )
                    yield SimSeries.of(labels, _constant(1.0 if state == current else 0.0))
            for metric, resources in (
                ("kube_node_status_capacity", status.get("capacity") or {}),
                ("kube_node_status_allocatable", status.get("allocatable") or status.get("capacity") or {}),
            ):
                for resource, raw in sorted(resources.items()):
                    unit = (
                        "core"
                        if resource == "cpu"
                        else "byte"
                        if resource in ("memory", "ephemeral-storage")
                        else "integer"
                    )
                    labels = self._labels(metric, node=name, resource=_sanitize(resource), unit=unit)
                    yield SimSeries.of(labels, _constant(_number(raw)))
            for taint in spec.get("taints") or []:
                labels = self._labels(
                    "kube_node_spec_taint",
                    node=name,
                    key=str(taint.get("key", "")),
                    value=str(taint.get("value", "")),
                    effect=str(taint.get("effect", "")),
                )
                yield SimSeries.of(labels, _constant(1.0))
            unschedulable = 1.0 if spec.get("unschedulable") else 0.0
            yield SimSeries.of(self._labels("kube_node_spec_unschedulable", node=name), _constant(unschedulable))

    def _deployments(self) -> Iterable[SimSeries]:
        for deployment in self.deployments:
            meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
            ids = {"namespace": str(meta.get("namespace", "")), "deployment": str(meta.get("name", ""))}
            replicas = spec.get("replicas", 1)
            yield SimSeries.of(self._labels("kube_deployment_spec_replicas", **ids), _constant(float(replicas or 0)))
            for suffix, field_name in (
                ("", "replicas"),
                ("_ready", "readyReplicas"),
                ("_available", "availableReplicas"),
                ("_updated", "updatedReplicas"),
            ):
                value = float(status.get(field_name) or 0)
                yield SimSeries.of(self._labels(f"kube_deployment_status_replicas{suffix}", **ids), _constant(value))

    # -- node-exporter ----------------------------------------------------------------------------

    def _requested(self) -> dict[str, _Load]:
        """Requested share of each ordinary node's allocatable, spreading workloads evenly."""
        cpu, memory = Decimal(0), Decimal(0)
        registry = self.store.registry
        for deployment in self.deployments:
            ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
            pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
            c, m = _pod_cpu_memory(pod)
            cpu += c * ready
            memory += m * ready
        for job in self.store.iter_raw(registry.by_key(("batch.volcano.sh", "jobs"))):
            if ((job.get("status") or {}).get("state") or {}).get("phase") != "Running":
                continue
            for task in (job.get("spec") or {}).get("tasks") or []:
                c, m = _pod_cpu_memory((task.get("template") or {}).get("spec") or {})
                replicas = int(task.get("replicas") or 0)
                cpu += c * replicas
                memory += m * replicas
        for pod in self.store.iter_raw(registry.by_key(("", "pods"))):
            if (pod.get("spec") or {}).get("nodeName") and (pod.get("status") or {}).get("phase") == "Running":
                c, m = _pod_cpu_memory(pod.get("spec") or {})
                cpu += c
                memory += m
        workers = [n for n in self.nodes if EDGE_ROLE_LABEL not in (n["metadata"].get("labels") or {})]
        total_cpu = sum((_alloc(n, "cpu") for n in workers), Decimal(0))
        total_memory = sum((_alloc(n, "memory") for n in workers), Decimal(0))
        share = _Load(
            float(cpu / total_cpu) if total_cpu else 0.0,
            float(memory / total_memory) if total_memory else 0.0,
        )
        return {n["metadata"]["name"]: share if n in workers else _Load() for n in self.nodes}

    def _node_exporter(self) -> Iterable[SimSeries]:
        load = self._requested()
        for node in self.nodes:
            name = node["metadata"]["name"]
            if self._edge_down(node):
                continue
            instance = f"{name}:9100"
            cores = max(1, int(_alloc(node, "cpu")))
            phase = _phase(self.cluster, name)
            requested = load[name]
            for cpu in range(cores):
                for mode, share in (("user", 0.7), ("system", 0.3)):
                    labels = self._labels("node_cpu_seconds_total", instance=instance, cpu=str(cpu), mode=mode)
                    yield SimSeries.of(labels, self._busy(requested.cpu, phase, share))
                labels = self._labels("node_cpu_seconds_total", instance=instance, cpu=str(cpu), mode="idle")
                yield SimSeries.of(labels, self._idle(requested.cpu, phase))
            total = float(_capacity(node, "memory"))
            mem_phase = _phase(self.cluster, name, "memory")
            yield SimSeries.of(self._labels("node_memory_MemTotal_bytes", instance=instance), _constant(total))
            yield SimSeries.of(
                self._labels("node_memory_MemAvailable_bytes", instance=instance),
                self._available(total, requested.memory, mem_phase),
            )

    def _busy(self, requested: float, phase: float, share: float) -> ValueFn:
        boot = self.boot
        return lambda t: share * busy_seconds(requested, phase, t, boot)

    def _idle(self, requested: float, phase: float) -> ValueFn:
        boot = self.boot
        return lambda t: max(0.0, t - boot) - busy_seconds(requested, phase, t, boot)

    @staticmethod
    def _available(total: float, requested: float, phase: float) -> ValueFn:
        return lambda t: total * (1 - usage(requested, phase, t))

    # -- velero -------------------------------------------------------------------------------------

    def _has_velero(self) -> bool:
        locations = self.store.registry.by_key(("velero.io", "backupstoragelocations"))
        return any(True for _ in self.store.iter_raw(locations))

    def _velero(self) -> Iterable[SimSeries]:
        if not self._has_velero():
            return
        backups = list(self.store.iter_raw(self.store.registry.by_key(("velero.io", "backups"))))
        yield SimSeries.of(self._labels("velero_backup_total"), _constant(float(len(backups))))
        by_schedule: dict[str, list[dict[str, Any]]] = {}
        for backup in backups:
            schedule = ((backup.get("metadata") or {}).get("labels") or {}).get("velero.io/schedule-name", "")
            by_schedule.setdefault(schedule, []).append(backup)
        for schedule, items in sorted(by_schedule.items()):
            phases = [str((b.get("status") or {}).get("phase") or "") for b in items]
            for metric, phase in (
                ("velero_backup_success_total", "Completed"),
                ("velero_backup_failure_total", "Failed"),
                ("velero_backup_partial_failure_total", "PartiallyFailed"),
                ("velero_backup_validation_failure_total", "FailedValidation"),
            ):
                count = float(phases.count(phase))
                yield SimSeries.of(self._labels(metric, schedule=schedule), _constant(count))
            completions = [
                _timestamp((b.get("status") or {}).get("completionTimestamp"))
                for b in items
                if (b.get("status") or {}).get("phase") == "Completed"
            ]
            finished = [c for c in completions if c is not None]
            if finished:
                labels = self._labels("velero_backup_last_successful_timestamp", schedule=schedule)
                yield SimSeries.of(labels, _constant(max(finished)))

    # -- recording rules ------------------------------------------------------------------------------

    def _rules(self) -> Iterable[SimSeries]:
        load = self._requested()
        visible = [n for n in self.nodes if not self._edge_down(n)]
        cpu = sum(float(_alloc(n, "cpu")) for n in visible)
        memory = sum(float(_alloc(n, "memory")) for n in visible)
        yield SimSeries.of(self._labels("cluster:cpu_cores:allocatable"), _constant(cpu))
        yield SimSeries.of(self._labels("cluster:memory_bytes:allocatable"), _constant(memory))
        weights = [
            (float(_alloc(n, "cpu")), load[n["metadata"]["name"]].cpu, _phase(self.cluster, n["metadata"]["name"]))
            for n in visible
        ]
        mem_weights = [
            (
                float(_alloc(n, "memory")),
                load[n["metadata"]["name"]].memory,
                _phase(self.cluster, n["metadata"]["name"], "memory"),
            )
            for n in visible
        ]
        yield SimSeries.of(self._labels("cluster:cpu_usage:ratio"), _weighted_usage(weights))
        yield SimSeries.of(self._labels("cluster:memory_usage:ratio"), _weighted_usage(mem_weights))


def _weighted_usage(weights: list[tuple[float, float, float]]) -> ValueFn:
    total = sum(w for w, _, _ in weights)

    def value(t: float) -> float:
        if not total:
            return 0.0
        return sum(w * usage(r, p, t) for w, r, p in weights) / total

    return value


def _sanitize(resource: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in resource)


def _alloc(node: dict[str, Any], resource: str) -> Decimal:
    status = node.get("status") or {}
    raw = (status.get("allocatable") or status.get("capacity") or {}).get(resource)
    try:
        return parse_quantity(raw) if raw is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def _capacity(node: dict[str, Any], resource: str) -> Decimal:
    raw = ((node.get("status") or {}).get("capacity") or {}).get(resource)
    try:
        return parse_quantity(raw) if raw is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def _pod_cpu_memory(pod_spec: dict[str, Any]) -> tuple[Decimal, Decimal]:
    cpu, memory = Decimal(0), Decimal(0)
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, raw in merged.items():
            try:
                value = parse_quantity(raw)
            except ValueError:
                continue
            if name == "cpu":
                cpu += value
            elif name == "memory":
                memory += value
    return cpu, memory


def _timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
