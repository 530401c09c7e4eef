"""What the simulated Velero refuses, in Velero's own words.

Velero validates in its controllers, not in admission: a bad Backup, Restore or Schedule is
accepted by the API server and then marked ``FailedValidation`` with ``validationErrors``.
The messages below are copied from ``pkg/controller/backup_controller.go``
(``prepareBackupRequest``), ``restore_controller.go`` (``validateAndComplete``),
``schedule_controller.go`` (``parseCronSchedule``) and ``pkg/util/collections``
(``ValidateIncludesExcludes``). Two checks are the simulator's own and say so in the report:
an unparsable ``ttl`` (a real server cannot even decode such an object) and restoring from a
backup that has not completed.
"""

from __future__ import annotations

from typing import Any

from kurator_sim.controllers import velero_time
from kurator_sim.controllers.velero_items import NON_RESTORABLE

READ_WRITE = "ReadWrite"
READ_ONLY = "ReadOnly"
RESTORABLE_BACKUP_PHASES = ("Completed", "PartiallyFailed")


def not_found(plural: str, name: str) -> str:
    """The text of a Kubernetes NotFound error, as Velero embeds it in its messages."""
    return f'{plural}.velero.io "{name}" not found'


def includes_excludes(includes: list[str] | None, excludes: list[str] | None) -> list[str]:
    """``collections.ValidateIncludesExcludes``."""
    inc, exc = set(includes or []), set(excludes or [])
    errs: list[str] = []
    if len(inc) > 1 and "*" in inc:
        errs.append("includes list must either contain '*' only, or a non-empty list of items")
    if "*" in exc:
        errs.append("excludes list cannot contain '*'")
    errs.extend(
        f"excludes list cannot contain an item in the includes list: {item}" for item in sorted(exc) if item in inc
    )
    return errs


_OLD_FILTERS = ("includedResources", "excludedResources", "includeClusterResources")
_NEW_FILTERS = (
    "includedClusterScopedResources",
    "excludedClusterScopedResources",
    "includedNamespaceScopedResources",
    "excludedNamespaceScopedResources",
)


def _set(spec: dict[str, Any], key: str) -> bool:
    value = spec.get(key)
    return value is not None and value != []


def backup_spec_errors(spec: dict[str, Any]) -> list[str]:
    """Spec-only checks of ``prepareBackupRequest`` (the storage location is checked apart)."""
    errs: list[str] = []
    if any(_set(spec, k) for k in _OLD_FILTERS) and any(_set(spec, k) for k in _NEW_FILTERS):
        errs.append(
            "include-resources, exclude-resources and include-cluster-resources are old filter parameters.\n"
            "include-cluster-scoped-resources, exclude-cluster-scoped-resources, include-namespace-scoped-resources "
            "and exclude-namespace-scoped-resources are new filter parameters.\n"
            "They cannot be used together"
        )
    errs.extend(
        f"Invalid included/excluded resource lists: {e}"
        for e in includes_excludes(spec.get("includedResources"), spec.get("excludedResources"))
    )
    errs.extend(
        f"Invalid cluster-scoped included/excluded resource lists: {e}"
        for e in includes_excludes(
            spec.get("includedClusterScopedResources"), spec.get("excludedClusterScopedResources")
        )
    )
    errs.extend(
        f"Invalid namespace-scoped included/excluded resource lists: {e}"
        for e in includes_excludes(
            spec.get("includedNamespaceScopedResources"), spec.get("excludedNamespaceScopedResources")
        )
    )
    errs.extend(
        f"Invalid included/excluded namespace lists: {e}"
        for e in includes_excludes(spec.get("includedNamespaces"), spec.get("excludedNamespaces"))
    )
    if spec.get("orLabelSelectors") is not None and spec.get("labelSelector") is not None:
        errs.append("encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified")
    ttl = spec.get("ttl")
    if isinstance(ttl, str) and ttl:
        try:
            velero_time.parse_go_duration(ttl)
        except ValueError as exc:
            errs.append(f"invalid ttl {ttl!r}: {exc}")
    return errs


def storage_location_errors(name: str, location: dict[str, Any] | None, *, server_specified: bool) -> list[str]:
    """The storage-location part of ``prepareBackupRequest``."""
    if location is None:
        err = not_found("backupstoragelocations", name)
        if server_specified:
            return [
                "an existing backup storage location wasn't specified at backup creation time and the server "
                f"default '{name}' doesn't exist. Please address this issue (see `velero backup-location -h` for "
                f"options) and create a new backup. Error: {err}"
            ]
        return [
            "an existing backup storage location wasn't specified at backup creation time and the default "
            f"'{name}' wasn't found. Please address this issue (see `velero backup-location -h` for options) and "
            f"create a new backup. Error: {err}"
        ]
    if (location.get("spec") or {}).get("accessMode") == READ_ONLY:
        return [f"backup can't be created because backup storage location {name} is currently in read-only mode"]
    if (location.get("status") or {}).get("phase") != "Available":
        return [f"backup can't be created because BackupStorageLocation {name} is in Unavailable status."]
    return []


def snapshot_location_errors(spec: dict[str, Any], existing: set[str]) -> list[str]:
    if spec.get("snapshotVolumes") is False:
        return []
    return [
        f"a VolumeSnapshotLocation CRD for the location {loc} with the name specified in the backup spec needs "
        f"to be created before this snapshot can be executed. Error: {not_found('volumesnapshotlocations', loc)}"
        for loc in spec.get("volumeSnapshotLocations") or []
        if loc not in existing
    ]


def restore_spec_errors(spec: dict[str, Any]) -> list[str]:
    """The checks of ``validateAndComplete`` before the backup is looked up."""
    errs = [f"{r} are non-restorable resources" for r in NON_RESTORABLE if r in (spec.get("includedResources") or [])]
    errs.extend(
        f"Invalid included/excluded resource lists: {e}"
        for e in includes_excludes(spec.get("includedResources"), spec.get("excludedResources"))
    )
    errs.extend(
        f"Invalid included/excluded namespace lists: {e}"
        for e in includes_excludes(spec.get("includedNamespaces"), spec.get("excludedNamespaces"))
    )
    policy = spec.get("existingResourcePolicy")
    if policy not in (None, "", "none", "update"):
        errs.append(f"Invalid ExistingResourcePolicy: {policy}")
    if spec.get("orLabelSelectors") is not None and spec.get("labelSelector") is not None:
        errs.append("encountered labelSelector as well as orLabelSelectors in restore spec, only one can be specified")
    return errs


BACKUP_XOR_SCHEDULE = "Either a backup or schedule must be specified as a source for the restore, but not both"
NO_BACKUPS_FOR_SCHEDULE = "No backups found for schedule"
NO_COMPLETED_BACKUPS_FOR_SCHEDULE = "No completed backups found for schedule"


def schedule_errors(schedule: str | None) -> tuple[velero_time.CronSchedule | None, list[str]]:
    """``parseCronSchedule``: the parsed schedule, or the validation errors."""
    if not schedule:
        return None, ["Schedule must be a non-empty valid Cron expression"]
    try:
        return velero_time.parse_cron_standard(schedule), []
    except ValueError as exc:
        return None, [f"invalid schedule: {exc}"]
