"""Publishing observed status and events: only what changes what readers see, per object in order.

The watch loops only record observations (:class:`~kurator_fleet.observed.ObservedStatus`) and
ask for an object to be brought up to date (:meth:`StatusWriter.request`); workers then
compose the document and publish it if it differs from the latest on the bus:

* the document is the intent processor's latest one (desired document, handler status) when
  an intent created the object; else the desired record in the KV store (the processor's
  message may still be on its way); else the object as Karmada shows it. A key found absent
  from the KV store is remembered as such until the mirror shows an intent's status for the
  object (:meth:`StatusWriter.intent_seen`): templates and policies a Propagation wrote never
  have an intent of their own, and every step of their bindings would look them up again.
  Those a Propagation's status names are not looked up at all
  (:meth:`StatusWriter.written_by_propagation`);
* the status is :func:`kurator_fleet.observed.merge` of that base and the observation.

Requests for one object are coalesced and never run concurrently, and each run reads the
newest observation, so the last message published always carries the last observation. A
request waits a short window (``coalesce``) before a worker takes it: Karmada moves a binding
through several states in quick succession (created, scheduled, applied, status aggregated),
and one message with the latest of them is what a reader needs, not one per step.

Under load those steps come seconds apart (every controller has a backlog), so the window
alone merges few of them. While the writer is busy (its recent windows average more objects
than it has publishers), a change that moves no milestone
(:attr:`~kurator_fleet.observed.Observation.milestone`: a phase, an assignment; not a counter
or a condition within the same phase) and a transient state (a binding the scheduler has not
looked at yet) are held back, up to ``settle`` after they were first held, so that the next
step usually goes out in the same message. A milestone is never held, a status another
publisher wrote since this writer's last one is repaired at once, and as soon as the writer
is quiet (the average falls under a quarter of that, or two windows pass without a request)
everything held goes out: held back is only ever "later, with more news", never "not at all".
With ``settle`` 0 or no window, nothing is held.

When the writer stops because the service stops, :meth:`StatusWriter.flush` publishes what
it still holds before the lease is given up (not when the lease was lost: see :mod:`.runner`):
the statuses waiting for their window, held back or cut off mid-publish, then the events not
yet out. Events go out at once and statuses after the window, and the replica taking over
judges transitions against the statuses on the bus (:mod:`.signals`): without the flush, a
cluster whose ``joined`` went out but whose status did not would be announced again.

Objects no intent created get a final ``Deleted`` status when they vanish, purged from the
last-value cache after a linger, as the processor does for deleted intents. Objects whose
processor status says ``Deleted`` are left alone: the processor is removing them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Hashable, Mapping
from datetime import timedelta
from typing import Any

import structlog

from kurator_fleet import observed
from kurator_fleet.watchers.mirror import Document, Entry, StatusMirror
from shared.bus import store
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, kinds, status, subjects

log = structlog.get_logger(__name__)

SERVICE = "fleet"
_LOAD_WEIGHT = 0.25
"""Weight of the newest window in the writer's load average (about the last four windows count)."""
_REMEMBERED_MISSES = 65_536
"""Objects remembered as having no desired record; past that the memory starts afresh."""
FLUSH_SECONDS = 5.0
"""How long a stopping writer may take to publish what it holds: within the lease's
:data:`shared.bus.lease.STOP_SECONDS`, so the lease is given up after the flush, not during it."""


class StatusWriter:
    def __init__(
        self,
        *,
        publisher: Publisher,
        mirror: StatusMirror,
        observations: observed.ObservedStatus,
        desired: store.DesiredStateStore,
        deleted_linger: timedelta,
        workers: int = 16,
        coalesce: timedelta = timedelta(0),
        settle: timedelta = timedelta(0),
    ) -> None:
        self._publisher = publisher
        self._mirror = mirror
        self._observed = observations
        self._desired = desired
        self._linger = deleted_linger
        self._workers = workers
        self._queue: asyncio.Queue[subjects.ObjectAddress] = asyncio.Queue()
        self._queued: set[subjects.ObjectAddress] = set()
        self._coalesce = coalesce.total_seconds()
        self._waiting: list[subjects.ObjectAddress] = []
        self._release: asyncio.TimerHandle | None = None
        self._settle = settle.total_seconds()
        self._load = 0.0
        """Objects per window, averaged over the last few windows."""
        self._loaded = False
        """That average is above the number of publishers (the writer is busy)."""
        self._quiet_check: asyncio.TimerHandle | None = None
        self._shown: dict[subjects.ObjectAddress, tuple[Hashable, int]] = {}
        """Per object: the milestone of this writer's last message, and its sequence."""
        self._held_since: dict[subjects.ObjectAddress, float] = {}
        """Objects whose change is held back, with when it was first held."""
        self._parked: set[subjects.ObjectAddress] = set()
        """Those of them no worker or window has: they wait for the writer to let them go."""
        self._expiry: collections.deque[tuple[float, subjects.ObjectAddress]] = collections.deque()
        """``_held_since`` in time order: the windows let go what has waited ``settle``, no timer each."""
        self._busy: set[subjects.ObjectAddress] = set()
        self._again: set[subjects.ObjectAddress] = set()
        self._cut_off: set[subjects.ObjectAddress] = set()
        """Objects whose worker was cancelled mid-run: their message may not have gone out."""
        self._stopping = False
        """Flushing: nothing is held back any more."""
        self._events: asyncio.Queue[tuple[str, str, dict[str, Any], str | None]] = asyncio.Queue()
        self._sending: tuple[str, str, dict[str, Any], str | None] | None = None
        """The event the events' worker took off the queue and has not published yet."""
        self._purges: set[asyncio.Task[None]] = set()
        self._retiring: dict[subjects.ObjectAddress, Mapping[str, Any] | None] = {}
        self._no_record: set[subjects.ObjectAddress] = set()
        """Objects the KV store had no record of while the mirror showed no intent's status."""
        self.published = 0
        """Status messages published (for tests and metrics)."""

    # --- requests ------------------------------------------------------------------------

    def request(self, address: subjects.ObjectAddress) -> None:
        """Bring ``address``'s status up to date with its observation (soon, once)."""
        if address in self._queued:
            return
        self._queued.add(address)
        if self._coalesce <= 0:
            self._queue.put_nowait(address)
            return
        # One timer for everything requested in the window, rather than one per request.
        self._waiting.append(address)
        if self._release is None:
            self._release = asyncio.get_running_loop().call_later(self._coalesce, self._released)

    def _released(self) -> None:
        self._release = None
        waiting, self._waiting = self._waiting, []
        # Averaged, so one lighter window in a burst does not count as quiet.
        self._load += _LOAD_WEIGHT * (len(waiting) - self._load)
        # Hysteresis: busy above one object per publisher, quiet again only well below that.
        self._loaded = self._load > (self._workers / 4 if self._loaded else self._workers)
        for address in waiting:
            self._queue.put_nowait(address)
        if self._quiet_check is not None:
            self._quiet_check.cancel()
            self._quiet_check = None
        if not self._loaded:
            self._let_go()
            return
        now = asyncio.get_running_loop().time()
        while self._expiry and self._expiry[0][0] + self._settle <= now:
            since, address = self._expiry.popleft()
            if address in self._parked and self._held_since.get(address) == since:
                self._unpark(address)
        if self._parked:
            # Two windows without a request are quiet too: nothing parked waits for more then.
            self._quiet_check = asyncio.get_running_loop().call_later(2 * self._coalesce, self._quiet)

    def _quiet(self) -> None:
        self._quiet_check = None
        if self._release is not None:
            return  # a request came after all: its window re-arms this check
        self._load = 0.0
        self._loaded = False
        self._let_go()

    def _let_go(self) -> None:
        """The writer is quiet: what is held back goes out now (it has waited a window already)."""
        for address in list(self._parked):
            self._unpark(address)
        self._expiry.clear()
        self._held_since.clear()

    def _unpark(self, address: subjects.ObjectAddress) -> None:
        self._parked.discard(address)
        if address not in self._queued:
            self._queued.add(address)
            self._queue.put_nowait(address)

    def _hold(self, address: subjects.ObjectAddress, observation: observed.Observation, entry: Entry | None) -> bool:
        """Whether to hold this change back for now (see the module docstring): then it is parked."""
        if self._stopping or not self._loaded or self._settle <= 0 or observation.milestone is None:
            return False
        if not observation.transient:
            shown = self._shown.get(address)
            if shown is None or entry is None or shown != (observation.milestone, entry.latest_seq):
                return False
        now = asyncio.get_running_loop().time()
        since = self._held_since.get(address)
        if since is None:
            since = self._held_since[address] = now
            self._expiry.append((now, address))
        elif now - since >= self._settle:
            return False
        self._parked.add(address)
        return True

    def _unhold(self, address: subjects.ObjectAddress) -> None:
        self._held_since.pop(address, None)
        self._parked.discard(address)

    def awaits_intent(self, address: subjects.ObjectAddress) -> bool:
        """Whether ``address`` has no document but an observation's own until an intent shows
        up: the KV store had no record of it and the mirror shows no intent's status. A
        request for an observation without a document (a policy's) would publish nothing;
        the intent's status, when it comes, requests the object again (the runner's
        ``_on_message``)."""
        if address not in self._no_record or address in self._retiring:
            return False
        entry = self._mirror.get(address)
        return entry is None or entry.handler is None

    def written_by_propagation(self, address: subjects.ObjectAddress) -> None:
        """A Propagation's status names ``address`` among what it wrote: an object with no
        intent of its own, so its record is not looked up (as after a miss). Should an intent
        for it come after all, its status brings it back (:meth:`intent_seen`, and the runner
        requests it), and the periodic sweep repairs anything else."""
        if address in self._retiring:
            return
        entry = self._mirror.get(address)
        if entry is None or entry.handler is None:
            self._remember_no_record(address)

    def _remember_no_record(self, address: subjects.ObjectAddress) -> None:
        if len(self._no_record) >= _REMEMBERED_MISSES:
            self._no_record.clear()
        self._no_record.add(address)

    def intent_seen(self, address: subjects.ObjectAddress) -> None:
        """The intent processor published a status of ``address``: its record, if it ever
        matters again (the mirror forgetting that status), is looked up afresh."""
        self._no_record.discard(address)

    def emit(self, kind: str, name: str, payload: dict[str, Any], *, ce_subject: str | None = None) -> None:
        """Publish ``kurator.event.fleet.<kind>.<name>`` (in the order emitted)."""
        self._events.put_nowait((kind, name, payload, ce_subject))

    def retire(self, address: subjects.ObjectAddress, document: Mapping[str, Any] | None) -> None:
        """An object no intent created is gone: a final ``Deleted`` status, purged after the linger.

        Cancelled if the object is observed again before a worker gets to it.
        """
        self._observed.discard(address)
        self._retiring[address] = document
        self._shown.pop(address, None)
        self._no_record.discard(address)
        self._unhold(address)
        self.request(address)

    async def _retire(self, address: subjects.ObjectAddress, document: Mapping[str, Any] | None) -> None:
        entry = self._mirror.get(address)
        if entry is not None and entry.handler is not None:
            return  # the intent processor owns this subject's lifecycle
        shown = document if document is not None else (entry.latest if entry is not None else None)
        if shown is None or (
            entry is not None and (entry.latest or {}).get("status", {}).get("phase") == status.DELETED
        ):
            return
        now = cloudevents.now_rfc3339()
        body = {
            **{k: v for k, v in shown.items() if k != "status"},
            "status": {
                "phase": status.DELETED,
                "conditions": [
                    {
                        "type": "Deleted",
                        "status": "True",
                        "reason": "GoneFromKarmada",
                        "message": "no longer in Karmada",
                        "lastTransitionTime": now,
                    }
                ],
            },
        }
        with self._mirror.publishing(address):
            ack = await self._publisher.status(address, body, causation_id=None, result="deleted")
        self._mirror.published(address, seq=ack.seq, document=body)
        task = asyncio.create_task(self._purge_after(address, ack.seq))
        self._purges.add(task)
        task.add_done_callback(self._purges.discard)

    # --- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(self._workers):
                    tg.create_task(self._work(), name=f"watchers-status-{i}")
                tg.create_task(self._publish_events(), name="watchers-events")
        finally:
            if self._release is not None:
                self._release.cancel()
                self._release = None
            if self._quiet_check is not None:
                self._quiet_check.cancel()
                self._quiet_check = None
            for task in list(self._purges):
                task.cancel()

    async def _work(self) -> None:
        while True:
            address = await self._queue.get()
            self._queued.discard(address)
            if address in self._busy:
                self._again.add(address)  # the worker on it runs once more
                continue
            self._busy.add(address)
            try:
                while True:
                    self._again.discard(address)
                    try:
                        await self._sync(address)
                    except asyncio.CancelledError:
                        self._cut_off.add(address)
                        raise
                    except Exception:
                        log.warning("watchers.publish_failed", subject=subjects.status(address), exc_info=True)
                        asyncio.get_running_loop().call_later(1.0, self.request, address)
                    if address not in self._again:
                        break
            finally:
                self._busy.discard(address)

    async def _sync(self, address: subjects.ObjectAddress) -> None:
        if address in self._retiring:
            if self._observed.get(address) is None:
                # Retiring until the final status is out: cut off in between, the flush retires it again.
                await self._retire(address, self._retiring[address])
                self._retiring.pop(address, None)
                return
            # Observed again since: publish it as it is now.
            del self._retiring[address]
        entry = self._mirror.get(address)
        record_doc: Document | None = None
        if (entry is None or entry.handler is None) and address not in self._no_record:
            found = await self._desired.get(address)
            entry = self._mirror.get(address)  # may have moved while we waited
            if found is None:
                if entry is None or entry.handler is None:
                    # Only while no intent's status is known: one that arrived meanwhile may
                    # follow a record written after the lookup.
                    self._remember_no_record(address)
            elif found.record.deleted:
                return
            else:
                info = kinds.for_token(SERVICE, address.kind)
                record_doc = info.model.public_document(found.record.document)
        # No await from here to the publish: what is composed is what goes out.
        observation = self._observed.get(address)
        if observation is None or (entry is not None and entry.handler_deleted):
            self._unhold(address)
            self._shown.pop(address, None)
            self._no_record.discard(address)
            return
        base: Mapping[str, Any] = {}
        if entry is not None and entry.handler is not None:
            document: Mapping[str, Any] = entry.handler
            base = entry.handler.get("status") or {}
        elif record_doc is not None:
            document = record_doc
        elif observation.document is not None:
            document = observation.document
        else:
            self._unhold(address)
            return
        if self._hold(address, observation, entry):
            return  # decided before composing: a held change may as well be no change at all
        self._unhold(address)
        composed: Document = {k: v for k, v in document.items() if k != "status"}
        composed["status"] = observed.merge(base, observation)
        if entry is not None and entry.latest == composed:
            return
        subject = self._mirror.publish_begins(address)
        try:
            ack = await self._publisher.status(address, composed, causation_id=None)
        finally:
            self._mirror.publish_ends(subject)
        self._mirror.published(address, seq=ack.seq, document=composed)
        self._shown[address] = (observation.milestone, ack.seq)
        self.published += 1

    async def flush(self) -> None:
        """Publish what the writer still holds, once :meth:`run` has stopped (see the module
        docstring): pending statuses as they are now (none held back), then the events not
        yet published (first the one cut off mid-publish, if any). At most
        :data:`FLUSH_SECONDS`; what is left then is logged and dropped (the next lease
        holder's sweep repairs statuses, but would announce such a cluster again)."""
        self._stopping = True
        if self._release is not None:
            self._release.cancel()
            self._release = None
        queued: list[subjects.ObjectAddress] = []
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
        # Cut off first: those were asked for before anything still queued or waiting.
        owed = list(dict.fromkeys([*self._cut_off, *self._again, *queued, *self._waiting, *self._parked]))
        self._waiting.clear()
        self._parked.clear()
        self._again.clear()
        self._cut_off.clear()
        self._queued.clear()
        # The one the events' worker was cut off with first: it came before the queued ones (it
        # may have gone out already; a duplicate is the lesser harm).
        events: list[tuple[str, str, dict[str, Any], str | None]] = [] if self._sending is None else [self._sending]
        self._sending = None
        while not self._events.empty():
            events.append(self._events.get_nowait())
        if not owed and not events:
            return
        todo = iter(owed)
        sent = 0

        async def drain() -> None:
            for address in todo:  # shared by the drains: each object once
                try:
                    await self._sync(address)
                except Exception:
                    log.warning("watchers.flush_failed", subject=subjects.status(address), exc_info=True)

        try:
            async with asyncio.timeout(FLUSH_SECONDS):
                # Statuses first: they are what a replica taking over carries on from.
                async with asyncio.TaskGroup() as tg:
                    for i in range(min(self._workers, len(owed))):
                        tg.create_task(drain(), name=f"watchers-flush-{i}")
                for kind, name, payload, ce_subject in events:  # one at a time: in the order emitted
                    try:
                        await self._publisher.event(
                            service=SERVICE, kind=kind, name=name, payload=payload, ce_subject=ce_subject
                        )
                    except Exception:
                        log.warning("watchers.event_failed", kind=kind, event=name, exc_info=True)
                    sent += 1
        except TimeoutError:
            log.warning("watchers.flush_incomplete", statuses=len(owed), events=len(events), events_done=sent)
        finally:
            for task in list(self._purges):
                task.cancel()

    async def _publish_events(self) -> None:
        while True:
            self._sending = await self._events.get()
            kind, name, payload, ce_subject = self._sending
            for attempt in range(5):
                try:
                    await self._publisher.event(
                        service=SERVICE, kind=kind, name=name, payload=payload, ce_subject=ce_subject
                    )
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("watchers.event_failed", kind=kind, event=name, attempt=attempt + 1, exc_info=True)
                    await asyncio.sleep(0.5 * (attempt + 1))
            self._sending = None

    async def _purge_after(self, address: subjects.ObjectAddress, seq: int) -> None:
        await asyncio.sleep(self._linger.total_seconds())
        with contextlib.suppress(Exception):
            await self._publisher.purge_status(address, up_to_sequence=seq + 1)
            entry = self._mirror.get(address)
            if entry is not None and entry.latest_seq <= seq:
                self._mirror.forget(address)
