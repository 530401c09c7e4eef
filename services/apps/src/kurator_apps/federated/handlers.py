"""The kind handlers: a ``FederatedDeployment`` and its companions become one ``Propagation``.

* ``FederatedDeployment`` applied: plan it with the companions known in its namespace, publish
  its Propagation (the whole desired state: a replicas or placement change is the same
  publish, and the fleet rolls it forward), answer with the status the tracker computes.
  Deleted: withdraw the Propagation; the fleet removes the Deployment, the companions and the
  policy from Karmada, and so from every member.
* ``Service``/``Ingress``/``ConfigMap``/``Secret`` applied or deleted: re-plan and re-publish every
  FederatedDeployment it belongs to (before and after the change, so one that stops belonging
  is dropped too); one that belongs to none is only recorded (``Accepted``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from kurator_apps.federated import companions, index, plan, propagation, tracker
from shared import errors
from shared.bus import store
from shared.contracts import kinds
from shared.contracts.meta import KubeObject
from shared.contracts.models import apps
from shared.runtime import intents

FLEET_WAIT: Final = timedelta(seconds=5)


class Propagations(Protocol):
    """The fleet service's propagation contract (:mod:`kurator_apps.adapters.fleet_bus`)."""

    async def apply(self, document: dict[str, Any]) -> None: ...

    async def delete(self, namespace: str, name: str) -> None: ...


class Federated:
    """What both handlers share: the index, the tracker and the way to the fleet."""

    def __init__(self, state: tracker.Tracker, fleet: Propagations) -> None:
        self.state = state
        self.index = state.index
        self.fleet = fleet

    async def propagate(self, entry: index.FederatedEntry) -> plan.FederatedPlan:
        planned = self.state.plan_of(entry)
        document = self.state.propagation_of(entry)
        await self.fleet.apply(document)
        self.state.sent((entry.namespace, entry.name), document)
        return planned

    async def repropagate(self, owners: Iterable[index.FederatedEntry]) -> None:
        for entry in {(e.namespace, e.name): e for e in owners}.values():
            await self.propagate(entry)
            self.state.touch((entry.namespace, entry.name))


class FederatedDeploymentHandler:
    def __init__(self, shared: Federated) -> None:
        self._shared = shared

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, apps.FederatedDeployment)
        shared = self._shared
        if obj.spec.placement.cluster_selector is not None and not shared.state.fleet_known.is_set():
            await self._fleet_known()
        at = (obj.metadata.namespace or "default", obj.metadata.name)
        shared.index.put_fd(obj, record.document, generation=record.generation, uid=record.uid)
        shared.state.live(at)
        entry = shared.index.fd(*at)
        assert entry is not None
        shared.state.answering(at)
        body = None
        try:
            planned = await shared.propagate(entry)
            body = shared.state.evaluate(at, now=datetime.now(UTC), planned=planned)
            assert body is not None
        finally:
            shared.state.answered(at, body)
        return body

    async def _fleet_known(self) -> None:
        """A selector needs the fleet's clusters (just after start-up they may not be read yet)."""
        try:
            await asyncio.wait_for(self._shared.state.fleet_known.wait(), FLEET_WAIT.total_seconds())
        except TimeoutError as exc:
            raise errors.RetryableError("the fleet's clusters are not known yet", delay=FLEET_WAIT) from exc

    async def on_delete(self, record: store.Record) -> None:
        at = index.key_of(index.FD_TOKEN, record.document)[1:]
        self._shared.index.drop_fd(*at)
        self._shared.state.forget(at)
        await self._shared.fleet.delete(at[0], propagation.name_for(at[1]))


class CompanionHandler:
    def __init__(self, shared: Federated) -> None:
        self._shared = shared

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, companions.Companion)
        shared = self._shared
        token = kinds.for_object(obj.api_version, obj.kind).token
        key = (token, obj.metadata.namespace or "default", obj.metadata.name)
        before = self._owners(key)
        shared.index.put_companion(obj, generation=record.generation)
        after = shared.index.owners_of(obj)
        await shared.repropagate([*before, *after])  # a former owner drops it
        owners = sorted(e.name for e in after)
        if not owners:
            return intents.accepted_status(record, message="recorded; it belongs to no FederatedDeployment")
        body = intents.accepted_status(record, message=f"follows FederatedDeployment {', '.join(owners)}")
        body["followsFederatedDeployments"] = owners
        return body

    async def on_delete(self, record: store.Record) -> None:
        info = kinds.for_object(record.document["apiVersion"], record.document["kind"])
        key = index.key_of(info.token, record.document)
        before = self._owners(key)
        self._shared.index.drop_companion(key)
        await self._shared.repropagate(before)

    def _owners(self, key: index.Key) -> list[index.FederatedEntry]:
        known = self._shared.index.companion(key)
        return [] if known is None else self._shared.index.owners_of(known)
