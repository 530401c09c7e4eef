"""The simulated Volcano: gang admission against node capacity, driven through member stores."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_sim import errors, resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers.volcano import VolcanoController
from kurator_sim.fleet import Fleet
from kurator_sim.store.objects import ObjectStore
from shared.testing.eventually import eventually

Obj = dict[str, Any]
SEED_JOB = Path(__file__).resolve().parents[3] / "examples" / "04-volcano-job-tensorflow.yaml"
JOBS = ("batch.volcano.sh", "jobs")
QUEUES = ("scheduling.volcano.sh", "queues")
PODGROUPS = ("scheduling.volcano.sh", "podgroups")


@pytest.fixture
def fleet() -> Fleet:
    return Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))


@pytest.fixture
async def volcano(fleet: Fleet) -> AsyncIterator[VolcanoController]:
    controller = VolcanoController(fleet=fleet, run_seconds=3600.0, start_seconds=1.0)
    task = asyncio.create_task(controller.run())
    try:
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def store_of(fleet: Fleet, cluster: str) -> ObjectStore:
    return fleet.member(cluster).store


def seed_job(**annotations: str) -> Obj:
    job: Obj = yaml.safe_load(SEED_JOB.read_text())
    if annotations:
        job["metadata"]["annotations"] = annotations
    return job


def gpu_job(name: str, *, workers: int, gpus: int, **annotations: str) -> Obj:
    container = {
        "name": "train",
        "image": "train:1",
        "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": str(gpus)}},
    }
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "minAvailable": workers,
            "tasks": [
                {
                    "name": "worker",
                    "replicas": workers,
                    "template": {"spec": {"containers": [container], "nodeSelector": {"node-type": "gpu"}}},
                }
            ],
        },
    }


def submit(store: ObjectStore, job: Obj, namespace: str = "default") -> Obj:
    return store.create(store.registry.by_key(JOBS), namespace, job)


def podgroup_of(store: ObjectStore, job: Obj) -> Obj | None:
    meta = job["metadata"]
    return store.find(store.registry.by_key(PODGROUPS), meta["namespace"], f"{meta['name']}-{meta['uid']}")


def job_phase(store: ObjectStore, job: Obj) -> str:
    current = store.find(store.registry.by_key(JOBS), job["metadata"]["namespace"], job["metadata"]["name"])
    assert current is not None
    return str(((current.get("status") or {}).get("state") or {}).get("phase") or "")


async def wait_job(store: ObjectStore, job: Obj, phase: str, within: float = 10.0) -> Obj:
    async def probe() -> Obj:
        current = store.find(store.registry.by_key(JOBS), job["metadata"]["namespace"], job["metadata"]["name"])
        assert current is not None
        have = ((current.get("status") or {}).get("state") or {}).get("phase")
        assert have == phase, f"job is {have!r}: {current.get('status')}"
        return current

    return await eventually(probe, timeout_seconds=within, message=f"job reaching {phase}")


async def wait_podgroup(store: ObjectStore, job: Obj, phase: str, message_part: str = "") -> Obj:
    async def probe() -> Obj:
        podgroup = podgroup_of(store, job)
        assert podgroup is not None, "no podgroup yet"
        status = podgroup.get("status") or {}
        assert status.get("phase") == phase, status
        if message_part:
            messages = [c.get("message", "") for c in status.get("conditions") or [] if c["type"] == "Unschedulable"]
            assert any(message_part in m for m in messages), messages
        return podgroup

    return await eventually(probe, timeout_seconds=10, message=f"podgroup reaching {phase} {message_part!r}")


def add_gpu_node(store: ObjectStore, name: str, gpus: int = 4) -> None:
    rt = store.registry.by_key(("", "nodes"))
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "110", "nvidia.com/gpu": str(gpus)}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"node-type": "gpu", "kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity},
    }
    created = store.create(rt, None, node)
    created["status"] = node["status"]
    store.update(rt, None, name, created, subresource="status")


# --- admission ----------------------------------------------------------------------------------


def test_every_member_has_an_open_default_queue(fleet: Fleet) -> None:
    VolcanoController(fleet=fleet)
    for member in fleet.members.values():
        queue = member.store.get(member.store.registry.by_key(QUEUES), None, "default")
        assert queue["spec"] == {"weight": 1, "reclaimable": True}
        assert queue["status"]["state"] == "Open"


async def test_seed_job_is_admitted_on_the_gpu_cluster(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    job = submit(store, seed_job(**{"kurator.dev/sim-duration": "20s"}))
    assert job["spec"]["queue"] == "default"  # the mutating webhook's defaults
    assert [t["minAvailable"] for t in job["spec"]["tasks"]] == [1, 2]

    podgroup = await wait_podgroup(store, job, "Running")
    assert podgroup["spec"]["minMember"] == 3
    assert podgroup["spec"]["minTaskMember"] == {"ps": 1, "worker": 2}
    assert podgroup["spec"]["queue"] == "default"
    min_resources = podgroup["spec"]["minResources"]
    assert min_resources["cpu"] == "5"  # 1 + 2 x 2, requests defaulted from limits
    assert min_resources["memory"] == "20Gi"
    assert min_resources["pods"] == "3"
    assert min_resources["limits.cpu"] == "5"
    (owner,) = podgroup["metadata"]["ownerReferences"]
    assert owner["kind"] == "Job"
    assert owner["uid"] == job["metadata"]["uid"]
    assert owner["controller"] is True
    assert any(c["type"] == "Scheduled" for c in podgroup["status"]["conditions"])

    running = await wait_job(store, job, "Running")
    status = running["status"]
    assert status["minAvailable"] == 3
    assert status["running"] == 3
    assert status["taskStatusCount"] == {"ps": {"phase": {"Running": 1}}, "worker": {"phase": {"Running": 2}}}
    placements = volcano.placements("cluster-guangzhou")["default/tensorflow-training"]
    gpu_nodes = {"cluster-guangzhou-node-2", "cluster-guangzhou-node-3"}
    assert {placements["tensorflow-training-worker-0"], placements["tensorflow-training-worker-1"]} <= gpu_nodes

    done = await wait_job(store, job, "Completed")
    assert done["status"]["succeeded"] == 3
    assert "running" not in done["status"]
    assert [c["status"] for c in done["status"]["conditions"]] == ["Pending", "Running", "Completed"]
    finished = podgroup_of(store, job)
    assert finished is not None
    assert finished["status"]["phase"] == "Completed"
    assert volcano.placements("cluster-guangzhou") == {}


async def test_seed_job_waits_on_a_cluster_without_gpu_nodes_until_one_appears(
    fleet: Fleet, volcano: VolcanoController
) -> None:
    store = store_of(fleet, "cluster-beijing")
    job = submit(store, seed_job())
    podgroup = await wait_podgroup(store, job, "Inqueue", "Origin reason is")
    (condition,) = [c for c in podgroup["status"]["conditions"] if c["type"] == "Unschedulable"]
    assert condition["reason"] == "NotEnoughResources"
    assert condition["status"] == "True"
    assert condition["message"] == (
        "3/3 tasks in gang unschedulable: pod group is not ready, 3 Pending, 3 minAvailable; "
        "Pending: 1 Schedulable, 1 Undetermined, 1 Unschedulable. "
        "Origin reason is tensorflow-training-worker-0: 0/3 nodes are unavailable: "
        "3 node(s) didn't match Pod's node affinity/selector. "
        "Shortfall: no schedulable node matches the pod's node selector/affinity: nodes with node-type=gpu."
    )
    assert job_phase(store, job) == "Pending"

    add_gpu_node(store, "beijing-gpu-0")
    await wait_job(store, job, "Running")
    placements = volcano.placements("cluster-beijing")["default/tensorflow-training"]
    assert placements["tensorflow-training-worker-0"] == "beijing-gpu-0"
    assert placements["tensorflow-training-worker-1"] == "beijing-gpu-0"


async def test_gang_larger_than_the_cluster_is_not_enqueued(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    job = submit(store, gpu_job("huge", workers=3, gpus=4))
    podgroup = await wait_podgroup(store, job, "Pending", "3/0 tasks in gang unschedulable")
    (condition,) = [c for c in podgroup["status"]["conditions"] if c["type"] == "Unschedulable"]
    assert condition["message"] == (
        "3/0 tasks in gang unschedulable: pod group is not ready, 3 minAvailable. "
        "insufficient nvidia.com/gpu: need 4 more in the cluster"
    )
    assert job_phase(store, job) == "Pending"


async def test_waiting_gang_runs_when_another_finishes(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    first = submit(store, gpu_job("first", workers=2, gpus=4, **{"kurator.dev/sim-duration": "2m"}))
    await wait_job(store, first, "Running")
    second = submit(store, gpu_job("second", workers=1, gpus=2))
    await wait_podgroup(store, second, "Pending", "need 2 more in the cluster")
    await wait_job(store, first, "Completed")
    await wait_job(store, second, "Running")


async def test_fragmentation_across_nodes(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    first = submit(store, gpu_job("three", workers=1, gpus=3))
    await wait_job(store, first, "Running")
    second = submit(store, gpu_job("pair", workers=2, gpus=3))  # 6 needed, 5 free: 1 on one node, 4 on the other
    await wait_podgroup(store, second, "Pending", "need 1 more in the cluster")
    third = submit(store, gpu_job("big-one", workers=1, gpus=4))
    await wait_job(store, third, "Running")
    fourth = submit(store, gpu_job("two", workers=2, gpus=1))  # 2 GPUs needed, 1 free on one node only
    podgroup = await wait_podgroup(store, fourth, "Pending", "need 1 more")
    assert podgroup is not None


async def test_single_node_fragmentation_message(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    first = submit(store, gpu_job("three", workers=1, gpus=3))
    await wait_job(store, first, "Running")
    # 5 GPUs are free in total (1 + 4) but no single node has 5.
    second = submit(store, gpu_job("five", workers=1, gpus=5))
    podgroup = await wait_podgroup(store, second, "Inqueue", "Origin reason is five-worker-0")
    (condition,) = [c for c in podgroup["status"]["conditions"] if c["type"] == "Unschedulable"]
    assert (
        "0/4 nodes are unavailable: 2 Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node"
        in (condition["message"])
    )
    assert (
        "Shortfall: insufficient nvidia.com/gpu on any single one of the nodes with node-type=gpu: a pod of task "
        "worker needs 5, the most free on one node is 4."
    ) in condition["message"]


async def test_deleting_a_job_deletes_its_podgroup_and_frees_capacity(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    first = submit(store, gpu_job("hog", workers=2, gpus=4))
    await wait_job(store, first, "Running")
    waiting = submit(store, gpu_job("waiting", workers=1, gpus=4))
    await wait_podgroup(store, waiting, "Pending", "need 4 more")
    store.delete(store.registry.by_key(JOBS), "default", "hog")
    assert podgroup_of(store, first) is None
    await wait_job(store, waiting, "Running")


async def test_deployments_take_node_capacity(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    rt = store.registry.by_key(("apps", "deployments"))
    container = {"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "4"}}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "inference"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "inference"}},
            "template": {"metadata": {"labels": {"app": "inference"}}, "spec": {"containers": [container]}},
        },
    }
    store.create(rt, "default", deployment)
    job = submit(store, gpu_job("starved", workers=1, gpus=1))
    await wait_podgroup(store, job, "Pending", "insufficient nvidia.com/gpu: need 1 more in the cluster")
    store.delete(rt, "default", "inference")
    await wait_job(store, job, "Running")


async def test_queue_capability_limits_admission(fleet: Fleet, volcano: VolcanoController) -> None:
    store = store_of(fleet, "cluster-guangzhou")
    queues = store.registry.by_key(QUEUES)
    store.create(queues, None, {"metadata": {"name": "small"}, "spec": {"capability": {"nvidia.com/gpu": "2"}}})

    async def opened() -> bool:
        assert (store.get(queues, None, "small").get("status") or {}).get("state") == "Open"
        return True

    await eventually(opened, timeout_seconds=5)
    job = gpu_job("capped", workers=1, gpus=3)
    job["spec"]["queue"] = "small"
    created = submit(store, job)
    await wait_podgroup(store, created, "Pending", "within the capability of queue small")


# --- webhooks --------------------------------------------------------------------------------------


def _denied(store: ObjectStore, job: Obj) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as info:
        submit(store, job)
    assert info.value.code == 400
    return info.value


def test_webhook_rejects_jobs_for_missing_or_closed_queues(fleet: Fleet) -> None:
    VolcanoController(fleet=fleet)
    store = store_of(fleet, "cluster-guangzhou")
    job = seed_job()
    job["spec"]["queue"] = "nope"
    assert _denied(store, job).message == (
        'admission webhook "validatejob.volcano.sh" denied the request: '
        'unable to find job queue: queues.scheduling.volcano.sh "nope" not found'
    )
    queues = store.registry.by_key(QUEUES)
    closed = store.create(queues, None, {"metadata": {"name": "closed"}, "spec": {}})
    closed["status"] = {"state": "Closed"}
    store.update(queues, None, "closed", closed, subresource="status")
    job["spec"]["queue"] = "closed"
    assert _denied(store, job).message == (
        'admission webhook "validatejob.volcano.sh" denied the request: '
        "can only submit job to queue with state `Open`, queue `closed` status is `Closed`"
    )


def test_webhook_rejects_malformed_jobs(fleet: Fleet) -> None:
    VolcanoController(fleet=fleet)
    store = store_of(fleet, "cluster-guangzhou")
    prefix = 'admission webhook "validatejob.volcano.sh" denied the request: '

    duplicate = seed_job()
    duplicate["spec"]["tasks"][1]["name"] = "ps"
    assert _denied(store, duplicate).message == prefix + "duplicated task name ps;"

    too_many = seed_job()
    too_many["spec"]["minAvailable"] = 5
    assert _denied(store, too_many).message == (
        prefix + "job 'minAvailable' should not be greater than total replicas in tasks;"
    )

    no_tasks = seed_job()
    no_tasks["spec"]["tasks"] = []
    assert _denied(store, no_tasks).message == prefix + "No task specified in job spec"

    plugin = seed_job()
    plugin["spec"]["plugins"] = {"horovod": []}
    assert _denied(store, plugin).message == prefix + "unable to find job plugin: horovod"

    task_min = seed_job()
    task_min["spec"]["tasks"][0]["minAvailable"] = 2
    assert _denied(store, task_min).message == (
        prefix + "'minAvailable' is greater than 'replicas' in task: ps, job: tensorflow-training"
    )


def test_webhook_limits_job_updates(fleet: Fleet) -> None:
    VolcanoController(fleet=fleet)
    store = store_of(fleet, "cluster-guangzhou")
    rt = store.registry.by_key(JOBS)
    job = submit(store, seed_job())
    job["spec"]["tasks"][1]["replicas"] = 3
    job = store.update(rt, "default", "tensorflow-training", job)  # replicas may change
    job["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["image"] = "tensorflow/tensorflow:2.9.0"
    with pytest.raises(errors.ApiError) as info:
        store.update(rt, "default", "tensorflow-training", job)
    assert info.value.message.endswith(
        "job updates may not change fields other than `minAvailable`, `tasks[*].replicas under spec`"
    )


def test_webhook_protects_the_default_queue_and_queue_states(fleet: Fleet) -> None:
    VolcanoController(fleet=fleet)
    store = store_of(fleet, "cluster-beijing")
    queues = store.registry.by_key(QUEUES)
    with pytest.raises(errors.ApiError) as info:
        store.delete(queues, None, "default")
    assert info.value.message == (
        'admission webhook "validatequeue.volcano.sh" denied the request: `default` queue can not be deleted'
    )
    queue = store.create(queues, None, {"metadata": {"name": "q"}, "spec": {}})
    assert queue["spec"] == {"weight": 1, "reclaimable": True}
    queue["status"] = {"state": "Sleeping"}
    with pytest.raises(errors.ApiError) as info:
        store.update(queues, None, "q", queue, subresource="status")
    assert "queue state must be in [Open Closed]" in info.value.message


async def test_deployment_writes_wake_no_pass_while_the_member_has_no_jobs(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kurator_sim.controllers import volcano as volcano_module

    passes: list[str] = []
    original = volcano_module._VolcanoScheduler.reconcile

    def counted(self: Any) -> float:
        passes.append(self.member.name)
        return original(self)

    monkeypatch.setattr(volcano_module._VolcanoScheduler, "reconcile", counted)
    controller = VolcanoController(fleet=fleet, run_seconds=3600.0, start_seconds=1.0)
    task = asyncio.create_task(controller.run())
    try:
        store = store_of(fleet, "cluster-beijing")
        rt = store.registry.by_key(("apps", "deployments"))
        await asyncio.sleep(0.05)
        before = passes.count("cluster-beijing")
        for i in range(5):
            store.create(
                rt,
                "default",
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"web-{i}"},
                    "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}},
                },
            )
            await asyncio.sleep(0.005)
        # At most the idle timer's pass, not one per Deployment.
        assert passes.count("cluster-beijing") - before <= 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
