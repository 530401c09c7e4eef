"""The CloudEvents envelope: full headers out, missing ones filled in."""

from __future__ import annotations

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
