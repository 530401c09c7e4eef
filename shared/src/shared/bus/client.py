"""Publishing intents and waiting for each one's answer: the publisher's side of the contract.

Before publishing, the client subscribes to the status subjects of the kinds involved and to
each service's rejection subject; every answer names the intent it answers
(``ce-causationid`` on a status, ``intent.id`` in a rejection), so the client reports exactly
its own outcomes even when other publishers are busy. The ``kurator`` CLI and the tests use
it; any Python system publishing intents can too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from shared.bus import jetstream
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, subjects

OK_RESULTS = ("created", "updated", "unchanged", "deleted")


@dataclass
class Answer:
    address: subjects.ObjectAddress
    verb: str
    intent_id: str = ""
    result: str = "pending"
    """created, updated, unchanged, deleted, rejected, not-found or timeout."""
    phase: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    """The status document that answered (apply and delete)."""

    @property
    def ok(self) -> bool:
        return self.result in OK_RESULTS


class NoIntentStream(RuntimeError):  # noqa: N818 - reads as the condition
    """No JetStream stream takes intents: no service has ever started on this NATS."""


async def submit(
    nc: Client,
    requests: Sequence[tuple[subjects.ObjectAddress, Any]],
    *,
    verb: str = cloudevents.APPLY,
    timeout_seconds: float = 30.0,
    source: str = "kurator/client",
) -> list[Answer]:
    """Publish one intent per ``(address, document)`` and wait for every answer (or the timeout)."""
    publisher = Publisher(nc, source=source)
    loop = asyncio.get_running_loop()
    waiting: dict[str, tuple[Answer, asyncio.Future[None]]] = {}
    answers = [Answer(address=a, verb=verb) for a, _ in requests]

    def settle(intent_id: str | None, **update: Any) -> None:
        entry = waiting.get(intent_id or "")
        if entry is None or entry[1].done():
            return
        answer, fut = entry
        for key, value in update.items():
            setattr(answer, key, value)
        fut.set_result(None)

    async def on_status(msg: Msg) -> None:
        headers = msg.headers or {}
        try:
            doc = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        phase = (doc.get("status") or {}).get("phase") if isinstance(doc, dict) else None
        result = headers.get(cloudevents.RESULT_HEADER) or "updated"
        settle(headers.get("ce-causationid"), result=result, phase=phase, status=doc)

    async def on_rejected(msg: Msg) -> None:
        try:
            body = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        reasons = body.get("reasons") or []
        not_found = any(r.get("reason") == "NotFound" for r in reasons)
        settle((body.get("intent") or {}).get("id"), result="not-found" if not_found else "rejected", reasons=reasons)

    subs = []
    for service, kind in sorted({(a.service, a.kind) for a, _ in requests}):
        subs.append(await nc.subscribe(subjects.statuses(service, kind), cb=on_status))
    for service in sorted({a.service for a, _ in requests}):
        subs.append(await nc.subscribe(subjects.rejected(service), cb=on_rejected))
    await nc.flush()  # the server holds the subscriptions before any answer can exist
    try:
        for answer, (address, document) in zip(answers, requests, strict=True):
            env = cloudevents.Envelope.new(
                source=source,
                type=cloudevents.type_name(address.service, address.kind, verb),
                subject=address.display(),
            )
            answer.intent_id = env.id
            waiting[env.id] = (answer, loop.create_future())
            try:
                await publisher.publish(subjects.intent(address), document, ce_type=env.type, envelope=env)
            except jetstream.NoStream as exc:
                raise NoIntentStream("no JetStream stream takes intents: start the services first") from exc
        if waiting:
            _, not_done = await asyncio.wait([f for _, f in waiting.values()], timeout=timeout_seconds)
            for answer, fut in waiting.values():
                if fut in not_done:
                    answer.result = "timeout"
    finally:
        for sub in subs:
            await sub.unsubscribe()
    return answers
