"""Service replicas under test, each its own process (``kurator-<service>``), and their readiness."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg


@dataclass
class ServiceProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def command(service: str, *, profile_to: Path | None = None) -> list[str]:
    """The service's console script next to this interpreter, or ``python -m kurator_<service>``."""
    module = f"kurator_{service}"
    if profile_to is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", module]
    script = Path(sys.executable).parent / f"kurator-{service}"
    if script.exists():
        return [str(script)]
    found = shutil.which(f"kurator-{service}")
    return [found] if found else [sys.executable, "-m", module]


def start(
    service: str,
    *,
    index: int,
    nats_url: str,
    log_level: str,
    log_dir: Path,
    extra_env: Mapping[str, str],
    profile_to: Path | None = None,
) -> ServiceProcess:
    name = f"{service}-{index}"
    env = {
        **os.environ,
        "KURATOR_NATS_URL": nats_url,
        "KURATOR_HTTP_PORT": "0",
        "KURATOR_HTTP_HOST": "127.0.0.1",
        "KURATOR_LOG_LEVEL": log_level,
        "KURATOR_LOG_FORMAT": "json",
        "KURATOR_REPLICA_ID": f"bench-{name}",
        **extra_env,
    }
    log_path = log_dir / f"{name}-{log_level}.log"
    with open(log_path, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            command(service, profile_to=profile_to),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServiceProcess(name=name, proc=proc, log_path=log_path)


async def stop(replicas: list[ServiceProcess], *, timeout_seconds: float = 30.0) -> None:
    """SIGTERM every replica (they drain and exit 0), then SIGKILL what is left after the deadline."""
    for r in replicas:
        if r.alive():
            r.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_seconds
    for r in replicas:
        try:
            await asyncio.to_thread(r.proc.wait, max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            r.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(r.proc.wait, 5)


async def count_instances(nc: Client, service: str, *, listen_seconds: float = 0.3) -> int:
    """How many replicas answer the NATS micro ``$SRV.PING.kurator-<service>``."""
    replies: list[Msg] = []
    inbox = nc.new_inbox()

    async def collect(msg: Msg) -> None:
        # With nobody listening the server answers once with an empty 503 "no responders".
        if msg.data:
            replies.append(msg)

    sub = await nc.subscribe(inbox, cb=collect)
    try:
        await nc.publish(f"$SRV.PING.kurator-{service}", b"", reply=inbox)
        await nc.flush()
        await asyncio.sleep(listen_seconds)
    finally:
        await sub.unsubscribe()
    return len(replies)


def check_alive(replicas: list[ServiceProcess]) -> None:
    for r in replicas:
        if not r.alive():
            raise RuntimeError(f"{r.name} exited with {r.proc.returncode}:\n{r.log_tail()}")


async def wait_answering(nc: Client, replica: ServiceProcess, service: str, *, timeout_seconds: float = 60.0) -> None:
    """Until ``service`` answers ``$SRV.PING`` (its consumer and queries are up)."""
    started = time.monotonic()
    while await count_instances(nc, service, listen_seconds=0.1) < 1:
        check_alive([replica])
        if time.monotonic() - started > timeout_seconds:
            raise TimeoutError(f"the {service} service did not start")
        await asyncio.sleep(0.2)
