"""One simulator process: the fleet, its controllers, the Kubernetes API, the fault API and
the fleet-wide Prometheus query API, started and stopped together.

Start-up order: resource registry (CRD schemas when given) -> fleet from the topology ->
controllers -> HTTP. The kubeconfig is written only once the API answers, so whoever waits
for the file can use it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from aiohttp import web

from kurator_sim import catalog, faults, kubeconfig, topology
from kurator_sim.api.server import build_app
from kurator_sim.clock import SimClock
from kurator_sim.controllers.kubeedge import KubeEdgeController
from kurator_sim.controllers.manager import ControllerManager
from kurator_sim.controllers.velero import VeleroController
from kurator_sim.controllers.volcano import VolcanoController
from kurator_sim.fleet import Fleet
from kurator_sim.prometheus.api import build_query_app
from kurator_sim.settings import SimSettings

log = structlog.get_logger(__name__)


@dataclass
class Running:
    """What a started simulator exposes to whoever started it."""

    fleet: Fleet
    base_url: str
    prometheus_url: str | None
    manager: ControllerManager


def build_fleet(settings: SimSettings) -> Fleet:
    clock = SimClock(scale=settings.time_scale)
    registry = catalog.registry(settings.crds)
    return Fleet(topology.load(settings.topology), registry=registry, clock=clock)


def build_manager(fleet: Fleet) -> ControllerManager:
    manager = ControllerManager(fleet, fleet.clock)
    manager.add(VeleroController(fleet=fleet))
    manager.add(VolcanoController(fleet=fleet))
    manager.add(KubeEdgeController(fleet=fleet))
    return manager


async def _start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])


@contextlib.asynccontextmanager
async def running(settings: SimSettings) -> AsyncIterator[Running]:
    """Start everything; stop it all on exit."""
    fleet = build_fleet(settings)
    if settings.crds is None:
        log.warning("sim.unvalidated", message="no CRD directory given: custom resources are served unvalidated")
    manager = build_manager(fleet)
    app = build_app(
        fleet,
        clock=fleet.clock,
        crd_dir_given=settings.crds is not None,
        rng=random.Random(settings.seed),
        extra_routes=faults.routes(fleet),
    )
    async with contextlib.AsyncExitStack() as stack:
        controllers = asyncio.create_task(manager.run(), name="controllers")

        async def stop_controllers() -> None:
            controllers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await controllers

        stack.push_async_callback(stop_controllers)
        runner, port = await _start_site(app, settings.host, settings.port)
        stack.push_async_callback(runner.cleanup)
        base_url = f"http://{settings.host}:{port}"
        prometheus_url = None
        if settings.prometheus_port is not None:
            prom_runner, prom_port = await _start_site(
                build_query_app(fleet, fleet.clock), settings.host, settings.prometheus_port
            )
            stack.push_async_callback(prom_runner.cleanup)
            prometheus_url = f"http://{settings.host}:{prom_port}"
        if settings.kubeconfig is not None:
            kubeconfig.write(settings.kubeconfig, settings.advertise_url or base_url, fleet.members)
        log.info(
            "sim.ready",
            api=base_url,
            prometheus=prometheus_url,
            clusters=list(fleet.members),
            time_scale=fleet.clock.scale,
            kubeconfig=str(settings.kubeconfig) if settings.kubeconfig else None,
            validated=settings.crds is not None,
        )
        yield Running(fleet=fleet, base_url=base_url, prometheus_url=prometheus_url, manager=manager)


GC_THRESHOLDS = (20_000, 20, 20)
"""The collector's thresholds for a simulator process (Python's default: 700, 10, 10).

Each request and each reconcile allocates thousands of short-lived containers (decoded JSON,
object copies); at 700 the young generation was collected mid-request over and over, and the
collector took about a quarter of the simulator's CPU under load."""


def tune_gc() -> None:
    """Collect less often, and never scan again what start-up built (registry, schemas,
    topology): frozen objects live for the whole process anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(settings: SimSettings, stop: asyncio.Event) -> None:
    """Run a simulator process until ``stop`` is set (the process's own GC settings included)."""
    async with running(settings):
        tune_gc()
        await stop.wait()
