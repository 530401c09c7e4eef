"""Scenario ``fleet-e2e``: policies through the fleet service and the simulated Karmada until scheduled.

Issue 4's end-to-end goal: at least 200 policies/s reach ``Scheduled``. Everything runs as it
would in a ``kurator up`` stack, each in its own process: a fresh ``nats-server``, the simulator
(``python -m kurator_sim --time-scale 1``: Karmada's detector, scheduler and binding
controllers, unscaled) and one ``kurator-fleet`` with ``KURATOR_KUBECONFIG`` pointing at it.

The load generator publishes ``--fleet-pairs`` pairs of intents as fast as it can: a
``PropagationPolicy`` ``bench-<i>`` (Divided over two clusters) and the ``Deployment``
``bench-<i>`` it selects. The fleet service writes both to Karmada, the simulator's detector
binds the Deployment, its scheduler fills ``spec.clusters``, and the fleet service's binding
watch publishes the Deployment's placement. A pair counts when a status on
``kurator.status.fleet.deployment.default.bench-<i>`` first carries ``Scheduled=True``.

* **rate/s**: pairs scheduled / (last one scheduled - first intent sent);
* **latency**: the Scheduled status' arrival - the send of the pair's second intent. As in
  the pipeline scenarios, the publisher outruns the system, so this is mostly backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench import services
from bench.stats import CpuMeter, Latency, ScenarioResult, no_gc_pauses
from bench.workload import Message
from shared.bus import reader
from shared.contracts import cloudevents, subjects
from shared.runtime import natsserver

SOURCE = "kurator/bench/fleet"
NAMESPACE = "default"
CLUSTERS = ("cluster-beijing", "cluster-shanghai")
PREFIX = "kurator.status.fleet.deployment.default."


def policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": {
                "clusterAffinity": {"clusterNames": list(CLUSTERS)},
                "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"},
            },
        },
    }


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


def intent(token: str, doc: dict[str, Any]) -> Message:
    address = subjects.ObjectAddress("fleet", token, NAMESPACE, doc["metadata"]["name"])
    env = cloudevents.Envelope.new(
        source=SOURCE, type=cloudevents.type_name("fleet", token, cloudevents.APPLY), subject=address.display()
    )
    return Message(id=env.id, subject=subjects.intent(address), body=orjson.dumps(doc), headers=env.headers())


def pairs(prefix: str, count: int) -> list[tuple[Message, Message]]:
    return [
        (intent("propagationpolicy", policy(f"{prefix}-{i}")), intent("deployment", deployment(f"{prefix}-{i}")))
        for i in range(count)
    ]


class ScheduledCollector:
    """Arrival time (``perf_counter_ns``) of the first Deployment status with ``Scheduled=True``."""

    def __init__(self) -> None:
        self.scheduled: dict[str, int] = {}
        self.rejected: list[bytes] = []
        self.statuses = 0
        self._want: set[str] = set()
        self._all = asyncio.Event()

    async def start(self, nc: Client) -> None:
        await nc.subscribe(PREFIX + "*", cb=self._on_status, pending_msgs_limit=-1)
        await nc.subscribe(subjects.rejected("fleet"), cb=self._on_rejected, pending_msgs_limit=-1)
        await nc.flush()

    def expect(self, names: set[str]) -> None:
        self._want = {n for n in names if n not in self.scheduled}
        self._all.clear()
        if not self._want:
            self._all.set()

    async def _on_status(self, msg: Msg) -> None:
        now = time.perf_counter_ns()
        self.statuses += 1
        name = msg.subject[len(PREFIX) :]
        if name in self.scheduled:
            return
        conditions = (orjson.loads(msg.data).get("status") or {}).get("conditions") or ()
        if any(c.get("type") == "Scheduled" and c.get("status") == "True" for c in conditions):
            self.scheduled[name] = now
            self._want.discard(name)
            if not self._want:
                self._all.set()

    async def _on_rejected(self, msg: Msg) -> None:
        self.rejected.append(msg.data)
        self._all.set()

    async def wait(self, timeout_seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all.wait(), timeout_seconds)
        if self.rejected:
            raise RuntimeError(f"an intent was rejected: {self.rejected[0][:600].decode(errors='replace')}")


@dataclass
class Sim:
    pid: int
    kubeconfig: Path


@contextlib.asynccontextmanager
async def simulator(
    work_dir: Path, *, profile_to: Path | None = None, time_scale: float = 1.0, topology: Path | None = None
) -> AsyncIterator[Sim]:
    """``python -m kurator_sim`` (at real time, as ``kurator up`` runs it, unless ``time_scale``
    says otherwise; on the example fleet unless ``topology`` names another), until the kubeconfig
    appears."""
    kubeconfig = work_dir / "fleet-sim.kubeconfig"
    log = open(work_dir / "fleet-sim.log", "wb")  # noqa: SIM115, ASYNC230 - closed after the child exits
    profile = ["-m", "cProfile", "-o", str(profile_to)] if profile_to is not None else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *profile,
        "-m",
        "kurator_sim",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        "--time-scale",
        f"{time_scale:g}",
        "--log-level",
        "warning",
        *(["--topology", str(topology)] if topology is not None else []),
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start; see {work_dir}/fleet-sim.log")
            await asyncio.sleep(0.05)
        yield Sim(pid=proc.pid, kubeconfig=kubeconfig)
    finally:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
        log.close()


async def _wait_watching(nc: Client, replica: services.ServiceProcess, *, timeout_seconds: float = 60.0) -> float:
    """Until the service answers ``$SRV.PING`` and its watchers have published every cluster."""
    started = time.monotonic()
    js = nc.jetstream()
    while True:
        services.check_alive([replica])
        if await services.count_instances(nc, "fleet", listen_seconds=0.1) >= 1:
            found = await reader.snapshot(js, subjects.statuses("fleet", "cluster"))
            if len(found) >= 6 and all((m.document.get("status") or {}).get("ready") for m in found):
                return round(time.monotonic() - started, 2)
        if time.monotonic() - started > timeout_seconds:
            raise TimeoutError("the fleet service's watchers did not report the clusters")
        await asyncio.sleep(0.2)


async def _send_pairs(
    nc: Client, batch: list[tuple[Message, Message]], *, publish_batch: int, sent: array[int]
) -> None:
    js = nc.jetstream(publish_async_max_pending=4000)
    futures = []
    for i, (first, second) in enumerate(batch):
        if i % max(1, publish_batch // 2) == 0:
            await asyncio.sleep(0)  # let nats-py's flusher run (bench/README.md, "A trap")
        futures.append(await js.publish_async(first.subject, first.body, headers=first.headers))
        futures.append(await js.publish_async(second.subject, second.body, headers=second.headers))
        sent[i] = time.perf_counter_ns()
    await asyncio.gather(*futures)


async def run(
    *,
    pairs_count: int,
    publish_batch: int,
    warmup: int,
    timeout_seconds: float,
    work_dir: Path | None,
    service_env: dict[str, str],
    profile_to: Path | None,
) -> list[ScenarioResult]:
    with contextlib.ExitStack() as stack:
        tmp = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kurator-bench-fleet-")))
        tmp.mkdir(parents=True, exist_ok=True)
        server = natsserver.NatsServer(store_dir=tmp / "nats-fleet", port=0, log_file=tmp / "nats-fleet.log")
        url = server.start()
        try:
            sim_profile = profile_to.with_name("fleet-e2e-simulator.prof") if profile_to is not None else None
            async with simulator(tmp, profile_to=sim_profile) as sim:
                result = await _scenario(
                    url=url,
                    server_pid=server.pid or 0,
                    sim=sim,
                    log_dir=tmp,
                    pairs_count=pairs_count,
                    publish_batch=publish_batch,
                    warmup=warmup,
                    timeout_seconds=timeout_seconds,
                    service_env=service_env,
                    profile_to=profile_to,
                )
        finally:
            server.stop()
    return [result]


async def _scenario(
    *,
    url: str,
    server_pid: int,
    sim: Sim,
    log_dir: Path,
    pairs_count: int,
    publish_batch: int,
    warmup: int,
    timeout_seconds: float,
    service_env: dict[str, str],
    profile_to: Path | None,
) -> ScenarioResult:
    replica = services.start(
        "fleet",
        index=0,
        nats_url=url,
        log_level="warning",
        log_dir=log_dir,
        extra_env={"KURATOR_KUBECONFIG": str(sim.kubeconfig), **service_env},
        profile_to=profile_to,
    )
    nc: Client = await nats.connect(url, name="kurator-bench-fleet", pending_size=8 * 1024 * 1024)
    config = f"{pairs_count:,} PropagationPolicy+Deployment pairs, 1x kurator-fleet, simulator x1"
    try:
        ready = await _wait_watching(nc, replica)
        print(f"bench: fleet: watching after {ready:.1f} s; {pairs_count:,} pairs", file=sys.stderr)
        collector = ScheduledCollector()
        await collector.start(nc)
        if warmup:
            batch = pairs("warm", warmup)
            collector.expect({f"warm-{i}" for i in range(warmup)})
            await _send_pairs(nc, batch, publish_batch=publish_batch, sent=array("q", bytes(8 * warmup)))
            await collector.wait(timeout_seconds)
        batch = pairs("bench", pairs_count)
        names = [f"bench-{i}" for i in range(pairs_count)]
        collector.expect(set(names))
        sent = array("q", bytes(8 * pairs_count))
        meter = CpuMeter({"nats-server": server_pid, "fleet": replica.pid, "simulator": sim.pid})
        with no_gc_pauses():
            meter.start()
            started = time.perf_counter_ns()
            await _send_pairs(nc, batch, publish_batch=publish_batch, sent=sent)
            published = time.perf_counter_ns()
            await collector.wait(timeout_seconds)
            meter.stop()
        services.check_alive([replica])
    except Exception:
        print(f"--- {replica.name} log tail ---\n{replica.log_tail()}", file=sys.stderr)
        raise
    finally:
        await nc.close()
        await services.stop([replica])
    latencies = [collector.scheduled[n] - sent[i] for i, n in enumerate(names) if n in collector.scheduled]
    last = max((collector.scheduled[n] for n in names if n in collector.scheduled), default=0)
    wall = ((last or time.perf_counter_ns()) - started) / 1e9
    result = ScenarioResult(
        scenario="fleet-e2e",
        config=config,
        sent=pairs_count,
        completed=len(latencies),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        latency=Latency.of_ns(latencies),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={
            "intents": 2 * pairs_count,
            "publish_seconds": round((published - started) / 1e9, 3),
            "deployment_statuses": collector.statuses,
            "service_log": str(replica.log_path),
        },
    )
    result.extra["service_cpu_us_per_pair"] = result.cpu_us_per_message("fleet")
    result.extra["server_cpu_us_per_pair"] = result.cpu_us_per_message("nats-server")
    result.extra["simulator_cpu_us_per_pair"] = result.cpu_us_per_message("simulator")
    return result
