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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

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


def _shown(view: observed.FleetView) -> tuple[Any, ...]:
    """What of the fleet's view a status depends on (:meth:`Tracker.evaluate`): the phases move
    with every binding update and show nowhere, except the Deployment's when it cannot be
    scheduled; the clusters show for companions only (the Deployment's are in the members')."""
    deployment = view.line("Deployment")
    companions = tuple((p.kind, p.name, p.clusters) for p in view.placed if p.kind != "Deployment")
    unschedulable = deployment is not None and deployment.phase == "Unschedulable"
    held = view.held if view.held is not None else view.fingerprint
    return view.generation, held, unschedulable, companions


class _Proposal:
    """The Propagation document of one entry and plan, and its fingerprint (made once, when
    first asked: what this replica sent is known by the document itself)."""

    __slots__ = ("_fingerprint", "document", "entry", "planned")

    def __init__(self, entry: index.FederatedEntry, planned: plan.FederatedPlan, document: dict[str, Any]) -> None:
        self.entry = entry
        self.planned = planned
        self.document = document
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = propagation.fingerprint(self.document)
        return self._fingerprint


@dataclass(frozen=True, slots=True)
class _Evaluated:
    """What an evaluation of a FederatedDeployment saw and made: the same again makes the same
    status (the state machine moves only when what it is given, or the clock past the progress
    deadline, does), so most evaluations that follow a change showing nowhere are skipped."""

    inputs: tuple[Any, ...]
    planned: plan.FederatedPlan
    made: status.AppStatus
    body: dict[str, Any]

    def unchanged(
        self,
        inputs: tuple[Any, ...],
        planned: plan.FederatedPlan,
        previous: status.AppStatus | None,
        now: datetime,
        deadline: timedelta,
    ) -> bool:
        if previous is not self.made or planned is not self.planned or inputs != self.inputs:
            return False
        st = self.made
        return st.phase is not status.Phase.PROGRESSING or now - st.progressing_since <= deadline


FLEET_SETTLE: Final = timedelta(seconds=0.5)
"""How long the fleet's clusters must show no change before they count as known (the service's
setting): right after start-up a fleet service starting too publishes its clusters' statuses one
by one, and a plan or status judged after the first of them would call the others strangers."""

_SETTLE_BOUND: Final = 10
"""At most this many ``fleet_settle`` periods after the first cluster, the fleet counts as known."""


class Tracker:
    def __init__(
        self,
        idx: index.Index,
        *,
        progress_deadline: timedelta = status.DEFAULT_PROGRESS_DEADLINE,
        fleet_settle: timedelta = timedelta(0),
    ) -> None:
        """``fleet_settle``: see :data:`FLEET_SETTLE`; 0: the fleet is known with its first cluster."""
        self.index = idx
        self._deadline = progress_deadline
        self._fleet_settle = fleet_settle.total_seconds()
        self._settling: asyncio.TimerHandle | None = None
        self._moving_since: float | None = None
        self._labels: dict[str, dict[str, str]] = {}
        self._labels_version = 0
        self._ready: dict[str, bool] = {}
        self._plans: dict[At, tuple[tuple[int, str, int, int], plan.FederatedPlan]] = {}
        self._proposals: dict[At, _Proposal] = {}
        self._sent: dict[At, _Proposal | str] = {}
        """What this replica sent as each Propagation: the proposal itself, or its fingerprint."""
        self._fleet: dict[At, observed.FleetView] = {}
        self._fleet_shown: dict[At, tuple[Any, ...]] = {}
        """:func:`_shown` of each view in ``_fleet`` (worked out as it comes)."""
        self._members: dict[At, tuple[observed.Member, ...]] = {}
        self._previous: dict[At, status.AppStatus] = {}
        self._evaluated: dict[At, _Evaluated] = {}
        self._published: dict[At, dict[str, Any]] = {}
        self._publishing: dict[At, dict[str, Any]] = {}
        self._published_seq: dict[At, int] = {}
        self._events: dict[At, list[status.Event]] = {}
        self._deleted: set[At] = set()
        self._answering: set[At] = set()
        self.dirty: set[At] = set()
        self.wake = asyncio.Event()
        self.fleet_known = asyncio.Event()
        """Set once the fleet's clusters have been read (a cluster seen, then no change for
        ``fleet_settle``): a selector cannot be judged before, nor a named cluster called a stranger."""

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
        if relabelled:
            self._labels_version += 1
        moved = relabelled or was_ready != self._ready.get(name)
        if not self.fleet_known.is_set() and (moved or self._fleet_settle <= 0):
            self._fleet_moving()
        if moved:
            for fd in self.index.fds():
                self.touch((fd.namespace, fd.name))

    def _fleet_moving(self) -> None:
        """Before the fleet is known: a cluster came, left or changed; it is known once that stops."""
        if self._fleet_settle <= 0:
            self._fleet_settled()
            return
        if self._settling is not None:
            self._settling.cancel()
        loop = asyncio.get_running_loop()
        if self._moving_since is None:
            self._moving_since = loop.time()
        if loop.time() - self._moving_since >= self._fleet_settle * _SETTLE_BOUND:
            self._fleet_settled()  # a fleet that never stops changing is judged as it is
            return
        self._settling = loop.call_later(self._fleet_settle, self._fleet_settled)

    def _fleet_settled(self) -> None:
        self._settling = None
        if not self._labels:
            # Every cluster seen has left: still nothing to judge by, and the bound on waiting
            # counts again from the next cluster that comes.
            self._moving_since = None
            return
        self.fleet_known.set()
        for fd in self.index.fds():  # judged with the fleet as it is now
            self.touch((fd.namespace, fd.name))

    def fleet(self, at: At, view: observed.FleetView | None) -> None:
        """The fleet's status of ``at``'s Propagation (``None``: it has none). A status that says
        nothing new (the fleet re-publishing details the status does not show) changes nothing."""
        if view is None:
            self._fleet_shown.pop(at, None)
            if self._fleet.pop(at, None) is None:
                return
        else:
            shown = _shown(view)
            self._fleet[at] = view
            if self._fleet_shown.get(at) == shown:
                return
            self._fleet_shown[at] = shown
        self.touch(at)

    def deployment(self, at: At, members: tuple[observed.Member, ...] | None) -> None:
        """The members' view of ``at``'s Deployment (``None``: the fleet reports none)."""
        if members is None:
            if self._members.pop(at, None) is None:
                return
        elif self._members.get(at) == members:
            return
        else:
            self._members[at] = members
        self.touch(at)

    def on_bus(self, at: At, body: Mapping[str, Any], *, sequence: int = 0) -> None:
        """A status of ours seen on the bus (ours, the processor's, another replica's) at stream
        ``sequence`` (0: not known)."""
        if body.get("phase") == "Deleted":
            self.forget(at)
            return
        self._deleted.discard(at)
        if sequence and sequence <= self._published_seq.get(at, 0):
            return  # what this replica published, or older: the status on the bus is newer
        if body == self._published.get(at) or body == self._publishing.get(at):
            return  # this replica's own (its handler's answer, or being published): nothing to re-check
        self._published[at] = dict(body)
        if at not in self._previous:
            found = resume(body)
            if found is not None:
                self._previous[at] = found
        self.touch(at)

    def knows_status(self, at: At) -> bool:
        """Whether a status of ``at`` was published, answered or seen since this tracker started:
        this process's own statuses coming back from the bus are then nothing new."""
        return at in self._published or at in self._publishing

    def publishing(self, at: At, body: Mapping[str, Any]) -> None:
        """``body`` is being published as ``at``'s status (its echo may come before the acknowledgement)."""
        self._publishing[at] = dict(body)

    def published(self, at: At, body: Mapping[str, Any], *, sequence: int = 0) -> None:
        """``body`` is ``at``'s status on the bus now (published at stream ``sequence``, 0: not
        known yet, as for a handler's answer the processor publishes)."""
        self._publishing.pop(at, None)
        if at in self._deleted:
            return  # deleted while it was being published: its Deleted status follows
        self._published[at] = dict(body)
        if sequence:
            self._published_seq[at] = sequence

    def not_published(self, at: At) -> None:
        """Publishing ``at``'s status failed: evaluate it again."""
        self._publishing.pop(at, None)
        self.touch(at)

    def answering(self, at: At) -> None:
        """A handler is working on ``at`` and will answer with its status (:meth:`answered`):
        until then the publisher leaves it alone, as it would publish the same status twice."""
        self._answering.add(at)

    def answered(self, at: At, body: Mapping[str, Any] | None) -> None:
        """A handler evaluated ``at`` just now, with everything learnt so far, and answers with
        ``body``: the publisher has nothing to re-check for it, unless events wait. ``None``:
        the handler failed; the publisher evaluates it again."""
        self._answering.discard(at)
        if body is None:
            self.touch(at)
            return
        self.published(at, body)
        if self._events.get(at):
            self.touch(at)
        else:
            self.dirty.discard(at)

    def take_dirty(self, *, also: Iterable[At] = ()) -> set[At]:
        """What changed since the last call and ``also`` (what is due again), for the publisher,
        less what a handler is answering."""
        batch, self.dirty = self.dirty, set()
        batch.update(also)
        return batch - self._answering if self._answering else batch

    def forget(self, at: At) -> None:
        """The FederatedDeployment is deleted: no more status for it."""
        self._deleted.add(at)
        self._fleet.pop(at, None)
        self._fleet_shown.pop(at, None)
        self._members.pop(at, None)
        self._previous.pop(at, None)
        self._evaluated.pop(at, None)
        self._published.pop(at, None)
        self._publishing.pop(at, None)
        self._published_seq.pop(at, None)
        self._events.pop(at, None)
        self._plans.pop(at, None)
        self._proposals.pop(at, None)
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

    def overdue(self, now: datetime) -> list[At]:
        """FederatedDeployments still rolling out past the progress deadline (now ``Degraded``):
        what the clock alone changes, as nothing else would evaluate them again."""
        since = now - self._deadline
        return [
            at
            for at, st in self._previous.items()
            if st.phase is status.Phase.PROGRESSING and st.progressing_since < since
        ]

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

    def _proposal(self, entry: index.FederatedEntry) -> _Proposal:
        at = (entry.namespace, entry.name)
        planned = self.plan_of(entry)
        cached = self._proposals.get(at)
        if cached is not None and cached.entry is entry and cached.planned is planned:
            return cached
        document = propagation.document(entry.model, planned, generation=entry.generation)
        found = _Proposal(entry, planned, document)
        self._proposals[at] = found
        return found

    def propagation_of(self, entry: index.FederatedEntry) -> dict[str, Any]:
        """The Propagation of ``entry`` as planned now (the same document until the plan changes)."""
        return self._proposal(entry).document

    def sent(self, at: At, document: dict[str, Any]) -> None:
        """This replica published ``document`` as ``at``'s Propagation."""
        cached = self._proposals.get(at)
        self._sent[at] = (
            cached if cached is not None and cached.document is document else propagation.fingerprint(document)
        )

    def unpropagated(self, at: At) -> dict[str, Any] | None:
        """The Propagation to publish for ``at`` when what this replica sent, or else what the
        fleet holds, differs from its plan here: what another replica's handler could not know
        (a companion it had not seen yet). Neither known: none - the replica whose handler
        accepted it publishes it (its intent is redelivered until it has)."""
        entry = self.index.fd(*at)
        if entry is None or at in self._deleted:
            return None
        sent, fleet = self._sent.get(at), self._fleet.get(at)
        if sent is None and fleet is None:
            return None
        if entry.model.spec.placement.cluster_selector is not None and not self.fleet_known.is_set():
            return None
        proposal = self._proposal(entry)
        if sent is proposal:
            return None  # the usual case: the plan has not moved since it was sent, nothing to hash
        fingerprint = proposal.fingerprint
        if isinstance(sent, _Proposal):
            sent = sent.fingerprint
        if fingerprint == sent or (fleet is not None and fingerprint == fleet.fingerprint):
            return None
        return proposal.document

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
        known = bool(self._labels) and self.fleet_known.is_set()
        if known and planned.exact:
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
        inputs = (
            entry.generation,
            tuple(desired.items()),
            tuple((name, n) for name, n in ready.items() if n),  # none ready is as good as not reported
            tuple(failures.items()),
            unplaced,
            fleet.generation if current and fleet is not None else None,
            fleet.placed if current and fleet is not None and planned.companions else (),
            known,
        )
        last = self._evaluated.get(at)
        if last is not None and last.unchanged(inputs, planned, self._previous.get(at), now, self._deadline):
            return dict(last.body)
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
        warnings = [w for w in planned.warnings if known or not w.startswith("not members of the fleet")]
        if warnings:
            body["warnings"] = warnings
        self._evaluated[at] = _Evaluated(inputs, planned, moved.status, body)
        return dict(body)

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

    def on_the_bus(self, at: At) -> Mapping[str, Any] | None:
        """``at``'s status on the bus, as far as this tracker knows (``None``: none known)."""
        return self._published.get(at)

    def events_waiting(self, at: At) -> bool:
        return bool(self._events.get(at))

    def take_events(self, at: At) -> list[status.Event]:
        return self._events.pop(at, [])
