"""Scenario 1, the raw baseline: JetStream publish + durable pull consumer fetch/ack, no kurator code.

The messages are byte-for-byte shaped like intents (same body, same CloudEvents headers with
a fresh ``Nats-Msg-Id``, a subject of the same depth) and go to a stream configured like
``KURATOR_INTENTS`` (file storage, limits retention, 2-minute de-duplication window), so the
only difference from the pipeline is what the consumer does with each message.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from array import array
from pathlib import Path

from nats.aio.client import Client
from nats.js import api

from bench import workload
from bench.stats import CpuMeter, Latency, ScenarioResult, no_gc_pauses

DURABLE = "bench-raw"
REPO_ROOT = Path(__file__).resolve().parents[1]


async def _declare(nc: Client) -> None:
    js = nc.jetstream()
    await js.add_stream(
        config=api.StreamConfig(
            name=workload.RAW_STREAM,
            subjects=[f"{workload.RAW_PREFIX}.>"],
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            duplicate_window=120.0,
        )
    )
    await js.add_consumer(
        workload.RAW_STREAM,
        config=api.ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=30.0,
            max_deliver=5,
            max_ack_pending=2000,  # the kurator services' default (KURATOR_MAX_ACK_PENDING)
        ),
    )


def _read_acks(path: Path) -> array[int]:
    acked = array("q")
    acked.frombytes(path.read_bytes())
    return acked


async def run(
    nc: Client,
    *,
    url: str,
    work: workload.Workload,
    count: int,
    batch: int,
    publish_batch: int,
    server_pid: int,
    timeout_seconds: float,
) -> ScenarioResult:
    """Publish ``count`` messages with ``publish_async`` while a consumer process fetches and acks them."""
    await _declare(nc)
    messages = workload.raw_messages(work, count)
    js = nc.jetstream(publish_async_max_pending=4000)
    with tempfile.TemporaryDirectory(prefix="kurator-bench-raw-") as tmp:
        out = Path(tmp) / "acks.bin"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.raw_consumer",
            "--url",
            url,
            "--durable",
            DURABLE,
            "--count",
            str(count),
            "--batch",
            str(batch),
            "--out",
            str(out),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            if line.strip() != b"READY":
                raise RuntimeError(f"raw consumer did not start (said {line!r})")
            meter = CpuMeter({"nats-server": server_pid})
            sent = array("q", bytes(8 * count))
            futures = []
            with no_gc_pauses():
                meter.start()
                started = time.perf_counter_ns()
                for i, m in enumerate(messages):
                    if i % publish_batch == 0:
                        await asyncio.sleep(0)  # let nats-py's flusher write the batch (see bench.pipeline.BURST_NOTE)
                    sent[i] = time.perf_counter_ns()
                    futures.append(await js.publish_async(m.subject, m.body, headers=m.headers))
                await asyncio.gather(*futures)
                published = time.perf_counter_ns()
                try:
                    tail, _ = await asyncio.wait_for(proc.communicate(), timeout=timeout_seconds)
                except TimeoutError:
                    proc.terminate()
                    tail, _ = await proc.communicate()
                meter.stop()
            for said in tail.decode().splitlines():
                if said.startswith("CPU "):
                    meter.add("consumer", float(said.split()[1]))
            acked = _read_acks(out)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    done = [(s, a) for s, a in zip(sent, acked, strict=False) if a > 0]
    finished = max((a for _, a in done), default=published)
    wall = (finished - started) / 1e9
    await nc.jetstream().delete_stream(workload.RAW_STREAM)
    result = ScenarioResult(
        scenario="raw",
        config=f"publish_async + fetch({batch}) + ack",
        sent=count,
        completed=len(done),
        wall_seconds=round(wall, 3),
        rate_per_second=round(len(done) / wall, 1) if wall > 0 else 0.0,
        latency=Latency.of_ns(a - s for s, a in done),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={
            "message_bytes": messages[0].size,
            "publish_seconds": round((published - started) / 1e9, 3),
            "publish_rate_per_second": round(count / ((published - started) / 1e9), 1),
        },
    )
    result.extra["consumer_cpu_us_per_message"] = result.cpu_us_per_message("consumer")
    result.extra["server_cpu_us_per_message"] = result.cpu_us_per_message("nats-server")
    return result
