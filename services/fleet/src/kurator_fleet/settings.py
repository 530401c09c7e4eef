"""Settings of the fleet service: the common ``KURATOR_*`` set plus the watch side's own."""

from __future__ import annotations

from pydantic import Field

from shared.runtime.settings import ServiceSettings


class FleetSettings(ServiceSettings):
    pressure_free_fraction: float = Field(default=0.10, ge=0.0, le=1.0)
    """A cluster is under pressure for a resource when less than this fraction of it is free."""
    pressure_relief_fraction: float = Field(default=0.15, ge=0.0, le=1.0)
    """...and stays so until more than this fraction is free again (hysteresis)."""
    watch_publishers: int = Field(default=16, ge=1)
    """Concurrent status publishes of the watch side."""
    status_coalesce_seconds: float = Field(default=0.1, ge=0.0)
    """How long a workload's status waits for further changes before it is published (0: at once)."""
    status_settle_seconds: float = Field(default=5.0, ge=0.0)
    """While the status writer is busy, how long at most a change that moves no milestone (a
    counter, a condition within the same phase, ``Scheduled`` to ``Progressing``) may wait to go
    out with the next step (0: never)."""
