"""What the fleet service observes in Karmada, and how it joins the status the intents produced.

Two writers publish status for the same objects (a ``Deployment``, a ``Cluster``, a ``Fleet``,
a policy, a ``Propagation``):

* the intent processor, on every intent: the desired document plus its kind handler's status;
* the watchers (:mod:`kurator_fleet.watchers`), whenever Karmada changes: the same document
  plus what they observed (placement, readiness, capacity, ...).

The status stream keeps only the last message per subject, so each writer must carry the
other's part. An :class:`Observation` is the watchers' part of one object's status: some
top-level ``status`` fields, some condition types and, for some kinds, the phase. Which
fields and condition types belong to the watchers is fixed per kind by an :class:`Ownership`.

**The merge rule** (:func:`merge`; ``base`` is the handler's status or whatever is on the bus):

1. Start from ``base``: ``phase``, ``observedGeneration``, ``conditions`` and any other field.
2. Remove every field and every condition type the kind's ownership names, whether or not
   this observation has it (so what the watchers stopped seeing, e.g. a taint, goes away).
3. Add the observation's fields; append its conditions after the base's remaining ones.
4. The phase becomes the observation's (when the kind's observation sets one), except when
   the base phase is one of :data:`BASE_PHASES` (``Failed``, ``Deleted``): the write side's
   failure or a delete outranks an observation that may be stale.

The rule is idempotent (``merge(merge(b, o), o) == merge(b, o)``), so a watcher can merge into
whatever is on the bus, and a handler can merge into its own status. **Kind handlers**: make
the last step of ``on_apply`` ``return observed.merged(address, status)`` with the replica's
shared :class:`ObservedStatus`; a re-applied intent then keeps the latest observed placement.
The cache is per replica; the watchers (which run in one replica) repair any status published
without the latest observation, so a handler in another replica only causes one extra message.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shared.contracts import subjects

BASE_PHASES: Final = frozenset({"Failed", "Deleted"})
"""Base phases an observation never overrides."""


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which parts of a kind's ``status`` the watchers own."""

    fields: frozenset[str]
    conditions: frozenset[str] = frozenset()
    phase: bool = False
    """Whether the observation sets the phase (placement, readiness) or leaves the handler's."""


@dataclass(frozen=True, slots=True)
class Observation:
    """The watchers' part of one object's status."""

    owner: Ownership
    fields: Mapping[str, Any]
    conditions: tuple[Mapping[str, Any], ...] = ()
    phase: str | None = None
    document: Mapping[str, Any] | None = field(default=None, compare=False)
    """The object as Karmada shows it (``apiVersion``, ``kind``, ``metadata``): the document to
    publish when no intent created the object (clusters joined outside kurator, templates
    applied with kubectl). Ignored when a desired document exists."""
    milestone: Hashable | None = field(default=None, compare=False)
    """What a reader must see promptly (a phase, an assignment); a change that keeps it only
    updates details, which a busy writer may hold back a while to carry several of them in
    one message. ``None``: every change is a milestone."""
    transient: bool = field(default=False, compare=False)
    """A state Karmada leaves on its own without anyone acting (a binding the scheduler has
    not looked at yet): never a milestone, whatever it replaces."""


def strip(base: Mapping[str, Any], owner: Ownership) -> dict[str, Any]:
    """``base`` without anything ``owner`` owns (the phase stays: see :func:`merge`)."""
    out = {k: v for k, v in base.items() if k not in owner.fields}
    if owner.conditions and "conditions" in out:
        out["conditions"] = [
            c for c in out["conditions"] or () if not (isinstance(c, Mapping) and c.get("type") in owner.conditions)
        ]
    return out


def merge(base: Mapping[str, Any], observation: Observation | None) -> dict[str, Any]:
    """The status to publish: ``base`` with ``observation`` merged in (see the module's rule)."""
    if observation is None:
        return dict(base)
    owner = observation.owner
    out = strip(base, owner)
    out.update(observation.fields)
    if observation.conditions:
        out["conditions"] = [*(out.get("conditions") or ()), *(dict(c) for c in observation.conditions)]
    if owner.phase and observation.phase and out.get("phase") not in BASE_PHASES:
        out["phase"] = observation.phase
    return out


class ObservedStatus:
    """The latest observation of every object this replica watches, by address.

    Written by the watchers, read by the watchers when they publish and by kind handlers
    when an intent is applied again. Everything runs in one event loop: no locking.

    An observation may be held as how to build it (:meth:`defer`): it is built from the
    watchers' state of the moment it is read, not on every binding step that changes it. Under
    load a binding takes several steps per status that goes out, and a policy no intent
    created (see :meth:`~kurator_fleet.watchers.publishing.StatusWriter.awaits_intent`) may
    never be published at all.
    """

    def __init__(self) -> None:
        self._by_address: dict[subjects.ObjectAddress, Observation | Callable[[], Observation]] = {}

    def get(self, address: subjects.ObjectAddress) -> Observation | None:
        found = self._by_address.get(address)
        if found is None or type(found) is Observation:
            return found
        built = self._by_address[address] = found()  # type: ignore[operator]
        return built

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` has an observation (without building one held as how to)."""
        return address in self._by_address

    def put(self, address: subjects.ObjectAddress, observation: Observation) -> bool:
        """Remember ``observation``; whether it differs from the one held before."""
        if self._by_address.get(address) == observation:
            return False
        self._by_address[address] = observation
        return True

    def defer(self, address: subjects.ObjectAddress, build: Callable[[], Observation]) -> None:
        """Hold ``address``'s observation as ``build``, called (once) when it is read."""
        self._by_address[address] = build

    def discard(self, address: subjects.ObjectAddress) -> Observation | None:
        found = self._by_address.pop(address, None)
        return found if found is None or type(found) is Observation else found()  # type: ignore[operator]

    def merged(self, address: subjects.ObjectAddress, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` (a kind handler's status) with the latest observation of ``address`` merged in."""
        return merge(base, self.get(address))

    def clear(self) -> None:
        """Forget everything (this replica stopped watching: what it saw goes stale)."""
        self._by_address.clear()

    def addresses(self) -> Iterator[subjects.ObjectAddress]:
        return iter(list(self._by_address))

    def __len__(self) -> int:
        return len(self._by_address)
