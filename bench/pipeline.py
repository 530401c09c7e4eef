"""Scenarios 2 and 3: intents through a service under test, timed until their status comes back.

The load generator subscribes (core NATS, not JetStream) to ``kurator.status.<service>.>``
before sending, and matches each status to its intent by the ``ce-causationid`` header,
which the service sets to the intent's ``ce-id``. Rejections
(``kurator.event.<service>.intent.rejected``) are watched too, so a document the model
refuses fails the run at once instead of timing out.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from bench import services, workload
from bench.stats import CpuMeter, Latency, ScenarioResult, no_gc_pauses
from shared.contracts import subjects


class IntentRejectedError(RuntimeError):
    pass


class StatusCollector:
    """Receive time (``perf_counter_ns``) of the first status answering each intent id."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.rejected: dict[str, bytes] = {}
        self._pending: set[str] = set()
        self._all_in = asyncio.Event()
        self._failed = asyncio.Event()

    async def start(self, nc: Client, service: str) -> None:
        await nc.subscribe(subjects.statuses(service), cb=self._on_status, pending_msgs_limit=-1)
        await nc.subscribe(subjects.rejected(service), cb=self._on_rejected, pending_msgs_limit=-1)
        await nc.flush()

    async def _on_status(self, msg: Msg) -> None:
        now = time.perf_counter_ns()
        cid = msg.headers.get("ce-causationid") if msg.headers else None
        if cid is None:
            return
        self.received.setdefault(cid, now)
        if cid in self._pending:
            self._pending.discard(cid)
            if not self._pending:
                self._all_in.set()

    async def _on_rejected(self, msg: Msg) -> None:
        cid = (msg.headers or {}).get("ce-causationid", "?")
        self.rejected[cid] = msg.data
        self._failed.set()

    def expect(self, ids: Iterable[str]) -> None:
        """Wait (in :meth:`wait`) for these ids; call before sending them."""
        self._pending = {i for i in ids if i not in self.received}
        if self._pending:
            self._all_in.clear()
        else:
            self._all_in.set()

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    async def wait(self, timeout_seconds: float) -> bool:
        """True once every expected status is in; False on timeout. Raises on a rejection."""
        done = asyncio.create_task(self._all_in.wait())
        failed = asyncio.create_task(self._failed.wait())
        try:
            await asyncio.wait({done, failed}, timeout=timeout_seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            failed.cancel()
        if self._failed.is_set():
            cid, body = next(iter(self.rejected.items()))
            raise IntentRejectedError(f"intent {cid} was rejected: {body[:600].decode(errors='replace')}")
        return self._all_in.is_set()


BURST_NOTE = """nats-py's ``publish`` only appends to a buffer that a flusher task writes out; a
loop of ``publish_async`` calls never suspends while the in-flight window has room, so
without an explicit yield the first message of a 4,000-message burst leaves only when the
whole burst is buffered (~0.3 s later). The senders yield every ``publish_batch`` messages."""


async def _send(js: JetStreamContext, m: workload.Message) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = await js.publish_async(m.subject, m.body, headers=m.headers)
    return future


async def apply_and_wait(
    js: JetStreamContext, collector: StatusCollector, messages: Sequence[workload.Message], *, timeout_seconds: float
) -> bool:
    """Send ``messages`` as fast as possible and wait for all their statuses (warm-up, probes)."""
    collector.expect(m.id for m in messages)
    futures = []
    for i, m in enumerate(messages):
        if i % 100 == 0:
            await asyncio.sleep(0)  # see BURST_NOTE
        futures.append(await _send(js, m))
    await asyncio.gather(*futures)
    return await collector.wait(timeout_seconds)


async def wait_ready(
    nc: Client,
    js: JetStreamContext,
    collector: StatusCollector,
    work: workload.Workload,
    replicas: list[services.ServiceProcess],
    *,
    timeout_seconds: float = 60.0,
) -> float:
    """Until every replica answers ``$SRV.PING`` and a probe intent gets its status back; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout_seconds
    while await services.count_instances(nc, work.service) < len(replicas):
        services.check_alive(replicas)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only some of {len(replicas)} {work.service} replicas answer $SRV.PING")
    attempt = 0
    while True:
        services.check_alive(replicas)
        probe = workload.intent(work, f"probe-{time.monotonic_ns()}-{attempt}")
        try:
            if await apply_and_wait(js, collector, [probe], timeout_seconds=2.0):
                return round(time.monotonic() - started, 3)
        except nats.js.errors.NoStreamResponseError:
            await asyncio.sleep(0.2)  # the service has not declared its streams yet
        attempt += 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"no status for a probe intent within {timeout_seconds} s")


def _with_cpu_figures(result: ScenarioResult) -> ScenarioResult:
    replicas = [name for name in result.cpu_seconds if name not in ("nats-server", "loadgen")]
    result.extra["service_cpu_us_per_intent"] = result.cpu_us_per_message(*replicas)
    result.extra["server_cpu_us_per_intent"] = result.cpu_us_per_message("nats-server")
    return result


def _latencies(
    messages: Sequence[workload.Message], sent: array[int], received: dict[str, int]
) -> tuple[list[int], int]:
    """Latencies of the answered messages and the receive time of the last answer."""
    out = []
    last = 0
    for i, m in enumerate(messages):
        got = received.get(m.id)
        if got is not None:
            out.append(got - sent[i])
            last = max(last, got)
    return out, last


async def throughput(
    js: JetStreamContext,
    collector: StatusCollector,
    messages: Sequence[workload.Message],
    *,
    meter: CpuMeter,
    config: str,
    publish_batch: int,
    timeout_seconds: float,
) -> ScenarioResult:
    """Scenario 2: publish every intent as fast as ``publish_async`` allows, wait for every status."""
    count = len(messages)
    sent = array("q", bytes(8 * count))
    collector.expect(m.id for m in messages)
    futures = []
    with no_gc_pauses():
        meter.start()
        started = time.perf_counter_ns()
        for i, m in enumerate(messages):
            if i % publish_batch == 0:
                await asyncio.sleep(0)  # see BURST_NOTE
            sent[i] = time.perf_counter_ns()
            futures.append(await _send(js, m))
        await asyncio.gather(*futures)
        published = time.perf_counter_ns()
        await collector.wait(timeout_seconds)
        meter.stop()
    lat, last = _latencies(messages, sent, collector.received)
    wall = ((last or time.perf_counter_ns()) - started) / 1e9
    return _with_cpu_figures(
        ScenarioResult(
            scenario="pipeline-throughput",
            config=config,
            sent=count,
            completed=len(lat),
            wall_seconds=round(wall, 3),
            rate_per_second=round(len(lat) / wall, 1) if wall > 0 else 0.0,
            latency=Latency.of_ns(lat),
            cpu_seconds=meter.seconds,
            cpu_percent=meter.percent_of(wall),
            extra={
                "message_bytes": messages[0].size,
                "publish_seconds": round((published - started) / 1e9, 3),
                "publish_rate_per_second": round(count / ((published - started) / 1e9), 1),
            },
        )
    )


async def fixed_rate(
    js: JetStreamContext,
    collector: StatusCollector,
    messages: Sequence[workload.Message],
    *,
    rate: float,
    meter: CpuMeter,
    config: str,
    timeout_seconds: float,
) -> ScenarioResult:
    """Scenario 3: open loop at ``rate`` intents/s; sends follow a clock, never wait for replies.

    Latency is measured from the actual send; ``schedule_*`` measures from the planned send
    time, which also counts any time the load generator itself fell behind.
    """
    count = len(messages)
    interval_ns = int(1e9 / rate)
    sent = array("q", bytes(8 * count))
    planned = array("q", bytes(8 * count))
    collector.expect(m.id for m in messages)
    futures = []
    with no_gc_pauses():
        meter.start()
        origin = time.perf_counter_ns() + 1_000_000
        for i, m in enumerate(messages):
            due = origin + i * interval_ns
            # Sleep even when late (0 s): the flusher must run between sends (see BURST_NOTE).
            await asyncio.sleep(max(0, due - time.perf_counter_ns()) / 1e9)
            planned[i] = due
            sent[i] = time.perf_counter_ns()
            futures.append(await _send(js, m))
        last_send = time.perf_counter_ns()
        await asyncio.gather(*futures)
        await collector.wait(timeout_seconds)
        meter.stop()
    lat, last = _latencies(messages, sent, collector.received)
    from_plan, _ = _latencies(messages, planned, collector.received)
    send_span = (last_send - sent[0]) / 1e9
    wall = ((last or time.perf_counter_ns()) - sent[0]) / 1e9
    slip = Latency.of_ns(s - p for s, p in zip(sent, planned, strict=True))
    achieved = round((count - 1) / send_span, 1) if send_span > 0 else 0.0
    completed_rate = round(len(lat) / wall, 1) if wall > 0 else 0.0
    return _with_cpu_figures(
        ScenarioResult(
            scenario="pipeline-latency",
            config=config,
            sent=count,
            completed=len(lat),
            wall_seconds=round(wall, 3),
            rate_per_second=completed_rate,
            latency=Latency.of_ns(lat),
            cpu_seconds=meter.seconds,
            cpu_percent=meter.percent_of(wall),
            extra={
                "offered_rate_per_second": rate,
                "achieved_send_rate_per_second": achieved,
                "send_seconds": round(send_span, 3),
                "schedule_latency": Latency.of_ns(from_plan).to_json(),
                "send_slip_p99_ms": slip.p99_ms,
                "send_slip_max_ms": slip.max_ms,
            },
        )
    )
