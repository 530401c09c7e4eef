"""Status publishing: the subject and CloudEvents headers of each object, however often it is published."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from nats.aio import client as nats_client
from nats.aio.client import Client
from opentelemetry.sdk.trace import TracerProvider

from shared.bus import jetstream, publisher, wire
from shared.contracts import cloudevents, outcomes, subjects


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.raw: list[tuple[str, bytes, jetstream.Headers | None]] = []

    async def publish(self, subject: str, payload: bytes, *, headers: jetstream.Headers | None = None) -> Any:
        self.raw.append((subject, payload, headers))
        if isinstance(headers, bytes):
            headers = wire.parse_header_lines(headers[len(b"NATS/1.0\r\n") :])
        self.sent.append((subject, dict(headers or {})))
        return jetstream.PubAck(stream="S", seq=len(self.sent))


async def test_statuses_of_many_objects_keep_their_own_names(nc: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publisher, "_REMEMBERED_OBJECTS", 2)
    pub = publisher.Publisher(nc, source="kurator/fleet")
    recording = Recording()
    pub._jsp = recording  # type: ignore[assignment]
    objects = [
        subjects.ObjectAddress("fleet", "deployment", "default", "web"),
        subjects.ObjectAddress("fleet", "cluster", None, "member.one"),
        subjects.ObjectAddress("apps", "federateddeployment", "shop", "cart"),
    ]
    for _ in range(2):
        for address in objects:
            await pub.status(address, {"status": {}}, causation_id="intent-1", result="created")
    assert len(recording.sent) == 6
    for (subject, headers), address in zip(recording.sent, objects * 2, strict=True):
        assert subject == subjects.status(address)
        assert headers["ce-type"] == f"dev.kurator.{address.service}.{address.kind}.status.v1"
        assert headers["ce-subject"] == address.display()
        assert headers["ce-causationid"] == "intent-1"
        assert headers["Kurator-Result"] == "created"
    assert len(pub._status_names) <= 2


ODD_VALUES = [
    None,
    "",
    "plain",
    " padded",
    "trailing ",
    "line\nbreak",
    "cr\rhere",
    "über",
    "100%",
    "%(id)s",
    "\x00id\x00",
]


@pytest.mark.parametrize("source", ["kurator/fleet", "kurator/apps/federated", " spaced source", "50%"])
def test_header_blocks_are_the_encoded_headers(source: str) -> None:
    """Whatever a template gives is byte for byte what encoding ``Envelope.headers()`` gives;
    where it gives nothing, the caller encodes the dictionary."""
    blocks = publisher.HeaderBlocks(source)
    given = 0
    for subject, cause, result in itertools.product(ODD_VALUES, ODD_VALUES, [None, "created", " x"]):
        for id_, time in (("0f6a3b9e-3c1e-4d1c-9d0a-2b9f0d7c3a11", "2026-11-27T08:00:00.000001Z"), (" id", "t\n")):
            ce_type = "dev.kurator.fleet.deployment.status.v1"
            block = blocks.block(id=id_, type=ce_type, time=time, subject=subject, causation_id=cause, result=result)
            headers = cloudevents.Envelope(
                id=id_, source=source, type=ce_type, time=time, subject=subject, causation_id=cause
            ).headers()
            if result:
                headers[cloudevents.RESULT_HEADER] = result
            if block is not None:
                given += 1
                assert block == wire.encode_headers(headers)
    if source.strip() == source:
        assert given > 50


def offline(client: Client) -> Client:
    client._status = nats_client.Client.CONNECTED
    return client


async def published(pub: publisher.Publisher) -> list[tuple[str, bytes, jetstream.Headers | None]]:
    recording = Recording()
    pub._jsp = recording  # type: ignore[assignment]
    address = subjects.ObjectAddress("fleet", "deployment", "default", "web")
    await pub.status(address, {"status": {}}, causation_id="intent-1", result="created")
    await pub.status(address, {"status": {}}, causation_id=None)
    await pub.intent(address, {"spec": {}})
    await pub.event(service="fleet", kind="cluster", name="joined", payload={}, ce_subject="cluster a")
    intent = outcomes.IntentRef(id="intent-2", subject="kurator.intent.fleet.deployment.default.web")
    await pub.rejection(outcomes.Rejection(service="fleet", intent=intent, reasons=[], time="2026-11-27T08:00:00Z"))
    env = cloudevents.Envelope.new(source="kurator/client", type="dev.kurator.fleet.deployment.apply.v1")
    await pub.publish("kurator.intent.fleet.deployment.default.web", {}, ce_type=env.type, envelope=env)
    return recording.raw


async def test_the_services_client_sends_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A publisher on the services' client (templates) and one on nats-py's (dictionaries)
    send the same header bytes, with and without trace context."""
    ids = itertools.count()
    monkeypatch.setattr(cloudevents, "new_id", lambda: f"id-{next(ids)}")
    monkeypatch.setattr(cloudevents, "now_rfc3339", lambda: "2026-11-27T08:00:00.000001Z")
    tracer = TracerProvider().get_tracer("test")
    for traced in (False, True):
        sent = []
        with contextlib.ExitStack() as stack:
            if traced:
                stack.enter_context(tracer.start_as_current_span("handle"))
            for client in (wire.Client(), nats_client.Client()):
                ids = itertools.count()
                sent.append(await published(publisher.Publisher(offline(client), source="kurator/fleet")))
        ours, theirs = sent
        assert len(ours) == len(theirs) == 6
        for i, ((subject, payload, block), (their_subject, their_payload, headers)) in enumerate(
            zip(ours, theirs, strict=True)
        ):
            assert isinstance(headers, dict)
            assert (subject, payload) == (their_subject, their_payload)
            # With a trace the dictionary, to carry it; the last envelope names another source.
            assert isinstance(block, bytes) == (not traced and i < 5)
            assert (block if isinstance(block, bytes) else wire.encode_headers(block or {})) == wire.encode_headers(
                headers
            )
            if traced:
                assert "traceparent" in headers
