"""Helpers for end-to-end tests that run kurator as real processes, as a user would."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free TCP ports on 127.0.0.1.

    Chosen below the kernel's ephemeral range (32768+), where outgoing connections and
    ``port 0`` listeners (nats-server, in-process services) take their ports: a port picked
    there could be taken again before the process meant for it binds it.
    """
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(20000, 32000 - count)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no run of free ports")


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    nats_url: str
    data_dir: Path
    output: list[str]

    def kurator(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "kurator"), *args, "--nats-url", self.nats_url],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``kurator up`` on free ports, waited until every service is ready."""
    http_base = free_port_run(6)
    proc = subprocess.Popen(
        [
            str(BIN / "kurator"),
            "up",
            "--nats-port",
            "0",
            "--sim-port",
            str(http_base),
            "--http-port-base",
            str(http_base + 1),
            "--data-dir",
            str(tmp_path / "kurator"),
            # A cold start (first import of every module, a loaded CI machine) can be slow.
            "--ready-timeout",
            "150",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 180
    url = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        found = re.search(r"NATS at (nats://\S+),", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise AssertionError("kurator up did not come up:\n" + "".join(output))
    s = Stack(proc=proc, nats_url=url, data_dir=tmp_path / "kurator", output=output)
    try:
        yield s
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
