"""Istio config on the mesh's primaries, kept in line with the intents and the fleet.

:class:`Traffic` does the I/O around the pure parts (:mod:`.derive`, :mod:`.readiness`,
:mod:`.report`): it writes a ``VirtualService`` and its derived ``DestinationRule``s (or a
user's ``DestinationRule``) to every ready primary by server-side apply through Karmada's
proxy, prunes derived rules a new plan no longer has, and deletes it all on delete.

When an intent is handled (``strict``) member errors decide the intent's fate
(:mod:`.failures`). When the fleet changes (:meth:`Traffic.follow_fleet`, run in one replica)
every object is planned again against the new fleet: primaries that came back or joined get
the config, readiness is judged again, and a status that changed is published. Member errors
there are reported in the status and tried again at the next change.

What was written where is remembered per replica (with the generation annotated on the
object); a replica that has no memory of an object writes it again, which server-side apply
makes harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from kurator_apps.adapters.mesh import MeshClusters
from kurator_apps.traffic import derive, readiness, report
from kurator_apps.traffic.failures import writing
from kurator_apps.traffic.feeds import FleetView, UserRules
from kurator_apps.traffic.mesh import primary_clusters
from shared import errors
from shared.bus import store
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, kinds, subjects
from shared.contracts.models import istio

log = structlog.get_logger(__name__)

GENERATION_ANNOTATION: Final = "traffic.kurator.dev/generation"
"""On every object written: the intent generation it was written for."""
DERIVED_LABEL: Final = "traffic.kurator.dev/derived"
"""On derived ``DestinationRule``s, to find them again (their owner is in an annotation)."""
VS: Final = "virtualservice"
DR: Final = "destinationrule"
_SYNC_TIMEOUT_SECONDS: Final = 10.0

Key = tuple[str, str, str]
"""``(kind token, namespace, name)``."""


@dataclass
class Placed:
    """What this replica wrote for one object: the generation per cluster, derived rules per cluster."""

    generation: dict[str, int] = field(default_factory=dict)
    derived: dict[str, frozenset[str]] = field(default_factory=dict)


def _annotated(doc: Mapping[str, Any], generation: int, *, derived: bool = False) -> dict[str, Any]:
    meta = dict(doc["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), GENERATION_ANNOTATION: str(generation)}
    if derived:
        meta["labels"] = {**(meta.get("labels") or {}), DERIVED_LABEL: "true"}
    return {**doc, "metadata": meta}


def _user_rule(rule: istio.DestinationRule) -> dict[str, Any]:
    doc = rule.to_wire()
    meta = {k: v for k, v in doc["metadata"].items() if k in ("name", "namespace", "labels", "annotations")}
    return {"apiVersion": derive.API_VERSION, "kind": "DestinationRule", "metadata": meta, "spec": doc["spec"]}


class Traffic:
    def __init__(
        self,
        *,
        mesh: MeshClusters,
        fleet: FleetView,
        rules: UserRules,
        publisher: Publisher,
        desired: store.DesiredStateStore,
    ) -> None:
        self._mesh = mesh
        self._fleet = fleet
        self._rules = rules
        self._publisher = publisher
        self._desired = desired
        self._placed: dict[Key, Placed] = {}
        self._statuses: dict[Key, dict[str, Any]] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._gone: dict[str, set[Key]] = {}
        """Per cluster, objects deleted while it was not ready: removed when it is back."""

    # --- intents -------------------------------------------------------------------------------

    async def apply_virtual_service(self, vs: istio.VirtualService, generation: int) -> dict[str, Any]:
        await self._synced()
        key: Key = (VS, vs.metadata.namespace or "default", vs.metadata.name)
        async with self._lock(key):
            plan = self._plan(vs)
            body, _ = await self._converge_vs(key, plan, generation, strict=True)
            return body

    async def delete_virtual_service(self, document: Mapping[str, Any]) -> None:
        key = _key(VS, document)
        async with self._lock(key):
            await self._remove(key)

    async def apply_destination_rule(self, rule: istio.DestinationRule, generation: int) -> dict[str, Any]:
        await self._synced()
        key: Key = (DR, rule.metadata.namespace or "default", rule.metadata.name)
        async with self._lock(key):
            body, _ = await self._converge_dr(key, rule, generation, strict=True)
        self._rules.put(rule)  # only once the primaries took it: a refused rule plans nothing
        await self._replan_namespace(key[1])
        return body

    async def delete_destination_rule(self, document: Mapping[str, Any]) -> None:
        key = _key(DR, document)
        self._rules.remove(key[1], key[2])
        async with self._lock(key):
            await self._remove(key)
        await self._replan_namespace(key[1])

    # --- the fleet changed ---------------------------------------------------------------------

    async def follow_fleet(self) -> None:
        """Plan every object again whenever the fleet changes (run in one replica)."""
        # Not before the view has caught up: a resync against a fleet half read would publish
        # every VirtualService Degraded, then Applied again a moment later.
        await self._fleet.synced.wait()
        await self._fleet.caught_up(_SYNC_TIMEOUT_SECONDS)
        seen = self._fleet.version
        while True:
            await self.resync()
            seen = await self._fleet.changed(seen)

    async def follow_returns(self) -> None:
        """Remove what was deleted while a primary was down once it is back (every replica:
        each remembers its own)."""
        await self._fleet.synced.wait()
        seen = self._fleet.version
        while True:
            seen = await self._fleet.changed(seen)
            await self._clean_up_returned()

    async def resync(self, namespace: str | None = None) -> None:
        """Converge every object (in ``namespace``) with the fleet as it is now."""
        async for key, versioned in self._desired.items():
            token, ns, _ = key.split(".", 2)
            if token not in (VS, DR) or (namespace is not None and subjects.namespace_token(namespace) != ns):
                continue
            try:
                await self._resync_one(token, versioned.record)
            except Exception:  # one object must not stop the others; it is tried at the next change
                log.exception("traffic.resync_failed", key=key)

    async def _replan_namespace(self, namespace: str) -> None:
        # A user's rule changes what a VirtualService in its namespace derives or is checked against.
        await self.resync(namespace)

    async def _resync_one(self, token: str, listed: store.Record) -> None:
        key = _key(token, listed.document)
        async with self._lock(key):
            # Read again under the lock: deleted or changed since the listing, an intent has
            # been handled meanwhile, and a status published now would undo its answer.
            current = await self._desired.get(subjects.ObjectAddress("apps", *key))
            if current is None or current.record.deleted:
                return
            record = current.record
            document = record.document
            if token == DR:
                rule = istio.DestinationRule.model_validate(document)
                body, changed = await self._converge_dr(key, rule, record.generation, strict=False)
            else:
                vs = istio.VirtualService.model_validate(document)
                try:
                    plan = self._plan(vs)
                except errors.InvalidIntent as exc:
                    previous = self._statuses.get(key)
                    now = cloudevents.now_rfc3339()
                    unplanned = report.unplannable(str(exc), generation=record.generation, now=now, previous=previous)
                    body, changed = self._changed(key, unplanned)
                else:
                    body, changed = await self._converge_vs(key, plan, record.generation, strict=False)
            if changed:
                await self._publish(key, document, body)

    async def _publish(self, key: Key, document: Mapping[str, Any], body: dict[str, Any]) -> None:
        info = kinds.for_token("apps", key[0])
        address = subjects.ObjectAddress("apps", key[0], key[1], key[2])
        await self._publisher.status(
            address, info.model.public_document({**document, "status": body}), causation_id=None
        )

    # --- converging ----------------------------------------------------------------------------

    async def _synced(self) -> None:
        if not await self._fleet.wait_synced(_SYNC_TIMEOUT_SECONDS):
            raise errors.RetryableError("the fleet's cluster statuses have not been read yet")
        # Just after start-up the fleet service may have reported none or only some of its
        # clusters: judged now, a ready cluster not read yet would be called missing (Degraded).
        # Wait for the view to catch up; a fleet that stays empty (or keeps changing) is
        # answered as it is at the bound, and follow_fleet corrects the status as it changes.
        await self._fleet.caught_up(_SYNC_TIMEOUT_SECONDS)

    def _plan(self, vs: istio.VirtualService) -> derive.TrafficPlan:
        namespace = vs.metadata.namespace or "default"
        return derive.plan(vs, clusters=self._fleet.clusters(), destination_rules=self._rules.in_namespace(namespace))

    def _lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _ready(self) -> dict[str, bool]:
        return {c.name: c.ready for c in self._fleet.clusters()}

    async def _converge_vs(
        self, key: Key, plan: derive.TrafficPlan, generation: int, *, strict: bool
    ) -> tuple[dict[str, Any], bool]:
        """Write where needed (strict: everywhere); the status, and whether it changed."""
        names = frozenset(r["metadata"]["name"] for r in plan.destination_rules)
        placed = self._placed.setdefault(key, Placed())

        async def write(cluster: str) -> None:
            await self._write_vs(cluster, key, plan, names, generation, placed)

        stale = (c for c in plan.primaries if placed.generation.get(c) != generation or placed.derived.get(c) != names)
        failed = await self._each(plan.primaries if strict else stale, write, strict=strict)
        await self._drop_non_primaries(key, plan.primaries, placed, strict=strict)
        verdict = readiness.readiness(plan, clusters=self._fleet.clusters())
        lines = report.primaries(plan.primaries, self._ready(), placed.generation, failed, generation)
        previous = self._statuses.get(key)
        now = cloudevents.now_rfc3339()
        body = report.virtual_service(plan, verdict, lines=lines, generation=generation, now=now, previous=previous)
        return self._changed(key, body)

    async def _converge_dr(
        self, key: Key, rule: istio.DestinationRule, generation: int, *, strict: bool
    ) -> tuple[dict[str, Any], bool]:
        primaries = primary_clusters(self._fleet.clusters())
        placed = self._placed.setdefault(key, Placed())
        doc = _annotated(_user_rule(rule), generation)

        async def write(cluster: str) -> None:
            with writing(cluster, f"DestinationRule {key[2]}"):
                await self._mesh.apply(cluster, doc)
            placed.generation[cluster] = generation

        stale = (c for c in primaries if placed.generation.get(c) != generation)
        failed = await self._each(primaries if strict else stale, write, strict=strict)
        await self._drop_non_primaries(key, primaries, placed, strict=strict)
        lines = report.primaries(primaries, self._ready(), placed.generation, failed, generation)
        now = cloudevents.now_rfc3339()
        body = report.destination_rule(lines=lines, generation=generation, now=now, previous=self._statuses.get(key))
        return self._changed(key, body)

    def _changed(self, key: Key, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        changed = self._statuses.get(key) != body
        self._statuses[key] = body
        return body, changed

    async def _each(
        self, clusters: Iterable[str], act: Callable[[str], Awaitable[None]], *, strict: bool
    ) -> dict[str, str]:
        """Run ``act(cluster)`` on every ready cluster at once; ``{cluster: problem}`` of failures.

        Strict: the first intent error (a refusal before a transient failure) is raised instead.
        """
        ready = self._ready()
        targets = [c for c in clusters if ready.get(c)]
        results = await asyncio.gather(*(act(c) for c in targets), return_exceptions=True)
        failed: dict[str, str] = {}
        raised: list[BaseException] = []
        for cluster, result in zip(targets, results, strict=True):
            if isinstance(result, BaseException):
                failed[cluster] = str(result)
                raised.append(result)
        if strict and raised:
            refusals = [e for e in raised if isinstance(e, errors.InvalidIntent)]
            raise (refusals or raised)[0]
        for exc in raised:
            log.warning("traffic.write_failed", error=str(exc))
        return failed

    async def _write_vs(
        self,
        cluster: str,
        key: Key,
        plan: derive.TrafficPlan,
        names: frozenset[str],
        generation: int,
        placed: Placed,
    ) -> None:
        # Rules first: a route naming a subset no rule defines yet would answer 503 meanwhile.
        for rule in plan.destination_rules:
            with writing(cluster, f"the derived DestinationRule {rule['metadata']['name']}", field="spec"):
                await self._mesh.apply(cluster, _annotated(rule, generation, derived=True))
        with writing(cluster, "the VirtualService"):
            await self._mesh.apply(cluster, _annotated(plan.virtual_service, generation))
        placed.generation[cluster] = generation
        before = placed.derived.get(cluster)
        if before is None:
            before = await self._derived_on(cluster, key)
        users = {r.metadata.name for r in self._rules.in_namespace(key[1])}
        for name in sorted(before - names - users):
            with writing(cluster, f"the stale derived DestinationRule {name}"):
                await self._mesh.delete(cluster, "DestinationRule", namespace=key[1], name=name)
        placed.derived[cluster] = names

    async def _derived_on(self, cluster: str, key: Key) -> frozenset[str]:
        """The derived rules ``cluster`` holds for the VirtualService ``key`` (by label, then owner)."""
        with writing(cluster, "listing derived DestinationRules"):
            found = await self._mesh.list_labelled(
                cluster, "DestinationRule", namespace=key[1], selector=f"{DERIVED_LABEL}=true"
            )
        owned = (
            o
            for o in found
            if ((o.get("metadata") or {}).get("annotations") or {}).get(derive.OWNER_ANNOTATION) == key[2]
        )
        return frozenset(str(o["metadata"]["name"]) for o in owned)

    # --- removing ------------------------------------------------------------------------------

    async def _remove_from(self, cluster: str, key: Key) -> None:
        token, namespace, name = key
        if token == DR:
            with writing(cluster, f"deleting DestinationRule {name}"):
                await self._mesh.delete(cluster, "DestinationRule", namespace=namespace, name=name)
            return
        placed = self._placed.get(key)
        derived = (placed.derived.get(cluster) if placed else None) or await self._derived_on(cluster, key)
        with writing(cluster, "deleting the VirtualService"):
            await self._mesh.delete(cluster, "VirtualService", namespace=namespace, name=name)
        for rule in sorted(derived):
            with writing(cluster, f"deleting the derived DestinationRule {rule}"):
                await self._mesh.delete(cluster, "DestinationRule", namespace=namespace, name=rule)

    async def _remove(self, key: Key) -> None:
        placed = self._placed.get(key)
        ready = self._ready()
        clusters = set(primary_clusters(self._fleet.clusters())) | set(placed.generation if placed else ())
        for cluster in clusters - {c for c, r in ready.items() if r}:
            self._gone.setdefault(cluster, set()).add(key)
        await self._each(sorted(clusters), lambda c: self._remove_from(c, key), strict=True)
        self._placed.pop(key, None)
        self._statuses.pop(key, None)

    async def _drop_non_primaries(self, key: Key, primaries: Iterable[str], placed: Placed, *, strict: bool) -> None:
        """A cluster that stopped being a primary (relabelled) loses the config."""
        dropped = sorted(set(placed.generation) - set(primaries))
        if not dropped:
            return

        async def drop(cluster: str) -> None:
            await self._remove_from(cluster, key)
            placed.generation.pop(cluster, None)
            placed.derived.pop(cluster, None)

        await self._each(dropped, drop, strict=strict)

    async def _clean_up_returned(self) -> None:
        ready = self._ready()
        for cluster in [c for c in self._gone if ready.get(c)]:
            keys = self._gone.pop(cluster)
            for key in sorted(keys):
                if key in self._placed:
                    continue  # created again meanwhile: the resync writes it instead
                try:
                    await self._remove_from(cluster, key)
                except Exception:
                    self._gone.setdefault(cluster, set()).add(key)
                    log.exception("traffic.delete_on_return_failed", cluster=cluster, key=key)


def _key(token: str, document: Mapping[str, Any]) -> Key:
    meta = document.get("metadata") or {}
    return (token, str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
