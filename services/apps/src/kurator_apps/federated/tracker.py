"""Each ``FederatedDeployment``'s status from its plan and what the fleet reports.

Pure state, no I/O: the handlers and the status followers (:mod:`.follow`) record what they
learn here; :meth:`Tracker.evaluate` turns it into the status document (via
:func:`kurator_apps.federated.status.advance`) and queues the events of a transition. Changed
objects are marked dirty for the publisher loop.

What counts as ready: the member Deployments' ready (and updated) replicas, but only once the
fleet has applied the FederatedDeployment's current generation - before that, what runs is an
older generation's. Desired per cluster is the plan's when its counts are exact, else what
Karmada assigned (the plan's prediction until the binding says).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from kurator_apps.federated import index, observed, plan, propagation, status

_KEPT_EVENTS = 4

At = tuple[str, str]
"""``(namespace, name)`` of a FederatedDeployment."""


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def resume(body: Mapping[str, Any]) -> status.AppStatus | None:
    """The state machine's status back from a published ``status`` (after a restart)."""
    try:
        phase = status.Phase(str(body.get("phase")))
        generation = int(body["observedGeneration"])
    except (ValueError, KeyError, TypeError):
        return None
    conditions = []
    for raw in body.get("conditions") or ():
        when = _parse_time(raw.get("lastTransitionTime"))
        if when is None or raw.get("status") not in ("True", "False"):
            continue
        conditions.append(
            status.Condition(
                str(raw["type"]), raw["status"], str(raw.get("reason", "")), str(raw.get("message", "")), when
            )
        )
    clusters = tuple(
        status.ClusterReplicas(str(c["name"]), int(c.get("desired", 0)), int(c.get("ready", 0)), c.get("failure"))
        for c in body.get("clusters") or ()
        if c.get("name")
    )
    progressing = next((c for c in conditions if c.type == "Progressing"), None)
    since = progressing.last_transition_time if progressing is not None else datetime.now().astimezone()
    once = phase is status.Phase.AVAILABLE or (progressing is not None and progressing.reason == "RolloutComplete")
    return status.AppStatus(phase, generation, clusters, tuple(conditions), since, once)


class Tracker:
    def __init__(self, idx: index.Index, *, progress_deadline: timedelta = status.DEFAULT_PROGRESS_DEADLINE) -> None:
        self.index = idx
        self._deadline = progress_deadline
        self._labels: dict[str, dict[str, str]] = {}
        self._labels_version = 0
        self._ready: dict[str, bool] = {}
        self._plans: dict[At, tuple[tuple[int, str, int, int], plan.FederatedPlan]] = {}
        self._sent: dict[At, str] = {}
        self._fleet: dict[At, observed.FleetView] = {}
        self._members: dict[At, tuple[observed.Member, ...]] = {}
        self._previous: dict[At, status.AppStatus] = {}
        self._published: dict[At, dict[str, Any]] = {}
        self._events: dict[At, list[status.Event]] = {}
        self._deleted: set[At] = set()
        self.dirty: set[At] = set()
        self.wake = asyncio.Event()
        self.fleet_known = asyncio.Event()
        """Set once a member cluster has been seen: a selector cannot be judged before."""

    # -- what is learnt -----------------------------------------------------------------------

    @property
    def clusters(self) -> Mapping[str, Mapping[str, str]]:
        return self._labels

    def cluster(self, name: str, labels: Mapping[str, str] | None, *, ready: bool | None = None) -> None:
        """A member cluster's labels and readiness (``labels=None``: it left the fleet)."""
        was_ready = self._ready.get(name)
        if ready is None or labels is None:
            self._ready.pop(name, None)
        else:
            self._ready[name] = ready
        if labels is None:
            relabelled = self._labels.pop(name, None) is not None
        else:
            relabelled = self._labels.get(name) != labels
            self._labels[name] = dict(labels)
            self.fleet_known.set()
        if relabelled:
            self._labels_version += 1
        if relabelled or was_ready != self._ready.get(name):
            for fd in self.index.fds():
                self.touch((fd.namespace, fd.name))

    def fleet(self, at: At, view: observed.FleetView | None) -> None:
        if view is None:
            self._fleet.pop(at, None)
        else:
            self._fleet[at] = view
        self.touch(at)

    def deployment(self, at: At, members: tuple[observed.Member, ...] | None) -> None:
        if members is None:
            self._members.pop(at, None)
        else:
            self._members[at] = members
        self.touch(at)

    def on_bus(self, at: At, body: Mapping[str, Any]) -> None:
        """A status of ours seen on the bus (ours, the processor's, another replica's)."""
        if body.get("phase") == "Deleted":
            self.forget(at)
            return
        self._deleted.discard(at)
        self._published[at] = dict(body)
        if at not in self._previous:
            found = resume(body)
            if found is not None:
                self._previous[at] = found
        self.touch(at)

    def published(self, at: At, body: Mapping[str, Any]) -> None:
        self._published[at] = dict(body)

    def forget(self, at: At) -> None:
        """The FederatedDeployment is deleted: no more status for it."""
        self._deleted.add(at)
        self._fleet.pop(at, None)
        self._members.pop(at, None)
        self._previous.pop(at, None)
        self._published.pop(at, None)
        self._events.pop(at, None)
        self._plans.pop(at, None)
        self._sent.pop(at, None)
        self.dirty.discard(at)

    def live(self, at: At) -> None:
        """The FederatedDeployment exists (again): follow it."""
        self._deleted.discard(at)

    def touch(self, at: At) -> None:
        if at in self._deleted:
            return
        self.dirty.add(at)
        self.wake.set()

    def progressing(self) -> list[At]:
        """FederatedDeployments still rolling out (the progress deadline may pass)."""
        return [at for at, st in self._previous.items() if st.phase is status.Phase.PROGRESSING]

    # -- the status ---------------------------------------------------------------------------

    def plan_of(self, entry: index.FederatedEntry) -> plan.FederatedPlan:
        """The plan of ``entry`` (kept until it, its namespace's companions or the fleet change)."""
        at = (entry.namespace, entry.name)
        key = (entry.generation, entry.uid, self.index.version(entry.namespace), self._labels_version)
        cached = self._plans.get(at)
        if cached is not None and cached[0] == key:
            return cached[1]
        planned = plan.plan(
            entry.model,
            clusters=self._labels,
            applied=self.index.companions_in(entry.namespace),
            template_uid=entry.uid,
        )
        self._plans[at] = (key, planned)
        return planned

    def propagation_of(self, entry: index.FederatedEntry) -> dict[str, Any]:
        return propagation.document(entry.model, self.plan_of(entry), generation=entry.generation)

    def sent(self, at: At, document: dict[str, Any]) -> None:
        """This replica published ``document`` as ``at``'s Propagation."""
        self._sent[at] = propagation.fingerprint(document)

    def unpropagated(self, at: At) -> dict[str, Any] | None:
        """The Propagation to publish for ``at`` when neither this replica sent it nor the fleet
        holds it: what another replica's handler could not know (a companion it had not seen yet)."""
        entry = self.index.fd(*at)
        if entry is None or at in self._deleted:
            return None
        if entry.model.spec.placement.cluster_selector is not None and not self.fleet_known.is_set():
            return None
        document = self.propagation_of(entry)
        mark = propagation.fingerprint(document)
        fleet = self._fleet.get(at)
        if mark == self._sent.get(at) or (fleet is not None and mark == fleet.fingerprint):
            return None
        return document

    def evaluate(self, at: At, *, now: datetime, planned: plan.FederatedPlan | None = None) -> dict[str, Any] | None:
        """The status document of ``at`` now; queues its events. ``None``: unknown, deleted, or
        placed by a selector while the fleet's clusters are not known yet."""
        entry = self.index.fd(*at)
        if entry is None or at in self._deleted:
            return None
        by_selector = entry.model.spec.placement.cluster_selector is not None
        if by_selector and not self.fleet_known.is_set():
            return None
        planned = planned or self.plan_of(entry)
        fleet = self._fleet.get(at)
        current = fleet is not None and fleet.generation == entry.generation
        members = self._members.get(at, ()) if current else ()
        desired = dict(planned.replicas)
        if not planned.exact:
            assigned = {m.name: m.assigned for m in members if m.assigned is not None}
            if assigned:
                desired = {name: n for name, n in assigned.items() if n is not None}
        failures = {m.name: m.failure for m in members if m.failure is not None and m.name in desired}
        if self._labels and planned.exact:
            for name in desired:
                if name not in self._labels and desired[name] > 0:
                    failures[name] = "not a member of the fleet"
        for name, n in desired.items():
            if n > 0 and self._ready.get(name) is False:
                failures.setdefault(name, "cluster not ready")
        if current and fleet is not None:
            line = fleet.line("Deployment")
            if line is not None and line.phase == "Unschedulable":
                for name in desired:
                    failures.setdefault(name, "Karmada cannot schedule it there")
        ready = {m.name: m.ready for m in members if m.failure is None}
        unplaced = "the cluster selector matches no member of the fleet" if by_selector and not desired else None
        moved = status.advance(
            self._previous.get(at),
            generation=entry.generation,
            desired=desired,
            ready=ready,
            failures=failures,
            unplaced=unplaced,
            now=now,
            progress_deadline=self._deadline,
        )
        self._previous[at] = moved.status
        if moved.events:
            # Only the replica holding the publisher's lease takes them: elsewhere keep the last few.
            queued = self._events.setdefault(at, [])
            queued.extend(moved.events)
            del queued[:-_KEPT_EVENTS]
        body = moved.status.to_dict()
        # Which generation the fleet applied, not its phase: that moves with every binding
        # update, and what it means for the app is already in the clusters above.
        body["propagation"] = {
            "name": propagation.name_for(entry.name),
            **({"appliedGeneration": fleet.generation} if current and fleet is not None else {}),
        }
        body["companions"] = [self._companion(at, c, current) for c in planned.companions]
        # Before the fleet's clusters are known (start-up), every named cluster looks foreign.
        warnings = [w for w in planned.warnings if self._labels or not w.startswith("not members of the fleet")]
        if warnings:
            body["warnings"] = warnings
        return body

    def _companion(self, at: At, model: Any, current: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": model.kind, "name": model.metadata.name}
        fleet = self._fleet.get(at)
        if current and fleet is not None:
            line = next((p for p in fleet.placed if p.kind == model.kind and p.name == model.metadata.name), None)
            if line is not None:
                out["clusters"] = list(line.clusters)
        return out

    def changed(self, at: At, body: Mapping[str, Any]) -> bool:
        """Whether ``body`` differs from the status on the bus."""
        return self._published.get(at) != body

    def take_events(self, at: At) -> list[status.Event]:
        return self._events.pop(at, [])
