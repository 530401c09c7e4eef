"""Time as the simulated Velero reads it: Go ``time.Duration`` strings and ``robfig/cron`` specs.

Velero's ``ttl``, ``csiSnapshotTimeout`` and the like are Go durations (``720h0m0s``) and its
``Schedule.spec.schedule`` is parsed by ``robfig/cron/v3`` ``ParseStandard``
(``pkg/controller/schedule_controller.go``). The messages raised here are the ones those
libraries produce, so a ``FailedValidation`` schedule carries the same ``validationErrors``
a real Velero server would write (``invalid schedule: expected exactly 5 fields, found 3: [* * *]``).
Next activation times come from ``croniter`` (same vixie-cron day-of-month/day-of-week rule as
``robfig/cron``) once the spec has passed robfig's stricter grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from shared.contracts import durations

# --- Go time.Duration ------------------------------------------------------------------------

_INTEGER: Final = re.compile(r"[+-]?[0-9]+")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration, with ``time.ParseDuration``'s error messages.

    Raises:
        ValueError: e.g. ``time: unknown unit "d" in duration "3d"``.
    """
    return durations.go_duration_nanoseconds(text) / 1e9


def format_go_duration(seconds: float) -> str:
    """Go's ``Duration.String()``: ``720h0m0s``, ``1m30s``, ``500ms``, ``0s``."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        for unit, size in (("ms", 1e-3), ("\u00b5s", 1e-6), ("ns", 1e-9)):
            if seconds >= size:
                return f"{sign}{_trim(seconds / size)}{unit}"
        return f"{sign}0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{_trim(secs)}s"
    if minutes:
        return f"{sign}{int(minutes)}m{_trim(secs)}s"
    return f"{sign}{_trim(secs)}s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


# --- robfig/cron v3 ParseStandard ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int]


_MINUTES: Final = _Bounds(0, 59, {})
_HOURS: Final = _Bounds(0, 23, {})
_DOM: Final = _Bounds(1, 31, {})
_MONTHS: Final = _Bounds(
    1,
    12,
    {
        m: i + 1
        for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
    },
)
_DOW: Final = _Bounds(0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))})
_DESCRIPTORS: Final[dict[str, str]] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed schedule: either five cron fields or a constant ``@every`` delay."""

    fields: str | None
    every_seconds: float | None
    zone: ZoneInfo | None

    def next_after(self, moment: datetime) -> datetime:
        """The first activation strictly after ``moment`` (``cron.Schedule.Next``)."""
        if self.every_seconds is not None:
            # ConstantDelaySchedule.Next: round to the second, then add the delay.
            base = moment.replace(microsecond=0)
            return base + timedelta(seconds=self.every_seconds)
        assert self.fields is not None
        zone = self.zone or UTC
        local = moment.astimezone(zone).replace(microsecond=0)
        nxt: datetime = croniter(self.fields, local).get_next(datetime)
        return nxt.astimezone(UTC)


def parse_cron_standard(spec: str) -> CronSchedule:
    """Parse like ``cron.ParseStandard``; raises ``ValueError`` with robfig's message."""
    if not spec:
        raise ValueError("empty spec string")
    zone: ZoneInfo | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        eq = spec.find("=")
        name = spec[eq + 1 : space] if space != -1 else spec[eq + 1 :]
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"provided bad location {name}: unknown time zone {name}") from exc
        spec = spec[space:].strip() if space != -1 else ""
    if spec.startswith("@"):
        return _descriptor(spec, zone)
    fields = spec.split()
    if len(fields) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, bounds in zip(fields, (_MINUTES, _HOURS, _DOM, _MONTHS, _DOW), strict=True):
        _check_field(text, bounds)
    normalized = " ".join("*" if f == "?" else f.replace("?", "*") for f in fields)
    return CronSchedule(normalized, None, zone)


def _descriptor(spec: str, zone: ZoneInfo | None) -> CronSchedule:
    if spec in _DESCRIPTORS:
        return CronSchedule(_DESCRIPTORS[spec], None, zone)
    every = "@every "
    if spec.startswith(every):
        try:
            seconds = parse_go_duration(spec[len(every) :])
        except ValueError as exc:
            raise ValueError(f"failed to parse duration {spec}: {exc}") from exc
        # cron.Every: at least a second, truncated to whole seconds.
        return CronSchedule(None, max(1.0, float(int(seconds))), zone)
    raise ValueError(f"unrecognized descriptor: {spec}")


def _check_field(field: str, bounds: _Bounds) -> None:
    for expr in (part for part in field.split(",") if part):
        _check_range(expr, bounds)


def _check_range(expr: str, bounds: _Bounds) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise ValueError(f"too many hyphens: {expr}")
    if len(range_and_step) == 2:
        step = _must_int(range_and_step[1])
        if single:
            end = bounds.high
        if step <= 0:
            raise ValueError(f"step of range should be a positive number: {expr}")
    elif len(range_and_step) > 2:
        raise ValueError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise ValueError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise ValueError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")


def _int_or_name(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    return _must_int(text)


def _must_int(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text, 10)
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {text}")
    return value
