"""The placer against a fake fleet and a real NATS: a job placed once stays where it is, even for a
replica that never placed it (its claim, or its last status on the bus, says where), while a new
job goes where there is most room now; two replicas placing one job at once agree on one member;
delete removes it from that member only."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, cast

import pytest
from nats.aio.client import Client

from kurator_apps.batch import claims, ports
from kurator_apps.batch.placing import Placer, job_address
from shared import errors
from shared.bus import store, streams
from shared.bus.publisher import Publisher
from shared.contracts import subjects
from shared.k8s import errors as k8s_errors

Obj = dict[str, Any]
SEED = "04-volcano-job-tensorflow.yaml"


def gpu_nodes(count: int) -> list[Obj]:
    allocatable = {"cpu": "32", "memory": "128Gi", "pods": "110", "nvidia.com/gpu": "4"}
    return [
        {"metadata": {"name": f"g{i}", "labels": {"node-type": "gpu"}}, "status": {"allocatable": allocatable}}
        for i in range(count)
    ]


class FakeMembers:
    """Members with GPU nodes, Volcano's ``default`` queue open, and the jobs written to them."""

    def __init__(self, nodes: Mapping[str, int], *, jobs: dict[str, dict[tuple[str, str], Obj]] | None = None) -> None:
        self.nodes = {cluster: gpu_nodes(n) for cluster, n in nodes.items()}
        self.jobs: dict[str, dict[tuple[str, str], Obj]] = jobs if jobs is not None else {c: {} for c in nodes}
        """What is on each member (pass another replica's to share one fleet)."""
        self.refuse_writes = False
        self.failing: dict[str, str] = {}
        """Clusters tainted as failing (not ready, and their API unreachable)."""

    async def ready_clusters(self) -> list[str]:
        return sorted(c for c in self.nodes if c not in self.failing)

    async def failing_clusters(self) -> dict[str, str]:
        return dict(self.failing)

    async def state(self, cluster: str) -> ports.MemberState:
        queues = {"default": {"metadata": {"name": "default"}, "status": {"state": "Open"}}}
        return ports.MemberState(cluster, self.nodes[cluster], [], list(self.jobs[cluster].values()), queues)

    async def apply_namespace(self, cluster: str, name: str) -> None:
        return None

    async def apply_queue(self, cluster: str, body: Mapping[str, Any]) -> Obj:
        raise AssertionError("the default queue exists")

    async def find_queue(self, cluster: str, name: str) -> Obj | None:
        return (await self.state(cluster)).queues.get(name)

    async def delete_queue(self, cluster: str, name: str) -> bool:
        return False

    async def apply_job(self, cluster: str, body: Mapping[str, Any]) -> Obj:
        if self.refuse_writes:
            raise errors.RetryableError(f"{cluster} is unreachable")
        key = (str(body["metadata"]["namespace"]), str(body["metadata"]["name"]))
        self.jobs[cluster][key] = copy.deepcopy(dict(body))
        return self.jobs[cluster][key]

    async def find_job(self, cluster: str, namespace: str, name: str) -> Obj | None:
        return self.jobs[cluster].get((namespace, name))

    async def delete_job(self, cluster: str, namespace: str, name: str) -> bool:
        if cluster in self.failing:
            raise k8s_errors.ApiError(f"{cluster} is unreachable", status=503, reason="ServiceUnavailable")
        return self.jobs[cluster].pop((namespace, name), None) is not None

    async def follow(self, cluster: str) -> AsyncIterator[ports.MemberEvent]:
        raise AssertionError("not followed here")
        yield  # pragma: no cover


class NoDesired:
    async def get(self, address: subjects.ObjectAddress) -> None:
        return None


def placer(members: FakeMembers, nc: Client) -> Placer:
    desired = cast(store.DesiredStateStore, NoDesired())
    js = nc.jetstream()
    return Placer(
        members=members, js=js, desired=desired, publisher=Publisher(nc, source="test"), claims=claims.Claims(js)
    )


async def place_and_publish(p: Placer, nc: Client, job: Obj) -> Obj:
    """What the intent processor does: the handler's status, published on the job's subject."""
    body, _ = await p.apply(job, generation=1, changed_at="2026-01-01T00:00:00Z")
    await Publisher(nc, source="test").status(job_address(job), {**job, "status": body}, causation_id=None)
    return body


async def test_a_placed_job_stays_on_its_cluster_across_replicas(nc: Client, example: Callable[..., Obj]) -> None:
    await streams.declare_streams(nc.jetstream())
    members = FakeMembers({"gpu-a": 2, "gpu-b": 1})
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    first = await place_and_publish(placer(members, nc), nc, job)
    assert first["cluster"] == "gpu-a"  # more GPU nodes: more room left for the next gang

    members.nodes["gpu-b"] = gpu_nodes(4)  # now gpu-b has the most room
    other = placer(members, nc)  # another replica, or this one restarted: no memory of its own
    again = copy.deepcopy(job)
    again["spec"]["tasks"][1]["replicas"] = 3
    body, event = await other.apply(again, generation=2, changed_at="2026-01-01T00:01:00Z")
    assert (body["cluster"], event) == ("gpu-a", None)
    assert members.jobs["gpu-a"][("default", "tensorflow-training")]["spec"]["tasks"][1]["replicas"] == 3
    assert members.jobs["gpu-b"] == {}

    fresh = copy.deepcopy(job)
    fresh["metadata"]["name"] = "second-run"
    assert (await place_and_publish(other, nc, fresh))["cluster"] == "gpu-b"

    await other.remove(job)
    assert ("default", "tensorflow-training") not in members.jobs["gpu-a"]
    assert ("default", "second-run") in members.jobs["gpu-b"]
    assert other.capacity_freed.is_set()


def placed_on(members: FakeMembers, name: str) -> list[str]:
    return sorted(c for c, jobs in members.jobs.items() if ("default", name) in jobs)


async def test_two_replicas_placing_one_job_at_once_agree_on_one_member(
    nc: Client, example: Callable[..., Obj]
) -> None:
    await streams.declare_streams(nc.jetstream())
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    # Each replica reads the fleet at a different moment: each would choose another member.
    a = FakeMembers({"gpu-a": 4, "gpu-b": 1})
    b = FakeMembers({"gpu-a": 1, "gpu-b": 4}, jobs=a.jobs)
    first, second = placer(a, nc), placer(b, nc)
    (body_a, event_a), (body_b, event_b) = await asyncio.gather(
        first.apply(job, generation=1, changed_at="2026-01-01T00:00:00Z"),
        second.apply(job, generation=1, changed_at="2026-01-01T00:00:00Z"),
    )
    assert len(placed_on(a, "tensorflow-training")) == 1
    assert body_a["cluster"] == body_b["cluster"] == placed_on(a, "tensorflow-training")[0]
    assert sorted(str(e) for e in (event_a, event_b)) == ["None", "placed"]  # announced once


async def test_a_failed_write_releases_the_claim_and_delete_releases_it_too(
    nc: Client, example: Callable[..., Obj]
) -> None:
    await streams.declare_streams(nc.jetstream())
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    members = FakeMembers({"gpu-a": 4, "gpu-b": 1})
    p = placer(members, nc)
    members.refuse_writes = True
    with pytest.raises(errors.RetryableError):
        await p.apply(job, generation=1, changed_at="2026-01-01T00:00:00Z")
    assert await claims.Claims(nc.jetstream()).holder(job_address(job)) is None

    members.refuse_writes = False
    members.nodes["gpu-b"] = gpu_nodes(8)  # decided afresh: the member with most room now
    body, event = await p.apply(job, generation=1, changed_at="2026-01-01T00:00:01Z")
    assert (body["cluster"], event) == ("gpu-b", "placed")
    assert await claims.Claims(nc.jetstream()).holder(job_address(job)) == "gpu-b"

    await p.remove(job)
    assert placed_on(members, "tensorflow-training") == []
    assert await claims.Claims(nc.jetstream()).holder(job_address(job)) is None
    members.nodes["gpu-a"] = gpu_nodes(16)
    body, event = await placer(members, nc).apply(job, generation=2, changed_at="2026-01-01T00:00:02Z")
    assert (body["cluster"], event) == ("gpu-a", "placed")


async def test_a_job_on_a_failing_member_moves_and_its_leftover_goes_when_the_member_answers(
    nc: Client, example: Callable[..., Obj]
) -> None:
    await streams.declare_streams(nc.jetstream())
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    members = FakeMembers({"gpu-a": 4, "gpu-b": 2})
    p = placer(members, nc)
    assert (await place_and_publish(p, nc, job))["cluster"] == "gpu-a"

    members.failing["gpu-a"] = "cluster.karmada.io/unreachable"
    outcome = await p.evict(
        job, generation=1, changed_at="2026-01-01T00:05:00Z", cluster="gpu-a", taint="cluster.karmada.io/unreachable"
    )
    assert outcome is not None
    body, event = outcome
    assert (body["cluster"], event) == ("gpu-b", "rescheduled")
    moved = next(c for c in body["conditions"] if c["type"] == "Rescheduled")
    assert moved["reason"] == "ClusterFailed"
    assert "off gpu-a" in moved["message"]
    assert "unreachable" in moved["message"]
    assert await claims.Claims(nc.jetstream()).holder(job_address(job)) == "gpu-b"
    assert placed_on(members, "tensorflow-training") == ["gpu-a", "gpu-b"]  # gpu-a could not be reached
    # Moving again from where it no longer is does nothing.
    assert await p.evict(job, generation=1, changed_at="x", cluster="gpu-a", taint="t") is None

    assert await p.remove_leftovers(["gpu-b"]) == 0  # gpu-a is not back yet
    members.failing.clear()  # back: the copy it kept is deleted, the job stays on gpu-b
    assert await p.remove_leftovers(["gpu-a", "gpu-b"]) == 1
    assert placed_on(members, "tensorflow-training") == ["gpu-b"]
    assert await p.remove_leftovers(["gpu-a", "gpu-b"]) == 0


async def test_a_job_moved_off_a_failing_member_waits_when_no_other_member_holds_it(
    nc: Client, example: Callable[..., Obj]
) -> None:
    await streams.declare_streams(nc.jetstream())
    job = example(SEED)
    job["metadata"]["namespace"] = "default"
    members = FakeMembers({"gpu-a": 4, "gpu-b": 0})
    p = placer(members, nc)
    assert (await place_and_publish(p, nc, job))["cluster"] == "gpu-a"
    members.failing["gpu-a"] = "cluster.karmada.io/not-ready"
    outcome = await p.evict(
        job, generation=1, changed_at="2026-01-01T00:05:00Z", cluster="gpu-a", taint="cluster.karmada.io/not-ready"
    )
    assert outcome is not None
    body, event = outcome
    assert (body["phase"], event) == ("Waiting", "waiting")
    assert [c["type"] for c in body["conditions"]] == ["Scheduled", "Rescheduled"]
    assert await claims.Claims(nc.jetstream()).holder(job_address(job)) is None
