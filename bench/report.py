"""The table on the terminal and the JSON file."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import ScenarioResult

GOAL_THROUGHPUT = 2000.0
"""Intents/s end to end the project aims for on the 2-core machine."""
GOAL_P99_MS = 50.0
"""p99 latency (ms) at the fixed offered load."""
GOAL_SIM_GETS = 2000.0
"""Simple GETs/s the simulator must serve."""
GOAL_SIM_WATCH_P99_MS = 100.0
"""p99 event delivery (ms) across 1,000 concurrent watches."""
GOAL_PLACEMENT_DECISIONS = 1000.0
"""Placement decisions/s for a 1,000-cluster fleet (issue 4), on a steady fleet."""
GOAL_PLACEMENT_P99_MS = 5.0
"""p99 of one placement decision (ms), on a steady fleet."""
GOAL_FLEET_POLICIES = 200.0
"""Policies/s that reach ``Scheduled`` end to end through the fleet service and the simulator (issue 4)."""

_HEADERS = (
    "scenario",
    "config",
    "done/sent",
    "rate/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "CPU µs/msg",
    "CPU % (1 core = 100)",
)


def _num(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _cpu(result: ScenarioResult) -> str:
    """Per-process CPU; ``other`` and ``steal`` (disturbances) only when they are noticeable."""
    last = ("other", "steal")
    ordered = sorted(result.cpu_percent.items(), key=lambda item: item[0] in last)
    return " ".join(
        f"{name} {pct:.0f}" for name, pct in ordered if not math.isnan(pct) and (name not in last or pct >= 2)
    )


def _per_message(result: ScenarioResult) -> str:
    """CPU per message of the consuming side (raw consumer or service replicas) and of the server."""
    extra = result.extra
    side = extra.get(
        "consumer_cpu_us_per_message",
        extra.get("service_cpu_us_per_intent", extra.get("service_cpu_us_per_pair", math.nan)),
    )
    server = extra.get(
        "server_cpu_us_per_message",
        extra.get("server_cpu_us_per_intent", extra.get("server_cpu_us_per_pair", math.nan)),
    )
    out = f"{_num(side, 0)} + srv {_num(server, 0)}"
    if "simulator_cpu_us_per_pair" in extra:
        out += f" + sim {_num(extra['simulator_cpu_us_per_pair'], 0)}"
    return out


def rows(results: Sequence[ScenarioResult]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in results:
        rate = _num(r.rate_per_second)
        if r.scenario == "pipeline-latency":
            rate = f"{rate} (sent {_num(r.extra['achieved_send_rate_per_second'])})"
        out.append(
            (
                r.scenario,
                r.config,
                f"{r.completed:,}/{r.sent:,}",
                rate,
                _num(r.latency.p50_ms, 2),
                _num(r.latency.p99_ms, 2),
                _num(r.latency.max_ms, 2),
                _per_message(r),
                _cpu(r),
            )
        )
    return out


def summary(results: Sequence[ScenarioResult]) -> dict[str, Any]:
    """Ratios against the raw baseline and the project goals, per service configuration."""
    raw = next((r for r in results if r.scenario == "raw"), None)
    out: dict[str, Any] = {
        "goals": {
            "throughput_per_second": GOAL_THROUGHPUT,
            "p99_ms_at_fixed_rate": GOAL_P99_MS,
            "fleet_policies_scheduled_per_second": GOAL_FLEET_POLICIES,
            "placement_decisions_per_second": GOAL_PLACEMENT_DECISIONS,
            "placement_p99_ms": GOAL_PLACEMENT_P99_MS,
        }
    }
    configs: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.scenario == "raw":
            continue
        entry = configs.setdefault(r.config, {})
        if r.scenario == "pipeline-throughput":
            entry["throughput_per_second"] = r.rate_per_second
            entry["throughput_goal_met"] = r.rate_per_second >= GOAL_THROUGHPUT and r.missing == 0
            if raw is not None and raw.rate_per_second > 0:
                entry["pipeline_over_raw"] = round(r.rate_per_second / raw.rate_per_second, 4)
        elif r.scenario == "pipeline-latency":
            entry["p99_ms_at_fixed_rate"] = r.latency.p99_ms
            entry["latency_goal_met"] = r.latency.p99_ms < GOAL_P99_MS and r.missing == 0
        elif r.scenario == "sim-get":
            entry["gets_per_second"] = r.rate_per_second
            entry["sim_gets_goal_met"] = r.rate_per_second >= GOAL_SIM_GETS and r.missing == 0
        elif r.scenario == "sim-watch":
            entry["watch_p99_ms"] = r.latency.p99_ms
            entry["sim_watch_goal_met"] = r.latency.p99_ms < GOAL_SIM_WATCH_P99_MS and r.missing == 0
        elif r.scenario == "placement":
            entry["decisions_per_second"] = r.rate_per_second
            entry["decision_p99_ms"] = r.latency.p99_ms
            if "steady" in r.config:  # the goal's case; the churn configuration is informative
                entry["placement_goal_met"] = (
                    r.rate_per_second >= GOAL_PLACEMENT_DECISIONS and r.latency.p99_ms < GOAL_PLACEMENT_P99_MS
                )
        elif r.scenario == "fleet-e2e":
            entry["policies_per_second"] = r.rate_per_second
            entry["fleet_goal_met"] = r.rate_per_second >= GOAL_FLEET_POLICIES and r.missing == 0
    out["configs"] = configs
    return out


def print_report(results: Sequence[ScenarioResult], notes: Sequence[str]) -> None:
    table_rows = rows(results)
    verdict = summary(results)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _print_plain(table_rows)
    else:
        table = Table(title="kurator-py bench", show_lines=False)
        for h in _HEADERS:
            table.add_column(h, justify="left" if h in ("scenario", "config", _HEADERS[-1]) else "right")
        for row in table_rows:
            table.add_row(*row)
        # Not a terminal (make, CI, a pipe): rich would assume 80 columns and wrap every cell.
        Console(width=None if sys.stdout.isatty() else 200).print(table)
    for config, entry in verdict["configs"].items():
        parts = []
        if "pipeline_over_raw" in entry:
            parts.append(f"pipeline/raw throughput = {entry['pipeline_over_raw']:.3f}")
        if "throughput_goal_met" in entry:
            ok = "met" if entry["throughput_goal_met"] else "NOT met"
            parts.append(f">= {GOAL_THROUGHPUT:,.0f} intents/s {ok}")
        if "latency_goal_met" in entry:
            ok = "met" if entry["latency_goal_met"] else "NOT met"
            parts.append(f"p99 < {GOAL_P99_MS:.0f} ms {ok}")
        if "sim_gets_goal_met" in entry:
            ok = "met" if entry["sim_gets_goal_met"] else "NOT met"
            parts.append(f">= {GOAL_SIM_GETS:,.0f} GETs/s {ok}")
        if "sim_watch_goal_met" in entry:
            ok = "met" if entry["sim_watch_goal_met"] else "NOT met"
            parts.append(f"watch delivery p99 < {GOAL_SIM_WATCH_P99_MS:.0f} ms {ok}")
        if "placement_goal_met" in entry:
            ok = "met" if entry["placement_goal_met"] else "NOT met"
            parts.append(f">= {GOAL_PLACEMENT_DECISIONS:,.0f} decisions/s, p99 < {GOAL_PLACEMENT_P99_MS:.0f} ms {ok}")
        if "fleet_goal_met" in entry:
            ok = "met" if entry["fleet_goal_met"] else "NOT met"
            parts.append(f">= {GOAL_FLEET_POLICIES:,.0f} policies/s Scheduled end to end {ok}")
        print(f"[{config}] " + "; ".join(parts))
    for note in notes:
        print(f"note: {note}")


def _print_plain(table_rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in table_rows)) for i, h in enumerate(_HEADERS)]
    print("  ".join(h.ljust(w) for h, w in zip(_HEADERS, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in table_rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def write_json(path: Path, *, environment: dict[str, Any], results: Sequence[ScenarioResult], notes: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "environment": environment,
        "results": [r.to_json() for r in results],
        "summary": summary(results),
        "notes": notes,
    }
    path.write_text(json.dumps(_clean(doc), indent=2, allow_nan=False) + "\n")


def _clean(value: Any) -> Any:
    """NaN (a figure that could not be measured) becomes ``null``: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
