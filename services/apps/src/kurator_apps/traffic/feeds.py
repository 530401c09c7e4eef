"""What the traffic area knows of other objects, kept current from the status stream.

The member clusters come from the fleet service's cluster statuses
(``kurator.status.fleet.cluster._.<name>``: name, labels, ``ready``), not from Karmada's
``Cluster`` list: the fleet service owns Karmada and already turns its conditions into one
truthful ``ready``, and the stream's "last message per subject" is the current fleet, so a
restarted replica is current as soon as it has read it, and every change after arrives as a
message (no polling). The user's own ``DestinationRule``s come from this service's own
statuses the same way (a replica also updates its view directly when it handles one, so a
VirtualService it handles next already sees it).

Each feed reads a snapshot first (:attr:`StatusFeed.synced` is set after it), then follows
the stream; messages already seen in the snapshot arrive again and change nothing.

The snapshot is the fleet as the bus held it at that moment, which right after start-up is
not yet the fleet: a fleet service starting at the same time publishes its clusters' statuses
one by one after it has listed them, so the first of them can arrive alone. Judging a subset
then would call a ready cluster missing. :meth:`FleetView.caught_up` waits (bounded) until
the view has read the snapshot, knows a cluster, and has seen no membership or readiness
change for a moment: the burst of a starting fleet service has been read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import structlog
from nats.js import JetStreamContext
from pydantic import ValidationError

from kurator_apps.traffic.mesh import MemberCluster
from shared.bus import reader
from shared.contracts import status, subjects
from shared.contracts.models import istio

log = structlog.get_logger(__name__)

SETTLE_SECONDS: Final = 0.5
"""How long the fleet view must see no change before it counts as caught up (see the module
docstring): a starting fleet service publishes its clusters within milliseconds of each other."""


class StatusFeed:
    """The last status of every subject under ``filter_subject``, handed to :meth:`update`."""

    def __init__(self, js: JetStreamContext, filter_subject: str) -> None:
        self._js = js
        self._filter = filter_subject
        self.synced = asyncio.Event()
        self.version = 0
        """Bumped whenever :meth:`update` reports a change that matters."""
        self._changed = asyncio.Event()

    def update(self, document: Mapping[str, Any]) -> bool:
        """Take one status document in; ``True`` when the view changed in a way that matters."""
        raise NotImplementedError

    def _take(self, document: Mapping[str, Any]) -> None:
        if self.update(document):
            self.version += 1
            self._changed.set()
            self._changed = asyncio.Event()

    async def changed(self, since: int) -> int:
        """Wait until :attr:`version` moves past ``since``; returns the new version."""
        while self.version == since:
            await self._changed.wait()
        return self.version

    async def wait_synced(self, timeout_seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.synced.wait(), timeout_seconds)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        for found in await reader.snapshot(self._js, self._filter):
            self._take(found.document)
        self.synced.set()
        async for message in reader.watch(self._js, self._filter):
            self._take(message.document)


def _deleted(document: Mapping[str, Any]) -> bool:
    return ((document.get("status") or {}).get("phase")) == status.DELETED


class FleetView(StatusFeed):
    """The member clusters as the mesh sees them: name, labels, readiness."""

    def __init__(self, js: JetStreamContext) -> None:
        super().__init__(js, subjects.statuses("fleet", "cluster"))
        self._clusters: dict[str, MemberCluster] = {}
        self._caught_up = False

    def clusters(self) -> tuple[MemberCluster, ...]:
        return tuple(self._clusters.values())

    async def caught_up(self, timeout_seconds: float, *, settle_seconds: float = SETTLE_SECONDS) -> bool:
        """Wait until the view has caught up with the stream (see the module docstring): the
        snapshot read, a cluster known, then no change for ``settle_seconds``. ``False`` when
        ``timeout_seconds`` passed first (an empty fleet, or one that never stops changing).
        Once caught up it stays so: later changes are the fleet changing, not start-up."""
        if self._caught_up:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        try:
            await asyncio.wait_for(self.synced.wait(), timeout_seconds)
            await asyncio.wait_for(self.non_empty(), max(deadline - loop.time(), 0.0))
            seen = self.version
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    return False
                try:
                    seen = await asyncio.wait_for(self.changed(seen), min(settle_seconds, left))
                except TimeoutError:
                    if settle_seconds <= left:
                        break  # quiet for settle_seconds: caught up
                    return False
        except TimeoutError:
            return False
        self._caught_up = True
        return True

    async def non_empty(self) -> None:
        """Return once at least one cluster is known."""
        seen = self.version
        while not self._clusters:
            seen = await self.changed(seen)

    def update(self, document: Mapping[str, Any]) -> bool:
        meta = document.get("metadata") or {}
        name = str(meta.get("name") or "")
        if not name:
            return False
        if _deleted(document):
            return self._clusters.pop(name, None) is not None
        st = document.get("status") or {}
        labels = st.get("labels") if isinstance(st.get("labels"), dict) else meta.get("labels")
        cluster = MemberCluster(name, {str(k): str(v) for k, v in (labels or {}).items()}, ready=bool(st.get("ready")))
        # Heartbeats change capacity and times every few seconds; only these fields matter here.
        if self._clusters.get(name) == cluster:
            return False
        self._clusters[name] = cluster
        return True


class UserRules(StatusFeed):
    """The ``DestinationRule``s users gave, by namespace and name."""

    def __init__(self, js: JetStreamContext) -> None:
        super().__init__(js, subjects.statuses("apps", "destinationrule"))
        self._rules: dict[str, dict[str, istio.DestinationRule]] = {}

    def in_namespace(self, namespace: str) -> tuple[istio.DestinationRule, ...]:
        return tuple(self._rules.get(namespace, {}).values())

    def put(self, rule: istio.DestinationRule) -> bool:
        namespace = rule.metadata.namespace or "default"
        known = self._rules.setdefault(namespace, {})
        if known.get(rule.metadata.name) == rule:
            return False
        known[rule.metadata.name] = rule
        return True

    def remove(self, namespace: str, name: str) -> bool:
        return self._rules.get(namespace, {}).pop(name, None) is not None

    def update(self, document: Mapping[str, Any]) -> bool:
        meta = document.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "")
        if _deleted(document):
            return self.remove(namespace, name)
        body = {k: v for k, v in document.items() if k != "status"}
        try:
            return self.put(istio.DestinationRule.model_validate(body))
        except ValidationError:
            # Only accepted rules get a status other than a rejection; anything else is not ours.
            log.warning("traffic.rule_unreadable", namespace=namespace, name=name)
            return False
