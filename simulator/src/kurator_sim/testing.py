"""Running the simulator inside tests: in the test's event loop (:func:`serve`) or in a
background thread (:class:`SimThread`, for synchronous tests that drive ``kubectl``), each on
a free port, with a kubeconfig pointing at it.

    async with testing.serve(crd_dir=CRDS) as sim:
        sim.write_kubeconfig(tmp_path / "kubeconfig")          # the Karmada host
        sim.write_kubeconfig(tmp_path / "m", cluster="cluster-beijing")  # a member via the proxy
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from kurator_sim import catalog, faults, kubeconfig, resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.fleet import Fleet

T = TypeVar("T")

SHARED_CRDS = Path(__file__).resolve().parents[4] / "shared" / "crds"
"""The upstream CRDs beside the repository (``../shared/crds``); may be absent."""


@functools.lru_cache(maxsize=8)
def load_registry(crd_dir: Path | None) -> resources.Registry:
    """The registry with the CRDs under ``crd_dir`` (parsed once per directory: it takes a second)."""
    return catalog.registry(crd_dir)


def make_fleet(
    *, topo: topology.Topology | None = None, crd_dir: Path | None = None, clock: SimClock | None = None
) -> Fleet:
    clock = clock or SimClock()
    return Fleet(topo or topology.load(), registry=load_registry(crd_dir), clock=clock)


@dataclass
class RunningSim:
    base_url: str
    port: int
    fleet: Fleet
    app: web.Application

    def proxy_url(self, cluster: str) -> str:
        return self.base_url + kubeconfig.proxy_path(cluster)

    def write_kubeconfig(self, path: Path, *, cluster: str | None = None) -> Path:
        """A kubeconfig whose current context is the host, or ``cluster`` through the proxy."""
        doc = kubeconfig.document(self.base_url, self.fleet.members)
        if cluster is not None:
            doc["current-context"] = cluster
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


@contextlib.asynccontextmanager
async def serve(
    fleet: Fleet | None = None, *, crd_dir: Path | None = None, seed: int = 0, port: int = 0
) -> AsyncIterator[RunningSim]:
    """Serve ``fleet`` (default: the example fleet) on 127.0.0.1 in the running event loop, with
    the fault API under ``/sim/v1/`` and no controllers (objects change only when tests write)."""
    from kurator_sim.api.server import build_app

    fleet = fleet or make_fleet(crd_dir=crd_dir)
    app = build_app(
        fleet,
        clock=fleet.clock,
        crd_dir_given=crd_dir is not None,
        rng=random.Random(seed),
        extra_routes=faults.routes(fleet),
    )
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = int(runner.addresses[0][1])
    try:
        yield RunningSim(f"http://127.0.0.1:{bound}", bound, fleet, app)
    finally:
        await runner.cleanup()


class SimThread:
    """The simulator in a background thread with its own event loop (for synchronous tests).

    Touch the fleet only through :meth:`call`, which runs a function in the server's loop.
    """

    def __init__(self, fleet: Fleet | None = None, *, crd_dir: Path | None = None, seed: int = 0) -> None:
        self._fleet = fleet
        self._crd_dir = crd_dir
        self._seed = seed
        self._loop = asyncio.new_event_loop()
        self._started: Future[RunningSim] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="kurator-sim", daemon=True)
        self.sim: RunningSim | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with serve(self._fleet, crd_dir=self._crd_dir, seed=self._seed) as sim:
                self._started.set_result(sim)
                await self._stop.wait()
        except BaseException as exc:  # surfaced to the starting thread
            if not self._started.done():
                self._started.set_exception(exc)
            raise

    def __enter__(self) -> RunningSim:
        self._thread.start()
        self.sim = self._started.result(timeout=60)
        return self.sim

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def call(self, fn: Callable[[Fleet], T]) -> T:
        """Run ``fn(fleet)`` in the server's loop and return its result."""
        assert self.sim is not None
        fleet = self.sim.fleet

        async def run() -> T:
            return fn(fleet)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any


async def call(
    session: Any,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    """One API call on an ``aiohttp.ClientSession``; the body is sent and read as JSON."""
    import orjson

    data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
    all_headers = {"Content-Type": content_type, **(headers or {})}
    async with session.request(method, path, data=data, headers=all_headers) as resp:
        raw = await resp.read()
        try:
            decoded = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            decoded = raw.decode(errors="replace")
        return Reply(resp.status, decoded, resp.headers)
