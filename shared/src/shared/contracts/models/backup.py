"""Kurator backup kinds the backup service owns: ``BackupPolicy``, ``Backup``, ``Restore``, ``Migrate``.

``BackupPolicy`` is the seed's kind (schedule, keep-last-N retention, content, storage
location); upstream Kurator has none, and Velero has no keep-last-N (integrations.md 1.3), so
the backup service prunes. ``Backup``/``Restore``/``Migrate`` follow upstream Kurator
(kurator-upstream.md 4.1-4.4). Velero reads schedules as 5-field cron and durations as Go
durations; both are checked here so a user learns at once rather than from a
``FailedValidation`` phase in every member cluster.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final, Literal

from pydantic import Field, model_validator

from shared.contracts import durations, validation
from shared.contracts.meta import KubeObject, WireModel
from shared.contracts.models import common

# Velero refuses to restore these (restore_controller.go nonRestorableResources).
_NON_RESTORABLE: Final = frozenset(
    {
        "nodes",
        "events",
        "events.events.k8s.io",
        "backups.velero.io",
        "restores.velero.io",
        "resticrepositories.velero.io",
        "csinodes.storage.k8s.io",
        "volumeattachments.storage.k8s.io",
        "backuprepositories.velero.io",
    }
)

Provider = Literal["aws", "huaweicloud", "gcp", "azure"]
"""The object stores upstream Kurator's backup plugin knows (S3-compatible ones use ``aws``)."""


def bucket_error(provider: Provider, bucket: str) -> str | None:
    """Why ``bucket`` is not a valid bucket (container) name for ``provider``, or ``None``."""
    if provider == "azure":
        ok = re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", bucket) is not None
        return None if ok else "an Azure container name has 3-63 lowercase letters, digits and single hyphens"
    chars = r"[a-z0-9._-]" if provider == "gcp" else r"[a-z0-9.-]"
    if not re.fullmatch(rf"[a-z0-9]{chars}{{1,61}}[a-z0-9]", bucket) or ".." in bucket:
        allowed = "lowercase letters, digits, '.', '-'" + (" and '_'" if provider == "gcp" else "")
        return f"a bucket name has 3-63 characters ({allowed}), starting and ending with a letter or digit"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        return None
    return "a bucket name must not look like an IP address"


def _check_selectors(problems: validation.Problems, label_selector: object, or_label_selectors: object) -> None:
    if label_selector is not None and or_label_selectors is not None:
        problems.add("orLabelSelectors", "labelSelector and orLabelSelectors cannot co-exist", "FieldValueForbidden")


# --- BackupPolicy (the seed's kind) --------------------------------------------------------


class RetentionPolicy(WireModel):
    keep_last: int | None = Field(default=None, ge=1)
    """Keep this many completed backups per cluster; older ones are deleted."""
    ttl: common.GoDuration | None = None
    """Velero TTL of each backup (Go duration: ``720h``, not ``30d``)."""

    @model_validator(mode="after")
    def _check(self) -> RetentionPolicy:
        problems = validation.Problems()
        if self.keep_last is None and self.ttl is None:
            problems.add("keepLast", "set keepLast, ttl or both", "FieldValueRequired")
        if self.ttl is not None and durations.go_duration_nanoseconds(self.ttl) == 0:
            # Velero reads a ttl of 0 as "use the server default", not "keep forever".
            problems.add("ttl", "must be greater than 0 (Velero reads 0 as its 30-day default)")
        problems.raise_if_any()
        return self


class BackupContent(WireModel):
    namespaces: list[str] | None = None
    excluded_namespaces: list[str] | None = None
    included_resources: list[str] | None = None
    excluded_resources: list[str] | None = None
    include_cluster_resources: bool | None = None
    label_selector: common.LabelSelector | None = None
    or_label_selectors: list[common.LabelSelector] | None = None

    @model_validator(mode="after")
    def _check(self) -> BackupContent:
        problems = validation.Problems()
        for i, namespace in enumerate(self.namespaces or ()):
            if namespace != "*" and not any(c in namespace for c in "*?["):
                common.check_dns_label(problems, f"namespaces[{i}]", namespace, what="namespace")
        _check_selectors(problems, self.label_selector, self.or_label_selectors)
        problems.raise_if_any()
        return self


class StorageLocation(WireModel):
    provider: Provider
    bucket: common.RequiredStr
    prefix: str | None = None
    region: str | None = None
    endpoint: str | None = None
    """For S3-compatible stores (MinIO, OBS): the ``s3Url``."""
    config: dict[str, str] | None = None
    secret_name: str | None = None
    """A Secret holding ``access-key`` and ``secret-key``."""

    @model_validator(mode="after")
    def _check(self) -> StorageLocation:
        problems = validation.Problems()
        err = bucket_error(self.provider, self.bucket)
        if err:
            problems.add("bucket", f"invalid bucket {self.bucket!r}: {err}")
        if self.endpoint is not None and not re.match(r"^https?://[^\s/]+", self.endpoint):
            problems.add("endpoint", f"invalid endpoint {self.endpoint!r}: must be an http:// or https:// URL")
        common.check_dns_subdomain(problems, "secretName", self.secret_name, what="Secret name")
        problems.raise_if_any()
        return self


class ClusterRef(WireModel):
    name: common.RequiredStr
    kind: Literal["Cluster", "AttachedCluster"] = "Cluster"


class Destination(WireModel):
    """Which clusters: a fleet, optionally narrowed to some of its members."""

    fleet: common.RequiredStr
    clusters: list[ClusterRef] | None = None

    @model_validator(mode="after")
    def _check(self) -> Destination:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "fleet", self.fleet, what="fleet name")
        common.check_unique(
            problems,
            ((f"clusters[{i}].name", (c.kind, c.name)) for i, c in enumerate(self.clusters or ())),
            what="cluster (kind, name)",
        )
        problems.raise_if_any()
        return self


class BackupPolicySpec(WireModel):
    schedule: common.CronSchedule
    retention_policy: RetentionPolicy | None = None
    backup_content: BackupContent | None = None
    storage_location: StorageLocation | None = None
    """Where backups go; without it, the fleet's backup plugin location."""
    destination: Destination | None = None
    """Which clusters to back up; without it, every cluster of the namespace's fleet."""


class BackupPolicy(KubeObject):
    # Names appear in Velero object names and in the label kurator.dev/backup-name.
    NAME_MAX_LENGTH = 63

    spec: BackupPolicySpec


# --- upstream Backup / Restore / Migrate ---------------------------------------------------


class ResourceFilter(WireModel):
    included_namespaces: list[str] | None = None
    excluded_namespaces: list[str] | None = None
    included_resources: list[str] | None = None
    excluded_resources: list[str] | None = None
    include_cluster_resources: bool | None = None
    included_cluster_scoped_resources: list[str] | None = None
    excluded_cluster_scoped_resources: list[str] | None = None
    included_namespace_scoped_resources: list[str] | None = None
    excluded_namespace_scoped_resources: list[str] | None = None
    label_selector: common.LabelSelector | None = None
    or_label_selectors: list[common.LabelSelector] | None = None

    @model_validator(mode="after")
    def _check(self) -> ResourceFilter:
        problems = validation.Problems()
        _check_selectors(problems, self.label_selector, self.or_label_selectors)
        # Velero refuses to mix the old resource filters with the new scoped ones.
        old = {
            "includedResources": self.included_resources,
            "excludedResources": self.excluded_resources,
            "includeClusterResources": self.include_cluster_resources,
        }
        new = {
            "includedClusterScopedResources": self.included_cluster_scoped_resources,
            "excludedClusterScopedResources": self.excluded_cluster_scoped_resources,
            "includedNamespaceScopedResources": self.included_namespace_scoped_resources,
            "excludedNamespaceScopedResources": self.excluded_namespace_scoped_resources,
        }
        old_set = [name for name, value in old.items() if value is not None]
        new_set = [name for name, value in new.items() if value is not None]
        if old_set and new_set:
            problems.add(
                new_set[0],
                f"the old filter {old_set[0]} cannot be mixed with the new filter {new_set[0]}",
                "FieldValueForbidden",
            )
        problems.raise_if_any()
        return self


class BackupSettings(WireModel):
    """``Backup.spec.policy`` (upstream's Go type is ``BackupPolicy``, a name our kind uses)."""

    resource_filter: ResourceFilter | None = None
    ttl: common.GoDuration | None = None
    ordered_resources: dict[str, str] | None = None


class BackupSpec(WireModel):
    schedule: common.CronSchedule | None = None
    """5-field cron; absent means a one-time backup."""
    destination: Destination
    policy: BackupSettings | None = None


class Backup(KubeObject):
    NAME_MAX_LENGTH = 63
    spec: BackupSpec


class PreserveStatus(WireModel):
    included_resources: list[str] | None = None
    excluded_resources: list[str] | None = None


class RestoreSettings(WireModel):
    resource_filter: ResourceFilter | None = None
    namespace_mapping: dict[str, str] | None = None
    preserve_status: PreserveStatus | None = None
    preserve_node_ports: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> RestoreSettings:
        problems = validation.Problems()
        included = self.resource_filter.included_resources if self.resource_filter else None
        for i, resource in enumerate(included or ()):
            if resource.lower() in _NON_RESTORABLE:
                problems.add(
                    f"resourceFilter.includedResources[{i}]", f"{resource} cannot be restored", "FieldValueForbidden"
                )
        for source, target in (self.namespace_mapping or {}).items():
            common.check_dns_label(problems, f"namespaceMapping[{source}]", target, what="namespace")
        problems.raise_if_any()
        return self


class RestoreSpec(WireModel):
    backup_name: common.RequiredStr
    """A Kurator ``Backup`` in the same namespace."""
    destination: Destination | None = None
    """Same fleet as the backup, and a subset of its clusters; absent means all of them."""
    policy: RestoreSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> RestoreSpec:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "backupName", self.backup_name, what="backup name")
        problems.raise_if_any()
        return self


class Restore(KubeObject):
    NAME_MAX_LENGTH = 63
    spec: RestoreSpec


class MigrateSettings(RestoreSettings):
    ordered_resources: dict[str, str] | None = None
    migrate_status: PreserveStatus | None = None


class MigrateSpec(WireModel):
    source_cluster: Destination
    target_cluster: Destination
    policy: MigrateSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> MigrateSpec:
        problems = validation.Problems()
        # Upstream needs exactly one source cluster but never checks; we do when it is listed.
        if self.source_cluster.clusters is not None and len(self.source_cluster.clusters) != 1:
            problems.add("sourceCluster.clusters", "a migration has exactly one source cluster")
        problems.raise_if_any()
        return self


class Migrate(KubeObject):
    NAME_MAX_LENGTH = 63
    spec: MigrateSpec
