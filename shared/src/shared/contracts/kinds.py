"""The routing table: which service owns each ``(apiVersion, kind)``, under which kind token.

``kurator apply`` and any other publisher use it to build the intent subject; services use
it to find the model that validates an intent; ``kurator get`` uses the plural, singular and
short names to accept kind names the way kubectl does. Models are imported lazily so that
reading the table costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:
    from shared.contracts.meta import KubeObject


class UnknownKind(LookupError):  # noqa: N818 - reads as the outcome
    """No service owns this apiVersion/kind."""


@dataclass(frozen=True, slots=True)
class KindInfo:
    group: str
    """API group; ``""`` for the core group."""
    versions: tuple[str, ...]
    """Accepted versions, preferred first."""
    kind: str
    service: str
    token: str
    """The lowercase kind token used in subjects (``volcanojob`` for Volcano's ``Job``)."""
    plural: str
    namespaced: bool
    model_path: str
    """``module:Class`` of the pydantic model that validates this kind."""
    short_names: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.versions[0]}" if self.group else self.versions[0]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def model(self) -> type[KubeObject]:
        return _load(self.model_path)

    def names(self) -> tuple[str, ...]:
        """Every name kubectl would accept for this kind (plus our token)."""
        return (self.singular, self.plural, self.token, *self.short_names)


@cache
def _load(path: str) -> type[KubeObject]:
    module, _, cls = path.partition(":")
    return cast("type[KubeObject]", getattr(importlib.import_module(module), cls))


_M: Final = "shared.contracts.models"

KINDS: Final[tuple[KindInfo, ...]] = (
    # fleet: Karmada and Kurator fleet/cluster kinds, plus workload templates Karmada propagates
    KindInfo(
        "policy.karmada.io",
        ("v1alpha1",),
        "PropagationPolicy",
        "fleet",
        "propagationpolicy",
        "propagationpolicies",
        True,
        f"{_M}.karmada:PropagationPolicy",
        ("pp",),
    ),
    KindInfo(
        "policy.karmada.io",
        ("v1alpha1",),
        "ClusterPropagationPolicy",
        "fleet",
        "clusterpropagationpolicy",
        "clusterpropagationpolicies",
        False,
        f"{_M}.karmada:ClusterPropagationPolicy",
        ("cpp",),
    ),
    KindInfo(
        "policy.karmada.io",
        ("v1alpha1",),
        "OverridePolicy",
        "fleet",
        "overridepolicy",
        "overridepolicies",
        True,
        f"{_M}.karmada:OverridePolicy",
        ("op",),
    ),
    KindInfo(
        "policy.karmada.io",
        ("v1alpha1",),
        "ClusterOverridePolicy",
        "fleet",
        "clusteroverridepolicy",
        "clusteroverridepolicies",
        False,
        f"{_M}.karmada:ClusterOverridePolicy",
        ("cop",),
    ),
    KindInfo(
        "cluster.karmada.io", ("v1alpha1",), "Cluster", "fleet", "cluster", "clusters", False, f"{_M}.karmada:Cluster"
    ),
    KindInfo("fleet.kurator.dev", ("v1alpha1",), "Fleet", "fleet", "fleet", "fleets", True, f"{_M}.fleet:Fleet"),
    KindInfo(
        "cluster.kurator.dev",
        ("v1alpha1",),
        "AttachedCluster",
        "fleet",
        "attachedcluster",
        "attachedclusters",
        True,
        f"{_M}.fleet:AttachedCluster",
    ),
    # The propagation contract: other services ask the fleet service to propagate templates.
    KindInfo(
        "fleet.kurator.dev",
        ("v1alpha1",),
        "Propagation",
        "fleet",
        "propagation",
        "propagations",
        True,
        f"{_M}.propagation:Propagation",
    ),
    KindInfo(
        "apps",
        ("v1",),
        "Deployment",
        "fleet",
        "deployment",
        "deployments",
        True,
        f"{_M}.workloads:Deployment",
        ("deploy",),
    ),
    # apps: federated applications (with their companions), Istio, Volcano
    KindInfo(
        "apps.kurator.dev",
        ("v1alpha1",),
        "FederatedDeployment",
        "apps",
        "federateddeployment",
        "federateddeployments",
        True,
        f"{_M}.apps:FederatedDeployment",
        ("fd", "fdeploy"),
    ),
    KindInfo(
        "apps.kurator.dev",
        ("v1alpha1",),
        "Application",
        "apps",
        "application",
        "applications",
        True,
        f"{_M}.apps:Application",
        ("app",),
    ),
    KindInfo("", ("v1",), "Service", "apps", "service", "services", True, f"{_M}.workloads:Service", ("svc",)),
    KindInfo(
        "networking.k8s.io",
        ("v1",),
        "Ingress",
        "apps",
        "ingress",
        "ingresses",
        True,
        f"{_M}.workloads:Ingress",
        ("ing",),
    ),
    KindInfo("", ("v1",), "ConfigMap", "apps", "configmap", "configmaps", True, f"{_M}.workloads:ConfigMap", ("cm",)),
    KindInfo("", ("v1",), "Secret", "apps", "secret", "secrets", True, f"{_M}.workloads:Secret"),
    KindInfo(
        "networking.istio.io",
        ("v1", "v1beta1", "v1alpha3"),
        "VirtualService",
        "apps",
        "virtualservice",
        "virtualservices",
        True,
        f"{_M}.istio:VirtualService",
        ("vs",),
    ),
    KindInfo(
        "networking.istio.io",
        ("v1", "v1beta1", "v1alpha3"),
        "DestinationRule",
        "apps",
        "destinationrule",
        "destinationrules",
        True,
        f"{_M}.istio:DestinationRule",
        ("dr",),
    ),
    KindInfo(
        "batch.volcano.sh",
        ("v1alpha1",),
        "Job",
        "apps",
        "volcanojob",
        "jobs",
        True,
        f"{_M}.volcano:VolcanoJob",
        ("vcjob", "vj"),
    ),
    KindInfo(
        "scheduling.volcano.sh",
        ("v1beta1",),
        "Queue",
        "apps",
        "volcanoqueue",
        "queues",
        False,
        f"{_M}.volcano:VolcanoQueue",
        ("q",),
    ),
    # edge: KubeEdge
    KindInfo(
        "edge.kubeedge.io",
        ("v1",),
        "EdgeNode",
        "edge",
        "edgenode",
        "edgenodes",
        False,
        f"{_M}.kubeedge:EdgeNode",
        ("en",),
    ),
    KindInfo(
        "apps.kubeedge.io",
        ("v1alpha1",),
        "NodeGroup",
        "edge",
        "nodegroup",
        "nodegroups",
        False,
        f"{_M}.kubeedge:NodeGroup",
        ("ng",),
    ),
    # observability: Prometheus Operator + Thanos
    KindInfo(
        "monitoring.coreos.com",
        ("v1",),
        "Prometheus",
        "observability",
        "prometheus",
        "prometheuses",
        True,
        f"{_M}.monitoring:Prometheus",
        ("prom",),
    ),
    KindInfo(
        "monitoring.coreos.com",
        ("v1",),
        "ServiceMonitor",
        "observability",
        "servicemonitor",
        "servicemonitors",
        True,
        f"{_M}.monitoring:ServiceMonitor",
        ("smon",),
    ),
    KindInfo(
        "monitoring.coreos.com",
        ("v1",),
        "PrometheusRule",
        "observability",
        "prometheusrule",
        "prometheusrules",
        True,
        f"{_M}.monitoring:PrometheusRule",
        ("promrule",),
    ),
    # backup: Velero through Kurator's backup kinds
    KindInfo(
        "backup.kurator.dev",
        ("v1alpha1",),
        "BackupPolicy",
        "backup",
        "backuppolicy",
        "backuppolicies",
        True,
        f"{_M}.backup:BackupPolicy",
        ("bp",),
    ),
    KindInfo("backup.kurator.dev", ("v1alpha1",), "Backup", "backup", "backup", "backups", True, f"{_M}.backup:Backup"),
    KindInfo(
        "backup.kurator.dev", ("v1alpha1",), "Restore", "backup", "restore", "restores", True, f"{_M}.backup:Restore"
    ),
    KindInfo(
        "backup.kurator.dev", ("v1alpha1",), "Migrate", "backup", "migrate", "migrates", True, f"{_M}.backup:Migrate"
    ),
)

_BY_GROUP_KIND: Final = {(k.group, k.kind): k for k in KINDS}
_BY_SERVICE_TOKEN: Final = {(k.service, k.token): k for k in KINDS}


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    group, sep, version = api_version.rpartition("/")
    return (group, version) if sep else ("", api_version)


def for_object(api_version: str, kind: str) -> KindInfo:
    """The route of a document, by its ``apiVersion`` and ``kind``.

    Raises:
        UnknownKind: no service owns it, or the version is not one we accept.
    """
    group, version = split_api_version(api_version)
    info = _BY_GROUP_KIND.get((group, kind))
    if info is None:
        raise UnknownKind(f"no kurator service handles {api_version} {kind}")
    if version not in info.versions:
        raise UnknownKind(
            f"{kind} is served as {', '.join(f'{group}/{v}' if group else v for v in info.versions)}, not {api_version}"
        )
    return info


def for_token(service: str, token: str) -> KindInfo:
    """The route of a subject's ``<service>.<kind>`` tokens."""
    info = _BY_SERVICE_TOKEN.get((service, token))
    if info is None:
        raise UnknownKind(f"service {service!r} owns no kind {token!r}")
    return info


def of_service(service: str) -> tuple[KindInfo, ...]:
    return tuple(k for k in KINDS if k.service == service)


def resolve_name(name: str) -> KindInfo:
    """A kind as a user types it (``pp``, ``propagationpolicies``, ``PropagationPolicy``,
    ``jobs.batch.volcano.sh``, ``vcjob``).

    Raises:
        UnknownKind: the name matches no kind, or matches several (the message lists them).
    """
    wanted = name.strip().lower()
    base, _, group = wanted.partition(".")
    matches = [k for k in KINDS if base in k.names() and (not group or k.group == group)]
    if not matches:
        raise UnknownKind(f'the server doesn\'t have a resource type "{name}"')
    if len(matches) > 1:
        # An exact singular/plural match wins over a short-name clash (kubectl does the same).
        exact = [k for k in matches if base in (k.singular, k.plural, k.token)]
        if len(exact) == 1:
            return exact[0]
        options = ", ".join(f"{k.plural}.{k.group or 'core'}" for k in matches)
        raise UnknownKind(f"{name!r} is ambiguous: {options}")
    return matches[0]
