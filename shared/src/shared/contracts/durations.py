"""Time expressions as the integrated systems read them: Go durations, Prometheus durations, cron.

Each system has its own format and a user who mixes them up is rejected late and obscurely
(integrations.md 0.4): Velero and Volcano take Go ``time.Duration`` strings (``720h``; no
``d`` or ``w``), the Prometheus Operator takes Prometheus durations (``15d``; no fractions),
and Velero schedules are 5-field cron lines read by ``robfig/cron`` ``ParseStandard``. The
``*_error`` functions return a message or ``None`` so validators can collect them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Final

from croniter import croniter

# --- Go time.Duration ----------------------------------------------------------------------

_GO_UNITS: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_GO_NUMBER: Final = re.compile(r"[0-9]*(?:\.[0-9]*)?")
_GO_UNIT: Final = re.compile(r"[^0-9.]*")
_GO_MAX_NS: Final = 2**63 - 1


def go_duration_nanoseconds(text: str) -> int:
    """The exact number of nanoseconds in a Go duration (``"1h30m"`` -> 5400000000000).

    Follows ``time.ParseDuration``: an optional sign, then one or more ``<number><unit>``
    parts; ``"0"`` needs no unit; fractions are allowed (``1.5h``); units are ``ns``, ``us``,
    ``µs``, ``ms``, ``s``, ``m``, ``h``.

    Raises:
        ValueError: ``text`` is not a Go duration.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string, not {type(text).__name__}")
    body = text
    sign = 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    quoted = '"' + text + '"'  # Go's error messages quote with strconv.Quote
    if not body:
        raise ValueError(f"time: invalid duration {quoted}")
    total = Fraction(0)
    pos = 0
    # Mirrors time.ParseDuration: a number, then a unit (everything up to the next digit or '.').
    while pos < len(body):
        number = _take(_GO_NUMBER, body, pos)
        if number in ("", "."):
            raise ValueError(f"time: invalid duration {quoted}")
        pos += len(number)
        unit = _take(_GO_UNIT, body, pos)
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _GO_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        pos += len(unit)
        total += Fraction(number) * _GO_UNITS[unit]
    nanoseconds = int(total)  # Go truncates sub-nanosecond fractions
    if nanoseconds > _GO_MAX_NS:
        raise ValueError(f"time: invalid duration {quoted}")
    return sign * nanoseconds


def _take(pattern: re.Pattern[str], text: str, pos: int) -> str:
    match = pattern.match(text, pos)
    return match.group() if match else ""


def parse_go_duration(text: str) -> timedelta:
    """A Go duration as a ``timedelta`` (sub-microsecond parts are truncated)."""
    return timedelta(microseconds=go_duration_nanoseconds(text) // 1_000)


def go_duration_error(text: object, *, allow_negative: bool = False) -> str | None:
    """Why ``text`` is not a (non-negative, unless allowed) Go duration, or ``None``."""
    if not isinstance(text, str):
        return f"duration must be a string, not {type(text).__name__}"
    try:
        nanoseconds = go_duration_nanoseconds(text)
    except ValueError as exc:
        return str(exc)
    if nanoseconds < 0 and not allow_negative:
        return f"duration {text!r} must not be negative"
    return None


# --- Prometheus durations ------------------------------------------------------------------

_PROM_DURATION: Final = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
_PROM_UNITS_MS: Final[tuple[tuple[int, int], ...]] = (
    # (regex group holding the number, milliseconds per unit)
    (3, 365 * 24 * 3600 * 1000),
    (5, 7 * 24 * 3600 * 1000),
    (7, 24 * 3600 * 1000),
    (9, 3600 * 1000),
    (11, 60 * 1000),
    (13, 1000),
    (15, 1),
)


def parse_prometheus_duration(text: str) -> timedelta:
    """A Prometheus duration (``30s``, ``15d``, ``1h30m``, ``0``) as a ``timedelta``.

    Units ``y`` (365 days), ``w``, ``d``, ``h``, ``m``, ``s``, ``ms``, largest first, each at
    most once, integers only: the pattern the Prometheus Operator CRDs enforce.

    Raises:
        ValueError: ``text`` is not a Prometheus duration.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("duration must be a non-empty string such as '30s' or '15d'")
    match = _PROM_DURATION.match(text)
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: use integers with units y, w, d, h, m, s, ms in that order "
            "(e.g. '1h30m', '15d'); fractions such as '1.5h' are not allowed"
        )
    milliseconds = sum(int(match.group(g)) * per for g, per in _PROM_UNITS_MS if match.group(g))
    return timedelta(milliseconds=milliseconds)


def prometheus_duration_error(text: object) -> str | None:
    """Why ``text`` is not a Prometheus duration, or ``None``."""
    if not isinstance(text, str):
        return f"duration must be a string, not {type(text).__name__}"
    try:
        parse_prometheus_duration(text)
    except ValueError as exc:
        return str(exc)
    return None


# --- cron schedules (robfig/cron v3 ParseStandard, as Velero reads them) -------------------

_DESCRIPTORS: Final = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_FIELD: Final = re.compile(r"^[0-9A-Za-z*?,/-]+$")
_LETTERS: Final = re.compile(r"[A-Za-z]+")


def cron_error(schedule: object) -> str | None:
    """Why ``schedule`` is not a schedule Velero accepts, or ``None``.

    Accepted: five fields ``minute hour day-of-month month day-of-week`` (names such as
    ``JAN``/``MON``, ranges, lists, steps, ``*`` and ``?``); the descriptors ``@yearly``,
    ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``;
    ``@every <Go duration>``; each optionally prefixed with ``CRON_TZ=<zone>`` or ``TZ=<zone>``.
    Quartz extensions (``L``, ``W``, ``#``, a seconds field) are rejected because
    ``robfig/cron`` rejects them, even though ``croniter`` would accept them.
    """
    if not isinstance(schedule, str):
        return f"schedule must be a string, not {type(schedule).__name__}"
    text = schedule.strip()
    if text.startswith(("CRON_TZ=", "TZ=")):
        zone, _, text = text.partition(" ")
        if not zone.partition("=")[2]:
            return f"invalid schedule {schedule!r}: empty time zone"
        text = text.strip()
    if not text:
        return "schedule must not be empty"
    if text.startswith("@"):
        return _descriptor_error(schedule, text)
    fields = text.split()
    if len(fields) != 5:
        return (
            f"invalid schedule {schedule!r}: expected exactly 5 fields "
            f"(minute hour day-of-month month day-of-week), found {len(fields)}"
        )
    for field in fields:
        if not _CRON_FIELD.match(field) or any(len(w) != 3 for w in _LETTERS.findall(field)):
            return f"invalid schedule {schedule!r}: unsupported syntax {field!r}"
    if not croniter.is_valid(" ".join(fields)):
        return f"invalid schedule {schedule!r}: a field is out of range or malformed"
    return None


def _descriptor_error(schedule: str, text: str) -> str | None:
    if text in _DESCRIPTORS:
        return None
    name, _, rest = text.partition(" ")
    if name == "@every":
        err = go_duration_error(rest.strip())
        if err:
            return f"invalid schedule {schedule!r}: {err}"
        if go_duration_nanoseconds(rest.strip()) <= 0:
            return f"invalid schedule {schedule!r}: @every needs a positive duration"
        return None
    return f"invalid schedule {schedule!r}: unknown descriptor {name!r}"
