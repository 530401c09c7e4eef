"""Simulated time: wall-clock time, optionally running faster for tests.

Every timed behaviour of the simulator (Karmada's cluster readiness timeout, workloads
becoming ready, Velero phases, heartbeats) reads time and sleeps through one ``SimClock``.
With ``scale=10`` a 40 s Karmada timeout passes in 4 real seconds; timestamps written into
objects advance ten times faster than the wall clock from the moment the simulator started.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, *, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._wall0 = datetime.now(UTC)
        self._mono0 = time.monotonic()
        self._epoch0 = self._wall0.timestamp()
        self._second: int | None = None
        self._stamp = ""

    def elapsed(self) -> float:
        """Simulated seconds since start."""
        return (time.monotonic() - self._mono0) * self.scale

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self.elapsed())

    def timestamp(self) -> str:
        """``metav1.Time`` format: RFC 3339, second precision, ``Z``."""
        # Every write stamps something, thousands a second under load: format each second once
        # (and find which second it is without building a datetime).
        second = int(self._epoch0 + (time.monotonic() - self._mono0) * self.scale)
        if second != self._second:
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._stamp

    def micro_timestamp(self) -> str:
        """``metav1.MicroTime`` format, as used by managedFields-free fields like lease renewals."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of simulated time take on the wall clock."""
        return seconds / self.scale
