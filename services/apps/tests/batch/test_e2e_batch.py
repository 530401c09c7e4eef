"""Volcano jobs end to end: intents in, the simulated fleet (20x real time) runs Volcano on every
member, and the job's status and events on the bus say where it went and how it is doing.

Covered: the seed's TensorFlow job (1 ps + 2 workers on ``node-type: gpu``, ``minAvailable: 3``)
lands on the only cluster with GPU nodes and goes Pending -> Running -> Completed; a gang that
does not fit waits with the shortfall per cluster and is placed once capacity is freed (the
job holding the GPUs is deleted), its own queue created there, or once capacity appears (a GPU
node added); a job on a member that fails moves to one that holds it, and the failed member's
copy is deleted when it is back; broken variants (duplicate task
names, ``minAvailable`` above the replicas; a queue closed everywhere) are rejected with
field-specific reasons and nothing is written to any member.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from kurator_apps.batch import service as batch
from kurator_fleet import extensions as fleet
from kurator_sim import app, faults, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, reader
from shared.contracts import subjects
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
SEED = "04-volcano-job-tensorflow.yaml"
GUANGZHOU = "cluster-guangzhou"
JOBS = ("batch.volcano.sh", "jobs")
QUEUES = ("scheduling.volcano.sh", "queues")
Obj = dict[str, Any]


def address(doc: Obj) -> subjects.ObjectAddress:
    if doc["kind"] == "Queue":
        return subjects.ObjectAddress("apps", "volcanoqueue", None, doc["metadata"]["name"])
    return subjects.ObjectAddress(
        "apps", "volcanojob", doc["metadata"].get("namespace", "default"), doc["metadata"]["name"]
    )


def gpu_job(name: str, *, workers: int, gpus: int, duration: str | None = None, queue: str | None = None) -> Obj:
    template = {
        "spec": {
            "nodeSelector": {"node-type": "gpu"},
            "containers": [
                {
                    "name": "train",
                    "image": "tensorflow/tensorflow:2.8.0",
                    "resources": {"limits": {"nvidia.com/gpu": gpus}},
                }
            ],
        }
    }
    job: Obj = {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"minAvailable": workers, "tasks": [{"name": "worker", "replicas": workers, "template": template}]},
    }
    if duration:
        job["metadata"]["annotations"] = {"kurator.dev/sim-duration": duration}
    if queue:
        job["spec"]["queue"] = queue
    return job


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Obj]] = []

    async def on_msg(self, msg: Msg) -> None:
        self.seen.append((msg.subject.removeprefix("kurator.event.apps.volcanojob."), orjson.loads(msg.data)))

    def of(self, name: str) -> list[str]:
        return [event for event, payload in self.seen if payload["name"] == name]


@pytest.fixture
async def events(nc: Client) -> AsyncIterator[Events]:
    log = Events()
    sub = await nc.subscribe("kurator.event.apps.volcanojob.>", cb=log.on_msg)
    try:
        yield log
    finally:
        await sub.unsubscribe()


EVICTION = timedelta(seconds=0.5)
"""The tests' toleration of a failing member (Karmada's 300 s default would outlast them)."""


@pytest.fixture
async def stack(nats_url: str, nc: Client, tmp_path: Path) -> AsyncIterator[app.Running]:
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)
    build = functools.partial(batch.build, eviction=EVICTION)
    async with (
        app.running(settings) as sim,
        services.running("fleet", nats_url=nats_url, extensions=fleet.build, kubeconfig=str(kubeconfig)),
        services.running("apps", nats_url=nats_url, extensions=build, kubeconfig=str(kubeconfig), lease_seconds=2),
    ):
        yield sim


async def submit(nc: Client, *docs: Obj, verb: str = "apply") -> list[client.Answer]:
    return await client.submit(nc, [(address(d), d) for d in docs], verb=verb, timeout_seconds=30)


async def status_of(nc: Client, doc: Obj) -> Obj:
    found = await reader.last(nc.jetstream(), subjects.status(address(doc)))
    assert found is not None
    st: Obj = found.document.get("status") or {}
    return st


def member_jobs(sim: app.Running) -> dict[str, list[str]]:
    """``{cluster: [job names]}`` over every member."""
    out: dict[str, list[str]] = {}
    for name, member in sim.fleet.members.items():
        rt = member.store.registry.by_key(JOBS)
        found = [str(j["metadata"]["name"]) for j in member.store.iter_raw(rt)]
        if found:
            out[name] = sorted(found)
    return out


async def phase_is(nc: Client, doc: Obj, phase: str, *, within_seconds: float = 20) -> Obj:
    async def check() -> Obj:
        st = await status_of(nc, doc)
        assert st.get("phase") == phase, (st.get("phase"), st.get("conditions"))
        return st

    return await eventually(check, timeout_seconds=within_seconds, message=f"{doc['metadata']['name']} {phase}")


async def test_seed_tensorflow_job_runs_on_the_gpu_cluster(
    stack: app.Running, nc: Client, events: Events, example: Callable[..., Obj]
) -> None:
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    [answer] = await submit(nc, job)
    assert answer.ok, answer.reasons
    assert answer.phase == "Pending"
    assert answer.status is not None
    assert answer.status["status"]["cluster"] == GUANGZHOU
    assert member_jobs(stack) == {GUANGZHOU: ["tensorflow-training"]}
    written = stack.fleet.members[GUANGZHOU].store.find(
        stack.fleet.members[GUANGZHOU].store.registry.by_key(JOBS), "default", "tensorflow-training"
    )
    assert written is not None
    assert written["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kurator-apps"
    assert [t["name"] for t in written["spec"]["tasks"]] == ["ps", "worker"]

    running = await phase_is(nc, job, "Running")
    assert running["cluster"] == GUANGZHOU
    assert running["running"] == 3
    assert running["tasks"] == {"ps": {"Running": 1}, "worker": {"Running": 2}}
    completed = await phase_is(nc, job, "Completed")
    assert completed["succeeded"] == 3
    await eventually(lambda: _async(events.of("tensorflow-training")[-1:] == ["completed"]), message="events")
    assert events.of("tensorflow-training")[0] == "placed"
    assert "running" in events.of("tensorflow-training")

    # Applied again (changed): it stays where it is.
    job["metadata"]["labels"] = {"team": "ml"}
    [again] = await submit(nc, job)
    assert again.ok
    assert again.status is not None
    assert again.status["status"]["cluster"] == GUANGZHOU

    # Deleted on the member behind our back: the status says so; applying again brings it back there.
    guangzhou = stack.fleet.members[GUANGZHOU].store
    guangzhou.delete(guangzhou.registry.by_key(JOBS), "default", "tensorflow-training")

    async def reported_gone() -> Obj:
        st = await status_of(nc, job)
        conditions = {c["type"]: c["status"] for c in st.get("conditions") or ()}
        assert conditions.get("OnMember") == "False", conditions
        return st

    await eventually(reported_gone, timeout_seconds=10, message="OnMember=False")
    assert "deletedonmember" in events.of("tensorflow-training")
    job["metadata"]["labels"] = {"team": "ml", "run": "2"}
    [back] = await submit(nc, job)
    assert back.phase == "Pending"
    assert member_jobs(stack) == {GUANGZHOU: ["tensorflow-training"]}
    [deleted] = await submit(nc, job, verb="delete")
    assert deleted.ok
    assert member_jobs(stack) == {}


async def _async(value: bool) -> bool:
    assert value
    return value


async def test_a_gang_too_big_waits_and_is_placed_when_capacity_frees(
    stack: app.Running, nc: Client, events: Events
) -> None:
    hog = gpu_job("gpu-hog", workers=2, gpus=4, duration="1h")  # all 8 GPUs of guangzhou
    late = gpu_job("gpu-late", workers=1, gpus=4, queue="research")
    queue: Obj = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": "research"}}
    queue["spec"] = {"weight": 3, "reclaimable": False}
    [declared] = await submit(nc, queue)
    assert declared.ok
    assert declared.phase == "Accepted", declared.status
    [first] = await submit(nc, hog)
    assert first.ok
    assert first.status is not None
    assert first.status["status"]["cluster"] == GUANGZHOU
    [second] = await submit(nc, late)
    assert second.ok
    assert second.phase == "Waiting", second.status
    assert second.status is not None
    shortfall = second.status["status"]["shortfall"]
    [gpu] = shortfall[GUANGZHOU]
    assert gpu["kind"] == "Insufficient"
    assert gpu["resource"] == "nvidia.com/gpu"
    assert (gpu["needed"], gpu["free"], gpu["short"]) == ("4", "0", "4")
    assert shortfall["cluster-beijing"][0]["kind"] == "NoMatchingNode"
    [scheduled] = second.status["status"]["conditions"]
    assert scheduled["status"] == "False"
    assert "insufficient nvidia.com/gpu" in scheduled["message"]
    assert member_jobs(stack) == {GUANGZHOU: ["gpu-hog"]}

    await phase_is(nc, hog, "Running")
    [gone] = await submit(nc, hog, verb="delete")
    assert gone.ok
    placed = await phase_is(nc, late, "Running")
    assert placed["cluster"] == GUANGZHOU
    assert member_jobs(stack) == {GUANGZHOU: ["gpu-late"]}
    store = stack.fleet.members[GUANGZHOU].store
    research = store.find(store.registry.by_key(QUEUES), None, "research")
    assert research is not None
    assert research["spec"]["weight"] == 3
    assert events.of("gpu-late")[:2] == ["waiting", "placed"]
    queue["spec"]["weight"] = 5  # a declared queue follows its intent wherever it exists
    [requeued] = await submit(nc, queue)
    assert requeued.phase == "Applied"
    assert requeued.status is not None
    assert requeued.status["status"]["clusters"] == [GUANGZHOU]
    research = store.find(store.registry.by_key(QUEUES), None, "research")
    assert research is not None
    assert research["spec"]["weight"] == 5

    # Capacity that appears (a node added to the member) is found by the periodic re-check.
    wide = gpu_job("gpu-wide", workers=3, gpus=4)
    [third] = await submit(nc, wide)
    assert third.phase == "Waiting", third.status
    add_gpu_node(stack, GUANGZHOU, "gpu-extra", gpus=8)
    assert (await phase_is(nc, wide, "Running"))["cluster"] == GUANGZHOU


def add_gpu_node(sim: app.Running, cluster: str, name: str, *, gpus: int) -> None:
    """A GPU node like guangzhou's, added to ``cluster``."""
    store = sim.fleet.members[cluster].store
    rt = store.registry.by_key(("", "nodes"))
    models = sim.fleet.members[GUANGZHOU].store.iter_raw(rt)
    model = next(n for n in models if (n["metadata"].get("labels") or {}).get("node-type") == "gpu")
    node = copy.deepcopy(model)
    node["metadata"] = {"name": name, "labels": {**model["metadata"]["labels"], "kubernetes.io/hostname": name}}
    for key in ("capacity", "allocatable"):
        node["status"][key] = {**node["status"][key], "nvidia.com/gpu": str(gpus)}
    store.create(rt, None, node)
    created = store.find(rt, None, name)
    assert created is not None
    store.update(rt, None, name, {**created, "status": node["status"]}, subresource="status")


async def test_a_job_on_a_failed_member_moves_and_the_member_loses_its_copy_when_back(
    stack: app.Running, nc: Client, events: Events
) -> None:
    shanghai = "cluster-shanghai"
    job = gpu_job("gpu-mover", workers=2, gpus=4, duration="1h")
    [placed] = await submit(nc, job)
    assert placed.status is not None
    assert placed.status["status"]["cluster"] == GUANGZHOU
    await phase_is(nc, job, "Running")
    add_gpu_node(stack, shanghai, "gpu-spare", gpus=8)

    faults.set_down(stack.fleet, GUANGZHOU)  # Karmada: Ready=False, then not-ready:NoExecute

    async def running_on_shanghai() -> Obj:
        st = await status_of(nc, job)
        assert (st.get("cluster"), st.get("phase")) == (shanghai, "Running"), st
        return st

    moved = await eventually(running_on_shanghai, timeout_seconds=60, message="gpu-mover running on shanghai")
    [rescheduled] = [c for c in moved["conditions"] if c["type"] == "Rescheduled"]
    assert rescheduled["reason"] == "ClusterFailed"
    assert f"off {GUANGZHOU}" in rescheduled["message"]
    assert "rescheduled" in events.of("gpu-mover")
    assert member_jobs(stack) == {GUANGZHOU: ["gpu-mover"], shanghai: ["gpu-mover"]}  # guangzhou is down

    faults.set_down(stack.fleet, GUANGZHOU, False)  # back: the copy it kept must not run too

    async def only_on_shanghai() -> bool:
        assert member_jobs(stack) == {shanghai: ["gpu-mover"]}
        return True

    await eventually(only_on_shanghai, timeout_seconds=60, message="the leftover copy deleted")
    assert (await status_of(nc, job))["cluster"] == shanghai


async def test_broken_jobs_are_rejected_and_nothing_is_written(
    stack: app.Running, nc: Client, example: Callable[..., Obj]
) -> None:
    seed = example(SEED)
    broken = copy.deepcopy(seed)
    broken["metadata"]["name"] = "broken"
    broken["spec"]["minAvailable"] = 5
    broken["spec"]["tasks"][1]["name"] = "ps"
    [answer] = await submit(nc, broken)
    assert not answer.ok
    fields = {r["field"]: r["message"] for r in answer.reasons}
    assert "spec.tasks[1].name" in fields, fields
    assert "spec.minAvailable" in fields, fields
    assert "should not be greater than total replicas" in fields["spec.minAvailable"]

    # A queue Volcano has closed on every member refuses the job, as Volcano's webhook would.
    for member in stack.fleet.members.values():
        rt = member.store.registry.by_key(QUEUES)
        member.store.create(rt, None, {"apiVersion": rt.api_version, "kind": "Queue", "metadata": {"name": "frozen"}})
        closed = member.store.find(rt, None, "frozen")
        assert closed is not None
        closed["status"] = {"state": "Closed"}
        member.store.update(rt, None, "frozen", closed, subresource="status")
    frozen = copy.deepcopy(seed)
    frozen["metadata"]["name"] = "frozen-job"
    frozen["spec"]["queue"] = "frozen"
    [refused] = await submit(nc, frozen)
    assert not refused.ok
    assert [r["field"] for r in refused.reasons] == ["spec.queue"], refused.reasons
    assert member_jobs(stack) == {}
