"""Options, the order of the scenarios, and the processes they run against.

One fresh ``nats-server`` (a temporary store, a free port) serves every scenario:

1. ``raw``: the broker and client baseline, no kurator code;
2. ``pipeline-throughput``: intents through separate ``kurator-<service>`` processes, flat out;
3. ``pipeline-latency``: the same at a fixed open-loop rate;

then 2 and 3 again for every further log level asked for; then, against a separate simulator
process, 4. ``sim-get`` (simple GETs/s) and 5. ``sim-watch`` (watch fan-out latency); then
6. ``fleet-e2e``: policies through a ``kurator-fleet`` process and a simulator process until
Karmada has scheduled them (its own ``nats-server``); ``traffic-weights``: VirtualService weight
changes until the mesh primary's watch shows them. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from bench import federated, fleet, pipeline, placement, raw, report, services, simulator, traffic, workload
from bench.stats import CpuMeter, ScenarioResult
from shared.runtime import natsserver

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    intents: int
    raw_messages: int
    rate: float
    duration: float
    replicas: int
    uvloop: bool
    json_out: Path
    log_levels: tuple[str, ...]
    kind: str
    fetch_batch: int
    publish_batch: int
    warmup: int
    timeout: float
    service_env: dict[str, str]
    cprofile_dir: Path | None
    skip_raw: bool
    skip_pipeline: bool
    skip_sim: bool
    skip_fleet: bool
    skip_placement: bool
    skip_traffic: bool
    traffic_changes: int
    skip_federated: bool
    federated_count: int
    federated_time_scale: float
    placement_decisions: int
    fleet_pairs: int
    sim_gets: int
    sim_concurrency: int
    sim_watchers: int
    sim_events: int
    check: bool
    work_dir: Path | None


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _levels(text: str) -> tuple[str, ...]:
    levels = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in levels if x not in LOG_LEVELS]
    if bad or not levels:
        raise argparse.ArgumentTypeError(f"log levels must be from {', '.join(LOG_LEVELS)}")
    return levels


def parse_args(argv: Sequence[str] | None = None) -> Options:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    p = argparse.ArgumentParser(prog="python -m bench", description="kurator-py end-to-end benchmark")
    p.add_argument("--intents", type=int, default=10_000, help="intents in the throughput scenario")
    p.add_argument("--raw-messages", type=int, default=20_000, help="messages in the raw baseline")
    p.add_argument("--rate", type=float, default=500.0, help="offered intents/s in the latency scenario")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of the latency scenario")
    p.add_argument("--replicas", type=int, default=1, help="service processes under test")
    p.add_argument("--uvloop", action="store_true", help="run the load generator on uvloop if it is installed")
    p.add_argument("--json-out", type=Path, default=REPO_ROOT / "bench" / "results" / f"{stamp}.json")
    p.add_argument(
        "--log-levels",
        type=_levels,
        default=("warning", "info"),
        help="comma-separated KURATOR_LOG_LEVEL values; the pipeline scenarios run once per level "
        "(default: warning,info)",
    )
    p.add_argument(
        "--kind",
        choices=sorted(workload.DOCUMENTS),
        default="propagationpolicy",
        help="kind of the intents (falls back to deployment if its model is not available)",
    )
    p.add_argument("--fetch-batch", type=int, default=256, help="raw consumer fetch batch (the services' default)")
    p.add_argument(
        "--publish-batch", type=int, default=100, help="publish_async calls between yields to nats-py's flusher"
    )
    p.add_argument("--warmup", type=int, default=200, help="intents sent before each measured pipeline run")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for stragglers after sending")
    p.add_argument(
        "--service-env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the service processes, e.g. KURATOR_FETCH_BATCH=64 (repeatable)",
    )
    p.add_argument("--cprofile-dir", type=Path, help="run the services under cProfile, writing .prof files here")
    p.add_argument("--skip-raw", action="store_true", help="skip the raw baseline")
    p.add_argument("--skip-pipeline", action="store_true", help="skip the intent pipeline scenarios")
    p.add_argument("--skip-sim", action="store_true", help="skip the simulator scenarios")
    p.add_argument("--skip-fleet", action="store_true", help="skip the fleet end-to-end scenario")
    p.add_argument("--skip-placement", action="store_true", help="skip the placement engine scenario")
    p.add_argument("--skip-traffic", action="store_true", help="skip the VirtualService weight-change scenario")
    p.add_argument("--traffic-changes", type=int, default=300, help="weight changes in the traffic scenario")
    p.add_argument("--skip-federated", action="store_true", help="skip the FederatedDeployment scenario")
    p.add_argument("--federated-count", type=int, default=1500, help="FederatedDeployments in the federated scenario")
    p.add_argument(
        "--federated-time-scale", type=float, default=10.0, help="simulator speed-up in the federated scenario"
    )
    p.add_argument("--placement-decisions", type=int, default=5000, help="decisions per placement configuration")
    p.add_argument(
        "--fleet-pairs", type=int, default=1000, help="PropagationPolicy+Deployment pairs in the fleet scenario"
    )
    p.add_argument("--sim-gets", type=int, default=10_000, help="GETs in the simulator's GET scenario")
    p.add_argument("--sim-concurrency", type=int, default=16, help="connections of the GET scenario")
    p.add_argument("--sim-watchers", type=int, default=1000, help="concurrent watches in the watch scenario")
    p.add_argument("--sim-events", type=int, default=20, help="updates each watcher must see")
    p.add_argument(
        "--work-dir",
        type=Path,
        help="keep the nats-server store and every process's log here (default: a temporary directory)",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a project goal is not met")
    a = p.parse_args(argv)
    for name in (
        "intents",
        "raw_messages",
        "replicas",
        "fetch_batch",
        "publish_batch",
        "fleet_pairs",
        "placement_decisions",
    ):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.rate <= 0 or a.duration <= 0:
        p.error("--rate and --duration must be positive")
    return Options(
        intents=a.intents,
        raw_messages=a.raw_messages,
        rate=a.rate,
        duration=a.duration,
        replicas=a.replicas,
        uvloop=a.uvloop,
        json_out=a.json_out,
        log_levels=a.log_levels,
        kind=a.kind,
        fetch_batch=a.fetch_batch,
        publish_batch=a.publish_batch,
        warmup=max(0, a.warmup),
        timeout=a.timeout,
        service_env=dict(a.service_env),
        cprofile_dir=a.cprofile_dir,
        skip_raw=a.skip_raw,
        skip_pipeline=a.skip_pipeline,
        skip_sim=a.skip_sim,
        skip_fleet=a.skip_fleet,
        skip_placement=a.skip_placement,
        skip_traffic=a.skip_traffic,
        traffic_changes=a.traffic_changes,
        skip_federated=a.skip_federated,
        federated_count=a.federated_count,
        federated_time_scale=a.federated_time_scale,
        placement_decisions=a.placement_decisions,
        fleet_pairs=a.fleet_pairs,
        sim_gets=a.sim_gets,
        sim_concurrency=a.sim_concurrency,
        sim_watchers=a.sim_watchers,
        sim_events=a.sim_events,
        check=a.check,
        work_dir=a.work_dir,
    )


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run_text(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False, cwd=REPO_ROOT)
    except OSError:
        return None
    return (done.stdout or done.stderr).strip() or None


def environment(opts: Options, loop_name: str, work: workload.Workload) -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadgen_loop": loop_name,
        "nats_py": _version("nats-py"),
        "pydantic": _version("pydantic"),
        "nats_server": _run_text([natsserver.binary(), "--version"]),
        "git_commit": _run_text(["git", "rev-parse", "--short", "HEAD"]),
        "kind": work.token,
        "service": work.service,
        "options": {
            "intents": opts.intents,
            "raw_messages": opts.raw_messages,
            "rate": opts.rate,
            "duration": opts.duration,
            "replicas": opts.replicas,
            "log_levels": list(opts.log_levels),
            "fetch_batch": opts.fetch_batch,
            "publish_batch": opts.publish_batch,
            "warmup": opts.warmup,
            "service_env": opts.service_env,
            "cprofile": opts.cprofile_dir is not None,
            "fleet_pairs": opts.fleet_pairs,
        },
    }


async def _pipeline_config(
    opts: Options,
    *,
    level: str,
    url: str,
    server_pid: int,
    nc_sub: Client,
    nc_pub: Client,
    collector: pipeline.StatusCollector,
    work: workload.Workload,
    log_dir: Path,
    notes: list[str],
) -> list[ScenarioResult]:
    """Scenarios 2 and 3 against fresh service processes running at ``level``."""
    js = nc_pub.jetstream(publish_async_max_pending=4000)
    tag = level[0]
    env_desc = "".join(f", {k}={v}" for k, v in opts.service_env.items())
    config = f"{opts.replicas}x kurator-{work.service}, log {level}{env_desc}"
    procs = []
    for i in range(opts.replicas):
        prof = opts.cprofile_dir / f"{work.service}-{i}-{level}.prof" if opts.cprofile_dir else None
        procs.append(
            services.start(
                work.service,
                index=i,
                nats_url=url,
                log_level=level,
                log_dir=log_dir,
                extra_env=opts.service_env,
                profile_to=prof,
            )
        )
    results: list[ScenarioResult] = []
    try:
        ready = await pipeline.wait_ready(nc_sub, js, collector, work, procs)
        print(f"bench: {config}: ready after {ready:.1f} s", file=sys.stderr)
        if opts.warmup and not await pipeline.apply_and_wait(
            js, collector, workload.intents(work, f"warm-{tag}", opts.warmup), timeout_seconds=opts.timeout
        ):
            raise TimeoutError("warm-up intents did not all get a status")
        pids = {"nats-server": server_pid} | {p.name: p.pid for p in procs}

        messages = workload.intents(work, f"bench-{tag}", opts.intents)
        print(f"bench: {config}: throughput, {opts.intents:,} intents", file=sys.stderr)
        results.append(
            await pipeline.throughput(
                js,
                collector,
                messages,
                meter=CpuMeter(pids),
                config=config,
                publish_batch=opts.publish_batch,
                timeout_seconds=opts.timeout,
            )
        )
        services.check_alive(procs)

        count = max(1, round(opts.rate * opts.duration))
        messages = workload.intents(work, f"lat-{tag}", count)
        print(f"bench: {config}: latency, {opts.rate:g}/s for {opts.duration:g} s", file=sys.stderr)
        results.append(
            await pipeline.fixed_rate(
                js,
                collector,
                messages,
                rate=opts.rate,
                meter=CpuMeter(pids),
                config=config,
                timeout_seconds=opts.timeout,
            )
        )
        services.check_alive(procs)
    except Exception:
        for p in procs:
            print(f"--- {p.name} log tail ---\n{p.log_tail()}", file=sys.stderr)
        raise
    finally:
        await services.stop(procs)
    log_bytes = sum(p.log_path.stat().st_size for p in procs if p.log_path.exists())
    for r in results:
        r.extra["service_log_bytes"] = log_bytes
        if r.missing:
            notes.append(f"{r.scenario} [{config}]: {r.missing} intents got no status within {opts.timeout:g} s")
    return results


async def connect(url: str, *, name: str) -> Client:
    """A load-generator connection, buffered like the services' (``shared.bus.connection``)."""
    nc: Client = await nats.connect(url, name=name, pending_size=8 * 1024 * 1024, max_reconnect_attempts=0)
    return nc


async def run_all(opts: Options, work: workload.Workload) -> tuple[list[ScenarioResult], list[str]]:
    results: list[ScenarioResult] = []
    notes: list[str] = []
    if work.fallback_reason:
        notes.append(work.fallback_reason)
    if not opts.skip_placement:
        print(f"bench: placement engine, {opts.placement_decisions:,} decisions per configuration", file=sys.stderr)
        results += placement.run(decisions=opts.placement_decisions)
    with contextlib.ExitStack() as stack:
        if opts.work_dir is None:
            tmp_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kurator-bench-")))
        else:
            tmp_dir = opts.work_dir
            tmp_dir.mkdir(parents=True, exist_ok=True)
        server = natsserver.NatsServer(store_dir=tmp_dir / "nats", port=0, log_file=tmp_dir / "nats-server.log")
        url = server.start()
        server_pid = server.pid
        assert server_pid is not None
        print(f"bench: nats-server {url} (pid {server_pid})", file=sys.stderr)
        nc_pub: Client | None = None
        nc_sub: Client | None = None
        try:
            nc_pub = await connect(url, name="kurator-bench-publisher")
            nc_sub = await connect(url, name="kurator-bench-status")
            if not opts.skip_raw:
                print(f"bench: raw baseline, {opts.raw_messages:,} messages", file=sys.stderr)
                results.append(
                    await raw.run(
                        nc_pub,
                        url=url,
                        work=work,
                        count=opts.raw_messages,
                        batch=opts.fetch_batch,
                        publish_batch=opts.publish_batch,
                        server_pid=server_pid,
                        timeout_seconds=opts.timeout,
                    )
                )
            collector = pipeline.StatusCollector()
            await collector.start(nc_sub, work.service)
            for level in opts.log_levels if not opts.skip_pipeline else ():
                results += await _pipeline_config(
                    opts,
                    level=level,
                    url=url,
                    server_pid=server_pid,
                    nc_sub=nc_sub,
                    nc_pub=nc_pub,
                    collector=collector,
                    work=work,
                    log_dir=tmp_dir,
                    notes=notes,
                )
        finally:
            for nc in (nc_pub, nc_sub):
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
            server.stop()
    if not opts.skip_sim:
        results += await simulator.run(
            gets=opts.sim_gets,
            concurrency=opts.sim_concurrency,
            watchers=opts.sim_watchers,
            events=opts.sim_events,
        )
    if not opts.skip_fleet:
        print(f"bench: fleet end to end, {opts.fleet_pairs:,} policy+deployment pairs", file=sys.stderr)
        results += await fleet.run(
            pairs_count=opts.fleet_pairs,
            publish_batch=opts.publish_batch,
            warmup=min(opts.warmup, 50),
            timeout_seconds=opts.timeout,
            work_dir=opts.work_dir,
            service_env=opts.service_env,
            profile_to=opts.cprofile_dir / "fleet-e2e.prof" if opts.cprofile_dir else None,
        )
        for r in results[-1:]:
            if r.missing:
                notes.append(f"fleet-e2e: {r.missing} pairs not Scheduled within {opts.timeout:g} s")
    if not opts.skip_federated:
        print(f"bench: federated end to end, {opts.federated_count:,} FederatedDeployments", file=sys.stderr)
        results += await federated.run(
            count=opts.federated_count,
            publish_batch=opts.publish_batch,
            warmup=min(opts.warmup, 30),
            timeout_seconds=opts.timeout,
            time_scale=opts.federated_time_scale,
            work_dir=opts.work_dir,
            service_env=opts.service_env,
            profile_dir=opts.cprofile_dir,
        )
        for r in results[-1:]:
            if r.missing:
                notes.append(f"federated-e2e: {r.missing} FederatedDeployments not Available within {opts.timeout:g} s")
            if r.rate_per_second < federated.GOAL_PER_SECOND:
                notes.append(f"federated-e2e: {r.rate_per_second:g}/s, below the {federated.GOAL_PER_SECOND:g}/s goal")
    if not opts.skip_traffic:
        print(f"bench: traffic, {opts.traffic_changes:,} weight changes", file=sys.stderr)
        results += await traffic.run(
            changes=opts.traffic_changes,
            timeout_seconds=opts.timeout,
            work_dir=opts.work_dir,
            service_env=opts.service_env,
        )
        for r in results[-1:]:
            if not r.extra["goal_met"]:
                notes.append(f"traffic-weights: p99 {r.latency.p99_ms:g} ms, {r.missing} missing (goal < 100 ms)")
    return results, notes


def _loop_factory(want_uvloop: bool) -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    if want_uvloop:
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            return None, "asyncio (uvloop not installed)"
        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory, "uvloop"
    return None, "asyncio"


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    work = workload.choose(opts.kind)
    if opts.cprofile_dir:
        opts.cprofile_dir.mkdir(parents=True, exist_ok=True)
    factory, loop_name = _loop_factory(opts.uvloop)
    with asyncio.Runner(loop_factory=factory) as runner:
        results, notes = runner.run(run_all(opts, work))
    report.print_report(results, notes)
    report.write_json(opts.json_out, environment=environment(opts, loop_name, work), results=results, notes=notes)
    print(f"bench: wrote {opts.json_out}", file=sys.stderr)
    verdict = report.summary(results)["configs"]
    failed = any(r.missing for r in results) or any(
        not entry.get(goal, True)
        for entry in verdict.values()
        for goal in (
            "throughput_goal_met",
            "latency_goal_met",
            "sim_gets_goal_met",
            "sim_watch_goal_met",
            "fleet_goal_met",
            "placement_goal_met",
        )
    )
    failed = failed or any(r.scenario == "federated-e2e" and not r.extra.get("goal_met") for r in results)
    failed = failed or any(r.scenario == "traffic-weights" and not r.extra["goal_met"] for r in results)
    return 1 if opts.check and failed else 0
