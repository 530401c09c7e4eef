"""The Karmada cluster proxy: ``/apis/cluster.karmada.io/v1alpha1/clusters/<name>/proxy/...``
serves the member's own API, with the member's faults applied on the way.

Faults, checked in this order: a member that is ``down`` or ``partitioned`` cannot be reached
(503; a real karmada-aggregated-apiserver reports the dial error of its transport); then
``latency_seconds`` of wall-clock delay; then with probability ``error_rate`` a 500
InternalError; then with probability ``timeout_rate`` the call hangs until the client gives up
(or 60 s, then 504). Draws come from the server's seeded ``random.Random``.
"""

from __future__ import annotations

import asyncio
import random

from kurator_sim import errors
from kurator_sim.fleet import Faults

HANG_SECONDS = 60.0


def unreachable(cluster: str, faults: Faults) -> errors.ApiError:
    cause = "connect: connection refused" if faults.down else "i/o timeout"
    return errors.unavailable(f'error trying to reach cluster "{cluster}": dial tcp {cluster}:6443: {cause}')


async def apply_faults(cluster: str, faults: Faults, rng: random.Random) -> None:
    """Delay or fail a proxied call as ``faults`` say; returns when it may be served.

    Raises:
        ApiError: 503 unreachable, 500 injected failure, 504 after hanging.
    """
    if not faults.reachable:
        raise unreachable(cluster, faults)
    if faults.latency_seconds > 0:
        await asyncio.sleep(faults.latency_seconds)
    if faults.error_rate > 0 and rng.random() < faults.error_rate:
        raise errors.internal(
            f'an error on the server ("injected fault in cluster {cluster}") has prevented the request from succeeding'
        )
    if faults.timeout_rate > 0 and rng.random() < faults.timeout_rate:
        await asyncio.sleep(HANG_SECONDS)
        raise errors.timeout("Timeout: request did not complete within the allotted timeout")
