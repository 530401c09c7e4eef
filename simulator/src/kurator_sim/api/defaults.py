"""Defaults the apiserver fills into built-in kinds on every write (the ``SetDefaults_*``
functions of k8s.io/kubernetes/pkg/apis/*/v1 and the create strategies): a Deployment's
strategy and history limit, a pod template's restart and DNS policies, container ports'
``TCP``, a Service's type, cluster IP and ports, a Namespace's ``Active`` phase, ...

Clients see them in what they read back (``kubectl describe``, diffs of applied objects),
and server-side apply keys container ports by ``(containerPort, protocol)``, so leaving them
out would make the simulator disagree with a real cluster.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = str(c.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    untagged = ":" not in tag and "@" not in image
    c.setdefault("imagePullPolicy", "Always" if untagged or tag.endswith(":latest") else "IfNotPresent")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _container(c)


def _template(obj: Obj) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        spec = template.setdefault("spec", {})
        if isinstance(spec, dict):
            pod_spec(spec)


def deployment(obj: Obj, _: Callable[[], str]) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def pod(obj: Obj, _: Callable[[], str]) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)


def service(obj: Obj, allocate_ip: Callable[[], str]) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    kind = spec.setdefault("type", "ClusterIP")
    if kind != "ExternalName":
        spec.setdefault("sessionAffinity", "None")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocate_ip()
        if spec["clusterIP"] != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])


def secret(obj: Obj, _: Callable[[], str]) -> None:
    obj.setdefault("type", "Opaque")


def namespace(obj: Obj, _: Callable[[], str]) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("finalizers", ["kubernetes"])
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")


DEFAULTERS: dict[tuple[str, str], Callable[[Obj, Callable[[], str]], None]] = {
    ("apps", "deployments"): deployment,
    ("", "pods"): pod,
    ("", "services"): service,
    ("", "secrets"): secret,
    ("", "namespaces"): namespace,
}


class IpAllocator:
    """Cluster IPs for Services, from 10.96.0.0/12 as kubeadm clusters use."""

    def __init__(self) -> None:
        self._next = itertools.count(10)

    def __call__(self) -> str:
        n = next(self._next)
        return f"10.96.{(n >> 8) & 0xFF}.{n & 0xFF}"


def apply(key: tuple[str, str], obj: Obj, allocate_ip: Callable[[], str]) -> None:
    defaulter = DEFAULTERS.get(key)
    if defaulter is not None:
        defaulter(obj, allocate_ip)
