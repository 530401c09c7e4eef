"""The simulated object storage behind Velero's backup storage locations.

Velero treats object storage as the source of truth: a backup is a tarball (plus its
``velero-backup.json``) under ``<bucket>/<prefix>/backups/<name>/``, and any cluster whose
BackupStorageLocation points at the same bucket and prefix sees it (the backup-sync controller
creates the Backup objects there). Here a bucket is a dictionary shared by the whole fleet,
keyed by ``(provider, bucket, prefix)``; a stored backup keeps the Backup object as uploaded
and the snapshot of the items it took, which is what restores put back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kurator_sim.controllers.velero_items import Item
from kurator_sim.store.objects import Obj

LocationKey = tuple[str, str, str]


@dataclass
class StoredBackup:
    backup: Obj
    """The Backup object as uploaded (``velero-backup.json``)."""
    items: list[Item] = field(default_factory=list)


def location_key(location: dict[str, Any]) -> LocationKey:
    """Where a BackupStorageLocation keeps its backups."""
    spec = location.get("spec") or {}
    storage = spec.get("objectStorage") or {}
    provider = str(spec.get("provider") or "")
    # "aws" and "velero.io/aws" name the same plugin.
    provider = provider.removeprefix("velero.io/")
    return (provider, str(storage.get("bucket") or ""), str(storage.get("prefix") or "").strip("/"))


class ObjectStorage:
    """Every bucket of the simulated world."""

    def __init__(self) -> None:
        self._buckets: dict[LocationKey, dict[str, StoredBackup]] = {}

    def put(self, key: LocationKey, name: str, stored: StoredBackup) -> None:
        self._buckets.setdefault(key, {})[name] = stored

    def get(self, key: LocationKey, name: str) -> StoredBackup | None:
        return self._buckets.get(key, {}).get(name)

    def delete(self, key: LocationKey, name: str) -> None:
        self._buckets.get(key, {}).pop(name, None)

    def backups(self, key: LocationKey) -> dict[str, StoredBackup]:
        return dict(self._buckets.get(key, {}))
