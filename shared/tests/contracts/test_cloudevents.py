"""The CloudEvents envelope: full headers out, missing ones filled in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.contracts import cloudevents


def test_headers_carry_every_attribute_and_msg_id() -> None:
    env = cloudevents.Envelope.new(
        source="kurator/cli",
        type=cloudevents.type_name("fleet", "cluster", "apply"),
        subject="cluster/a",
        causation_id="abc",
    )
    h = env.headers()
    assert h["ce-specversion"] == "1.0"
    assert h["ce-id"] == h["Nats-Msg-Id"] == env.id
    assert h["ce-type"] == "dev.kurator.fleet.cluster.apply.v1"
    assert h["ce-source"] == "kurator/cli"
    assert h["ce-subject"] == "cluster/a"
    assert h["ce-causationid"] == "abc"
    assert h["content-type"] == "application/json"
    assert h["ce-time"].endswith("Z")


def test_bare_messages_get_defaults() -> None:
    env = cloudevents.Envelope.from_headers(None, default_type="t", default_source="s", fallback_id="f")
    assert (env.id, env.type, env.source) == ("f", "t", "s")
    env = cloudevents.Envelope.from_headers({"Nats-Msg-Id": "m"}, default_type="t", default_source="s", fallback_id="f")
    assert env.id == "m"


def test_verb_of() -> None:
    assert cloudevents.verb_of("dev.kurator.fleet.cluster.delete.v1") == "delete"
    assert cloudevents.verb_of("com.example.thing") is None
    assert cloudevents.verb_of(None) is None


def test_ids_are_random_uuids_and_times_rfc3339_utc() -> None:
    ids = {cloudevents.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for id_ in ids:
        parsed = uuid.UUID(id_)
        assert (str(parsed), parsed.version, parsed.variant) == (id_, 4, uuid.RFC_4122)
    stamp = cloudevents.now_rfc3339()
    assert len(stamp) == len("2024-05-01T12:00:00.123456Z")
    assert stamp.endswith("Z")
    assert abs(datetime.fromisoformat(stamp) - datetime.now(UTC)) < timedelta(seconds=5)


def test_headers_of_a_new_message_are_those_of_a_new_envelope() -> None:
    h = cloudevents.headers(source="s", type="t", subject="sub", causation_id="c")
    env = cloudevents.Envelope.from_headers(h, default_type="-", default_source="-", fallback_id="-")
    assert env.headers() == h
    assert h["ce-id"] == h["Nats-Msg-Id"]
    assert "ce-subject" not in cloudevents.headers(source="s", type="t")
