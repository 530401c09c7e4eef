"""A delivery reads its sequence numbers from the reply subject as nats-py does."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError

from shared.bus import messages
from shared.contracts import cloudevents

SUBJECT = "kurator.intent.fleet.deployment.default.web"


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.ACK.KURATOR_INTENTS.kurator-fleet.3.123.456.1732680000000000000.5",
        "$JS.ACK.hub.ACCHASH.KURATOR_INTENTS.kurator-fleet.3.123.456.1732680000000000000.5.r4nd",
        "$JS.ACK.hub.ACCHASH.KURATOR_INTENTS.kurator-fleet.3.123.456.1732680000000000000.5",
    ],
)
def test_sequence_numbers_are_nats_py_metadata(reply: str) -> None:
    headers = cloudevents.Envelope.new(source="s", type="dev.kurator.fleet.deployment.apply.v1").headers()
    msg = Msg(None, subject=SUBJECT, reply=reply, data=b"{}", headers=headers)
    delivery = messages.Delivery.wrap(msg, service="fleet")
    meta = msg.metadata
    assert (delivery.stream_sequence, delivery.num_delivered, delivery.num_pending) == (
        meta.sequence.stream,
        meta.num_delivered,
        meta.num_pending,
    )
    assert delivery.address is not None
    assert delivery.address.name == "web"
    assert delivery.envelope.id == headers["ce-id"]


def test_a_bare_message_is_identified_by_its_stream_sequence() -> None:
    msg = Msg(None, subject=SUBJECT, reply="$JS.ACK.KURATOR_INTENTS.c.1.77.1.0.0", data=b"{}", headers=None)
    delivery = messages.Delivery.wrap(msg, service="fleet")
    assert delivery.envelope.id == "KURATOR_INTENTS-77"
    assert delivery.envelope.type == "dev.kurator.fleet.deployment.apply.v1"


def test_a_core_message_is_not_a_delivery() -> None:
    with pytest.raises(NotJSMessageError):
        messages.Delivery.wrap(Msg(None, subject=SUBJECT, reply="", data=b"{}"), service="fleet")
