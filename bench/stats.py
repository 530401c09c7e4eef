"""Latency summaries and CPU accounting shared by the scenarios."""

from __future__ import annotations

import contextlib
import gc
import math
import os
import resource
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_NS_PER_MS = 1_000_000
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, interpolating linearly between
    the two closest ranks (numpy's default method)."""
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    frac = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * frac


@dataclass(frozen=True, slots=True)
class Latency:
    """A latency distribution in milliseconds."""

    count: int
    mean_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @classmethod
    def of_ns(cls, values_ns: Iterable[int]) -> Latency:
        ordered = sorted(values_ns)
        if not ordered:
            nan = math.nan
            return cls(0, nan, nan, nan, nan, nan, nan, nan)

        def ms(value: float) -> float:
            return round(value / _NS_PER_MS, 3)

        return cls(
            count=len(ordered),
            mean_ms=ms(sum(ordered) / len(ordered)),
            min_ms=ms(ordered[0]),
            p50_ms=ms(percentile(ordered, 50)),
            p90_ms=ms(percentile(ordered, 90)),
            p99_ms=ms(percentile(ordered, 99)),
            p999_ms=ms(percentile(ordered, 99.9)),
            max_ms=ms(ordered[-1]),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Keep the load generator's own garbage collector out of the measurement.

    A full collection of the load generator (tens of thousands of pre-built messages and
    timestamps) pauses it for 25-35 ms, which would show up as latency that is not the
    system's. Everything alive now is frozen, and collection is off until the block ends.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process so far (Linux ``/proc``); NaN if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
    except OSError:
        return math.nan
    # The command name (field 2) may hold spaces; the fields after its closing ')' are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS_PER_SECOND


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, summed over all CPUs (``/proc/stat``)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return math.nan, math.nan
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq) / _TICKS_PER_SECOND, steal / _TICKS_PER_SECOND


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds spent by named processes between :meth:`start` and :meth:`stop`.

    ``"loadgen"`` is this process; the others are child processes by pid. ``"other"`` is
    what the rest of the machine used meanwhile (other sessions, the kernel, processes that
    report their own time through :meth:`add`), and ``"steal"`` is time the hypervisor gave
    to other guests: if either is large, the run was disturbed.
    """

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._before: dict[str, float] = {}
        self._machine = 0.0
        self.seconds: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        out = {name: process_cpu_seconds(pid) for name, pid in self._pids.items()}
        out["loadgen"] = own_cpu_seconds()
        out["machine"], out["steal"] = machine_cpu_seconds()
        return out

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        delta = {name: after[name] - self._before[name] for name in after}
        machine = delta.pop("machine")
        steal = delta.pop("steal")
        self.seconds = {name: round(sec, 3) for name, sec in delta.items()}
        self._machine = machine
        self.seconds["other"] = round(max(0.0, machine - sum(delta.values())), 3)
        self.seconds["steal"] = round(steal, 3)
        return self.seconds

    def add(self, name: str, seconds: float) -> None:
        """Record CPU time measured elsewhere (a child that reported its own before exiting)."""
        self.seconds[name] = round(seconds, 3)
        ours = sum(v for k, v in self.seconds.items() if k not in ("other", "steal"))
        self.seconds["other"] = round(max(0.0, self._machine - ours), 3)

    def percent_of(self, wall_seconds: float) -> dict[str, float]:
        """CPU use as a percentage of one core over ``wall_seconds`` (200 = both cores of two)."""
        if wall_seconds <= 0:
            return {}
        return {name: round(100 * sec / wall_seconds, 1) for name, sec in self.seconds.items()}


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario measured; ``extra`` holds scenario-specific figures."""

    scenario: str
    config: str
    sent: int
    completed: int
    wall_seconds: float
    rate_per_second: float
    latency: Latency
    cpu_seconds: dict[str, float]
    cpu_percent: dict[str, float]
    extra: dict[str, Any]

    @property
    def missing(self) -> int:
        return self.sent - self.completed

    def cpu_us_per_message(self, *names: str) -> float:
        """CPU microseconds the named processes spent per completed message: a figure that,
        unlike msgs/s, barely depends on what else competes for the cores."""
        total = sum(self.cpu_seconds.get(n, math.nan) for n in names)
        return round(1e6 * total / self.completed, 1) if self.completed else math.nan

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency"] = self.latency.to_json()
        out["missing"] = self.missing
        return out
