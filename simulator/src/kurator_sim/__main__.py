"""``kurator-sim`` / ``python -m kurator_sim``: run the fleet simulator standalone.

``kurator sim`` (the CLI) takes the same options.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path

from kurator_sim import app
from kurator_sim.settings import SimSettings
from shared.runtime import logging as kurator_logging


def parse(argv: Sequence[str] | None = None) -> SimSettings:
    p = argparse.ArgumentParser(prog="kurator-sim", description="A Karmada control plane with member clusters.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6443, help="Kubernetes API port (0: a free one)")
    p.add_argument("--topology", type=Path, help="topology file (default: the example fleet)")
    p.add_argument("--crds", type=Path, help="directory of CRD files to validate custom resources against")
    p.add_argument("--kubeconfig", type=Path, help="write a kubeconfig pointing at the simulator here")
    p.add_argument("--advertise-url", help="server URL for the kubeconfig (default: the listening address)")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--prometheus-port", type=int, help="serve the Prometheus/Thanos query API on this port")
    p.add_argument("--seed", type=int, help="seed of fault injection's random numbers")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    a = p.parse_args(argv)
    return SimSettings(
        host=a.host,
        port=a.port,
        topology=a.topology,
        crds=a.crds,
        kubeconfig=a.kubeconfig,
        advertise_url=a.advertise_url,
        time_scale=a.time_scale,
        prometheus_port=a.prometheus_port,
        seed=a.seed,
        log_level=a.log_level,
    )


def run(settings: SimSettings) -> None:
    kurator_logging.configure(level=settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await app.serve(settings, stop)

    asyncio.run(main())


def main(argv: Sequence[str] | None = None) -> None:
    run(parse(argv))


if __name__ == "__main__":
    main()
