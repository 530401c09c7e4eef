"""Simulated Velero: one Velero server per member cluster, in its ``velero`` namespace.

What it plays, after Velero's controllers (``pkg/controller``, HEAD ~v1.18):

* **BackupStorageLocation** -> ``Available`` (``Unavailable`` with a message when ``provider``
  or ``objectStorage.bucket`` is missing, or the annotation ``kurator.dev/sim-unavailable:
  "true"`` simulates an unreachable bucket).
* **Backup**: ``New`` -> ``Queued`` (``queuePosition``) -> ``ReadyToStart`` -> ``InProgress``
  -> ``Finalizing`` -> ``Completed``, or ``FailedValidation`` with ``validationErrors``. At
  most ``concurrent_backups`` (default 1) run at a time; the rest wait queued. The controller
  fills the spec as Velero does (``ttl`` 720h0m0s by default, ``storageLocation``, timeouts,
  the ``velero.io/storage-location`` label) and the status (``formatVersion`` 1.1.0,
  ``expiration`` = start + ttl, ``startTimestamp``/``completionTimestamp``,
  ``progress.{totalItems,itemsBackedUp}`` counted from the objects the backup selects in the
  member's store). A backup takes ``backup_seconds + seconds_per_item * items`` of simulated
  time and leaves a snapshot of its objects in the simulated object storage.
* **Schedule**: ``robfig/cron`` validation -> ``Enabled`` or ``FailedValidation``; when due, a
  Backup ``<schedule>-<YYYYMMDDhhmmss>`` from the template with ``velero.io/schedule-name``
  (and an owner reference with ``useOwnerReferencesInBackup``), ``status.lastBackup``; no
  catch-up, no overlap, ``paused`` skips, ``skipImmediately`` records ``lastSkipped``.
* **Restore**: ``New`` -> ``InProgress`` -> ``Finalizing`` -> ``Completed`` (or
  ``PartiallyFailed`` when objects cannot be created), or ``FailedValidation``; exactly one
  of ``backupName``/``scheduleName``; the objects of the backup are re-created (namespace
  mapping, labels ``velero.io/backup-name``/``velero.io/restore-name``, existing ones skipped
  with a warning). One restore runs at a time.
* **DeleteBackupRequest**: ``InProgress`` (Backup ``Deleting``) -> ``Processed``; deletes the
  backup's data, its Restores and the Backup, then every DeleteBackupRequest of that backup
  (as ``backup_deletion_controller.go`` does); refusals are ``Processed`` with ``errors``.
* **GC** every ``gc_interval_seconds`` (Velero: 1h): expired backups get a DeleteBackupRequest
  (``velero.io/gc-failure`` label when their location is missing or read-only).
* **Backup sync** every ``sync_interval_seconds`` (Velero: 1m): backups found in a location's
  object storage but missing as objects are created; ``Completed`` objects whose data is gone
  are deleted. Members whose locations share a bucket and prefix thus share backups.

A member that is down runs nothing until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from kurator_sim import errors
from kurator_sim.controllers import velero_items, velero_time
from kurator_sim.controllers import velero_validation as val
from kurator_sim.controllers.velero_storage import LocationKey, ObjectStorage, StoredBackup, location_key
from kurator_sim.fleet import Fleet, Member
from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import Obj, clone
from kurator_sim.store.watch import Subscription

GROUP = "velero.io"
API_VERSION = "velero.io/v1"
SCHEDULE_NAME_LABEL = "velero.io/schedule-name"
BACKUP_NAME_LABEL = "velero.io/backup-name"
BACKUP_UID_LABEL = "velero.io/backup-uid"
STORAGE_LOCATION_LABEL = "velero.io/storage-location"
GC_FAILURE_LABEL = "velero.io/gc-failure"
UNAVAILABLE_ANNOTATION = "kurator.dev/sim-unavailable"
FORMAT_VERSION = "1.1.0"
DEFAULT_LOCATION = "default"
IN_FLIGHT_PHASES = ("", "New", "Queued", "ReadyToStart", "InProgress")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MAX_IDLE = 60.0
_log = logging.getLogger(__name__)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def valid_label_value(name: str) -> str:
    """``label.GetValidName``: names longer than 63 characters are cut and hashed."""
    if len(name) <= 63:
        return name
    return name[:57] + hashlib.sha256(name.encode()).hexdigest()[:6]


def _meta(obj: Obj) -> dict[str, Any]:
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    return meta


def _status(obj: Obj) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _phase(obj: Obj) -> str:
    return str(_status(obj).get("phase") or "")


def _order(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


class VeleroController:
    """One simulated Velero server per member of ``fleet`` (see the module docstring)."""

    def __init__(
        self,
        *,
        fleet: Fleet,
        namespace: str = "velero",
        backup_seconds: float = 5.0,
        restore_seconds: float = 5.0,
        seconds_per_item: float = 0.01,
        finalize_seconds: float = 1.0,
        deletion_seconds: float = 1.0,
        default_ttl_seconds: float = 720 * 3600.0,
        gc_interval_seconds: float = 3600.0,
        sync_interval_seconds: float = 60.0,
        concurrent_backups: int = 1,
        queued_phases: bool = True,
        storage: ObjectStorage | None = None,
    ) -> None:
        self.fleet = fleet
        self.namespace = namespace
        self.backup_seconds = backup_seconds
        self.restore_seconds = restore_seconds
        self.seconds_per_item = seconds_per_item
        self.finalize_seconds = finalize_seconds
        self.deletion_seconds = deletion_seconds
        self.default_ttl_seconds = default_ttl_seconds
        self.gc_interval_seconds = gc_interval_seconds
        self.sync_interval_seconds = sync_interval_seconds
        self.concurrent_backups = max(1, concurrent_backups)
        self.queued_phases = queued_phases
        self.storage = storage if storage is not None else ObjectStorage()
        """The fleet's buckets: members whose locations share a bucket and prefix share backups."""

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for member in self.fleet.members.values():
                group.create_task(_VeleroServer(self, member).run())


class _VeleroServer:
    """The Velero server of one member cluster."""

    def __init__(self, owner: VeleroController, member: Member) -> None:
        self.owner = owner
        self.member = member
        self.store = member.store
        self.clock = owner.fleet.clock
        self.ns = owner.namespace
        registry = self.store.registry
        self.backups = registry.by_key((GROUP, "backups"))
        self.schedules = registry.by_key((GROUP, "schedules"))
        self.restores = registry.by_key((GROUP, "restores"))
        self.locations = registry.by_key((GROUP, "backupstoragelocations"))
        self.dbrs = registry.by_key((GROUP, "deletebackuprequests"))
        self.snapshot_locations = registry.by_key((GROUP, "volumesnapshotlocations"))
        self.wake = asyncio.Event()
        self.running_backups: set[str] = set()
        self.running_restore: str | None = None
        self.deleting: set[str] = set()
        self.next_gc = self.clock.elapsed() + owner.gc_interval_seconds
        self.next_sync = self.clock.elapsed() + owner.sync_interval_seconds
        self.group: asyncio.TaskGroup | None = None

    # -- loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        rv = str(self.store.resource_version)
        watched = (self.backups, self.schedules, self.restores, self.locations, self.dbrs, self.snapshot_locations)
        subs = [self.store.watch(rt, self.ns, resource_version=rv) for rt in watched]
        self._adopt_completed()
        self._fail_interrupted()
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                for sub in subs:
                    group.create_task(self._pump(sub))
                while True:
                    delay = 1.0 if self.member.faults.down else self._reconcile_safely()
                    await self._wait(delay)
        finally:
            for sub in subs:
                sub.close()

    async def _pump(self, sub: Subscription) -> None:
        async for _ in sub.events():
            self.wake.set()

    async def _wait(self, sim_seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            async with asyncio.timeout(self.clock.real_seconds(max(sim_seconds, 0.0))):
                await self.wake.wait()
        self.wake.clear()

    async def _sleep(self, sim_seconds: float) -> None:
        """Sleep in simulated time; a down member makes no progress."""
        await self.clock.sleep(sim_seconds)
        while self.member.faults.down:
            await self.clock.sleep(1.0)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self.group is not None
        self.group.create_task(coro)

    def _reconcile_safely(self) -> float:
        try:
            return self.reconcile()
        except errors.ApiError:
            return 0.5  # a write raced with another writer; look again shortly
        except Exception:
            _log.exception("velero controller of %s failed a pass", self.member.name)
            return 5.0

    def _adopt_completed(self) -> None:
        """Backups completed before this server started keep their data in object storage."""
        for backup in self._list(self.backups):
            if _phase(backup) not in ("Completed", "PartiallyFailed"):
                continue
            key = self._location_key(str((backup.get("spec") or {}).get("storageLocation") or ""))
            name = _meta(backup)["name"]
            if key is not None and self.owner.storage.get(key, name) is None:
                self.owner.storage.put(key, name, StoredBackup(backup, []))

    def _fail_interrupted(self) -> None:
        """What Velero does at start-up with work a previous server left half done."""
        for rt, kind in ((self.backups, "backup"), (self.restores, "restore")):
            for obj in self._list(rt):
                phase = _phase(obj)
                if phase in ("InProgress", "ReadyToStart", "Finalizing"):
                    reason = f'found a {kind} with status "{phase}" during the server starting, mark it as "Failed"'
                    with contextlib.suppress(errors.ApiError):
                        self._set_status(rt, _meta(obj)["name"], phase="Failed", failureReason=reason)

    def reconcile(self) -> float:
        """One pass over everything; returns the simulated seconds until something is due."""
        now = self.clock.now()
        self._reconcile_locations(now)
        due = [_MAX_IDLE]
        next_schedule = self._reconcile_schedules(now)
        if next_schedule is not None:
            due.append((next_schedule - now).total_seconds())
        self._reconcile_backups(now)
        self._reconcile_restores(now)
        self._reconcile_deletions()
        elapsed = self.clock.elapsed()
        if elapsed >= self.next_gc:
            self.next_gc = elapsed + self.owner.gc_interval_seconds
            self._collect_garbage(now)
        if elapsed >= self.next_sync:
            self.next_sync = elapsed + self.owner.sync_interval_seconds
            self._sync_from_storage()
        due += [self.next_gc - elapsed, self.next_sync - elapsed]
        return max(0.05, min(due))

    # -- store helpers ----------------------------------------------------------------------

    def _list(self, rt: ResourceType) -> list[Obj]:
        return sorted((clone(o) for o in self.store.iter_raw(rt, self.ns)), key=_order)

    def _find(self, rt: ResourceType, name: str) -> Obj | None:
        return self.store.find(rt, self.ns, name)

    def _save(self, rt: ResourceType, obj: Obj) -> Obj:
        """Write spec, metadata and status (two writes where status is a subresource)."""
        name = _meta(obj)["name"]
        wanted = obj.get("status")
        current = self.store.update(rt, self.ns, name, obj)
        if rt.status_subresource and current.get("status") != wanted:
            current["status"] = wanted
            current = self.store.update(rt, self.ns, name, current, subresource="status")
        return current

    def _set_status(self, rt: ResourceType, name: str, **fields: Any) -> Obj | None:
        obj = self._find(rt, name)
        if obj is None:
            return None
        status = dict(_status(obj))
        for key, value in fields.items():
            if value is None:
                status.pop(key, None)
            else:
                status[key] = value
        obj["status"] = status
        return self._save(rt, obj)

    def _create(self, rt: ResourceType, obj: Obj) -> Obj | None:
        status = obj.get("status")
        try:
            created = self.store.create(rt, self.ns, obj)
        except errors.ApiError:
            return None
        if status is not None and created.get("status") != status:
            created["status"] = status
            created = self.store.update(rt, self.ns, _meta(created)["name"], created, subresource="status")
        return created

    def _delete(self, rt: ResourceType, name: str) -> None:
        with contextlib.suppress(errors.ApiError):
            self.store.delete(rt, self.ns, name)

    # -- storage locations --------------------------------------------------------------------

    def _reconcile_locations(self, now: datetime) -> None:
        for bsl in self._list(self.locations):
            name = _meta(bsl)["name"]
            spec = bsl.get("spec") or {}
            problem = ""
            if not spec.get("provider"):
                problem = "spec.provider must not be empty"
            elif not (spec.get("objectStorage") or {}).get("bucket"):
                problem = "spec.objectStorage.bucket must not be empty"
            elif (_meta(bsl).get("annotations") or {}).get(UNAVAILABLE_ANNOTATION) == "true":
                problem = "rpc error: code = Unknown desc = simulated: the bucket cannot be reached"
            phase = "Unavailable" if problem else "Available"
            message = f'BackupStorageLocation "{name}" is unavailable: {problem}' if problem else None
            status = _status(bsl)
            if status.get("phase") != phase or status.get("message") != message:
                self._set_status(
                    self.locations, name, phase=phase, message=message, lastValidationTime=format_time(now)
                )

    def _default_location(self) -> str:
        for bsl in self._list(self.locations):
            if (bsl.get("spec") or {}).get("default"):
                return str(_meta(bsl)["name"])
        return DEFAULT_LOCATION

    def _location_key(self, location_name: str) -> LocationKey | None:
        bsl = self._find(self.locations, location_name)
        return location_key(bsl) if bsl is not None else None

    # -- schedules ------------------------------------------------------------------------------

    def _reconcile_schedules(self, now: datetime) -> datetime | None:
        earliest: datetime | None = None
        for schedule in self._list(self.schedules):
            meta, spec = _meta(schedule), schedule.get("spec") or {}
            if spec.get("paused"):
                continue
            cron, problems = val.schedule_errors(spec.get("schedule"))
            status = _status(schedule)
            if problems:
                if status.get("phase") != "FailedValidation" or status.get("validationErrors") != problems:
                    self._set_status(self.schedules, meta["name"], phase="FailedValidation", validationErrors=problems)
                continue
            assert cron is not None
            if status.get("phase") != "Enabled":
                self._set_status(self.schedules, meta["name"], phase="Enabled", validationErrors=None)
            due = self._schedule_due(schedule, cron, now)
            if due is not None and (earliest is None or due < earliest):
                earliest = due
        return earliest

    def _schedule_due(self, schedule: Obj, cron: velero_time.CronSchedule, now: datetime) -> datetime | None:
        """Submit a backup if the schedule is due; returns when it is next due (None: waits)."""
        meta, spec, status = _meta(schedule), schedule.get("spec") or {}, _status(schedule)
        created = parse_time(meta.get("creationTimestamp")) or now
        last = parse_time(status.get("lastBackup")) or created
        skipped = parse_time(status.get("lastSkipped"))
        if skipped is not None and skipped > last:
            last = skipped
        next_run = cron.next_after(last)
        if not now > next_run:
            return next_run
        if spec.get("skipImmediately"):
            current = self._find(self.schedules, meta["name"])
            if current is not None:
                current.setdefault("spec", {})["skipImmediately"] = False
                current.setdefault("status", {})["lastSkipped"] = format_time(now)
                self._save(self.schedules, current)
            return cron.next_after(now)
        if self._schedule_in_flight(meta["name"]):
            return None  # woken again when that backup moves on
        self._create(self.backups, self._backup_from_schedule(schedule, now))
        self._set_status(self.schedules, meta["name"], lastBackup=format_time(now))
        return cron.next_after(now)

    def _schedule_in_flight(self, schedule: str) -> bool:
        return any(
            (_meta(b).get("labels") or {}).get(SCHEDULE_NAME_LABEL) == schedule and _phase(b) in IN_FLIGHT_PHASES
            for b in self.store.iter_raw(self.backups, self.ns)
        )

    def _backup_from_schedule(self, schedule: Obj, now: datetime) -> Obj:
        """``builder.ForBackup(...).FromSchedule(schedule)`` with ``Schedule.TimestampedName``."""
        meta, spec = _meta(schedule), schedule.get("spec") or {}
        template = clone(spec.get("template") or {})
        labels = dict((template.get("metadata") or {}).get("labels") or meta.get("labels") or {})
        labels[SCHEDULE_NAME_LABEL] = meta["name"]
        backup_meta: dict[str, Any] = {
            "name": f"{meta['name']}-{now.astimezone(UTC).strftime('%Y%m%d%H%M%S')}",
            "namespace": self.ns,
            "labels": labels,
        }
        if meta.get("annotations"):
            backup_meta["annotations"] = dict(meta["annotations"])
        if spec.get("useOwnerReferencesInBackup"):
            backup_meta["ownerReferences"] = [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Schedule",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ]
        return {"apiVersion": API_VERSION, "kind": "Backup", "metadata": backup_meta, "spec": template}

    # -- backups ----------------------------------------------------------------------------------

    def _reconcile_backups(self, now: datetime) -> None:
        backups = self._list(self.backups)
        if self.owner.queued_phases:
            position = max(
                (int(_status(b).get("queuePosition") or 0) for b in backups if _phase(b) == "Queued"), default=0
            )
            for backup in backups:
                if _phase(backup) in ("", "New"):
                    position += 1
                    self._set_status(self.backups, _meta(backup)["name"], phase="Queued", queuePosition=position)
        while len(self.running_backups) < self.owner.concurrent_backups:
            candidate = self._next_backup()
            if candidate is None:
                return
            self._start_backup(candidate, now)

    def _next_backup(self) -> Obj | None:
        backups = self._list(self.backups)
        if self.owner.queued_phases:
            queued = [b for b in backups if _phase(b) == "Queued"]
            queued.sort(key=lambda b: (int(_status(b).get("queuePosition") or 0), _order(b)))
            return queued[0] if queued else None
        fresh = [b for b in backups if _phase(b) in ("", "New")]
        return fresh[0] if fresh else None

    def _start_backup(self, backup: Obj, now: datetime) -> None:
        name = _meta(backup)["name"]
        if self.owner.queued_phases:
            self._set_status(self.backups, name, phase="ReadyToStart", queuePosition=None)
            self._renumber_queue()
        obj = self._find(self.backups, name)
        if obj is None:
            return
        spec = obj.setdefault("spec", {})
        # In prepareBackupRequest's order: location, snapshot locations, then the spec's filters.
        location_name = spec.get("storageLocation") or ""
        server_specified = not location_name
        if server_specified:
            location_name = self._default_location()
        location = self._find(self.locations, location_name)
        problems = val.storage_location_errors(location_name, location, server_specified=server_specified)
        existing_vsl = {_meta(v)["name"] for v in self._list(self.snapshot_locations)}
        problems += val.snapshot_location_errors(spec, existing_vsl)
        problems += val.backup_spec_errors(spec)
        ttl = self._ttl_seconds(spec)
        # Velero patches the whole Backup: defaults in the spec, a label, annotations.
        if not ttl_is_set(spec):
            spec["ttl"] = velero_time.format_go_duration(ttl)
        spec["storageLocation"] = location_name
        spec.setdefault("csiSnapshotTimeout", "10m0s")
        spec.setdefault("itemOperationTimeout", "4h0m0s")
        spec.setdefault("defaultVolumesToFsBackup", False)
        meta = _meta(obj)
        meta.setdefault("labels", {})[STORAGE_LOCATION_LABEL] = valid_label_value(location_name)
        annotations = meta.setdefault("annotations", {})
        version = self.member.spec.kubernetes_version
        major, _, minor = version.removeprefix("v").partition(".")
        annotations["velero.io/source-cluster-k8s-gitversion"] = version
        annotations["velero.io/source-cluster-k8s-major-version"] = major
        annotations["velero.io/source-cluster-k8s-minor-version"] = minor.partition(".")[0]
        annotations.setdefault("velero.io/resource-timeout", "10m0s")
        status = dict(_status(obj))
        status.update(version=1, formatVersion=FORMAT_VERSION, expiration=format_time(now + timedelta(seconds=ttl)))
        if problems:
            status.update(phase="FailedValidation", validationErrors=problems)
            obj["status"] = status
            self._save(self.backups, obj)
            return
        items = velero_items.collect(self.store, spec)
        status.update(
            phase="InProgress",
            startTimestamp=format_time(now),
            progress={"totalItems": len(items), "itemsBackedUp": 0},
        )
        obj["status"] = status
        saved = self._save(self.backups, obj)
        assert location is not None
        self.running_backups.add(name)
        self._spawn(self._run_backup(name, _meta(saved)["uid"], items, location_key(location)))

    def _ttl_seconds(self, spec: dict[str, Any]) -> float:
        ttl = spec.get("ttl")
        if isinstance(ttl, str) and ttl:
            with contextlib.suppress(ValueError):
                seconds = velero_time.parse_go_duration(ttl)
                if seconds > 0:
                    return seconds
        return self.owner.default_ttl_seconds

    def _renumber_queue(self) -> None:
        queued = [b for b in self._list(self.backups) if _phase(b) == "Queued"]
        queued.sort(key=lambda b: (int(_status(b).get("queuePosition") or 0), _order(b)))
        for position, backup in enumerate(queued, start=1):
            if _status(backup).get("queuePosition") != position:
                self._set_status(self.backups, _meta(backup)["name"], queuePosition=position)

    async def _run_backup(self, name: str, uid: str, items: list[velero_items.Item], key: LocationKey) -> None:
        try:
            total = len(items)
            duration = self.owner.backup_seconds + self.owner.seconds_per_item * total
            steps = max(1, min(5, total))
            for step in range(1, steps):
                await self._sleep(duration / steps)
                obj = self._current(self.backups, name, uid, "InProgress")
                if obj is None:
                    return
                progress = {"totalItems": total, "itemsBackedUp": total * step // steps}
                self._set_status(self.backups, name, progress=progress)
            await self._sleep(duration / steps)
            obj = self._current(self.backups, name, uid, "InProgress")
            if obj is None:
                return
            self._set_status(
                self.backups, name, phase="Finalizing", progress={"totalItems": total, "itemsBackedUp": total}
            )
            await self._sleep(self.owner.finalize_seconds)
            if self._current(self.backups, name, uid, "Finalizing") is None:
                return
            done = self._set_status(
                self.backups, name, phase="Completed", completionTimestamp=format_time(self.clock.now())
            )
            if done is not None:
                # Uploaded once complete, in the same step as the phase change: backup sync and
                # orphan detection never see a half-written backup.
                self.owner.storage.put(key, name, StoredBackup(done, items))
        except errors.ApiError:
            return
        finally:
            self.running_backups.discard(name)
            self.wake.set()

    def _current(self, rt: ResourceType, name: str, uid: str, phase: str) -> Obj | None:
        obj = self._find(rt, name)
        if obj is None or _meta(obj).get("uid") != uid or _phase(obj) != phase:
            return None
        return obj

    # -- restores -----------------------------------------------------------------------------------

    def _reconcile_restores(self, now: datetime) -> None:
        for restore in self._list(self.restores):
            if self.running_restore is not None:
                return
            if _phase(restore) in ("", "New"):
                self._start_restore(restore, now)

    def _start_restore(self, restore: Obj, now: datetime) -> None:
        name = _meta(restore)["name"]
        spec = restore.setdefault("spec", {})
        problems = val.restore_spec_errors(spec)
        excluded = list(spec.get("excludedResources") or [])
        excluded += [r for r in velero_items.NON_RESTORABLE if r not in excluded]
        spec["excludedResources"] = excluded
        backup = None
        backup_name, schedule_name = spec.get("backupName") or "", spec.get("scheduleName") or ""
        if bool(backup_name) == bool(schedule_name):
            problems.append(val.BACKUP_XOR_SCHEDULE)
        else:
            if schedule_name:
                backup_name = self._latest_completed(schedule_name, problems)
                if backup_name:
                    spec["backupName"] = backup_name
            if backup_name:
                backup = self._restore_source(backup_name, problems)
                if backup is not None and not schedule_name:
                    label = (_meta(backup).get("labels") or {}).get(SCHEDULE_NAME_LABEL)
                    if label:
                        spec["scheduleName"] = label
        status = dict(_status(restore))
        if problems or backup is None:
            status.update(phase="FailedValidation", validationErrors=problems)
            restore["status"] = status
            self._save(self.restores, restore)
            return
        key = location_key(self._find(self.locations, (backup.get("spec") or {}).get("storageLocation", "")) or {})
        stored = self.owner.storage.get(key, backup_name)
        items = velero_items.restorable(stored.items if stored else [], spec)
        status.update(
            phase="InProgress", startTimestamp=format_time(now), progress={"totalItems": len(items), "itemsRestored": 0}
        )
        restore["status"] = status
        saved = self._save(self.restores, restore)
        self.running_restore = name
        self._spawn(self._run_restore(name, _meta(saved)["uid"], backup_name, spec, items))

    def _latest_completed(self, schedule: str, problems: list[str]) -> str:
        backups = [
            b for b in self._list(self.backups) if (_meta(b).get("labels") or {}).get(SCHEDULE_NAME_LABEL) == schedule
        ]
        if not backups:
            problems.append(val.NO_BACKUPS_FOR_SCHEDULE)
        completed = [b for b in backups if _phase(b) == "Completed"]
        completed.sort(key=lambda b: str(_status(b).get("startTimestamp") or ""), reverse=True)
        if not completed:
            problems.append(val.NO_COMPLETED_BACKUPS_FOR_SCHEDULE)
            return ""
        return str(_meta(completed[0])["name"])

    def _restore_source(self, backup_name: str, problems: list[str]) -> Obj | None:
        backup = self._find(self.backups, backup_name)
        if backup is None:
            problems.append(f"Error retrieving backup: {val.not_found('backups', backup_name)}")
            return None
        location_name = str((backup.get("spec") or {}).get("storageLocation") or "")
        location = self._find(self.locations, location_name)
        if location is None:
            problems.append(f"Error retrieving backup: {val.not_found('backupstoragelocations', location_name)}")
            return None
        if _phase(location) != "Available":
            problems.append(f"The BSL {location_name} is unavailable, cannot retrieve the backup")
            return None
        phase = _phase(backup)
        if phase not in val.RESTORABLE_BACKUP_PHASES:
            problems.append(
                f"backup {backup_name} is in phase {phase or 'New'}: only Completed or PartiallyFailed backups "
                "can be restored"
            )
            return None
        return backup

    async def _run_restore(
        self, name: str, uid: str, backup: str, spec: dict[str, Any], items: list[velero_items.Item]
    ) -> None:
        try:
            total = len(items)
            duration = self.owner.restore_seconds + self.owner.seconds_per_item * total
            steps = max(1, min(5, total))
            chunks = [items[i * total // steps : (i + 1) * total // steps] for i in range(steps)]
            mapping = dict(spec.get("namespaceMapping") or {})
            warnings = failures = restored = 0
            for chunk in chunks:
                await self._sleep(duration / steps)
                if self._current(self.restores, name, uid, "InProgress") is None:
                    return
                for item in chunk:
                    outcome = self._restore_item(item, mapping, backup, name)
                    warnings += outcome == "exists"
                    failures += outcome == "failed"
                    restored += 1
                self._set_status(self.restores, name, progress={"totalItems": total, "itemsRestored": restored})
            self._set_status(
                self.restores, name, phase="Finalizing", warnings=warnings or None, errors=failures or None
            )
            await self._sleep(self.owner.finalize_seconds)
            if self._current(self.restores, name, uid, "Finalizing") is None:
                return
            self._set_status(
                self.restores,
                name,
                phase="PartiallyFailed" if failures else "Completed",
                completionTimestamp=format_time(self.clock.now()),
            )
        except errors.ApiError:
            return
        finally:
            self.running_restore = None
            self.wake.set()

    def _restore_item(self, item: velero_items.Item, mapping: dict[str, str], backup: str, restore: str) -> str:
        obj = velero_items.prepared_for_restore(item, namespace_mapping=mapping, backup=backup, restore=restore)
        try:
            rt = self.store.registry.by_key((item.group, item.plural))
        except KeyError:
            return "failed"
        meta = _meta(obj)
        namespace = meta.get("namespace") if rt.namespaced else None
        if namespace:
            self.store.ensure_namespace(namespace)
        if self.store.find(rt, namespace, meta["name"]) is not None:
            return "exists"
        try:
            self.store.create(rt, namespace, obj)
        except errors.ApiError:
            return "failed"
        return "created"

    # -- deletion -------------------------------------------------------------------------------------

    def _reconcile_deletions(self) -> None:
        for request in self._list(self.dbrs):
            if _phase(request) in ("", "New"):
                self._process_deletion(request)

    def _process_deletion(self, request: Obj) -> None:
        name = _meta(request)["name"]
        backup_name = str((request.get("spec") or {}).get("backupName") or "")
        if not backup_name:
            self._set_status(self.dbrs, name, phase="Processed", errors=["spec.backupName is required"])
            return
        for other in self._requests_for(backup_name):
            if _meta(other)["name"] != name:
                self._delete(self.dbrs, _meta(other)["name"])
        if backup_name in self.running_backups:
            self._set_status(self.dbrs, name, phase="Processed", errors=["backup is still in progress"])
            return
        backup = self._find(self.backups, backup_name)
        if backup is None:
            self._set_status(self.dbrs, name, phase="Processed", errors=["backup not found"])
            return
        location_name = str((backup.get("spec") or {}).get("storageLocation") or "")
        location = self._find(self.locations, location_name)
        if location is None:
            problem = f"backup storage location {location_name} not found"
            self._set_status(self.dbrs, name, phase="Processed", errors=[problem])
            return
        if (location.get("spec") or {}).get("accessMode") == val.READ_ONLY:
            problem = (
                f"cannot delete backup because backup storage location {location_name} is currently in read-only mode"
            )
            self._set_status(self.dbrs, name, phase="Processed", errors=[problem])
            return
        current = self._find(self.dbrs, name)
        if current is None:
            return
        labels = _meta(current).setdefault("labels", {})
        labels.setdefault(BACKUP_NAME_LABEL, valid_label_value(backup_name))
        labels.setdefault(BACKUP_UID_LABEL, _meta(backup)["uid"])
        current["status"] = {**_status(current), "phase": "InProgress"}
        self._save(self.dbrs, current)
        self._set_status(self.backups, backup_name, phase="Deleting")
        self.deleting.add(backup_name)
        self._spawn(self._run_deletion(name, backup_name, _meta(backup)["uid"], location_key(location)))

    def _requests_for(self, backup_name: str) -> list[Obj]:
        value = valid_label_value(backup_name)
        return [r for r in self._list(self.dbrs) if (_meta(r).get("labels") or {}).get(BACKUP_NAME_LABEL) == value]

    async def _run_deletion(self, request: str, backup: str, uid: str, key: LocationKey) -> None:
        try:
            await self._sleep(self.owner.deletion_seconds)
            self.owner.storage.delete(key, backup)
            for restore in self._list(self.restores):
                if (restore.get("spec") or {}).get("backupName") == backup:
                    self._delete(self.restores, _meta(restore)["name"])
            current = self._find(self.backups, backup)
            if current is not None and _meta(current).get("uid") == uid:
                self._delete(self.backups, backup)
            self._set_status(self.dbrs, request, phase="Processed", errors=None)
            for other in self._requests_for(backup):
                if (_meta(other).get("labels") or {}).get(BACKUP_UID_LABEL) == uid:
                    self._delete(self.dbrs, _meta(other)["name"])
        except errors.ApiError:
            return
        finally:
            self.deleting.discard(backup)
            self.wake.set()

    # -- garbage collection and sync -------------------------------------------------------------

    def _collect_garbage(self, now: datetime) -> None:
        for backup in self._list(self.backups):
            expiration = parse_time(_status(backup).get("expiration"))
            if expiration is None or expiration > now:
                continue
            meta = _meta(backup)
            location_name = str((backup.get("spec") or {}).get("storageLocation") or "")
            location = self._find(self.locations, location_name)
            failure = None
            if location is None:
                failure = "BSLNotFound"
            elif (location.get("spec") or {}).get("accessMode") == val.READ_ONLY:
                failure = "BSLReadOnly"
            labels = meta.setdefault("labels", {})
            if labels.get(GC_FAILURE_LABEL) != failure:
                if failure is None:
                    labels.pop(GC_FAILURE_LABEL, None)
                else:
                    labels[GC_FAILURE_LABEL] = failure
                self._save(self.backups, backup)
            if failure is not None:
                continue
            pending = [
                r
                for r in self._requests_for(meta["name"])
                if (_meta(r).get("labels") or {}).get(BACKUP_UID_LABEL) == meta["uid"]
                and _phase(r) in ("", "New", "InProgress")
            ]
            if not pending:
                self._create(self.dbrs, self._deletion_request(meta["name"], meta["uid"]))

    def _deletion_request(self, backup: str, uid: str) -> Obj:
        """``pkgbackup.NewDeleteBackupRequest``."""
        return {
            "apiVersion": API_VERSION,
            "kind": "DeleteBackupRequest",
            "metadata": {
                "generateName": f"{backup}-",
                "namespace": self.ns,
                "labels": {BACKUP_NAME_LABEL: valid_label_value(backup), BACKUP_UID_LABEL: uid},
            },
            "spec": {"backupName": backup},
        }

    def _sync_from_storage(self) -> None:
        for location in self._list(self.locations):
            if _phase(location) != "Available":
                continue
            location_name = _meta(location)["name"]
            stored = self.owner.storage.backups(location_key(location))
            for name, copy in stored.items():
                if name in self.deleting or self._find(self.backups, name) is not None:
                    continue
                self._create(self.backups, self._synced_backup(copy.backup, location_name))
            label = valid_label_value(location_name)
            for backup in self._list(self.backups):
                labels = _meta(backup).get("labels") or {}
                orphan = _meta(backup)["name"] not in stored
                if labels.get(STORAGE_LOCATION_LABEL) == label and _phase(backup) == "Completed" and orphan:
                    self._delete(self.backups, _meta(backup)["name"])

    def _synced_backup(self, uploaded: Obj, location_name: str) -> Obj:
        source = _meta(clone(uploaded))
        labels = dict(source.get("labels") or {})
        labels[STORAGE_LOCATION_LABEL] = valid_label_value(location_name)
        spec = clone(uploaded.get("spec") or {})
        spec["storageLocation"] = location_name
        meta: dict[str, Any] = {"name": source["name"], "namespace": self.ns, "labels": labels}
        if source.get("annotations"):
            meta["annotations"] = dict(source["annotations"])
        return {
            "apiVersion": API_VERSION,
            "kind": "Backup",
            "metadata": meta,
            "spec": spec,
            "status": clone(_status(uploaded)),
        }


def ttl_is_set(spec: dict[str, Any]) -> bool:
    """Whether a backup spec names a usable, non-zero ``ttl`` (else Velero fills the default)."""
    ttl = spec.get("ttl")
    if not isinstance(ttl, str) or not ttl:
        return False
    try:
        return velero_time.parse_go_duration(ttl) > 0
    except ValueError:
        return True  # kept as written; the validation error names it
