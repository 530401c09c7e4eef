"""The desired-state half every service shares: validate an intent, record it, publish status.

For each intent on ``kurator.intent.<service>.<kind>.<ns>.<name>`` the processor

1. checks the subject, the verb and that the document matches the subject (kind, name,
   namespace), then validates the document with the kind's model: any failure is an
   :class:`~shared.errors.InvalidIntent` naming the field;
2. compares the intent's stream sequence with the one recorded for the object: an older
   intent is stale (skipped), the same one is a redelivery (its status is published again);
3. writes the new record with compare-and-set (generation bumps only when the content
   changed, so the same intent applied twice changes nothing);
4. asks the kind's :class:`KindHandler` for the status and publishes it (a
   :class:`FirstApplyHandler` is told when the object had no record before); a delete
   publishes a final ``Deleted`` status and drops the object from the last-value cache.

Kind handlers are where later work (Karmada, Velero, ...) plugs in; the default accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, Protocol, cast, runtime_checkable

import orjson
import pydantic
import structlog
from prometheus_client import Counter

from shared import errors
from shared.bus import messages, store
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, kinds, status, subjects, validation
from shared.contracts.meta import KubeObject
from shared.runtime.metrics import ServiceMetrics

log = structlog.get_logger(__name__)

_CAS_ATTEMPTS = 5
_SERVER_METADATA = ("uid", "generation", "resourceVersion", "creationTimestamp")


class KindHandler(Protocol):
    """What a service does with one kind once an intent is accepted."""

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        """Act on the accepted object; return its ``status`` (``phase``, conditions, ...)."""
        ...

    async def on_delete(self, record: store.Record) -> None:
        """Undo whatever ``on_apply`` did."""
        ...


@runtime_checkable
class FirstApplyHandler(KindHandler, Protocol):
    """A handler that can do less for an object's first apply (optional: the processor asks for it).

    ``on_first_apply`` replaces ``on_apply`` when no record of the object existed before this
    intent's: the desired-state bucket never drops a record (a delete leaves a tombstone), so
    nothing an earlier apply of the object wrote can exist anywhere.
    """

    async def on_first_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]: ...


class AcceptingHandler:
    """The default: the desired state is recorded and reported as ``Accepted``."""

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        return accepted_status(record)

    async def on_delete(self, record: store.Record) -> None:
        return None


def accepted_status(record: store.Record, *, message: str = "desired state recorded") -> dict[str, Any]:
    now = record.changed_at or cloudevents.now_rfc3339()
    return {
        "phase": status.ACCEPTED,
        "observedGeneration": record.generation,
        "conditions": [
            status.condition(
                type="Accepted",
                status="True",
                reason="Validated",
                message=message,
                generation=record.generation,
                time=now,
            )
        ],
    }


def _invalid(field: str, message: str, code: validation.ReasonCode = "FieldValueInvalid") -> errors.InvalidIntent:
    return errors.InvalidIntent([validation.Reason(field=field, reason=code, message=message)])


def _with_server_metadata(doc: dict[str, Any], record: store.Record) -> dict[str, Any]:
    """The intent's document with the metadata the service owns (uid, generation, creation)."""
    out = dict(doc)
    out["metadata"] = {
        **doc["metadata"],
        "uid": record.uid,
        "generation": record.generation,
        "creationTimestamp": record.created_at,
    }
    return out


def _recorded(
    doc: dict[str, Any],
    *,
    generation: int,
    intent_seq: int,
    intent_id: str,
    spec_hash: str,
    changed_at: str,
    uid: str,
    created_at: str,
) -> store.Record:
    """A live record whose document is ``doc`` with the server metadata of these fields."""
    document = dict(doc)
    document["metadata"] = {**doc["metadata"], "uid": uid, "generation": generation, "creationTimestamp": created_at}
    return store.Record(
        document=document,
        generation=generation,
        intent_seq=intent_seq,
        intent_id=intent_id,
        spec_hash=spec_hash,
        changed_at=changed_at,
        uid=uid,
        created_at=created_at,
    )


def content_hash(document: Mapping[str, Any]) -> str:
    """Hash of what the user controls: everything but server-set metadata and status."""
    meta = {k: v for k, v in (document.get("metadata") or {}).items() if k not in _SERVER_METADATA}
    body = {k: v for k, v in document.items() if k not in ("metadata", "status")}
    return hashlib.sha256(orjson.dumps({"m": meta, "b": body}, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


class IntentProcessor:
    """The handler a service's consumer runs for every intent."""

    def __init__(
        self,
        *,
        service: str,
        store: store.DesiredStateStore,
        publisher: Publisher,
        metrics: ServiceMetrics,
        handlers: Mapping[str, KindHandler] | None = None,
        deleted_linger: timedelta = timedelta(seconds=5),
    ) -> None:
        self._service = service
        self._store = store
        self._publisher = publisher
        self._metrics = metrics
        self._handlers = dict(handlers or {})
        self._default = AcceptingHandler()
        self._linger = deleted_linger
        self._purges: dict[subjects.ObjectAddress, tuple[int, asyncio.Task[None]]] = {}
        self._changes: dict[tuple[str, str], Counter] = {}
        """Metric children by (kind token, result): a label look-up per intent costs more than its increment."""
        self._first_aware: dict[str, bool] = {}
        """Whether a kind's handler is a :class:`FirstApplyHandler` (a protocol check is not cheap)."""

    def handler_for(self, token: str) -> KindHandler:
        return self._handlers.get(token, self._default)

    async def _on_apply(self, token: str, obj: KubeObject, record: store.Record, *, first: bool) -> dict[str, Any]:
        handler = self.handler_for(token)
        if first:
            aware = self._first_aware.get(token)
            if aware is None:
                aware = self._first_aware[token] = isinstance(handler, FirstApplyHandler)
            if aware:
                return await cast(FirstApplyHandler, handler).on_first_apply(obj, record)
        return await handler.on_apply(obj, record)

    async def __call__(self, delivery: messages.Delivery) -> None:
        address = delivery.address
        if address is None:
            raise _invalid("subject", f"{delivery.subject!r} is not kurator.intent.<service>.<kind>.<ns>.<name>")
        if address.service != self._service:
            raise _invalid("subject", f"{self._service} does not handle {address.service} intents")
        try:
            info = kinds.for_token(address.service, address.kind)
        except kinds.UnknownKind as exc:
            raise _invalid("kind", str(exc), "FieldValueNotSupported") from exc
        verb = cloudevents.verb_of(delivery.envelope.type) or cloudevents.APPLY
        if verb == cloudevents.DELETE:
            await self._delete(delivery, info, address)
        elif verb == cloudevents.APPLY:
            await self._apply(delivery, info, address)
        else:
            raise _invalid(
                "ce-type", f"verb {verb!r} is not one of {', '.join(cloudevents.VERBS)}", "FieldValueNotSupported"
            )

    # -- apply ------------------------------------------------------------------------------

    def _document(
        self, delivery: messages.Delivery, info: kinds.KindInfo, address: subjects.ObjectAddress
    ) -> dict[str, Any]:
        try:
            raw = delivery.json()
        except orjson.JSONDecodeError as exc:
            raise _invalid("<body>", f"not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise _invalid("<body>", "must be a JSON object (a Kubernetes-style document)")
        api_version, kind = raw.get("apiVersion"), raw.get("kind")
        if not isinstance(api_version, str) or not api_version:
            raise _invalid("apiVersion", "Required value", "FieldValueRequired")
        if not isinstance(kind, str) or not kind:
            raise _invalid("kind", "Required value", "FieldValueRequired")
        try:
            routed = kinds.for_object(api_version, kind)
        except kinds.UnknownKind as exc:
            raise _invalid(
                "apiVersion" if "served as" in str(exc) else "kind", str(exc), "FieldValueNotSupported"
            ) from exc
        if routed is not info:
            raise _invalid(
                "kind",
                f"{api_version} {kind} belongs on kurator.intent.{routed.service}."
                f"{routed.token}, not {delivery.subject}",
            )
        meta = raw.get("metadata")
        if not isinstance(meta, dict):
            raise _invalid("metadata", "Required value", "FieldValueRequired")
        meta = dict(meta)
        if meta.get("name") != address.name:
            raise _invalid("metadata.name", f"{meta.get('name')!r} does not match the subject's name {address.name!r}")
        if info.namespaced:
            if address.namespace is None:
                raise _invalid("metadata.namespace", f"{kind} is namespaced; the subject names no namespace")
            if meta.setdefault("namespace", address.namespace) != address.namespace:
                raise _invalid(
                    "metadata.namespace",
                    f"{meta['namespace']!r} does not match the subject's namespace {address.namespace!r}",
                )
        else:
            if address.namespace is not None:
                raise _invalid(
                    "metadata.namespace", f"{kind} is cluster-scoped; use '_' as the subject's namespace token"
                )
            meta.pop("namespace", None)
        # Server-owned fields are ours to set, whatever the publisher sent.
        for key in _SERVER_METADATA:
            meta.pop(key, None)
        doc = {k: v for k, v in raw.items() if k != "status"}
        doc["metadata"] = meta
        return doc

    async def _apply(self, delivery: messages.Delivery, info: kinds.KindInfo, address: subjects.ObjectAddress) -> None:
        doc = self._document(delivery, info, address)
        try:
            model = info.model.model_validate(doc)
        except pydantic.ValidationError as exc:
            raise errors.InvalidIntent(validation.reasons_from(exc)) from exc
        digest = content_hash(doc)
        seq = delivery.stream_sequence
        # First attempt: trust this replica's memory of the entry (absent if never seen), so
        # the usual intent costs one write. A failed compare-and-set reads the real entry.
        current = self._store.remembered(address)
        first = False
        for attempt in range(_CAS_ATTEMPTS):
            if attempt:
                current = await self._store.get(address)
            if current is not None and current.record.intent_seq > seq:
                if attempt == 0:
                    continue  # the memory may be of a newer intent we wrote: confirm by reading
                self._count(info, "stale")
                raise errors.BenignError(f"intent {seq} is older than the applied {current.record.intent_seq}")
            if current is not None and current.record.intent_seq == seq:
                # Redelivered after we recorded it (e.g. the ack was lost): answer again.
                self._count(info, "replayed")
                record = replace(current.record, document=_with_server_metadata(doc, current.record))
                result = "unchanged"
                break
            live = current is not None and not current.record.deleted
            if live and current is not None and current.record.spec_hash == digest:
                result = "unchanged"
                prev = current.record
                record = _recorded(
                    doc,
                    generation=prev.generation,
                    intent_seq=seq,
                    intent_id=delivery.envelope.id,
                    spec_hash=prev.spec_hash,
                    changed_at=prev.changed_at,
                    uid=prev.uid,
                    created_at=prev.created_at,
                )
            else:
                result = "updated" if live else "created"
                before = current.record if live and current is not None else None
                now = cloudevents.now_rfc3339()
                record = _recorded(
                    doc,
                    generation=before.generation + 1 if before else 1,
                    intent_seq=seq,
                    intent_id=delivery.envelope.id,
                    spec_hash=digest,
                    changed_at=now,
                    uid=before.uid if before and before.uid else cloudevents.new_id(),
                    created_at=before.created_at if before and before.created_at else now,
                )
            try:
                await self._store.put(address, record, revision=current.revision if current else None)
            except store.RevisionConflict:
                continue
            # Written as "must not exist": the bucket confirmed there was no record before.
            first = current is None
            self._count(info, result)
            break
        else:
            raise errors.RetryableError(f"{address.display()} kept changing under us")
        body = await self._on_apply(info.token, model, record, first=first)
        await self._publish_status(info, address, record.document, body, delivery.envelope.id, result)

    async def _publish_status(
        self,
        info: kinds.KindInfo,
        address: subjects.ObjectAddress,
        document: dict[str, Any],
        body: dict[str, Any],
        causation_id: str,
        result: str,
    ) -> int:
        out = info.model.public_document({**document, "status": body})
        ack = await self._publisher.status(address, out, causation_id=causation_id, result=result)
        return int(ack.seq)

    # -- delete -----------------------------------------------------------------------------

    async def _delete(self, delivery: messages.Delivery, info: kinds.KindInfo, address: subjects.ObjectAddress) -> None:
        seq = delivery.stream_sequence
        for _ in range(_CAS_ATTEMPTS):
            current = await self._store.get(address)
            if current is not None and current.record.intent_seq > seq:
                self._count(info, "stale")
                raise errors.BenignError(f"delete {seq} is older than the applied {current.record.intent_seq}")
            if current is not None and current.record.intent_seq == seq:
                self._count(info, "replayed")
                record = current.record
                break
            if current is None or current.record.deleted:
                raise _invalid("metadata.name", f'{info.kind} "{address.name}" not found', "NotFound")
            record = replace(
                current.record,
                intent_seq=seq,
                intent_id=delivery.envelope.id,
                changed_at=cloudevents.now_rfc3339(),
                deleted=True,
            )
            try:
                await self._store.put(address, record, revision=current.revision)
            except store.RevisionConflict:
                continue
            self._count(info, "deleted")
            break
        else:
            raise errors.RetryableError(f"{address.display()} kept changing under us")
        await self.handler_for(info.token).on_delete(record)
        body = {
            "phase": status.DELETED,
            "observedGeneration": record.generation,
            "conditions": [
                status.condition(
                    type="Deleted",
                    status="True",
                    reason="DeleteRequested",
                    message="removed from the desired state",
                    generation=record.generation,
                    time=cloudevents.now_rfc3339(),
                )
            ],
        }
        seq_published = await self._publish_status(
            info, address, record.document, body, delivery.envelope.id, "deleted"
        )
        self._schedule_purge(address, seq_published)

    # -- purging deleted objects from the last-value cache ---------------------------------

    def _schedule_purge(self, address: subjects.ObjectAddress, status_seq: int) -> None:
        """Purge the ``Deleted`` status after a short linger.

        Purging at once would race live watchers: an ordered consumer that had not yet been
        handed the ``Deleted`` message would never see it. Only messages up to the
        ``Deleted`` status go, so a newer status (the object re-created meanwhile, possibly
        through another replica) survives.
        """
        previous = self._purges.pop(address, None)
        if previous is not None:
            previous[1].cancel()
        task = asyncio.create_task(self._purge_after(address, status_seq, self._linger))
        self._purges[address] = (status_seq, task)

    async def _purge_after(self, address: subjects.ObjectAddress, status_seq: int, delay: timedelta) -> None:
        try:
            await asyncio.sleep(delay.total_seconds())
            await self._publisher.purge_status(address, up_to_sequence=status_seq + 1)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("status.purge_failed", subject=subjects.status(address), exc_info=True)
        finally:
            entry = self._purges.get(address)
            if entry is not None and entry[0] == status_seq:
                del self._purges[address]

    async def flush_purges(self) -> None:
        """Purge now what is still lingering (on shutdown)."""
        pending = list(self._purges.items())
        for _, (_, task) in pending:
            task.cancel()
        await asyncio.gather(*(t for _, (_, t) in pending), return_exceptions=True)
        for address, (status_seq, _) in pending:
            with contextlib.suppress(Exception):
                await self._publisher.purge_status(address, up_to_sequence=status_seq + 1)

    def _count(self, info: kinds.KindInfo, result: str) -> None:
        key = (info.token, result)
        child = self._changes.get(key)
        if child is None:
            child = self._changes[key] = self._metrics.changes.labels(self._service, info.token, result)
        child.inc()
