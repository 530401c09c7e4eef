"""Service replicas as separate processes: a killed replica loses nothing; SIGTERM drains."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from shared.bus import reader
from shared.bus.publisher import Publisher
from shared.contracts import subjects
from shared.testing import samples
from shared.testing.eventually import eventually

from .conftest import free_port_run

policy = samples.propagation_policy
addr = samples.policy_address


class Replicas:
    def __init__(self, nats_url: str, logs: Path) -> None:
        self.nats_url = nats_url
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        port = free_port_run(1)
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kurator_fleet"],
                env={
                    **os.environ,
                    "KURATOR_NATS_URL": self.nats_url,
                    "KURATOR_HTTP_PORT": str(port),
                    "KURATOR_REPLICA_ID": name,
                    "KURATOR_LOG_LEVEL": "warning",
                    **env,
                },
                stdout=log,
                stderr=log,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture
def replicas(nats_url: str, tmp_path: Path) -> Iterator[Replicas]:
    r = Replicas(nats_url, tmp_path)
    try:
        yield r
    finally:
        r.stop_all()


async def wait_ready(nc: Any, count: int) -> None:
    async def all_up() -> bool:
        try:
            msgs = []
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish("$SRV.PING.kurator-fleet", b"", reply=inbox)
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline and len(msgs) < count:
                try:
                    reply = await sub.next_msg(timeout=0.1)
                except nats.errors.TimeoutError:
                    continue
                if reply.data:  # an empty reply is the server's "no responders" status
                    msgs.append(reply)
            await sub.unsubscribe()
            return len(msgs) >= count
        except nats.errors.Error:
            return False

    await eventually(all_up, timeout_seconds=60, message=f"{count} replicas answering $SRV.PING")


async def test_replica_killed_mid_stream_loses_nothing(nc: Any, replicas: Replicas) -> None:
    """SIGKILL one of two replicas mid-stream: its unacknowledged intents go to the other one."""
    js = nc.jetstream()
    first = replicas.start("fleet-a", KURATOR_ACK_WAIT_SECONDS="2", KURATOR_MAX_IN_FLIGHT="64")
    replicas.start("fleet-b", KURATOR_ACK_WAIT_SECONDS="2", KURATOR_MAX_IN_FLIGHT="64")
    await wait_ready(nc, 2)
    done: set[str] = set()

    async def on_status(msg: Any) -> None:
        done.add(orjson.loads(msg.data)["metadata"]["name"])

    await nc.subscribe(subjects.statuses("fleet"), cb=on_status)
    pub = Publisher(nc, source="test")
    for i in range(1000):
        await pub.intent(addr(f"obj-{i}"), policy(f"obj-{i}"))
        if i == 300:
            await eventually(lambda: _true(len(done) >= 100), message="some handled before the kill")
            first.kill()
    first.wait()
    await eventually(lambda: _true(len(done) == 1000), timeout_seconds=120, message="all 1000 answered")
    snapshot = await reader.snapshot(js, subjects.statuses("fleet"))
    assert len(snapshot) == 1000
    assert {m.document["metadata"]["generation"] for m in snapshot} == {1}
    assert {m.phase for m in snapshot} == {"Accepted"}
    info = await js.consumer_info(subjects.INTENTS_STREAM, "kurator-fleet")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


async def test_sigterm_drains_and_exits_zero(nc: Any, replicas: Replicas) -> None:
    """SIGTERM: stop pulling, finish in-flight intents, exit 0 well within the drain deadline."""
    proc = replicas.start("fleet-t", KURATOR_DRAIN_TIMEOUT_SECONDS="5")
    await wait_ready(nc, 1)
    pub = Publisher(nc, source="test")
    for i in range(200):
        await pub.intent(addr(f"t-{i}"), policy(f"t-{i}"))
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0
    assert time.monotonic() - started < 10
    replacement = replicas.start("fleet-u")
    await wait_ready(nc, 1)
    snap = await eventually(
        lambda: _count(nc.jetstream(), 200), timeout_seconds=30, message="every intent answered once"
    )
    assert len(snap) == 200
    replacement.kill()


async def _count(js: Any, n: int) -> list[Any]:
    snap = await reader.snapshot(js, subjects.statuses("fleet"))
    return snap if len(snap) == n else []


async def _true(value: bool) -> bool:
    return value
