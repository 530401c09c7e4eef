"""The simulator's scenarios: simple GETs per second, and watch fan-out latency.

The simulator runs as its own process (``python -m kurator_sim``), as ``kurator up`` runs it.

* ``sim-get``: ``GET /api/v1/namespaces/default/configmaps/bench`` over a pool of keep-alive
  connections, flat out; rate and per-request latency.
* ``sim-watch``: ``--sim-watchers`` watch streams on the namespace's configmaps, then
  ``--sim-events`` updates, each stamping its wall-clock send time into an annotation; every
  watcher timestamps every event it reads. Latency = read time - stamp, over all
  watcher-events. The watchers use bare asyncio streams and find the stamp with a byte
  search, so the load generator's own cost stays small next to the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import orjson
import yaml

from bench.stats import CpuMeter, Latency, ScenarioResult

STAMP = "kurator.dev/bench-sent-ns"
_STAMP_RE = re.compile(rb'"kurator\.dev/bench-sent-ns":"(\d+)"')
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@dataclass
class Sim:
    base_url: str
    pid: int


@contextlib.asynccontextmanager
async def running_sim() -> AsyncIterator[Sim]:
    with tempfile.TemporaryDirectory(prefix="kurator-bench-sim-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        log = open(Path(tmp) / "sim.log", "wb")  # noqa: SIM115, ASYNC230 - closed after the child exits
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kurator_sim",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--log-level",
            "warning",
            stdout=log,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while not kubeconfig.exists():
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the simulator did not start; see {tmp}/sim.log")
                await asyncio.sleep(0.05)
            server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
            yield Sim(base_url=server, pid=proc.pid)
        finally:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            log.close()


async def _put_configmap(http: aiohttp.ClientSession, base: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    async with http.post(
        base + CONFIGMAPS, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    ) as resp:
        if resp.status not in (201, 409):
            raise RuntimeError(f"create configmap: {resp.status} {await resp.text()}")


async def run_gets(sim: Sim, *, count: int, concurrency: int) -> ScenarioResult:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _put_configmap(http, sim.base_url, "bench")
        url = f"{sim.base_url}{CONFIGMAPS}/bench"
        latencies: list[int] = []
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter_ns()
                async with http.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"GET: {resp.status}")
                latencies.append(time.perf_counter_ns() - started)

        meter = CpuMeter({"simulator": sim.pid})
        meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        meter.stop()
    return ScenarioResult(
        scenario="sim-get",
        config=f"GET configmap, {concurrency} connections",
        sent=count,
        completed=len(latencies),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(latencies) / wall, 1),
        latency=Latency.of_ns(latencies),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={},
    )


class _Watcher:
    """One watch stream read with bare asyncio streams (HTTP/1.1, chunked)."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.events = 0
        self._task: asyncio.Task[None] | None = None

    async def open(self, host: str, port: int, path: str) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"watch: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        self._writer = writer
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            now = time.time_ns()
            for m in _STAMP_RE.finditer(chunk):
                self.latencies.append(now - int(m.group(1)))
                self.events += 1

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._writer.close()


async def run_watches(sim: Sim, *, watchers: int, events: int, interval_seconds: float = 0.05) -> ScenarioResult:
    split = urlsplit(sim.base_url)
    host, port = split.hostname or "127.0.0.1", int(split.port or 80)
    async with aiohttp.ClientSession() as http:
        await _put_configmap(http, sim.base_url, "watched")
        async with http.get(f"{sim.base_url}{CONFIGMAPS}") as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        path = f"{CONFIGMAPS}?watch=true&resourceVersion={rv}&timeoutSeconds=3600"
        opened = [_Watcher() for _ in range(watchers)]
        for i in range(0, watchers, 100):
            await asyncio.gather(*(w.open(host, port, path) for w in opened[i : i + 100]))
        meter = CpuMeter({"simulator": sim.pid})
        meter.start()
        t0 = time.perf_counter()
        url = f"{sim.base_url}{CONFIGMAPS}/watched"
        for _ in range(events):
            patch = {"metadata": {"annotations": {STAMP: str(time.time_ns())}}}
            async with http.patch(
                url, data=orjson.dumps(patch), headers={"Content-Type": "application/merge-patch+json"}
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"patch: {resp.status} {await resp.text()}")
            await asyncio.sleep(interval_seconds)
        expected = watchers * events
        deadline = time.monotonic() + 30
        while sum(w.events for w in opened) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - t0
        meter.stop()
        for w in opened:
            w.close()
    latencies = [lat for w in opened for lat in w.latencies]
    return ScenarioResult(
        scenario="sim-watch",
        config=f"{watchers} watches x {events} events",
        sent=expected,
        completed=len(latencies),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(latencies) / wall, 1),
        latency=Latency.of_ns(latencies),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={"watchers": watchers, "events": events, "interval_seconds": interval_seconds},
    )


async def run(*, gets: int, concurrency: int, watchers: int, events: int) -> list[ScenarioResult]:
    async with running_sim() as sim:
        print(f"bench: simulator {sim.base_url} (pid {sim.pid}): {gets:,} GETs", file=sys.stderr)
        results = [await run_gets(sim, count=gets, concurrency=concurrency)]
        print(f"bench: simulator: {watchers:,} watches x {events} events", file=sys.stderr)
        results.append(await run_watches(sim, watchers=watchers, events=events))
    return results
