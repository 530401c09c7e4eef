"""Scenario ``placement``: the placement engine alone, deciding bindings for a 1,000-cluster fleet.

Issue 4's goal: at least 1,000 placement decisions/s with p99 under 5 ms per decision, for a
1,000-cluster fleet with label affinity, spread constraints and dynamic weights (Karmada's own
scheduler reports about 22 bindings/s and 32 ms p99, perf-anchors.md).

The fleet is :func:`shared.placement.testing.synthetic_fleet` (4 providers, 12 regions, labels,
~5 % tainted, ~2 % not ready, partly allocated resource summaries). Every decision is a
different binding drawn from a fixed seed: ``environment=production`` label affinity plus a
``tier`` expression, a cluster spread constraint (min 2-5, max 5-20 groups) and, for half of
them, a region one (min 2, max 3-6), ``Divided`` with ``dynamicWeight: AvailableReplicas``,
10-400 replicas of 250m-2 CPU / 512Mi-4Gi, and its own workload UID.

Two configurations:

* ``steady fleet``: the cluster objects do not change between decisions, so the engine's
  snapshot (parsed cluster views, label indexes, per-request estimates) is reused, as
  Karmada's scheduler reuses its cache between events;
* ``fleet churn``: before every 10th decision one cluster's ``allocated`` changes (a new
  object, as a watch event would deliver it), so the engine rebuilds its snapshot: the cost
  of a fleet that keeps moving, included in the decision that pays it.

Latency is each decision's own ``perf_counter_ns`` span; rate is decisions / wall time, in
this process, one core, GC paused only by the usual thresholds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from bench.stats import CpuMeter, Latency, ScenarioResult
from shared.placement import api, errors, testing

FLEET_SIZE = 1000
CHURN_EVERY = 10


def binding(rnd: random.Random, i: int) -> api.ScheduleRequest:
    spread: list[dict[str, Any]] = [
        {"spreadByField": "cluster", "minGroups": rnd.randint(2, 5), "maxGroups": rnd.randint(5, 20)}
    ]
    if i % 2:
        spread.append({"spreadByField": "region", "minGroups": 2, "maxGroups": rnd.randint(3, 6)})
    placement = testing.dynamic(
        clusterAffinity={
            "labelSelector": {
                "matchLabels": {"environment": "production"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": rnd.sample(["gold", "silver", "bronze"], 2)}
                ],
            }
        },
        spreadConstraints=spread,
    )
    cpu = rnd.choice(("250m", "500m", "1", "2"))
    memory = rnd.choice(("512Mi", "1Gi", "2Gi", "4Gi"))
    return api.ScheduleRequest(
        placement=placement,
        replicas=rnd.randint(10, 400),
        clusters=(),
        replica_requirements={"resourceRequest": {"cpu": cpu, "memory": memory}},
        uid=f"{rnd.getrandbits(64):016x}-bench-{i}",
        resource=testing.DEPLOYMENT,
    )


def _churned(fleet: list[dict[str, Any]], rnd: random.Random) -> list[dict[str, Any]]:
    """The fleet with one cluster's allocation changed, as a new object (a watch event would)."""
    i = rnd.randrange(len(fleet))
    old = fleet[i]
    summary: Mapping[str, Any] = old["status"]["resourceSummary"]
    allocated = dict(summary["allocated"])
    allocated["pods"] = str(int(allocated.get("pods", "0")) + 1)
    changed = {
        **old,
        "metadata": {**old["metadata"], "resourceVersion": str(int(old["metadata"]["resourceVersion"]) + 1)},
        "status": {**old["status"], "resourceSummary": {**summary, "allocated": allocated}},
    }
    return [*fleet[:i], changed, *fleet[i + 1 :]]


def _run(config: str, *, decisions: int, churn: bool, seed: int) -> ScenarioResult:
    rnd = random.Random(seed)
    fleet = testing.synthetic_fleet(FLEET_SIZE, seed=seed)
    requests = [binding(rnd, i) for i in range(decisions)]
    api.schedule(_with(requests[0], fleet))  # the first snapshot is the fleet's arrival, not a decision
    spans: list[int] = []
    unschedulable = 0
    placed_replicas = 0
    meter = CpuMeter({})
    meter.start()
    start = time.perf_counter()
    for i, request in enumerate(requests):
        if churn and i % CHURN_EVERY == 0:
            fleet = _churned(fleet, rnd)
        t0 = time.perf_counter_ns()
        try:
            result = api.schedule(_with(request, fleet))
        except errors.NoFit:
            unschedulable += 1
        else:
            placed_replicas += sum(int(c.get("replicas") or 0) for c in result.clusters)
        spans.append(time.perf_counter_ns() - t0)
    wall = time.perf_counter() - start
    meter.stop()
    return ScenarioResult(
        scenario="placement",
        config=config,
        sent=decisions,
        completed=decisions,
        wall_seconds=round(wall, 3),
        rate_per_second=round(decisions / wall, 1),
        latency=Latency.of_ns(spans),
        cpu_seconds=meter.seconds,
        cpu_percent=meter.percent_of(wall),
        extra={
            "fleet_size": FLEET_SIZE,
            "unschedulable": unschedulable,
            "placed_replicas": placed_replicas,
            "churn_every": CHURN_EVERY if churn else None,
        },
    )


def _with(request: api.ScheduleRequest, fleet: list[dict[str, Any]]) -> api.ScheduleRequest:
    return api.ScheduleRequest(
        placement=request.placement,
        replicas=request.replicas,
        clusters=fleet,
        replica_requirements=request.replica_requirements,
        uid=request.uid,
        resource=request.resource,
    )


def run(*, decisions: int = 5000, seed: int = 11) -> list[ScenarioResult]:
    return [
        _run(f"{FLEET_SIZE} clusters, steady fleet", decisions=decisions, churn=False, seed=seed),
        _run(f"{FLEET_SIZE} clusters, churn 1/{CHURN_EVERY}", decisions=decisions, churn=True, seed=seed),
    ]


if __name__ == "__main__":
    for r in run():
        print(r.config, r.rate_per_second, "/s p50", r.latency.p50_ms, "p99", r.latency.p99_ms, r.extra)
