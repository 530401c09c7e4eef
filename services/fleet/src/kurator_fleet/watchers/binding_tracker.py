"""``ResourceBinding``/``ClusterResourceBinding`` watch events -> placement status and events.

For each binding the tracker keeps its latest :class:`~.placements.BindingView` and observes:

* the workload (the resource template the binding names), when the fleet service owns its
  kind: ``kurator.status.fleet.deployment.<ns>.<name>`` gets ``status.placement``, the
  ``Scheduled``/``FullyApplied`` conditions and the placement phase;
* the policy that placed it (``propagationpolicy``/``clusterpropagationpolicy``): the
  ``status.placements`` of every workload it placed;
* the ``Propagation`` that wrote the template (its ``status.written`` names it): the same
  ``placements`` plus a phase summing them up.

Each step of a binding requests those objects from the writer and holds their observations as
how to build them (:meth:`~kurator_fleet.observed.ObservedStatus.defer`): they are composed
when read, from the bindings as they are then. A step that changes nothing they show (a new
resource version, an annotation) requests nothing.

A member reporting ``Unhealthy`` degrades a workload only once its binding has been
``Available`` (before, the member is still starting it: :func:`.placements.phase`). A binding
this replica meets with members' status already in it (a re-list, a new lease holder) counts
as having been ``Available`` unless the bus shows its workload still rolling out.

When ``spec.clusters`` changes it emits ``kurator.event.fleet.placement.changed`` with the
previous and new assignment and why (:func:`.placements.change`). The first assignment a
replica sees is compared with the one on the bus, so a new lease holder does not repeat events.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from kurator_fleet import observed
from kurator_fleet.watchers import placements
from kurator_fleet.watchers.mirror import Entry, StatusMirror
from kurator_fleet.watchers.placements import BindingView, Ref
from kurator_fleet.watchers.publishing import StatusWriter
from shared.contracts import kinds, subjects
from shared.k8s import watching

SERVICE = "fleet"
BindingKey = tuple[str, str, str]
"""``(kind, namespace or "", name)`` of a binding."""


@functools.lru_cache(maxsize=65536)
def policy_address(policy: Ref) -> subjects.ObjectAddress:
    token = "propagationpolicy" if policy.kind == "PropagationPolicy" else "clusterpropagationpolicy"
    return subjects.ObjectAddress(
        SERVICE, token, policy.namespace if token == "propagationpolicy" else None, policy.name
    )


@functools.lru_cache(maxsize=65536)
def workload_address(workload: Ref) -> subjects.ObjectAddress | None:
    """The status subject of a resource template, when its kind is the fleet service's."""
    try:
        info = kinds.for_object(workload.api_version, workload.kind)
    except kinds.UnknownKind:
        return None
    if info.service != SERVICE:
        return None  # another service's kind: its placement shows on the Propagation that asked
    return subjects.ObjectAddress(SERVICE, info.token, workload.namespace if info.namespaced else None, workload.name)


def _ref(raw: Mapping[str, Any]) -> Ref:
    return Ref(
        str(raw.get("apiVersion", "")), str(raw.get("kind", "")), raw.get("namespace") or None, str(raw.get("name", ""))
    )


class BindingTracker:
    def __init__(
        self,
        *,
        mirror: StatusMirror,
        writer: StatusWriter,
        observations: observed.ObservedStatus,
        ready: placements.ClusterReady,
    ) -> None:
        self._mirror = mirror
        self._writer = writer
        self._observed = observations
        self._ready = ready
        self.views: dict[BindingKey, BindingView] = {}
        self._lines: dict[BindingKey, placements.Line] = {}
        """Each binding's line in its owners' ``placements``, as last computed."""
        self._by_cluster: dict[str, set[BindingKey]] = {}
        self._by_policy: dict[subjects.ObjectAddress, set[BindingKey]] = {}
        self._by_workload: dict[Ref, BindingKey] = {}
        self._available_once: set[BindingKey] = set()
        """Bindings whose workload has been ``Available``: an unhealthy member degrades it now."""
        self._written: dict[subjects.ObjectAddress, frozenset[Ref]] = {}
        self._propagation_of: dict[Ref, subjects.ObjectAddress] = {}
        self.synced: set[str] = set()

    def apply(self, kind: str, item: watching.WatchItem) -> None:
        if isinstance(item, watching.Synced):
            self.synced.add(kind)
            return
        key = (kind, *item.key)
        if item.type == "DELETED":
            self._deleted(key, item.object)
        else:
            self._changed(key, item.object)

    def _changed(self, key: BindingKey, obj: dict[str, Any]) -> None:
        binding = placements.view(obj)
        old = self.views.get(key)
        names_it = self._by_workload.get(binding.workload) == key
        if old is not None and names_it and old == binding:
            # Nothing the observations show moved (a write of fields they leave out: the
            # resource version, the generation, an annotation): only the phase could, through
            # ``_available_once``, and then the line says so.
            line = self._lines.get(key)
            if line is not None and line[2] == self._phase(key, binding):
                self.views[key] = binding
                return
        self.views[key] = binding
        self._index(key, old, binding)
        before = old.clusters if old is not None else self._published_assignment(binding)
        payload = placements.change(
            before, binding, self._ready, replicas_before=old.replicas if old is not None else None
        )
        if payload is not None:
            self._writer.emit("placement", "changed", payload, ce_subject=binding.workload.display())
        if old is None and binding.aggregated and not self._published_rolling_out(binding):
            self._available_once.add(key)
        phase = self._phase(key, binding)
        self._refresh_workload(binding, phase)
        line = placements.line(binding, self._ready, phase_now=phase)
        if (
            old is not None
            and names_it
            and old.policy == binding.policy
            and old.workload == binding.workload
            and self._lines.get(key) == line
        ):
            return  # its owners and their line for it are unchanged: nothing to compose again
        self._lines[key] = line
        self._refresh_owners(old, binding)

    def _deleted(self, key: BindingKey, obj: dict[str, Any]) -> None:
        binding = self.views.pop(key, None) or placements.view(obj)
        self._lines.pop(key, None)
        self._available_once.discard(key)
        self._index(key, binding, None)
        address = workload_address(binding.workload)
        if address is not None:
            self.unbound(address, placements.document(binding))
        self._refresh_owners(binding, None)

    def unbound(self, address: subjects.ObjectAddress, document: Mapping[str, Any] | None) -> None:
        """No binding for the workload at ``address`` (any more)."""
        entry = self._mirror.get(address)
        if entry is not None and entry.handler is not None:
            if not entry.handler_deleted:
                self._observe(address, placements.unbound_observation())
        else:
            self._writer.retire(address, document)

    def cluster_changed(self, name: str) -> None:
        """A member's readiness moved: the placements on it are judged again."""
        keys = [key for key in self._by_cluster.get(name, ()) if key in self.views]
        bindings = [self.views[key] for key in keys]
        for key, binding in zip(keys, bindings, strict=True):
            phase = self._phase(key, binding)
            self._lines[key] = placements.line(binding, self._ready, phase_now=phase)
            self._refresh_workload(binding, phase)
        self._refresh_owner_addresses(self._owners(bindings))

    def propagation_changed(self, address: subjects.ObjectAddress, entry: Entry) -> None:
        """A Propagation's status from the write side: which templates are its own."""
        for ref in self._written.pop(address, frozenset()):
            if self._propagation_of.get(ref) == address:
                del self._propagation_of[ref]
        handler = entry.handler if entry.handler is not None and not entry.handler_deleted else None
        written = frozenset(_ref(r) for r in ((handler or {}).get("status") or {}).get("written") or ())
        if handler is None:
            self._observed.discard(address)
            return
        self._written[address] = written
        for ref in written:
            self._propagation_of[ref] = address
            if (held := self._written_address(ref)) is not None:
                self._writer.written_by_propagation(held)
        self._refresh_owner_addresses([address])

    @staticmethod
    def _written_address(ref: Ref) -> subjects.ObjectAddress | None:
        """The status subject of an object a Propagation wrote, when the watchers observe it."""
        if ref.kind in ("PropagationPolicy", "ClusterPropagationPolicy"):
            return policy_address(ref)
        return workload_address(ref)

    # --- observing -------------------------------------------------------------------------

    def _observe(self, address: subjects.ObjectAddress, observation: observed.Observation) -> None:
        if self._observed.put(address, observation):
            self._writer.request(address)

    def _refresh_workload(self, binding: BindingView, phase: str) -> None:
        address = workload_address(binding.workload)
        if address is not None:
            # Composed when read (by the writer, once per publish window), not on every step:
            # under load a binding takes several steps per message that goes out. Each call
            # follows a change of the binding or of a member's readiness, so it is requested.
            self._observed.defer(
                address, functools.partial(placements.workload_observation, binding, self._ready, phase_now=phase)
            )
            self._writer.request(address)

    def _owners(self, bindings: Iterable[BindingView | None]) -> set[subjects.ObjectAddress]:
        out: set[subjects.ObjectAddress] = set()
        for binding in bindings:
            if binding is None:
                continue
            if binding.policy is not None:
                out.add(policy_address(binding.policy))
            propagation = self._propagation_of.get(binding.workload)
            if propagation is not None:
                out.add(propagation)
        return out

    def _refresh_owners(self, old: BindingView | None, new: BindingView | None) -> None:
        self._refresh_owner_addresses(self._owners((old, new)))

    def _refresh_owner_addresses(self, addresses: Iterable[subjects.ObjectAddress]) -> None:
        for address in addresses:
            if address.kind == "propagation":
                # Composed when read, as the workload's (``_refresh_workload``): it is called only
                # when a line of it (or which templates are its own) may have changed.
                self._observed.defer(address, functools.partial(self._propagation_observation, address))
                self._writer.request(address)
            elif (entry := self._mirror.get(address)) is None or entry.handler is None:
                # No intent's status to publish it under (a policy a Propagation wrote): its
                # placements go out only if the KV store holds a record of it, which the writer
                # looks up once, or once an intent comes. Composed when read, from the bindings
                # as they are then, not on every step of them.
                self._observed.defer(address, functools.partial(self._policy_observation, address))
                if not self._writer.awaits_intent(address):
                    self._writer.request(address)
            else:
                self._observe(address, self._policy_observation(address))

    def _propagation_observation(self, address: subjects.ObjectAddress) -> observed.Observation:
        keys = [self._by_workload[ref] for ref in self._written.get(address, ()) if ref in self._by_workload]
        return placements.propagation_observation(self._lines_of(keys))

    def _policy_observation(self, address: subjects.ObjectAddress) -> observed.Observation:
        return placements.policy_observation(self._lines_of(sorted(self._by_policy.get(address, ()))))

    def _lines_of(self, keys: Iterable[BindingKey]) -> list[placements.Line]:
        out = []
        for key in keys:
            line = self._lines.get(key)
            if line is None and key in self.views:
                view = self.views[key]
                line = self._lines[key] = placements.line(view, self._ready, phase_now=self._phase(key, view))
            if line is not None:
                out.append(line)
        return out

    def _phase(self, key: BindingKey, binding: BindingView) -> str:
        phase = placements.phase(binding, self._ready, healthy_once=key in self._available_once)
        if phase == placements.AVAILABLE:
            self._available_once.add(key)
        return phase

    def _published_rolling_out(self, binding: BindingView) -> bool:
        """Whether the bus shows the workload's placement still on its way to ``Available``."""
        address = workload_address(binding.workload)
        shown: Any = None
        if address is not None:
            entry = self._mirror.get(address)
            status = ((entry.latest if entry is not None else None) or {}).get("status") or {}
            if "placement" in status:
                shown = status.get("phase")
        elif binding.policy is not None:
            entry = self._mirror.get(policy_address(binding.policy))
            status = ((entry.latest if entry is not None else None) or {}).get("status") or {}
            for line in status.get("placements") or ():
                if _ref(line.get("resource") or {}) == binding.workload:
                    shown = line.get("phase")
        return shown in (placements.PENDING, placements.SCHEDULED, placements.PROGRESSING)

    # --- indexes ---------------------------------------------------------------------------

    def _index(self, key: BindingKey, old: BindingView | None, new: BindingView | None) -> None:
        if (
            old is not None
            and new is not None
            and old.clusters == new.clusters
            and old.policy == new.policy
            and old.workload == new.workload
        ):
            self._by_workload[new.workload] = key  # the binding changed last names the workload, as below
            return  # a status update: the other indexes stay as they are
        if old is not None:
            for name in old.cluster_names:
                self._by_cluster.get(name, set()).discard(key)
            if old.policy is not None:
                self._by_policy.get(policy_address(old.policy), set()).discard(key)
            if self._by_workload.get(old.workload) == key:
                del self._by_workload[old.workload]
        if new is not None:
            for name in new.cluster_names:
                self._by_cluster.setdefault(name, set()).add(key)
            if new.policy is not None:
                self._by_policy.setdefault(policy_address(new.policy), set()).add(key)
            self._by_workload[new.workload] = key

    def _published_assignment(self, binding: BindingView) -> placements.Assignment | None:
        """The assignment the bus shows for this workload (before this replica saw it)."""
        address = workload_address(binding.workload)
        if address is not None:
            entry = self._mirror.get(address)
            status = ((entry.latest if entry is not None else None) or {}).get("status") or {}
            return placements.assignment_of(status.get("placement"))
        if binding.policy is not None:
            entry = self._mirror.get(policy_address(binding.policy))
            status = ((entry.latest if entry is not None else None) or {}).get("status") or {}
            for line in status.get("placements") or ():
                if _ref(line.get("resource") or {}) == binding.workload:
                    return placements.assignment_of(line)
        return None
