"""How one simulator process is configured (command line of ``kurator sim`` / ``python -m kurator_sim``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSettings:
    host: str = "127.0.0.1"
    port: int = 6443
    """Port of the Kubernetes API (0: a free one, reported at start-up and in the kubeconfig)."""
    topology: Path | None = None
    """Topology file; ``None``: the example fleet shipped with the simulator."""
    crds: Path | None = None
    """Directory of CRD files whose schemas validate custom resources; ``None``: unvalidated."""
    kubeconfig: Path | None = None
    """Where to write a kubeconfig pointing at the simulator (host context plus one per member)."""
    advertise_url: str | None = None
    """The server URL written into the kubeconfig, when clients reach the simulator by another
    name than its listening address (``http://simulator:6443`` in docker compose)."""
    time_scale: float = 1.0
    """Simulated seconds per real second (10: Karmada's 40 s timeout passes in 4 s)."""
    prometheus_port: int | None = None
    """Port of the fleet-wide Prometheus/Thanos query API; ``None``: not served."""
    seed: int | None = None
    """Seed of the random numbers behind fault injection, for reproducible runs."""
    log_level: str = "info"
