"""Status publishing: the subject and CloudEvents headers of each object, however often it is published."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.client import Client

from shared.bus import jetstream, publisher
from shared.contracts import subjects


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def publish(self, subject: str, payload: bytes, *, headers: dict[str, str] | None = None) -> Any:
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
