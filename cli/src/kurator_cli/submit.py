"""Publishing apply/delete intents and waiting for each one's answer.

Before publishing, the CLI subscribes to the status subjects of the kinds involved and to
each service's rejection subject; every answer names the intent it answers
(``ce-causationid`` on a status, ``intent.id`` in a rejection), so the CLI reports exactly
its own outcomes even when other publishers are busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from kurator_cli.manifests import Manifest
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, subjects


@dataclass
class Outcome:
    manifest: Manifest
    verb: str
    result: str = "pending"
    """created, configured, unchanged, deleted, rejected, not-found, timeout, error."""
    phase: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("created", "configured", "unchanged", "deleted")


_RESULT_WORDS = {"created": "created", "updated": "configured", "unchanged": "unchanged", "deleted": "deleted"}


class SubmitError(RuntimeError):
    """NATS or the services are not reachable; the message says what to do."""


async def submit(
    nc: Client, manifests: Sequence[Manifest], *, verb: str, timeout_seconds: float = 30.0
) -> list[Outcome]:
    js = nc.jetstream()
    publisher = Publisher(js, source="kurator/cli")
    loop = asyncio.get_running_loop()
    waiting: dict[str, tuple[Outcome, asyncio.Future[None]]] = {}
    outcomes = [Outcome(manifest=m, verb=verb) for m in manifests]

    def settle(intent_id: str | None, update: dict[str, Any]) -> None:
        entry = waiting.get(intent_id or "")
        if entry is None or entry[1].done():
            return
        outcome, fut = entry
        for key, value in update.items():
            setattr(outcome, key, value)
        fut.set_result(None)

    async def on_status(msg: Msg) -> None:
        headers = msg.headers or {}
        try:
            doc = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        word = _RESULT_WORDS.get(headers.get(cloudevents.RESULT_HEADER, ""), "configured")
        phase = (doc.get("status") or {}).get("phase") if isinstance(doc, dict) else None
        settle(headers.get("ce-causationid"), {"result": word, "phase": phase})

    async def on_rejected(msg: Msg) -> None:
        try:
            body = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        reasons = body.get("reasons") or []
        not_found = any(r.get("reason") == "NotFound" for r in reasons)
        settle(
            (body.get("intent") or {}).get("id"),
            {"result": "not-found" if not_found else "rejected", "reasons": reasons},
        )

    subs = []
    for service, kind in sorted({(m.address.service, m.address.kind) for m in manifests}):
        subs.append(await nc.subscribe(subjects.statuses(service, kind), cb=on_status))
    for service in sorted({m.address.service for m in manifests}):
        subs.append(await nc.subscribe(subjects.rejected(service), cb=on_rejected))
    # Make sure the server has the subscriptions before any answer can be published.
    await nc.flush()
    try:
        for outcome in outcomes:
            m = outcome.manifest
            env = cloudevents.Envelope.new(
                source=publisher.source,
                type=cloudevents.type_name(m.address.service, m.address.kind, verb),
                subject=m.address.display(),
            )
            waiting[env.id] = (outcome, loop.create_future())
            try:
                await publisher.publish(subjects.intent(m.address), m.document, ce_type=env.type, envelope=env)
            except nats.errors.NoRespondersError as exc:
                raise SubmitError(
                    "no JetStream stream takes intents yet: start the services first (kurator up)"
                ) from exc
            except nats.errors.TimeoutError as exc:
                raise SubmitError("NATS did not acknowledge the intent in time") from exc
        pending = [fut for _, fut in waiting.values()]
        _, not_done = await asyncio.wait(pending, timeout=timeout_seconds)
        for outcome, fut in waiting.values():
            if fut in not_done:
                outcome.result = "timeout"
                outcome.message = (
                    f"no answer from the {outcome.manifest.address.service} service within "
                    f"{timeout_seconds:g}s (is it running?)"
                )
    finally:
        for sub in subs:
            await sub.unsubscribe()
    return outcomes
