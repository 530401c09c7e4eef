"""Scenario ``traffic-weights``: a change of weights until the mesh's primary holds it.

Issue 5's goal: a change of weights reaches the written ``VirtualService`` in under 100 ms
p99. Each part runs in its own process, as ``kurator up`` runs it: a fresh ``nats-server``,
the simulator (``python -m kurator_sim`` at real time), one ``kurator-fleet`` (whose cluster
statuses tell the apps service the fleet and its primary) and one ``kurator-apps``.

The seed's ``user-service`` VirtualService (50/30/20 over per-cluster subsets) is applied
once; then ``--traffic-changes`` new intents each change its weights, one after the other.
The load generator watches ``VirtualService`` objects on the primary (``cluster-beijing``)
through Karmada's proxy, as an Istio control plane would, and a change counts when an event
shows the object annotated with its generation (``traffic.kurator.dev/generation``).

* **latency**: the watch event's arrival - the intent's send: the whole path (JetStream,
  the apps service's validation and derivation, server-side apply of the DestinationRule and
  the VirtualService through the proxy, the member's watch);
* **rate/s**: changes / wall time of the sequence (closed loop: the next change is sent
  when the previous one has arrived, so latency is not backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import nats
import orjson
from nats.aio.client import Client

from bench import fleet, services
from bench.stats import CpuMeter, Latency, ScenarioResult, no_gc_pauses
from shared.contracts import cloudevents, subjects
from shared.k8s import connection, members, resources, watching
from shared.runtime import natsserver

GOAL_P99_MS: Final = 100.0
PRIMARY: Final = "cluster-beijing"
NAME: Final = "user-service"
NAMESPACE: Final = "default"
GENERATION: Final = "traffic.kurator.dev/generation"
VIRTUAL_SERVICES: Final = resources.Resource("networking.istio.io", "v1", "virtualservices", True, "VirtualService")
SOURCE: Final = "kurator/bench/traffic"


def virtual_service(weights: tuple[int, int, int]) -> dict[str, Any]:
    route = [
        {"destination": {"host": NAME, "subset": subset}, "weight": weight}
        for subset, weight in zip(("beijing", "shanghai", "guangzhou"), weights, strict=True)
    ]
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "VirtualService",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"hosts": [NAME], "http": [{"route": route}]},
    }


def weights_for(i: int) -> tuple[int, int, int]:
    """A different split every time (consecutive intents must differ to bump the generation)."""
    first = 10 + i % 70
    second = (100 - first) // 2
    return first, second, 100 - first - second


class Arrivals:
    """When the primary's watch first showed each generation of the VirtualService."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self._changed = asyncio.Event()

    async def follow(self, api: connection.ApiClient) -> None:
        async for item in watching.infinite_watch(api, VIRTUAL_SERVICES, namespace=NAMESPACE):
            if not isinstance(item, watching.ObjectEvent) or item.type == "DELETED":
                continue
            now = time.perf_counter_ns()
            meta = item.object.get("metadata") or {}
            generation = (meta.get("annotations") or {}).get(GENERATION)
            if meta.get("name") == NAME and generation is not None:
                self.seen.setdefault(int(generation), now)
                self._changed.set()

    async def wait_for(self, generation: int, timeout_seconds: float) -> bool:
        deadline = time.monotonic() + timeout_seconds
        while generation not in self.seen:
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True


async def _send(nc: Client, doc: dict[str, Any]) -> int:
    address = subjects.ObjectAddress("apps", "virtualservice", NAMESPACE, NAME)
    env = cloudevents.Envelope.new(
        source=SOURCE,
        type=cloudevents.type_name("apps", "virtualservice", cloudevents.APPLY),
        subject=address.display(),
    )
    sent = time.perf_counter_ns()
    await nc.jetstream().publish(subjects.intent(address), orjson.dumps(doc), headers=env.headers())
    return sent


async def run(
    *, changes: int, timeout_seconds: float, work_dir: Path | None, service_env: dict[str, str]
) -> list[ScenarioResult]:
    with contextlib.ExitStack() as stack:
        tmp = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kurator-bench-traffic-")))
        tmp.mkdir(parents=True, exist_ok=True)
        server = natsserver.NatsServer(store_dir=tmp / "nats-traffic", port=0, log_file=tmp / "nats-traffic.log")
        url = server.start()
        try:
            async with fleet.simulator(tmp) as sim:
                result = await _scenario(
                    url=url,
                    server_pid=server.pid or 0,
                    sim=sim,
                    log_dir=tmp,
                    changes=changes,
                    timeout_seconds=timeout_seconds,
                    service_env=service_env,
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
    changes: int,
    timeout_seconds: float,
    service_env: dict[str, str],
) -> ScenarioResult:
    env = {"KURATOR_KUBECONFIG": str(sim.kubeconfig), **service_env}
    replicas = [
        services.start(name, index=0, nats_url=url, log_level="warning", log_dir=log_dir, extra_env=env)
        for name in ("fleet", "apps")
    ]
    fleet_replica, apps_replica = replicas
    nc: Client = await nats.connect(url, name="kurator-bench-traffic")
    karmada = await connection.api_client(sim.kubeconfig)
    clients = members.MemberClients(karmada)
    arrivals = Arrivals()
    follower = asyncio.create_task(arrivals.follow(clients(PRIMARY)))
    latencies: list[int] = []
    try:
        await fleet._wait_watching(nc, fleet_replica)
        await services.wait_answering(nc, apps_replica, "apps")
        await _send(nc, virtual_service((50, 30, 20)))
        if not await arrivals.wait_for(1, timeout_seconds):
            raise TimeoutError("the seed VirtualService never reached the primary")
        pids = {"nats-server": server_pid, "fleet": fleet_replica.pid, "apps": apps_replica.pid, "simulator": sim.pid}
        meter = CpuMeter(pids)
        with no_gc_pauses():
            meter.start()
            started = time.perf_counter_ns()
            for i in range(changes):
                sent = await _send(nc, virtual_service(weights_for(i)))
                if not await arrivals.wait_for(i + 2, timeout_seconds):
                    break
                latencies.append(arrivals.seen[i + 2] - sent)
            wall = (time.perf_counter_ns() - started) / 1e9
            meter.stop()
        services.check_alive(replicas)
    except Exception:
        for r in replicas:
            print(f"--- {r.name} log tail ---\n{r.log_tail()}", file=sys.stderr)
        raise
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await clients.close()
        await karmada.close()
        await nc.close()
        await services.stop(replicas)
    latency = Latency.of_ns(latencies)
    result = ScenarioResult(
        scenario="traffic-weights",
        config=f"{changes:,} weight changes one at a time to {PRIMARY}, kurator-fleet + kurator-apps, simulator x1",
        sent=changes,
        completed=len(latencies),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        latency=latency,
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={"goal_p99_ms": GOAL_P99_MS, "goal_met": latency.p99_ms < GOAL_P99_MS and len(latencies) == changes},
    )
    result.extra["apps_cpu_us_per_change"] = result.cpu_us_per_message("apps")
    return result
