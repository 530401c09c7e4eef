"""The watchers' knobs, read once from the service settings.

The fleet's :class:`~kurator_fleet.settings.FleetSettings` may define the ``KURATOR_*`` fields
below; a settings object without them (the plain ``ServiceSettings`` tests start services
with) gets the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kurator_fleet.watchers.signals import Thresholds
from shared.k8s import watching


@dataclass(frozen=True, slots=True, kw_only=True)
class WatcherSettings:
    resync: timedelta = timedelta(seconds=300)
    """``KURATOR_RESYNC_SECONDS``: how often every watch lists again and every status is checked."""
    deleted_linger: timedelta = timedelta(seconds=5)
    """``KURATOR_DELETED_LINGER_SECONDS``: how long a final ``Deleted`` status stays before the purge."""
    pressure: Thresholds = field(default_factory=Thresholds)
    """``KURATOR_PRESSURE_FREE_FRACTION`` (default 0.10) and ``KURATOR_PRESSURE_RELIEF_FRACTION``
    (0.15): free cpu or memory below the first is capacity pressure, above the second no longer."""
    watch: watching.WatchSettings = field(default_factory=watching.WatchSettings)
    publishers: int = 16
    """``KURATOR_WATCH_PUBLISHERS``: status publishes in flight at once."""
    coalesce: timedelta = timedelta(milliseconds=100)
    """``KURATOR_STATUS_COALESCE_SECONDS``: how long a status waits for more changes of the same
    object before it is published (a binding goes created, scheduled, applied in a few ms)."""
    settle: timedelta = timedelta(seconds=5)
    """``KURATOR_STATUS_SETTLE_SECONDS``: while the writer is busy, how long at most a change
    that moves no milestone (a counter, a condition within the same phase, ``Scheduled`` to
    ``Progressing``, a binding not yet scheduled) may wait to go out with the next step (under
    load Karmada's steps come seconds apart). 0: never held."""

    @classmethod
    def from_service(cls, settings: Any) -> WatcherSettings:
        def number(name: str, default: float) -> float:
            value = getattr(settings, name, None)
            return float(value) if isinstance(value, int | float) else default

        enter = number("pressure_free_fraction", 0.10)
        leave = max(enter, number("pressure_relief_fraction", max(0.15, enter)))
        return cls(
            resync=timedelta(seconds=number("resync_seconds", 300.0)),
            deleted_linger=timedelta(seconds=number("deleted_linger_seconds", 5.0)),
            pressure=Thresholds(enter=enter, leave=leave),
            publishers=max(1, int(number("watch_publishers", 16))),
            coalesce=timedelta(seconds=max(0.0, number("status_coalesce_seconds", 0.1))),
            settle=timedelta(seconds=max(0.0, number("status_settle_seconds", 5.0))),
        )
