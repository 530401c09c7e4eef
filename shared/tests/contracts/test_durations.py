"""Go durations, Prometheus durations and Velero cron schedules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.contracts import durations


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("720h", 720 * 3600 * 10**9),
        ("720h0m0s", 720 * 3600 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("1.5h", 5400 * 10**9),
        ("10m", 600 * 10**9),
        ("300ms", 300 * 10**6),
        ("2us", 2000),
        ("2\u00b5s", 2000),
        ("7ns", 7),
        (".5s", 5 * 10**8),
        ("-1h", -3600 * 10**9),
        ("+1s", 10**9),
        ("1h1h", 7200 * 10**9),
    ],
)
def test_go_duration(text: str, nanoseconds: int) -> None:
    assert durations.go_duration_nanoseconds(text) == nanoseconds


def test_go_duration_as_timedelta() -> None:
    assert durations.parse_go_duration("1h30m") == timedelta(minutes=90)
    assert durations.parse_go_duration("1500ns") == timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("30d", 'time: unknown unit "d" in duration "30d"'),
        ("1w", 'time: unknown unit "w" in duration "1w"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1h30", "missing unit"),
        ("h", "invalid duration"),
        ("1.2.3s", "missing unit"),
        ("1 h", 'unknown unit " h"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
    ],
)
def test_go_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        durations.go_duration_nanoseconds(text)


def test_go_duration_error_sign() -> None:
    assert durations.go_duration_error("-1h") is not None
    assert durations.go_duration_error("-1h", allow_negative=True) is None
    assert durations.go_duration_error(30) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("15d", timedelta(days=15)),
        ("1y", timedelta(days=365)),
        ("2w", timedelta(days=14)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_prometheus_duration(text: str, expected: timedelta) -> None:
    assert durations.parse_prometheus_duration(text) == expected
    assert durations.prometheus_duration_error(text) is None


@pytest.mark.parametrize("text", ["", "1.5h", "30m1h", "10", "1us", "1 h", "-1s", "1h1h", "720h0m0s0ns"])
def test_prometheus_duration_rejects(text: str) -> None:
    assert durations.prometheus_duration_error(text) is not None
    with pytest.raises(ValueError, match="duration"):
        durations.parse_prometheus_duration(text)


@pytest.mark.parametrize(
    "schedule",
    [
        "0 2 * * *",
        "*/15 * * * *",
        "0 0 1,15 * MON-FRI",
        "0 3 * JAN SUN",
        "0 0 ? * *",
        "@daily",
        "@hourly",
        "@annually",
        "@every 6h",
        "@every 1h30m",
        "CRON_TZ=Asia/Shanghai 0 2 * * *",
        "TZ=UTC @daily",
    ],
)
def test_cron_accepts(schedule: str) -> None:
    assert durations.cron_error(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("", "must not be empty"),
        ("0 2 * *", "exactly 5 fields"),
        ("0 0 2 * * *", "exactly 5 fields"),
        ("60 * * * *", "out of range"),
        ("0 24 * * *", "out of range"),
        ("0 0 L * *", "unsupported syntax"),
        ("0 0 * * 1#2", "unsupported syntax"),
        ("@fortnightly", "unknown descriptor"),
        ("@every 1d", "unknown unit"),
        ("@every 0s", "positive"),
        ("CRON_TZ= 0 2 * * *", "empty time zone"),
    ],
)
def test_cron_rejects(schedule: str, message: str) -> None:
    err = durations.cron_error(schedule)
    assert err is not None
    assert message in err
