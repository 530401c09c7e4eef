"""The watch side's settings come from ``KURATOR_*`` variables like every other setting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kurator_fleet.settings import FleetSettings
from kurator_fleet.watchers.config import WatcherSettings


def test_watch_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURATOR_STATUS_COALESCE_SECONDS", "0")
    monkeypatch.setenv("KURATOR_PRESSURE_FREE_FRACTION", "0.2")
    monkeypatch.setenv("KURATOR_PRESSURE_RELIEF_FRACTION", "0.3")
    monkeypatch.setenv("KURATOR_WATCH_PUBLISHERS", "4")
    monkeypatch.setenv("KURATOR_STATUS_SETTLE_SECONDS", "1.5")
    watch = WatcherSettings.from_service(FleetSettings())
    assert watch.coalesce == timedelta(0)
    assert watch.settle == timedelta(seconds=1.5)
    assert (watch.pressure.enter, watch.pressure.leave) == (0.2, 0.3)
    assert watch.publishers == 4


def test_defaults() -> None:
    watch = WatcherSettings.from_service(FleetSettings())
    assert watch.coalesce == timedelta(milliseconds=100)
    assert watch.settle == timedelta(seconds=5)
    assert (watch.pressure.enter, watch.pressure.leave) == (0.1, 0.15)
