"""Go durations and robfig/cron schedules as the simulated Velero reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from kurator_sim.controllers.velero_time import format_go_duration, parse_cron_standard, parse_go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("720h0m0s", 2592000.0), ("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0), ("500ms", 0.5), ("0", 0.0)],
)
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3d", 'time: unknown unit "d" in duration "3d"'),
        ("10", 'time: missing unit in duration "10"'),
        ("abc", 'time: invalid duration "abc"'),
        ("", 'time: invalid duration ""'),
    ],
)
def test_go_duration_errors_read_like_go(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2592000.0, "720h0m0s"), (90.0, "1m30s"), (3600.0, "1h0m0s"), (0.5, "500ms"), (0.0, "0s"), (5.0, "5s")],
)
def test_go_duration_strings(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec string"),
        ("* * *", "expected exactly 5 fields, found 3: [* * *]"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("61 * * * *", "end of range (61) above maximum (59): 61"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("@every 5x", 'failed to parse duration @every 5x: time: unknown unit "x" in duration "5x"'),
        ("0 3 * * L", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
    ],
)
def test_cron_errors_are_robfigs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        parse_cron_standard(spec)


def test_cron_next_activation() -> None:
    start = datetime(2025, 1, 6, 2, 59, 30, tzinfo=UTC)  # a Monday
    assert parse_cron_standard("0 3 * * *").next_after(start) == datetime(2025, 1, 6, 3, 0, tzinfo=UTC)
    assert parse_cron_standard("@daily").next_after(start) == datetime(2025, 1, 7, 0, 0, tzinfo=UTC)
    assert parse_cron_standard("0 9 * * mon-fri").next_after(start) == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    assert parse_cron_standard("*/15 * * JAN ?").next_after(start) == datetime(2025, 1, 6, 3, 0, tzinfo=UTC)
    assert parse_cron_standard("@every 1h30m").next_after(start) == datetime(2025, 1, 6, 4, 29, 30, tzinfo=UTC)
    zoned = parse_cron_standard("CRON_TZ=Asia/Shanghai 0 3 * * *")
    assert zoned.next_after(start) == datetime(2025, 1, 6, 19, 0, tzinfo=UTC)
