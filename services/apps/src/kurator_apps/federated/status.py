"""A ``FederatedDeployment``'s status from desired versus ready replicas per cluster.

:func:`advance` is a pure state machine: given the previous status, the spec's generation, what
each cluster should run and what it reports ready (and clusters that could not apply the
Deployment at all), it returns the new status and the events to emit.

Phases:

* ``Available`` - every cluster runs at least its desired replicas ready, and clusters it is
  leaving run none;
* ``Degraded`` - not available, and either no cluster is chosen at all, a cluster could not
  apply it, or this generation had been available (replicas were lost), or the rollout has been
  progressing for longer than the progress deadline;
* ``Progressing`` - otherwise: a new generation rolling out.

Conditions (``metav1.Condition``; ``lastTransitionTime`` moves only when the status does):
``Available`` (``AllReplicasReady``/``ReplicasUnavailable``), ``Progressing`` (``RollingOut``,
``RolloutComplete`` once this generation was available, ``ProgressDeadlineExceeded``) and
``Degraded`` (``AsExpected``, ``Unplaced``, ``ApplyFailed``, ``ReplicasLost``, ``ProgressDeadlineExceeded``).
Events: ``Available`` (Normal) on becoming available, ``Degraded`` (Warning) on degrading.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal

DEFAULT_PROGRESS_DEADLINE: Final = timedelta(minutes=10)
"""As long as a Deployment's default ``progressDeadlineSeconds`` (600)."""


class Phase(StrEnum):
    PROGRESSING = "Progressing"
    AVAILABLE = "Available"
    DEGRADED = "Degraded"


@dataclass(frozen=True, slots=True)
class ClusterReplicas:
    cluster: str
    desired: int
    ready: int
    failure: str | None = None
    """Why the cluster could not apply the Deployment (``None``: it did)."""

    @property
    def satisfied(self) -> bool:
        return self.failure is None and (self.ready >= self.desired if self.desired > 0 else self.ready == 0)

    def describe(self) -> str:
        if self.failure is not None:
            return f"{self.cluster}: {self.failure}"
        return f"{self.cluster} {self.ready}/{self.desired}"


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: Literal["True", "False"]
    reason: str
    message: str
    last_transition_time: datetime

    def to_dict(self, generation: int) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": _timestamp(self.last_transition_time),
            "observedGeneration": generation,
        }


@dataclass(frozen=True, slots=True)
class AppStatus:
    phase: Phase
    observed_generation: int
    clusters: tuple[ClusterReplicas, ...]
    conditions: tuple[Condition, ...]
    progressing_since: datetime
    """When this generation started rolling out (for the progress deadline)."""
    available_once: bool = False
    """Whether this generation has been available (losing replicas then is ``Degraded``)."""

    @property
    def desired(self) -> int:
        return sum(c.desired for c in self.clusters)

    @property
    def ready(self) -> int:
        return sum(min(c.ready, c.desired) for c in self.clusters)

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``status`` document."""
        generation = self.observed_generation
        desired = ready = 0
        clusters = []
        for c in self.clusters:
            desired += c.desired
            ready += min(c.ready, c.desired)
            line: dict[str, Any] = {"name": c.cluster, "desired": c.desired, "ready": c.ready}
            if c.failure:
                line["failure"] = c.failure
            clusters.append(line)
        return {
            "phase": str(self.phase),
            "observedGeneration": generation,
            "replicas": desired,
            "readyReplicas": ready,
            "clusters": clusters,
            "conditions": [c.to_dict(generation) for c in self.conditions],
        }


@dataclass(frozen=True, slots=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Transition:
    status: AppStatus
    events: tuple[Event, ...] = field(default=())


@functools.lru_cache(maxsize=4096)
def _timestamp(when: datetime) -> str:
    # Cached: conditions keep their transition times, so every evaluation formats the same few.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clusters(
    desired: Mapping[str, int], ready: Mapping[str, int], failures: Mapping[str, str]
) -> tuple[ClusterReplicas, ...]:
    names = sorted(set(desired) | {n for n, r in ready.items() if r > 0} | set(failures))
    return tuple(ClusterReplicas(n, desired.get(n, 0), ready.get(n, 0), failures.get(n)) for n in names)


def _condition(
    before: Condition | None, type_: str, status: Literal["True", "False"], reason: str, message: str, now: datetime
) -> Condition:
    if before is not None and before.status == status:
        if before.reason == reason and before.message == message:
            return before  # unchanged (the usual case): the same value
        return Condition(type_, status, reason, message, before.last_transition_time)
    return Condition(type_, status, reason, message, now)


def advance(
    previous: AppStatus | None,
    *,
    generation: int,
    desired: Mapping[str, int],
    ready: Mapping[str, int],
    failures: Mapping[str, str] | None = None,
    unplaced: str | None = None,
    now: datetime,
    progress_deadline: timedelta = DEFAULT_PROGRESS_DEADLINE,
) -> Transition:
    """The status after observing ``ready`` replicas per cluster against ``desired`` (module docstring).

    ``unplaced``: why no cluster is chosen at all (a selector that matches none): not available,
    and ``Degraded`` with reason ``Unplaced`` - nothing will run until the fleet changes.
    """
    clusters = _clusters(desired, ready, failures or {})
    same_generation = previous is not None and previous.observed_generation == generation
    since = previous.progressing_since if same_generation and previous is not None else now
    was_available = same_generation and previous is not None and previous.available_once
    failed = False
    short = []
    total = ready_total = placed = 0
    for c in clusters:
        total += c.desired
        ready_total += min(c.ready, c.desired)
        if c.desired > 0:
            placed += 1
        if c.failure is not None:
            failed = True
            short.append(c)
        elif (c.ready < c.desired) if c.desired > 0 else c.ready != 0:  # not satisfied
            short.append(c)
    overdue = now - since > progress_deadline

    if unplaced is not None:
        phase, degraded_reason = Phase.DEGRADED, "Unplaced"
    elif not short:
        phase, degraded_reason = Phase.AVAILABLE, None
    elif failed:
        phase, degraded_reason = Phase.DEGRADED, "ApplyFailed"
    elif was_available:
        phase, degraded_reason = Phase.DEGRADED, "ReplicasLost"
    elif overdue:
        phase, degraded_reason = Phase.DEGRADED, "ProgressDeadlineExceeded"
    else:
        phase, degraded_reason = Phase.PROGRESSING, None
    available_once = was_available or phase is Phase.AVAILABLE

    detail = unplaced if unplaced is not None else ", ".join([c.describe() for c in short])
    summary = f"{ready_total}/{total} replicas ready in {placed} cluster(s)"
    # The first of each type, as AppStatus.condition finds it.
    before = {c.type: c for c in reversed(previous.conditions)} if previous is not None else {}
    if phase is Phase.AVAILABLE:
        available = _condition(before.get("Available"), "Available", "True", "AllReplicasReady", summary, now)
    else:
        available = _condition(
            before.get("Available"), "Available", "False", "ReplicasUnavailable", f"{summary}; {detail}", now
        )
    was_progressing = before.get("Progressing")
    if degraded_reason == "ProgressDeadlineExceeded":
        message = f"not available {int(progress_deadline.total_seconds())}s after the rollout started; {detail}"
        progressing = _condition(was_progressing, "Progressing", "False", degraded_reason, message, now)
    elif available_once:
        progressing = _condition(
            was_progressing, "Progressing", "True", "RolloutComplete", "this generation was available", now
        )
    else:
        progressing = _condition(
            was_progressing, "Progressing", "True", "RollingOut", f"rolling out generation {generation}", now
        )
    if degraded_reason is None:
        degraded = _condition(before.get("Degraded"), "Degraded", "False", "AsExpected", "", now)
    else:
        degraded = _condition(before.get("Degraded"), "Degraded", "True", degraded_reason, detail, now)

    status = AppStatus(
        phase=phase,
        observed_generation=generation,
        clusters=clusters,
        conditions=(available, progressing, degraded),
        progressing_since=since,
        available_once=available_once,
    )
    events: list[Event] = []
    was = previous.phase if previous is not None else None
    if phase is Phase.AVAILABLE and was is not Phase.AVAILABLE:
        where = ", ".join(f"{c.cluster} {c.ready}/{c.desired}" for c in clusters if c.desired > 0)
        events.append(Event("Normal", "Available", f"{summary}: {where}" if where else summary))
    elif phase is Phase.DEGRADED and was is not Phase.DEGRADED:
        events.append(Event("Warning", "Degraded", f"{degraded_reason}: {detail}"))
    return Transition(status=status, events=tuple(events))
