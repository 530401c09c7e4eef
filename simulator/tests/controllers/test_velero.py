"""The simulated Velero, driven through a member's store with a fast clock."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers.velero import VeleroController, parse_time
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import ObjectStore
from shared.testing.eventually import eventually

NS = "velero"
Obj = dict[str, Any]


@pytest.fixture
def fleet() -> Fleet:
    return Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))


async def _start(controller: VeleroController) -> AsyncIterator[VeleroController]:
    task = asyncio.create_task(controller.run())
    try:
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def velero(fleet: Fleet) -> AsyncIterator[VeleroController]:
    controller = VeleroController(
        fleet=fleet,
        backup_seconds=2.0,
        restore_seconds=2.0,
        finalize_seconds=0.5,
        deletion_seconds=0.5,
        gc_interval_seconds=5.0,
        sync_interval_seconds=3600.0,
    )
    async for running in _start(controller):
        yield running


def _store(fleet: Fleet, cluster: str = "cluster-beijing") -> ObjectStore:
    return fleet.member(cluster).store


def _rt(store: ObjectStore, plural: str, group: str = "velero.io") -> resources.ResourceType:
    return store.registry.by_key((group, plural))


def create(store: ObjectStore, plural: str, name: str, spec: dict[str, Any], **meta: Any) -> Obj:
    rt = _rt(store, plural)
    body = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name, **meta}, "spec": spec}
    return store.create(rt, NS, body)


def get(store: ObjectStore, plural: str, name: str) -> Obj | None:
    return store.find(_rt(store, plural), NS, name)


def location(store: ObjectStore, name: str = "default", **extra: Any) -> Obj:
    spec = {"provider": "aws", "default": True, "objectStorage": {"bucket": "velero-backups", "prefix": "beijing"}}
    return create(store, "backupstoragelocations", name, spec, **extra)


def configmap(store: ObjectStore, namespace: str, name: str, **labels: str) -> None:
    store.ensure_namespace(namespace)
    rt = store.registry.by_key(("", "configmaps"))
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": name}}
    store.create(rt, namespace, body)


async def phase_of(store: ObjectStore, plural: str, name: str, *phases: str, within: float = 10.0) -> Obj:
    async def probe() -> Obj | None:
        obj = get(store, plural, name)
        assert obj is not None, f"{plural}/{name} does not exist"
        phase = (obj.get("status") or {}).get("phase")
        assert phase in phases, f"{plural}/{name} is {phase!r}, waiting for {phases}: {obj.get('status')}"
        return obj

    return await eventually(probe, timeout_seconds=within, message=f"{plural}/{name} reaching {phases}")


class Recorder:
    """Every phase an object of one kind went through, in order."""

    def __init__(self, store: ObjectStore, plural: str) -> None:
        self.sub = store.watch(_rt(store, plural), NS)
        self.phases: dict[str, list[str]] = {}
        self.positions: dict[str, list[int]] = {}
        self.task = asyncio.create_task(self._collect())
        self.in_progress_at_once = 0
        self._in_progress: set[str] = set()

    async def _collect(self) -> None:
        async for event in self.sub.events():
            name = event.object["metadata"]["name"]
            phase = (event.object.get("status") or {}).get("phase") or ""
            seen = self.phases.setdefault(name, [])
            if not seen or seen[-1] != phase:
                seen.append(phase)
            position = (event.object.get("status") or {}).get("queuePosition")
            positions = self.positions.setdefault(name, [])
            if position and (not positions or positions[-1] != position):
                positions.append(position)
            if phase == "InProgress":
                self._in_progress.add(name)
            else:
                self._in_progress.discard(name)
            self.in_progress_at_once = max(self.in_progress_at_once, len(self._in_progress))

    async def close(self) -> None:
        """Stop watching once every event delivered so far has been recorded."""
        self.sub.close()
        await asyncio.wait_for(self.task, timeout=5)


# --- backups -----------------------------------------------------------------------------------


async def test_backup_runs_through_velero_phases_and_counts_its_items(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    await phase_of(store, "backupstoragelocations", "default", "Available")
    configmap(store, "shop", "a", app="shop")
    configmap(store, "shop", "b", app="shop")
    configmap(store, "other", "c")
    recorder = Recorder(store, "backups")
    create(store, "backups", "shop-1", {"includedNamespaces": ["shop"]})

    done = await phase_of(store, "backups", "shop-1", "Completed")
    await recorder.close()

    assert recorder.phases["shop-1"] == ["", "Queued", "ReadyToStart", "InProgress", "Finalizing", "Completed"]
    status = done["status"]
    assert status["formatVersion"] == "1.1.0"
    assert status["version"] == 1
    assert status["progress"] == {"totalItems": 3, "itemsBackedUp": 3}  # the namespace and its two ConfigMaps
    started, completed = parse_time(status["startTimestamp"]), parse_time(status["completionTimestamp"])
    expiration = parse_time(status["expiration"])
    assert started
    assert completed
    assert expiration
    assert completed >= started + timedelta(seconds=2)
    assert abs((expiration - started) - timedelta(hours=720)) < timedelta(seconds=2)
    spec = done["spec"]
    assert spec["ttl"] == "720h0m0s"
    assert spec["storageLocation"] == "default"
    assert done["metadata"]["labels"]["velero.io/storage-location"] == "default"
    assert "validationErrors" not in status


async def test_label_selector_narrows_the_items(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    configmap(store, "shop", "a", app="shop")
    configmap(store, "shop", "b", app="other")
    create(
        store,
        "backups",
        "only-shop",
        {"includedNamespaces": ["shop"], "labelSelector": {"matchLabels": {"app": "shop"}}},
    )
    done = await phase_of(store, "backups", "only-shop", "Completed")
    assert done["status"]["progress"]["totalItems"] == 2  # the namespace object is always taken


async def test_backups_run_one_at_a_time_and_wait_queued(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    recorder = Recorder(store, "backups")
    for name in ("first", "second", "third"):
        create(store, "backups", name, {"includedNamespaces": ["default"]})

    for name in ("first", "second", "third"):
        await phase_of(store, "backups", name, "Completed")
    await recorder.close()
    assert recorder.in_progress_at_once == 1
    for name in ("first", "second", "third"):
        assert recorder.phases[name] == ["", "Queued", "ReadyToStart", "InProgress", "Finalizing", "Completed"]
    assert recorder.positions["first"] == [1]
    assert recorder.positions["second"] == [2, 1]  # moved up when the first started
    assert recorder.positions["third"] == [3, 2, 1]


async def test_backup_without_a_storage_location_fails_validation(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    create(store, "backups", "nowhere", {})
    failed = await phase_of(store, "backups", "nowhere", "FailedValidation")
    (message,) = failed["status"]["validationErrors"]
    assert message == (
        "an existing backup storage location wasn't specified at backup creation time and the server default "
        "'default' doesn't exist. Please address this issue (see `velero backup-location -h` for options) and "
        'create a new backup. Error: backupstoragelocations.velero.io "default" not found'
    )
    assert "expiration" in failed["status"]


async def test_backup_to_an_unavailable_location_fails_validation(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store, "flaky", annotations={"kurator.dev/sim-unavailable": "true"})
    bsl = await phase_of(store, "backupstoragelocations", "flaky", "Unavailable")
    assert bsl["status"]["message"].startswith('BackupStorageLocation "flaky" is unavailable:')
    create(store, "backups", "b", {"storageLocation": "flaky"})
    failed = await phase_of(store, "backups", "b", "FailedValidation")
    assert failed["status"]["validationErrors"] == [
        "backup can't be created because BackupStorageLocation flaky is in Unavailable status."
    ]


async def test_location_without_bucket_is_unavailable(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    create(store, "backupstoragelocations", "nobucket", {"provider": "aws", "objectStorage": {}})
    bsl = await phase_of(store, "backupstoragelocations", "nobucket", "Unavailable")
    assert "bucket" in bsl["status"]["message"]


async def test_backup_spec_errors_are_reported_together(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    spec = {
        "labelSelector": {"matchLabels": {"a": "b"}},
        "orLabelSelectors": [{"matchLabels": {"c": "d"}}],
        "excludedNamespaces": ["*"],
        "ttl": "3d",
    }
    create(store, "backups", "bad", spec)
    failed = await phase_of(store, "backups", "bad", "FailedValidation")
    assert failed["status"]["validationErrors"] == [
        "Invalid included/excluded namespace lists: excludes list cannot contain '*'",
        "encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified",
        'invalid ttl \'3d\': time: unknown unit "d" in duration "3d"',
    ]


# --- schedules and garbage collection --------------------------------------------------------------


async def test_schedule_creates_timestamped_backups_and_expired_ones_are_collected(
    fleet: Fleet, velero: VeleroController
) -> None:
    store = _store(fleet)
    location(store)
    template = {"includedNamespaces": ["default"], "ttl": "1m"}
    create(store, "schedules", "every-30s", {"schedule": "@every 30s", "template": template}, labels={"team": "a"})
    await phase_of(store, "schedules", "every-30s", "Enabled")

    def scheduled() -> list[Obj]:
        rt = _rt(store, "backups")
        return store.list(rt, NS, label_selector="velero.io/schedule-name=every-30s").items

    async def two_backups() -> list[Obj]:
        items = scheduled()
        assert len(items) >= 2, [b["metadata"]["name"] for b in items]
        return items

    backups = await eventually(two_backups, timeout_seconds=10)
    first = sorted(backups, key=lambda b: b["metadata"]["name"])[0]
    name = first["metadata"]["name"]
    assert re.fullmatch(r"every-30s-\d{14}", name)
    assert first["metadata"]["labels"]["team"] == "a"  # the Schedule's own labels
    assert first["spec"]["ttl"] == "1m"
    schedule = get(store, "schedules", "every-30s")
    assert schedule is not None
    assert parse_time(schedule["status"]["lastBackup"]) is not None
    stamp = datetime.strptime(name.rsplit("-", 1)[1], "%Y%m%d%H%M%S")
    created = parse_time(first["metadata"]["creationTimestamp"])
    assert created is not None
    assert abs(created.replace(tzinfo=None) - stamp) <= timedelta(seconds=1)

    async def collected() -> bool:
        assert get(store, "backups", name) is None, f"{name} still exists"
        return True

    await eventually(collected, timeout_seconds=15, message="the expired backup being garbage-collected")
    assert scheduled(), "newer backups of the schedule are kept"


async def test_invalid_cron_fails_validation_with_robfig_messages(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    cases = {
        "too-few": ("* * *", "invalid schedule: expected exactly 5 fields, found 3: [* * *]"),
        "out-of-range": ("61 * * * *", "invalid schedule: end of range (61) above maximum (59): 61"),
        "descriptor": ("@fortnightly", "invalid schedule: unrecognized descriptor: @fortnightly"),
        "empty": ("", "Schedule must be a non-empty valid Cron expression"),
    }
    for name, (cron, _) in cases.items():
        create(store, "schedules", name, {"schedule": cron, "template": {}})
    for name, (_, message) in cases.items():
        failed = await phase_of(store, "schedules", name, "FailedValidation")
        assert failed["status"]["validationErrors"] == [message]


async def test_paused_schedule_does_nothing(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    create(store, "schedules", "paused", {"schedule": "@every 1s", "paused": True, "template": {}})
    create(store, "schedules", "running", {"schedule": "@every 1s", "template": {}})
    await phase_of(store, "schedules", "running", "Enabled")

    async def running_made_one() -> bool:
        items = store.list(_rt(store, "backups"), NS, label_selector="velero.io/schedule-name=running").items
        assert items
        return True

    await eventually(running_made_one, timeout_seconds=5)
    paused = get(store, "schedules", "paused")
    assert paused is not None
    assert "status" not in paused
    assert not store.list(_rt(store, "backups"), NS, label_selector="velero.io/schedule-name=paused").items


async def test_owner_references_let_backups_go_with_their_schedule(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    create(store, "schedules", "owned", {"schedule": "@every 5s", "useOwnerReferencesInBackup": True, "template": {}})

    async def one() -> Obj:
        items = store.list(_rt(store, "backups"), NS, label_selector="velero.io/schedule-name=owned").items
        assert items
        return items[0]

    backup = await eventually(one, timeout_seconds=5)
    schedule = get(store, "schedules", "owned")
    assert schedule is not None
    (ref,) = backup["metadata"]["ownerReferences"]
    assert ref == {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "name": "owned",
        "uid": schedule["metadata"]["uid"],
        "controller": True,
    }
    store.delete(_rt(store, "schedules"), NS, "owned")
    assert get(store, "backups", backup["metadata"]["name"]) is None


# --- restores --------------------------------------------------------------------------------------


async def _completed_backup(store: ObjectStore, name: str, namespace: str) -> Obj:
    location(store)
    create(store, "backups", name, {"includedNamespaces": [namespace]})
    return await phase_of(store, "backups", name, "Completed")


async def test_restore_puts_deleted_objects_back(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    configmap(store, "shop", "settings", app="shop")
    await _completed_backup(store, "shop-backup", "shop")
    cm = store.registry.by_key(("", "configmaps"))
    store.delete(cm, "shop", "settings")
    recorder = Recorder(store, "restores")
    create(store, "restores", "r1", {"backupName": "shop-backup"})
    create(store, "restores", "r2", {"backupName": "shop-backup", "namespaceMapping": {"shop": "shop-copy"}})

    done = await phase_of(store, "restores", "r1", "Completed")
    await phase_of(store, "restores", "r2", "Completed")
    await recorder.close()
    assert recorder.phases["r1"] == ["", "InProgress", "Finalizing", "Completed"]
    assert done["status"]["progress"] == {"totalItems": 2, "itemsRestored": 2}
    assert done["status"]["warnings"] == 1  # the namespace existed already
    assert "nodes" in done["spec"]["excludedResources"]
    restored = store.get(cm, "shop", "settings")
    assert restored["data"] == {"k": "settings"}
    assert restored["metadata"]["labels"]["velero.io/restore-name"] == "r1"
    assert restored["metadata"]["labels"]["velero.io/backup-name"] == "shop-backup"
    copy = store.get(cm, "shop-copy", "settings")
    assert copy["metadata"]["labels"]["velero.io/restore-name"] == "r2"


async def test_restore_from_schedule_picks_latest_completed_backup(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    create(store, "schedules", "nightly", {"schedule": "@every 10s", "template": {"includedNamespaces": ["default"]}})

    async def completed() -> Obj:
        items = store.list(_rt(store, "backups"), NS, label_selector="velero.io/schedule-name=nightly").items
        done = [b for b in items if (b.get("status") or {}).get("phase") == "Completed"]
        assert done
        return done[0]

    backup = await eventually(completed, timeout_seconds=10)
    create(store, "restores", "from-schedule", {"scheduleName": "nightly"})
    restore = await phase_of(store, "restores", "from-schedule", "Completed", "InProgress", "Finalizing")
    assert restore["spec"]["backupName"].startswith("nightly-")
    assert restore["spec"]["backupName"] >= backup["metadata"]["name"]


async def test_restore_validation_errors(fleet: Fleet, velero: VeleroController) -> None:
    store = _store(fleet)
    location(store)
    create(store, "backups", "pending", {"storageLocation": "missing"})
    create(store, "restores", "both", {"backupName": "x", "scheduleName": "y"})
    create(store, "restores", "neither", {})
    create(store, "restores", "no-backup", {"backupName": "nope"})
    create(store, "restores", "no-schedule-backups", {"scheduleName": "never"})
    create(store, "restores", "bad-policy", {"backupName": "nope", "existingResourcePolicy": "overwrite"})
    xor = "Either a backup or schedule must be specified as a source for the restore, but not both"
    expected = {
        "both": [xor],
        "neither": [xor],
        "no-backup": ['Error retrieving backup: backups.velero.io "nope" not found'],
        "no-schedule-backups": ["No backups found for schedule", "No completed backups found for schedule"],
        "bad-policy": [
            "Invalid ExistingResourcePolicy: overwrite",
            'Error retrieving backup: backups.velero.io "nope" not found',
        ],
    }
    for name, errors in expected.items():
        failed = await phase_of(store, "restores", name, "FailedValidation")
        assert failed["status"]["validationErrors"] == errors, name
    await phase_of(store, "backups", "pending", "FailedValidation")
    create(store, "restores", "missing-location", {"backupName": "pending"})
    failed = await phase_of(store, "restores", "missing-location", "FailedValidation")
    assert failed["status"]["validationErrors"] == [
        'Error retrieving backup: backupstoragelocations.velero.io "missing" not found'
    ]
    both = {"labelSelector": {}, "orLabelSelectors": []}
    create(store, "backups", "invalid", both)
    await phase_of(store, "backups", "invalid", "FailedValidation")
    create(store, "restores", "from-failed", {"backupName": "invalid"})
    failed = await phase_of(store, "restores", "from-failed", "FailedValidation")
    assert "only Completed or PartiallyFailed backups can be restored" in failed["status"]["validationErrors"][0]


# --- deletion and sync ------------------------------------------------------------------------------


async def test_delete_backup_request_removes_backup_restores_and_requests(
    fleet: Fleet, velero: VeleroController
) -> None:
    store = _store(fleet)
    backup = await _completed_backup(store, "to-delete", "default")
    create(store, "restores", "r", {"backupName": "to-delete"})
    await phase_of(store, "restores", "r", "Completed")
    recorder = Recorder(store, "backups")
    labels = {"velero.io/backup-name": "to-delete", "velero.io/backup-uid": backup["metadata"]["uid"]}
    create(store, "deletebackuprequests", "to-delete-abcde", {"backupName": "to-delete"}, labels=labels)

    async def gone() -> bool:
        assert get(store, "backups", "to-delete") is None
        assert get(store, "restores", "r") is None
        assert get(store, "deletebackuprequests", "to-delete-abcde") is None
        return True

    await eventually(gone, timeout_seconds=10)
    await recorder.close()
    assert recorder.phases["to-delete"][-1] == "Deleting"
    assert velero.storage.backups(("aws", "velero-backups", "beijing")) == {}


async def test_delete_backup_request_for_missing_backup_is_processed_with_error(
    fleet: Fleet, velero: VeleroController
) -> None:
    store = _store(fleet)
    create(store, "deletebackuprequests", "ghost", {"backupName": "ghost"})
    done = await phase_of(store, "deletebackuprequests", "ghost", "Processed")
    assert done["status"]["errors"] == ["backup not found"]


async def test_members_sharing_a_bucket_see_each_others_backups(fleet: Fleet) -> None:
    controller = VeleroController(fleet=fleet, backup_seconds=1.0, finalize_seconds=0.2, sync_interval_seconds=2.0)
    async for _ in _start(controller):
        beijing, shanghai = _store(fleet), _store(fleet, "cluster-shanghai")
        location(beijing)
        location(shanghai)
        configmap(beijing, "shop", "settings")
        create(beijing, "backups", "migrate", {"includedNamespaces": ["shop"]})
        await phase_of(beijing, "backups", "migrate", "Completed")
        synced = await phase_of(shanghai, "backups", "migrate", "Completed")
        assert synced["metadata"]["labels"]["velero.io/storage-location"] == "default"
        create(shanghai, "restores", "migrate", {"backupName": "migrate"})
        await phase_of(shanghai, "restores", "migrate", "Completed")
        cm = shanghai.registry.by_key(("", "configmaps"))
        assert shanghai.get(cm, "shop", "settings")["data"] == {"k": "settings"}


async def test_down_member_makes_no_progress(fleet: Fleet, velero: VeleroController) -> None:
    down, up = _store(fleet), _store(fleet, "cluster-shanghai")
    for store in (down, up):
        location(store)
        await phase_of(store, "backupstoragelocations", "default", "Available")
    fleet.member("cluster-beijing").faults.down = True
    create(down, "backups", "while-down", {})
    create(up, "backups", "meanwhile", {})
    await phase_of(up, "backups", "meanwhile", "Completed")
    assert (get(down, "backups", "while-down") or {}).get("status") is None
    fleet.member("cluster-beijing").faults.down = False
    await phase_of(down, "backups", "while-down", "Completed")


async def test_restarted_server_fails_interrupted_backups(fleet: Fleet) -> None:
    store = _store(fleet)
    location(store)
    slow = VeleroController(fleet=fleet, backup_seconds=3600.0)
    async for _ in _start(slow):
        create(store, "backups", "interrupted", {})
        await phase_of(store, "backups", "interrupted", "InProgress")
    async for _ in _start(slow):  # the manager runs a crashed controller again
        failed = await phase_of(store, "backups", "interrupted", "Failed")
    assert failed["status"]["failureReason"] == (
        'found a backup with status "InProgress" during the server starting, mark it as "Failed"'
    )
