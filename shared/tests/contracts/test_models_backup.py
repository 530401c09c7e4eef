"""BackupPolicy, Backup, Restore and Migrate models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import backup

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

POLICY_FILE = "07-backuppolicy-production.yaml"

# kurator-upstream.md 4.2-4.4 (examples/backup/*.yaml upstream).
BACKUP: dict[str, Any] = {
    "apiVersion": "backup.kurator.dev/v1alpha1",
    "kind": "Backup",
    "metadata": {"name": "schedule-with-label", "namespace": "default"},
    "spec": {
        "schedule": "0 0 * * *",
        "destination": {"fleet": "quickstart", "clusters": [{"name": "kurator-member1", "kind": "AttachedCluster"}]},
        "policy": {
            "resourceFilter": {
                "includedNamespaces": ["kurator-backup"],
                "labelSelector": {"matchLabels": {"app": "busybox"}},
            },
            "ttl": "720h",
        },
    },
}
RESTORE: dict[str, Any] = {
    "apiVersion": "backup.kurator.dev/v1alpha1",
    "kind": "Restore",
    "metadata": {"name": "restore-minimal", "namespace": "default"},
    "spec": {
        "backupName": "schedule-with-label",
        "destination": {"fleet": "quickstart"},
        "policy": {"namespaceMapping": {"kurator-backup": "kurator-restore"}, "preserveNodePorts": True},
    },
}
MIGRATE: dict[str, Any] = {
    "apiVersion": "backup.kurator.dev/v1alpha1",
    "kind": "Migrate",
    "metadata": {"name": "migrate-select-labels", "namespace": "default"},
    "spec": {
        "sourceCluster": {"fleet": "quickstart", "clusters": [{"name": "kurator-member1", "kind": "AttachedCluster"}]},
        "targetCluster": {"fleet": "quickstart", "clusters": [{"name": "kurator-member2", "kind": "AttachedCluster"}]},
        "policy": {"resourceFilter": {"includedNamespaces": ["kurator-backup"]}},
    },
}


def test_seed_backup_policy(example: Callable[..., dict[str, Any]]) -> None:
    policy = backup.BackupPolicy.model_validate(example(POLICY_FILE))
    assert policy.spec.schedule == "0 2 * * *"
    assert policy.spec.retention_policy is not None
    assert policy.spec.retention_policy.keep_last == 7
    assert policy.spec.storage_location is not None
    assert policy.spec.storage_location.bucket == "kurator-backups"


@pytest.mark.parametrize("schedule", ["@daily", "@every 6h", "CRON_TZ=Asia/Shanghai 0 2 * * *", "*/30 1-5 * * MON"])
def test_backup_policy_schedules(
    example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]], schedule: str
) -> None:
    backup.BackupPolicy.model_validate(edit(example(POLICY_FILE), ("spec.schedule", schedule)))


def test_backup_policy_other_stores(
    example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]]
) -> None:
    seed = example(POLICY_FILE)
    backup.BackupPolicy.model_validate(
        edit(seed, ("spec.storageLocation", {"provider": "gcp", "bucket": "my_backups"}))
    )
    backup.BackupPolicy.model_validate(
        edit(
            seed,
            (
                "spec.storageLocation",
                {
                    "provider": "huaweicloud",
                    "bucket": "obs-backups",
                    "region": "cn-east-3",
                    "endpoint": "https://obs.cn-east-3.myhuaweicloud.com",
                    "secretName": "obs-credentials",
                },
            ),
        )
    )
    backup.BackupPolicy.model_validate(edit(seed, ("spec.retentionPolicy", {"ttl": "168h"})))
    backup.BackupPolicy.model_validate(edit(seed, ("spec.backupContent.namespaces", ["apps-*"])))


_S = "spec.storageLocation"

POLICY_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no schedule", [("spec.schedule", ...)], [("spec.schedule", "FieldValueRequired")]),
    ("four fields", [("spec.schedule", "0 2 * *")], [("spec.schedule", "FieldValueInvalid")]),
    ("seconds field", [("spec.schedule", "0 0 2 * * *")], [("spec.schedule", "FieldValueInvalid")]),
    ("hour out of range", [("spec.schedule", "0 25 * * *")], [("spec.schedule", "FieldValueInvalid")]),
    ("every in days", [("spec.schedule", "@every 1d")], [("spec.schedule", "FieldValueInvalid")]),
    ("keep none", [("spec.retentionPolicy.keepLast", 0)], [("spec.retentionPolicy.keepLast", "FieldValueInvalid")]),
    ("empty retention", [("spec.retentionPolicy", {})], [("spec.retentionPolicy.keepLast", "FieldValueRequired")]),
    ("ttl in days", [("spec.retentionPolicy.ttl", "30d")], [("spec.retentionPolicy.ttl", "FieldValueInvalid")]),
    ("ttl zero", [("spec.retentionPolicy.ttl", "0s")], [("spec.retentionPolicy.ttl", "FieldValueInvalid")]),
    (
        "namespace name",
        [("spec.backupContent.namespaces", ["Production"])],
        [("spec.backupContent.namespaces[0]", "FieldValueInvalid")],
    ),
    (
        "both selectors",
        [
            ("spec.backupContent.labelSelector", {"matchLabels": {"a": "b"}}),
            ("spec.backupContent.orLabelSelectors", [{"matchLabels": {"c": "d"}}]),
        ],
        [("spec.backupContent.orLabelSelectors", "FieldValueForbidden")],
    ),
    ("provider", [(f"{_S}.provider", "s3")], [(f"{_S}.provider", "FieldValueNotSupported")]),
    ("no provider", [(f"{_S}.provider", ...)], [(f"{_S}.provider", "FieldValueRequired")]),
    ("no bucket", [(f"{_S}.bucket", ...)], [(f"{_S}.bucket", "FieldValueRequired")]),
    ("bucket uppercase", [(f"{_S}.bucket", "Kurator-Backups")], [(f"{_S}.bucket", "FieldValueInvalid")]),
    ("bucket too short", [(f"{_S}.bucket", "kb")], [(f"{_S}.bucket", "FieldValueInvalid")]),
    ("bucket like an IP", [(f"{_S}.bucket", "192.168.1.1")], [(f"{_S}.bucket", "FieldValueInvalid")]),
    ("bucket underscore on aws", [(f"{_S}.bucket", "kurator_backups")], [(f"{_S}.bucket", "FieldValueInvalid")]),
    (
        "azure dots",
        [(f"{_S}.provider", "azure"), (f"{_S}.bucket", "kurator.backups")],
        [(f"{_S}.bucket", "FieldValueInvalid")],
    ),
    ("endpoint", [(f"{_S}.endpoint", "minio:9000")], [(f"{_S}.endpoint", "FieldValueInvalid")]),
    ("name too long", [("metadata.name", "b" * 64)], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in POLICY_BROKEN], ids=[c[0] for c in POLICY_BROKEN])
def test_backup_policy_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(backup.BackupPolicy, example(POLICY_FILE), *edits) == expected


def test_backup_restore_migrate_valid(edit: Callable[..., dict[str, Any]]) -> None:
    model = backup.Backup.model_validate(BACKUP)
    assert model.spec.destination.clusters is not None
    assert model.spec.destination.clusters[0].kind == "AttachedCluster"
    backup.Backup.model_validate(edit(BACKUP, ("spec.schedule", ...)))  # one-time backup
    backup.Restore.model_validate(RESTORE)
    backup.Restore.model_validate(edit(RESTORE, ("spec.destination", ...), ("spec.policy", ...)))
    backup.Migrate.model_validate(MIGRATE)


BACKUP_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no destination", [("spec.destination", ...)], [("spec.destination", "FieldValueRequired")]),
    ("no fleet", [("spec.destination.fleet", ...)], [("spec.destination.fleet", "FieldValueRequired")]),
    ("schedule", [("spec.schedule", "daily")], [("spec.schedule", "FieldValueInvalid")]),
    ("ttl in days", [("spec.policy.ttl", "30d")], [("spec.policy.ttl", "FieldValueInvalid")]),
    (
        "cluster kind",
        [("spec.destination.clusters[0].kind", "CustomCluster")],
        [("spec.destination.clusters[0].kind", "FieldValueNotSupported")],
    ),
    (
        "duplicate cluster",
        [("spec.destination.clusters", [{"name": "a"}, {"name": "a", "kind": "Cluster"}])],
        [("spec.destination.clusters[1].name", "FieldValueDuplicate")],
    ),
    (
        "both selectors",
        [("spec.policy.resourceFilter.orLabelSelectors", [{"matchLabels": {"a": "b"}}])],
        [("spec.policy.resourceFilter.orLabelSelectors", "FieldValueForbidden")],
    ),
    (
        "old and new filters",
        [
            ("spec.policy.resourceFilter.includedResources", ["deployments"]),
            ("spec.policy.resourceFilter.includedClusterScopedResources", ["nodes"]),
        ],
        [("spec.policy.resourceFilter.includedClusterScopedResources", "FieldValueForbidden")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in BACKUP_BROKEN], ids=[c[0] for c in BACKUP_BROKEN])
def test_backup_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(backup.Backup, BACKUP, *edits) == expected


RESTORE_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no backup name", [("spec.backupName", ...)], [("spec.backupName", "FieldValueRequired")]),
    ("empty backup name", [("spec.backupName", "")], [("spec.backupName", "FieldValueRequired")]),
    ("backup name", [("spec.backupName", "Nightly Backup")], [("spec.backupName", "FieldValueInvalid")]),
    (
        "non-restorable resource",
        [("spec.policy.resourceFilter", {"includedResources": ["deployments", "nodes"]})],
        [("spec.policy.resourceFilter.includedResources[1]", "FieldValueForbidden")],
    ),
    (
        "namespace mapping target",
        [("spec.policy.namespaceMapping", {"a": "B"})],
        [("spec.policy.namespaceMapping[a]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in RESTORE_BROKEN], ids=[c[0] for c in RESTORE_BROKEN])
def test_restore_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(backup.Restore, RESTORE, *edits) == expected


MIGRATE_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no source", [("spec.sourceCluster", ...)], [("spec.sourceCluster", "FieldValueRequired")]),
    ("no target", [("spec.targetCluster", ...)], [("spec.targetCluster", "FieldValueRequired")]),
    ("target without fleet", [("spec.targetCluster.fleet", ...)], [("spec.targetCluster.fleet", "FieldValueRequired")]),
    (
        "two sources",
        [("spec.sourceCluster.clusters", [{"name": "a"}, {"name": "b"}])],
        [("spec.sourceCluster.clusters", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in MIGRATE_BROKEN], ids=[c[0] for c in MIGRATE_BROKEN])
def test_migrate_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(backup.Migrate, MIGRATE, *edits) == expected
