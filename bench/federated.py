"""Scenario ``federated-e2e``: FederatedDeployments from intent to ``Available`` through the simulator.

Issue 5's goal: at least 200 ``FederatedDeployment``s per second go from intent to
``Available``. Each part runs in its own process, as ``kurator up`` runs it: a fresh
``nats-server``, the simulator (``python -m kurator_sim``, Karmada's controllers and the
members' Deployment controller), one ``kurator-fleet`` and one ``kurator-apps``.

The load generator publishes ``--federated-count`` FederatedDeployments as fast as it can, each
with one replica in each of two named clusters (rotating over beijing, shanghai and hangzhou,
so the members' nodes hold every pod). The apps service plans each one and asks the fleet
service to propagate it (a ``Propagation``), the fleet writes the Deployment and its policy to
Karmada, the simulated scheduler binds it, the members run it, the fleet reports the binding's
status, and the apps service publishes the FederatedDeployment's status. One counts when a
status on ``kurator.status.apps.federateddeployment.default.<name>`` first says ``Available``.

The simulator runs ``--federated-time-scale`` times faster than real time (default 10): a
member Deployment becomes ready 2 simulated seconds after it is written (the simulated
kubelet), which at real time would add a constant 2 s to every FederatedDeployment and say
nothing about kurator's throughput.

* **rate/s**: FederatedDeployments available / (last one available - first intent sent);
* **latency**: the Available status' arrival - the intent's send (mostly backlog: the
  publisher outruns the system).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import tempfile
import time
from array import array
from importlib import resources
from pathlib import Path
from typing import Any, Final

import nats
import orjson
import yaml
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench import fleet, services
from bench.stats import CpuMeter, Latency, ScenarioResult, no_gc_pauses
from bench.workload import Message
from shared.contracts import cloudevents, subjects
from shared.runtime import natsserver

SOURCE: Final = "kurator/bench/federated"
NAMESPACE: Final = "default"
CLUSTERS: Final = ("cluster-beijing", "cluster-shanghai", "cluster-hangzhou")
PREFIX: Final = f"kurator.status.apps.federateddeployment.{NAMESPACE}."
GOAL_PER_SECOND: Final = 200.0
PODS_PER_NODE: Final = 110


def topology(count: int) -> dict[str, Any]:
    """The example fleet with enough nodes in the bench's three clusters for ``count``
    FederatedDeployments' pods (each puts one pod in two of them), plus a node to spare.

    The example fleet holds 3 x 110 pods per cluster, about 490 FederatedDeployments; a bigger
    run measures throughput over a longer stretch, where the first one's latency (~0.4 s at
    x10) weighs less.
    """
    fleet: dict[str, Any] = yaml.safe_load(resources.files("kurator_sim.fleets").joinpath("example.yaml").read_text())
    pods = math.ceil(count * 2 / len(CLUSTERS))
    for cluster in fleet["clusters"]:
        if cluster["name"] in CLUSTERS:
            nodes = cluster["nodes"]
            nodes["count"] = max(nodes["count"], math.ceil(pods / PODS_PER_NODE) + 1)
    return fleet


def federated_deployment(name: str, index: int) -> dict[str, Any]:
    here, there = CLUSTERS[index % 3], CLUSTERS[(index + 1) % 3]
    return {
        "apiVersion": "apps.kurator.dev/v1alpha1",
        "kind": "FederatedDeployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "template": {
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
                }
            },
            "placement": {"clusters": [{"name": here, "replicas": 1}, {"name": there, "replicas": 1}]},
        },
    }


def intent(doc: dict[str, Any]) -> Message:
    address = subjects.ObjectAddress("apps", "federateddeployment", NAMESPACE, doc["metadata"]["name"])
    env = cloudevents.Envelope.new(
        source=SOURCE,
        type=cloudevents.type_name("apps", "federateddeployment", cloudevents.APPLY),
        subject=address.display(),
    )
    return Message(id=env.id, subject=subjects.intent(address), body=orjson.dumps(doc), headers=env.headers())


class AvailableCollector(fleet.ScheduledCollector):
    """Arrival time (``perf_counter_ns``) of each FederatedDeployment's first ``Available`` status,
    kept in ``scheduled`` (the fleet scenario's bookkeeping, on the apps service's subjects)."""

    async def start(self, nc: Client) -> None:
        await nc.subscribe(PREFIX + "*", cb=self._on_status, pending_msgs_limit=-1)
        for service in ("apps", "fleet"):
            await nc.subscribe(subjects.rejected(service), cb=self._on_rejected, pending_msgs_limit=-1)
        await nc.flush()

    def __init__(self) -> None:
        super().__init__()
        self.answered: dict[str, int] = {}
        """First status of each (the apps service's answer: planned, its Propagation published)."""

    async def _on_status(self, msg: Msg) -> None:
        now = time.perf_counter_ns()
        self.statuses += 1
        name = msg.subject[len(PREFIX) :]
        self.answered.setdefault(name, now)
        if name not in self.scheduled and (orjson.loads(msg.data).get("status") or {}).get("phase") == "Available":
            self.scheduled[name] = now
            self._want.discard(name)
            if not self._want:
                self._all.set()


async def _send(nc: Client, batch: list[Message], *, publish_batch: int, sent: array[int]) -> None:
    js = nc.jetstream(publish_async_max_pending=4000)
    futures = []
    for i, message in enumerate(batch):
        if i % max(1, publish_batch) == 0:
            await asyncio.sleep(0)  # let nats-py's flusher run (bench/README.md, "A trap")
        futures.append(await js.publish_async(message.subject, message.body, headers=message.headers))
        sent[i] = time.perf_counter_ns()
    await asyncio.gather(*futures)


async def run(
    *,
    count: int,
    publish_batch: int,
    warmup: int,
    timeout_seconds: float,
    time_scale: float,
    work_dir: Path | None,
    service_env: dict[str, str],
    profile_dir: Path | None = None,
) -> list[ScenarioResult]:
    with contextlib.ExitStack() as stack:
        tmp = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kurator-bench-federated-")))
        tmp.mkdir(parents=True, exist_ok=True)
        server = natsserver.NatsServer(store_dir=tmp / "nats-federated", port=0, log_file=tmp / "nats-federated.log")
        url = server.start()
        try:
            sim_profile = profile_dir / "federated-e2e-simulator.prof" if profile_dir is not None else None
            fleet_file = tmp / "federated-fleet.yaml"
            fleet_file.write_text(yaml.safe_dump(topology(count + warmup)))
            async with fleet.simulator(tmp, profile_to=sim_profile, time_scale=time_scale, topology=fleet_file) as sim:
                result = await _scenario(
                    url=url,
                    server_pid=server.pid or 0,
                    sim=sim,
                    log_dir=tmp,
                    count=count,
                    publish_batch=publish_batch,
                    warmup=warmup,
                    timeout_seconds=timeout_seconds,
                    time_scale=time_scale,
                    service_env=service_env,
                    profile_dir=profile_dir,
                )
        finally:
            server.stop()
    return [result]


async def _scenario(
    *,
    url: str,
    server_pid: int,
    sim: fleet.Sim,
    log_dir: Path,
    count: int,
    publish_batch: int,
    warmup: int,
    timeout_seconds: float,
    time_scale: float,
    service_env: dict[str, str],
    profile_dir: Path | None,
) -> ScenarioResult:
    env = {"KURATOR_KUBECONFIG": str(sim.kubeconfig), **service_env}
    replicas = [
        services.start(
            name,
            index=0,
            nats_url=url,
            log_level="warning",
            log_dir=log_dir,
            extra_env=env,
            profile_to=profile_dir / f"federated-e2e-{name}.prof" if profile_dir is not None else None,
        )
        for name in ("fleet", "apps")
    ]
    fleet_replica, apps_replica = replicas
    nc: Client = await nats.connect(url, name="kurator-bench-federated", pending_size=8 * 1024 * 1024)
    config = (
        f"{count:,} FederatedDeployments (2 clusters x 1 replica), kurator-fleet + kurator-apps, "
        f"simulator x{time_scale:g}"
    )
    try:
        await fleet._wait_watching(nc, fleet_replica)
        await services.wait_answering(nc, apps_replica, "apps")
        collector = AvailableCollector()
        await collector.start(nc)
        if warmup:
            collector.expect({f"warm-{i}" for i in range(warmup)})
            warm = [intent(federated_deployment(f"warm-{i}", i)) for i in range(warmup)]
            await _send(nc, warm, publish_batch=publish_batch, sent=array("q", bytes(8 * warmup)))
            await collector.wait(timeout_seconds)
        names = [f"fd-bench-{i}" for i in range(count)]
        batch = [intent(federated_deployment(name, i)) for i, name in enumerate(names)]
        collector.expect(set(names))
        sent = array("q", bytes(8 * count))
        pids = {"nats-server": server_pid, "fleet": fleet_replica.pid, "apps": apps_replica.pid, "simulator": sim.pid}
        meter = CpuMeter(pids)
        with no_gc_pauses():
            meter.start()
            started = time.perf_counter_ns()
            await _send(nc, batch, publish_batch=publish_batch, sent=sent)
            published = time.perf_counter_ns()
            await collector.wait(timeout_seconds)
            meter.stop()
        services.check_alive(replicas)
    except Exception:
        for r in replicas:
            print(f"--- {r.name} log tail ---\n{r.log_tail()}", file=sys.stderr)
        raise
    finally:
        await nc.close()
        await services.stop(replicas)
    latencies = [collector.scheduled[n] - sent[i] for i, n in enumerate(names) if n in collector.scheduled]
    answered = [collector.answered[n] for n in names if n in collector.answered]
    answer_wall = (max(answered) - started) / 1e9 if answered else 0.0
    last = max((collector.scheduled[n] for n in names if n in collector.scheduled), default=0)
    wall = ((last or time.perf_counter_ns()) - started) / 1e9
    result = ScenarioResult(
        scenario="federated-e2e",
        config=config,
        sent=count,
        completed=len(latencies),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        latency=Latency.of_ns(latencies),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={
            "publish_seconds": round((published - started) / 1e9, 3),
            # The apps service's own part: intent in, plan, Propagation published, answer out.
            "apps_answered_per_second": round(len(answered) / answer_wall, 1) if answer_wall > 0 else 0.0,
            "federated_statuses": collector.statuses,
            "goal_per_second": GOAL_PER_SECOND,
            "goal_met": len(latencies) == count and len(latencies) / wall >= GOAL_PER_SECOND if wall > 0 else False,
            "service_logs": [str(r.log_path) for r in replicas],
        },
    )
    for name in ("apps", "fleet", "simulator", "nats-server"):
        result.extra[f"{name.replace('-', '_')}_cpu_us_per_fd"] = result.cpu_us_per_message(name)
    return result
