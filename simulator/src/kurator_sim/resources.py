"""Which resources the simulator serves, and where: the host (Karmada API server) or members.

Built-in types come from a fixed table; custom resources from a table of every kind the five
integrations use (integrations.md 0.1). CRD files, when given, add what only they know:
the schema each write is validated against, printer columns, extra served versions.
Without CRD files every kind is still served, unvalidated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Placement = Literal["host", "member", "both"]

DEFAULT_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    scale_subresource: bool = False
    builtin: bool = False
    """A Kubernetes built-in type (strategic merge patch allowed) rather than a custom resource."""
    placement: Placement = "both"
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    """The CRD's openAPIV3Schema for this version; ``None``: not validated."""
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    storage: bool = True
    """Whether this is the storage (and preferred) version of the kind."""
    verbs: tuple[str, ...] = DEFAULT_VERBS
    extra_subresources: tuple[str, ...] = ()
    """Other subresources, e.g. ``proxy`` on Karmada clusters."""
    # Derived once: every store read and write asks for them (hundreds of times per object).
    key: tuple[str, str] = field(init=False, compare=False, hash=False, repr=False)
    """Version-independent identity: objects of all versions of a kind share one store."""
    api_version: str = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.group, self.plural))
        object.__setattr__(self, "api_version", f"{self.group}/{self.version}" if self.group else self.version)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """``deployments.apps``: the resource as errors name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _b(group: str, version: str, kind: str, plural: str, namespaced: bool, *short: str, **kw: Any) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, tuple(short), builtin=True, **kw)


def _c(group: str, version: str, kind: str, plural: str, namespaced: bool, *short: str, **kw: Any) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, tuple(short), status_subresource=True, **kw)


BUILTIN: tuple[ResourceType, ...] = (
    _b("", "v1", "Namespace", "namespaces", False, "ns", status_subresource=True),
    _b("", "v1", "Node", "nodes", False, "no", status_subresource=True),
    _b("", "v1", "Secret", "secrets", True),
    _b("", "v1", "ConfigMap", "configmaps", True, "cm"),
    _b("", "v1", "Service", "services", True, "svc", status_subresource=True, categories=("all",)),
    _b("", "v1", "Event", "events", True, "ev"),
    _b("", "v1", "Pod", "pods", True, "po", status_subresource=True, categories=("all",)),
    _b("", "v1", "ServiceAccount", "serviceaccounts", True, "sa"),
    _b(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        "deploy",
        status_subresource=True,
        scale_subresource=True,
        categories=("all",),
    ),
    _b("networking.k8s.io", "v1", "Ingress", "ingresses", True, "ing", status_subresource=True),
    _b("coordination.k8s.io", "v1", "Lease", "leases", True),
)

_KARMADA_HOST: Placement = "host"

CUSTOM: tuple[ResourceType, ...] = (
    # Karmada (host only). Cluster is served by karmada-aggregated-apiserver, not a CRD.
    _c(
        "cluster.karmada.io",
        "v1alpha1",
        "Cluster",
        "clusters",
        False,
        placement=_KARMADA_HOST,
        extra_subresources=("proxy",),
    ),
    _c(
        "policy.karmada.io", "v1alpha1", "PropagationPolicy", "propagationpolicies", True, "pp", placement=_KARMADA_HOST
    ),
    _c(
        "policy.karmada.io",
        "v1alpha1",
        "ClusterPropagationPolicy",
        "clusterpropagationpolicies",
        False,
        "cpp",
        placement=_KARMADA_HOST,
    ),
    _c("policy.karmada.io", "v1alpha1", "OverridePolicy", "overridepolicies", True, "op", placement=_KARMADA_HOST),
    _c(
        "policy.karmada.io",
        "v1alpha1",
        "ClusterOverridePolicy",
        "clusteroverridepolicies",
        False,
        "cop",
        placement=_KARMADA_HOST,
    ),
    _c("work.karmada.io", "v1alpha2", "ResourceBinding", "resourcebindings", True, "rb", placement=_KARMADA_HOST),
    _c(
        "work.karmada.io",
        "v1alpha2",
        "ClusterResourceBinding",
        "clusterresourcebindings",
        False,
        "crb",
        placement=_KARMADA_HOST,
    ),
    _c("work.karmada.io", "v1alpha1", "Work", "works", True, placement=_KARMADA_HOST),
    # Velero
    _c("velero.io", "v1", "Backup", "backups", True),
    _c("velero.io", "v1", "Schedule", "schedules", True),
    _c("velero.io", "v1", "Restore", "restores", True),
    _c("velero.io", "v1", "BackupStorageLocation", "backupstoragelocations", True, "bsl"),
    _c("velero.io", "v1", "DeleteBackupRequest", "deletebackuprequests", True),
    _c("velero.io", "v1", "VolumeSnapshotLocation", "volumesnapshotlocations", True, "vsl"),
    # Volcano
    _c("batch.volcano.sh", "v1alpha1", "Job", "jobs", True, "vcjob", "vj"),
    _c("scheduling.volcano.sh", "v1beta1", "Queue", "queues", False, "q"),
    _c("scheduling.volcano.sh", "v1beta1", "PodGroup", "podgroups", True, "pg"),
    # Istio: v1 stored; v1beta1 and v1alpha3 served with the same schema.
    *(
        _c("networking.istio.io", v, kind, plural, True, short, storage=(v == "v1"))
        for kind, plural, short in (
            ("VirtualService", "virtualservices", "vs"),
            ("DestinationRule", "destinationrules", "dr"),
            ("ServiceEntry", "serviceentries", "se"),
            ("Gateway", "gateways", "gw"),
        )
        for v in ("v1", "v1beta1", "v1alpha3")
    ),
    # KubeEdge
    _c("apps.kubeedge.io", "v1alpha1", "NodeGroup", "nodegroups", False, "ng"),
    _c("apps.kubeedge.io", "v1alpha1", "EdgeApplication", "edgeapplications", True, "eapp"),
    _c("operations.kubeedge.io", "v1alpha2", "NodeUpgradeJob", "nodeupgradejobs", False),
    _c("operations.kubeedge.io", "v1alpha2", "ImagePrePullJob", "imageprepulljobs", False),
    # Flux (host only): Kurator's Application writes its sources and delivery units there and
    # Flux's controllers on the host reach members by kubeconfig. No Flux controller is simulated.
    _c("source.toolkit.fluxcd.io", "v1beta2", "GitRepository", "gitrepositories", True, "gitrepo", placement="host"),
    _c("source.toolkit.fluxcd.io", "v1beta2", "HelmRepository", "helmrepositories", True, "helmrepo", placement="host"),
    _c("source.toolkit.fluxcd.io", "v1beta2", "OCIRepository", "ocirepositories", True, "ocirepo", placement="host"),
    _c("kustomize.toolkit.fluxcd.io", "v1beta2", "Kustomization", "kustomizations", True, "ks", placement="host"),
    _c("helm.toolkit.fluxcd.io", "v2beta1", "HelmRelease", "helmreleases", True, "hr", placement="host"),
    # Prometheus Operator
    _c("monitoring.coreos.com", "v1", "Prometheus", "prometheuses", True, "prom"),
    _c("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", True, "smon"),
    _c("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors", True, "pmon"),
    _c("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", True, "promrule"),
)


@dataclass(frozen=True, slots=True)
class CRDVersion:
    """What a CRD file says about one version of a kind (see :func:`from_crd_versions`)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    storage: bool
    status_subresource: bool
    scale_subresource: bool
    schema: dict[str, Any] | None
    printer_columns: tuple[dict[str, Any], ...]


class Registry:
    """Lookup of served resources by URL coordinates or by kind."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self.types: tuple[ResourceType, ...] = tuple(types)
        self._by_path = {(t.group, t.version, t.plural): t for t in self.types}
        self._by_kind = {(t.group, t.version, t.kind): t for t in self.types}
        self._by_key: dict[tuple[str, str], ResourceType] = {}
        for t in self.types:
            if t.storage:
                self._by_key.setdefault(t.key, t)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def by_key(self, key: tuple[str, str]) -> ResourceType:
        """The storage version of a kind."""
        return self._by_key[key]

    def for_placement(self, where: Literal["host", "member"]) -> Registry:
        return Registry(t for t in self.types if t.placement in (where, "both"))

    def groups(self) -> list[tuple[str, list[str]]]:
        """``[(group, [versions, preferred first])]`` in a stable order, core group first."""
        order: dict[str, list[str]] = {}
        preferred: dict[str, str] = {}
        for t in self.types:
            versions = order.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
            if t.storage:
                preferred.setdefault(t.group, t.version)
        out = []
        for group, versions in order.items():
            pref = preferred.get(group, versions[0])
            out.append((group, [pref, *[v for v in versions if v != pref]]))
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]


def with_crds(base: Sequence[ResourceType], crds: Iterable[CRDVersion]) -> list[ResourceType]:
    """``base`` with schemas, columns and versions taken from CRD files where they exist."""
    out = {(t.group, t.version, t.kind): t for t in base}
    placement = {(t.group, t.kind): t.placement for t in base}
    for crd in crds:
        existing = out.get((crd.group, crd.version, crd.kind))
        merged = ResourceType(
            group=crd.group,
            version=crd.version,
            kind=crd.kind,
            plural=crd.plural,
            namespaced=crd.namespaced,
            short_names=crd.short_names,
            categories=crd.categories,
            status_subresource=crd.status_subresource,
            scale_subresource=crd.scale_subresource,
            placement=placement.get((crd.group, crd.kind), "both"),
            schema=crd.schema,
            printer_columns=crd.printer_columns,
            storage=crd.storage,
        )
        if existing is not None:
            merged = replace(merged, extra_subresources=existing.extra_subresources)
        out[(crd.group, crd.version, crd.kind)] = merged
    return list(out.values())


def default_registry(crds: Iterable[CRDVersion] = ()) -> Registry:
    return Registry([*BUILTIN, *with_crds(CUSTOM, crds)])
