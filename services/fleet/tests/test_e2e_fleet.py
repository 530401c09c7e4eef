"""The fleet service end to end: intents in, Karmada (the simulator, 20x faster than real time)
does its work, and the status and events on the bus say what happened.

Covered: the seed's nginx Duplicated policy and frontend weighted policy placed as Karmada
places them, as the status of their Deployments and policies; clusters with readiness and
capacity as ``kurator get`` reads them (and the CLI itself); a cluster going down: NotReady
within Karmada's timing, a ``notready`` event, the Fleet's counts, and the Divided workload on
it failing over; an intent applied again keeping its observed placement.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from nats.aio.client import Client
from nats.aio.msg import Msg

from kurator_fleet import extensions
from kurator_sim import app, faults, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, queries, reader
from shared.contracts import kinds, subjects
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TIME_SCALE = 20.0
BEIJING, SHANGHAI, HANGZHOU, GUANGZHOU = "cluster-beijing", "cluster-shanghai", "cluster-hangzhou", "cluster-guangzhou"


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    if kinds.for_object(doc["apiVersion"], doc["kind"]).namespaced:
        doc["metadata"].setdefault("namespace", "default")
    return doc


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": name, "image": "nginx:1.27", "resources": {"requests": {"cpu": "100m"}}}]
                },
            },
        },
    }


def address(doc: dict[str, Any]) -> subjects.ObjectAddress:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    namespace = doc["metadata"].get("namespace") if info.namespaced else None
    return subjects.ObjectAddress("fleet", info.token, namespace, doc["metadata"]["name"])


class Events:
    """Every ``kurator.event.fleet.>`` message from the moment the test subscribes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def on_msg(self, msg: Msg) -> None:
        self.seen.append((msg.subject.removeprefix("kurator.event.fleet."), orjson.loads(msg.data)))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [payload for subject, payload in self.seen if subject == name]


@pytest.fixture
async def events(nc: Client) -> AsyncIterator[Events]:
    log = Events()
    sub = await nc.subscribe(subjects.events("fleet"), cb=log.on_msg)
    try:
        yield log
    finally:
        await sub.unsubscribe()


@pytest.fixture
async def stack(nats_url: str, nc: Client, tmp_path: Path) -> AsyncIterator[app.Running]:
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=TIME_SCALE, kubeconfig=kubeconfig, crds=CRDS)
    async with (
        app.running(settings) as sim,
        services.running(
            "fleet", nats_url=nats_url, extensions=extensions.build, kubeconfig=str(kubeconfig), lease_seconds=2
        ),
    ):
        yield sim


async def status_of(nc: Client, addr: subjects.ObjectAddress) -> dict[str, Any]:
    found = await reader.last(nc.jetstream(), subjects.status(addr))
    assert found is not None, f"no status on {subjects.status(addr)}"
    st: dict[str, Any] = found.document.get("status") or {}
    return st


def placed(st: dict[str, Any]) -> dict[str, int]:
    return {c["name"]: c.get("replicas", 0) for c in (st.get("placement") or {}).get("clusters") or ()}


async def apply(nc: Client, *docs: dict[str, Any]) -> list[client.Answer]:
    answers = await client.submit(nc, [(address(d), d) for d in docs], timeout_seconds=30)
    assert all(a.ok for a in answers), [(a.result, a.reasons) for a in answers]
    return answers


async def test_seed_nginx_duplicated_policy_is_available_on_three_clusters(
    stack: app.Running, nc: Client, events: Events
) -> None:
    """The nginx Deployment's status lists beijing, shanghai and guangzhou (2 replicas each,
    Duplicated), phase Available; the policy lists what it placed; one placement event."""
    policy, nginx = example("01-propagationpolicy-nginx.yaml"), deployment("nginx", 2)
    await apply(nc, policy, nginx)

    async def available() -> dict[str, Any]:
        st = await status_of(nc, address(nginx))
        assert st.get("phase") == "Available", st.get("phase")
        return st

    st = await eventually(available, timeout_seconds=20, message="nginx available")
    assert placed(st) == {BEIJING: 2, SHANGHAI: 2, GUANGZHOU: 2}
    assert all(c["health"] == "Healthy" and c["applied"] for c in st["placement"]["clusters"])
    assert st["placement"]["policy"]["name"] == "nginx-propagation"
    conditions = {c["type"]: c["status"] for c in st["conditions"]}
    assert conditions["Scheduled"] == conditions["FullyApplied"] == conditions["Applied"] == "True"

    policy_status = await status_of(nc, address(policy))
    assert policy_status["phase"] == "Applied"  # a policy keeps the write side's phase
    [line] = policy_status["placements"]
    assert line["resource"]["name"] == "nginx"
    assert {c["name"] for c in line["clusters"]} == {BEIJING, SHANGHAI, GUANGZHOU}

    changed = await until(lambda: events.named("placement.changed"), message="placement event")
    assert changed[0]["reason"] == "scheduled"
    assert changed[0]["workload"]["name"] == "nginx"


async def test_seed_frontend_weighted_policy_splits_three_to_two(stack: app.Running, nc: Client) -> None:
    """The seed's 60/40 shorthand (written as static weights) over 5 replicas: 3 on shanghai,
    2 on hangzhou, as Karmada's Webster division gives."""
    policy, frontend = example("02-clusterpropagationpolicy-frontend.yaml"), deployment("frontend", 5)
    await apply(nc, policy, frontend)

    async def split() -> dict[str, int]:
        st = await status_of(nc, address(frontend))
        assert st.get("phase") == "Available", st.get("phase")
        return placed(st)

    assert await eventually(split, timeout_seconds=20, message="frontend available") == {SHANGHAI: 3, HANGZHOU: 2}
    cpp = await status_of(nc, address(policy))
    assert [line["resource"]["name"] for line in cpp["placements"]] == ["frontend"]


async def test_the_plan_query_agrees_with_where_karmada_placed_it(stack: app.Running, nc: Client) -> None:
    """``kurator.query.fleet.plan`` over the live fleet previews exactly what the simulated
    Karmada then writes, and a workload too big for the fleet is a clear Unschedulable."""
    policy = example("02-clusterpropagationpolicy-frontend.yaml")
    frontend = deployment("frontend", 5)
    preview = await queries.ask(nc, service="fleet", op="plan", body={"policy": policy, "workload": frontend})
    assert preview["clusters"] == [{"name": HANGZHOU, "replicas": 2}, {"name": SHANGHAI, "replicas": 3}]
    assert set(preview["excluded"]) >= {BEIJING, GUANGZHOU}

    await apply(nc, policy, frontend)

    async def split() -> dict[str, int]:
        return placed(await status_of(nc, address(frontend)))

    want = {c["name"]: c["replicas"] for c in preview["clusters"]}
    assert await eventually(split, timeout_seconds=20, message="frontend placed") == want

    divided = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "huge", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "huge"}],
            "placement": {
                "replicaScheduling": {
                    "replicaSchedulingType": "Divided",
                    "replicaDivisionPreference": "Weighted",
                    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
                }
            },
        },
    }
    huge = deployment("huge", 1_000_000)
    answer = await queries.ask(nc, service="fleet", op="plan", body={"policy": divided, "workload": huge})
    assert answer["error"]["reason"] == "Unschedulable"
    assert "are not enough to schedule" in answer["error"]["message"]
    bad = await queries.ask(nc, service="fleet", op="plan", body={"policy": {"kind": "Deployment"}})
    assert bad["error"]["reason"] == "Invalid"


async def test_clusters_as_kurator_get_reads_them(
    stack: app.Running, nc: Client, events: Events, nats_url: str
) -> None:
    """Every member's status says ready, with capacity and free capacity; the CLI prints them."""
    members = set(stack.fleet.members)

    async def all_ready() -> list[reader.StatusMessage]:
        found = await reader.snapshot(nc.jetstream(), subjects.statuses("fleet", "cluster"))
        assert {m.document["metadata"]["name"] for m in found} == members
        assert all(m.document["status"]["ready"] for m in found)
        return found

    found = await eventually(all_ready, timeout_seconds=20, message="clusters ready")
    beijing = next(m.document for m in found if m.document["metadata"]["name"] == BEIJING)
    st = beijing["status"]
    assert (st["phase"], st["kubernetesVersion"], st["region"]) == ("Ready", "v1.29.3", "north-china")
    assert st["capacity"] == {"cpu": "48", "memory": "192Gi", "pods": "330"}
    assert set(st["free"]) == {"cpu", "memory", "pods"}
    assert st["labels"]["environment"] == "production"
    assert st["conditions"][0]["type"] == "Ready"
    assert beijing["kind"] == "Cluster"
    await until(lambda: len(events.named("cluster.joined")) == len(members), message="joined events")

    kurator = Path(sys.executable).parent / "kurator"
    done = await asyncio.to_thread(
        subprocess.run,
        [str(kurator), "get", "cluster", "--nats-url", nats_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:] if line.strip()]
    assert {row[0]: row[1] for row in rows} == dict.fromkeys(members, "Ready")


async def test_a_cluster_going_down(stack: app.Running, nc: Client, events: Events) -> None:
    """hangzhou goes down: its status turns NotReady within Karmada's failure threshold (scaled),
    a ``notready`` event fires, the Fleet counts it unready, and the Divided frontend fails
    over to shanghai with a ``placement.changed`` event saying so."""
    fleet_doc = {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "east", "namespace": "default"},
        "spec": {"clusters": [{"name": SHANGHAI}, {"name": HANGZHOU}]},
    }
    policy, frontend = example("02-clusterpropagationpolicy-frontend.yaml"), deployment("frontend", 5)
    await apply(nc, fleet_doc, policy, frontend)

    async def fleet_counts() -> tuple[int, int]:
        st = await status_of(nc, address(fleet_doc))
        assert "readyClusters" in st, st
        return st["readyClusters"], st["unReadyClusters"]

    assert await eventually(fleet_counts, timeout_seconds=20, message="fleet status") == (2, 0)
    await eventually(
        lambda: _placed_on(nc, frontend, {SHANGHAI: 3, HANGZHOU: 2}), timeout_seconds=20, message="frontend placed"
    )

    faults.set_down(stack.fleet, HANGZHOU)
    started = asyncio.get_running_loop().time()

    async def hangzhou_not_ready() -> bool:
        st = await status_of(nc, subjects.ObjectAddress("fleet", "cluster", None, HANGZHOU))
        assert st["phase"] == "NotReady", st["phase"]
        return True

    await eventually(hangzhou_not_ready, timeout_seconds=15, message="hangzhou NotReady")
    took = asyncio.get_running_loop().time() - started
    # Karmada: status every 10 s, NotReady after 30 s of failed probes (40 s at most), here / 20.
    assert took < 45 / TIME_SCALE + 2.0, took
    notready = await until(lambda: events.named("cluster.notready"), message="notready event")
    assert notready[0]["cluster"] == HANGZHOU
    assert notready[0]["reason"] == "ClusterNotReachable"
    assert await eventually(fleet_counts, timeout_seconds=10, message="fleet counts") == (1, 1)
    fleet_st = await status_of(nc, address(fleet_doc))
    assert {m["name"]: m["phase"] for m in fleet_st["members"]} == {SHANGHAI: "Ready", HANGZHOU: "NotReady"}

    await eventually(lambda: _placed_on(nc, frontend, {SHANGHAI: 5}), timeout_seconds=30, message="failover")

    async def failover_event() -> dict[str, Any]:
        moved = [e for e in events.named("placement.changed") if e["workload"]["name"] == "frontend"]
        [out] = [e for e in moved if HANGZHOU in e["removed"]]
        return out

    event = await eventually(failover_event, message="failover event")
    assert event["reason"] == "failover"
    assert {c["name"]: c["replicas"] for c in event["previous"]} == {SHANGHAI: 3, HANGZHOU: 2}


async def test_an_intent_applied_again_keeps_its_placement(stack: app.Running, nc: Client) -> None:
    """The write side's answer to a re-applied intent already carries the observed placement
    (merged from this replica's observations), and the new replica count follows."""
    policy, nginx = example("01-propagationpolicy-nginx.yaml"), deployment("nginx", 2)
    await apply(nc, policy, nginx)
    await eventually(
        lambda: _placed_on(nc, nginx, dict.fromkeys((BEIJING, SHANGHAI, GUANGZHOU), 2)),
        timeout_seconds=20,
        message="placed",
    )
    nginx["spec"]["replicas"] = 3
    [answer] = await apply(nc, nginx)
    assert answer.status is not None
    st = answer.status["status"]
    assert st["observedGeneration"] == 2
    assert set(placed(st)) == {BEIJING, SHANGHAI, GUANGZHOU}
    await eventually(
        lambda: _placed_on(nc, nginx, dict.fromkeys((BEIJING, SHANGHAI, GUANGZHOU), 3)),
        timeout_seconds=20,
        message="scaled",
    )

    async def available() -> dict[str, Any]:
        st = await status_of(nc, address(nginx))
        assert st["phase"] == "Available", st["phase"]  # Karmada reports Unhealthy mid-rollout
        return st

    final = await eventually(available, timeout_seconds=20, message="available again")
    assert final["observedGeneration"] == 2


async def _placed_on(nc: Client, doc: dict[str, Any], want: dict[str, int]) -> bool:
    st = await status_of(nc, address(doc))
    assert placed(st) == want, placed(st)
    return True


async def until(check: Callable[[], Any], *, message: str, timeout_seconds: float = 10.0) -> Any:
    """Poll a synchronous check (what the event log holds) until it is truthy."""

    async def probe() -> Any:
        return check()

    return await eventually(probe, message=message, timeout_seconds=timeout_seconds)
