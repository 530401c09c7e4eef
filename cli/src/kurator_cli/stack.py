"""``kurator up``: the embedded NATS server, the fleet simulator and every service as
separate processes.

State lives in one directory (``KURATOR_DATA_DIR``, default ``.kurator/``): NATS data under
``nats/``, the simulator's kubeconfig as ``kubeconfig``, one log file per process under
``logs/``. Services are pointed at the simulator (``KURATOR_KUBECONFIG``) unless a real
Karmada's kubeconfig is given. A process that dies is restarted with back-off; Ctrl-C or
SIGTERM stops the services first (each drains its in-flight intents), then the simulator and
NATS.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.contracts import subjects
from shared.runtime import natsserver


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    http_port: int | None = None
    ready_path: str = "/readyz"
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        if not self.alive() or self.http_port is None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{self.ready_path}", timeout=0.5) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            # HTTPException too: a probe of a port nobody listens on yet can connect to itself
            # (TCP self-connect in the ephemeral range) and read back its own request line.
            return False

    def terminate(self) -> None:
        if self.alive() and self.proc is not None:
            self.proc.terminate()

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Stack:
    data_dir: Path
    nats_url: str | None = None
    """An existing NATS; ``None`` starts the embedded one."""
    nats_port: int = 4222
    http_port_base: int = 8081
    replicas: int = 1
    services: Sequence[str] = subjects.SERVICES
    drain_timeout_seconds: float = 10.0
    kubeconfig: Path | None = None
    """A real Karmada's kubeconfig; ``None`` starts the simulator and uses its kubeconfig."""
    sim_port: int = 6443
    sim_args: Sequence[str] = ()
    """Extra simulator options (``--crds DIR``, ``--topology FILE``, ``--time-scale X``, ...)."""
    nats: natsserver.NatsServer | None = None
    processes: list[Process] = field(default_factory=list)
    kubeconfig_in_use: Path | None = None

    @property
    def url(self) -> str:
        if self.nats_url:
            return self.nats_url
        if self.nats is None:
            raise RuntimeError("NATS not started")
        return self.nats.url

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.nats_url:
            self.nats = natsserver.NatsServer(
                store_dir=self.data_dir / "nats", port=self.nats_port, log_file=self.data_dir / "logs" / "nats.log"
            )
            (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
            self.nats.start()
        kubeconfig = self.kubeconfig
        if kubeconfig is None:
            kubeconfig = self.data_dir / "kubeconfig"
            kubeconfig.unlink(missing_ok=True)
            sim = Process(
                name="simulator",
                args=[
                    sys.executable,
                    "-m",
                    "kurator_sim",
                    "--port",
                    str(self.sim_port),
                    "--kubeconfig",
                    str(kubeconfig),
                    *self.sim_args,
                ],
                env={**os.environ, "KURATOR_LOG_FORMAT": "json"},
                log_path=self.data_dir / "logs" / "simulator.log",
                http_port=self.sim_port,
            )
            sim.start()
            self.processes.append(sim)
            # Services read the kubeconfig once at start: wait until the simulator wrote it.
            deadline = time.monotonic() + 60
            while not kubeconfig.exists():
                if not sim.alive():
                    raise RuntimeError(f"the simulator exited; see {sim.log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the simulator did not come up in 60 s; see {sim.log_path}")
                time.sleep(0.1)
        self.kubeconfig_in_use = kubeconfig
        port = self.http_port_base
        for service in self.services:
            for i in range(self.replicas):
                replica = f"{service}-{i}"
                env = dict(os.environ)
                env.update(
                    {
                        "KURATOR_NATS_URL": self.url,
                        "KURATOR_HTTP_PORT": str(port),
                        "KURATOR_HTTP_HOST": "127.0.0.1",
                        "KURATOR_LOG_FORMAT": "json",
                        "KURATOR_REPLICA_ID": replica,
                        "KURATOR_DRAIN_TIMEOUT_SECONDS": str(self.drain_timeout_seconds),
                        "KURATOR_KUBECONFIG": str(kubeconfig),
                    }
                )
                proc = Process(
                    name=replica,
                    args=[sys.executable, "-m", f"kurator_{service}"],
                    env=env,
                    log_path=self.data_dir / "logs" / f"{replica}.log",
                    http_port=port,
                )
                proc.start()
                self.processes.append(proc)
                port += 1

    def supervise(self) -> list[str]:
        """Restart dead processes (with back-off); returns what was restarted."""
        restarted = []
        now = time.monotonic()
        for proc in self.processes:
            if proc.alive():
                continue
            if proc.next_start == 0.0:
                proc.restarts += 1
                proc.next_start = now + min(30.0, 0.5 * 2**proc.restarts)
            elif now >= proc.next_start:
                proc.next_start = 0.0
                proc.start()
                restarted.append(proc.name)
        return restarted

    def stop(self) -> None:
        # Services first (they drain their intents), then the simulator they talk to.
        ordered = sorted(self.processes, key=lambda p: p.name == "simulator")
        for proc in ordered:
            if proc.name != "simulator":
                proc.terminate()
        deadline = time.monotonic() + self.drain_timeout_seconds + 5
        for proc in ordered:
            if proc.name == "simulator":
                proc.terminate()
            proc.wait(deadline)
        if self.nats is not None:
            self.nats.stop()
