"""The services' NATS client: the same header bytes and dictionaries as nats-py, on the wire too."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from nats.aio import client as nats_client
from nats.aio.msg import Msg
from nats.errors import BadHeaderError
from nats.js.errors import NotFoundError

from shared.bus import connection, wire
from shared.contracts import cloudevents
from shared.testing.eventually import eventually

ENVELOPE = cloudevents.Envelope.new(
    source="kurator/fleet",
    type="dev.kurator.fleet.deployment.status.v1",
    subject="deployment default/web",
    causation_id="0f6a3b9e-3c1e-4d1c-9d0a-2b9f0d7c3a11",
)

HEADER_SETS: list[dict[str, str]] = [
    {},
    ENVELOPE.headers(),
    {**ENVELOPE.headers(), cloudevents.RESULT_HEADER: "created"},
    {"ce-id": "  padded value\t"},
    {"ce-id": "a\r\nb", "x": "c\nd", "y": "e\rf"},
    {" padded-name ": "v", "ok": "w"},
    {"   ": "skipped", "kept": "1"},
    {"kept": "über"},
    {"Nats-Expected-Last-Subject-Sequence": "0"},
]


def nats_py_block(headers: dict[str, str]) -> bytes:
    """The header block nats-py itself sends (its ``_send_publish``, captured)."""
    sent: list[bytes] = []

    class Capture(nats_client.Client):
        async def _send_command(self, cmd: bytes, priority: bool = False) -> None:
            sent.append(cmd)

    nc = Capture()
    asyncio.run(nc._send_publish("s", "", b"", 0, headers))
    line, rest = sent[0].split(b"\r\n", 1)
    return rest[: int(line.split()[3])]


@pytest.mark.parametrize("headers", HEADER_SETS)
def test_encoding_matches_nats_py(headers: dict[str, str]) -> None:
    expected = nats_py_block(headers)
    assert wire.encode_headers(headers) == expected
    assert wire.encode_headers(headers) == expected  # the second time from what was remembered


def test_a_name_nats_py_refuses_is_refused() -> None:
    with pytest.raises(BadHeaderError):
        wire.encode_headers({"bad name": "v"})
    with pytest.raises(BadHeaderError):
        wire.encode_headers({"bad:name": "v"})


RAW_BLOCKS = [
    b"ce-id: 1\r\nce-type: t\r\n\r\n",
    b"a:1\r\nb:\t2 \r\nno colon\r\n\r\n",
    b" spaced : v\r\nin side: skipped\r\n",
    b"\xc3\xbc: non-ascii name\r\nok: \xff\xfe bad utf-8\r\n",
    b"dup: 1\r\ndup: 2\r\n: empty name\r\n",
    b"x\x1c: str-whitespace in the name\r\n",
]


@pytest.mark.parametrize("raw", RAW_BLOCKS)
def test_parsing_matches_nats_py(raw: bytes) -> None:
    expected = nats_client.Client._parse_header_lines(raw)
    assert wire.parse_header_lines(raw) == expected
    assert wire.parse_header_lines(raw) == expected


async def test_headers_round_trip_through_the_server(nats_url: str) -> None:
    nc = await connection.connect(nats_url, name="test-wire")
    try:
        assert isinstance(nc, wire.Client)
        got: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()

        async def on(msg: Msg) -> None:
            got.set_result(msg)

        await nc.subscribe("wire.test", cb=on)
        headers = {**ENVELOPE.headers(), "spaced": " v ", "broken": "a\nb"}
        await nc.publish("wire.test", b"{}", headers=headers)
        msg = await asyncio.wait_for(got, 5)
        assert msg.headers == {**ENVELOPE.headers(), "spaced": "v", "broken": "a b"}
        assert msg.data == b"{}"
    finally:
        await nc.close()


async def test_inline_subscriptions_get_raw_messages(nats_url: str) -> None:
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = wire.Client()
    await nc.connect(servers=[nats_url], error_cb=on_error)
    try:
        got: list[tuple[bytes, bytes, dict[str, str] | None]] = []

        def handler(subject: bytes, data: bytes, headers: dict[str, str] | None) -> None:
            if data == b"boom":
                raise RuntimeError("handler failed")
            got.append((subject, data, headers))

        sub = await nc.subscribe_inline("inline.*", handler)
        await nc.publish("inline.a", b"1")
        await nc.publish("inline.b", b"boom")
        await nc.publish("inline.c", b"3", headers={"k": "v"})
        await nc.flush()
        await asyncio.sleep(0.05)
        assert got == [(b"inline.a", b"1", None), (b"inline.c", b"3", {"k": "v"})]
        assert [str(e) for e in errors] == ["handler failed"]
        await sub.unsubscribe()
        await nc.publish("inline.d", b"4")
        await nc.flush()
        await asyncio.sleep(0.05)
        assert len(got) == 2
        assert not nc._inline
    finally:
        await nc.close()


async def test_skipped_deliveries_of_an_ordered_consumer_keep_it_in_order(nats_url: str) -> None:
    """Deliveries ``skip`` picks never reach the callback; nats-py's ordered-consumer
    bookkeeping counts them, so the consumer neither stalls nor resets; a real gap still resets it."""
    nc = await connection.connect(nats_url, name="test-wire-skip")
    try:
        assert isinstance(nc, wire.Client)
        js = nc.jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream("WIRE_SKIP")
        await js.add_stream(name="WIRE_SKIP", subjects=["skip.>"])
        got: list[bytes] = []
        asked: list[tuple[bytes, bytes]] = []

        async def on(msg: Msg) -> None:
            got.append(msg.data)

        def skip(subject: bytes, reply: bytes, headers: bytes) -> bool:
            asked.append((subject, reply))
            return b"\r\nmine: yes\r\n" in headers

        sub = await js.subscribe("skip.>", cb=on, stream="WIRE_SKIP", ordered_consumer=True, idle_heartbeat=0.5)
        nc.skip_deliveries(sub, skip)
        for i in range(20):
            await js.publish(f"skip.{i}", str(i).encode(), headers={"mine": "yes" if i % 3 else "no"})

        async def all_in() -> bool:
            return len(asked) == 20

        await eventually(all_in, timeout_seconds=5)
        await asyncio.sleep(0.1)
        assert got == [str(i).encode() for i in range(0, 20, 3)]
        assert all(reply.startswith(b"$JS.ACK.WIRE_SKIP.") for _, reply in asked)
        jsi = sub._sub._jsi
        assert (jsi._dseq, jsi._sseq, sub.delivered) == (21, 20, 20)
        assert nc.stats["in_msgs"] >= 20

        await asyncio.sleep(1.2)  # idle heartbeats after skipped messages: no gap seen
        assert (jsi._dseq, jsi._sseq) == (21, 20)
        await js.publish("skip.last", b"last", headers={"mine": "no"})

        async def last_in() -> bool:
            return got[-1] == b"last"

        await eventually(last_in, timeout_seconds=5)
        consumer = sub._consumer

        # A skipped delivery out of sequence is a gap: the consumer restarts after the last seen.
        await nc._process_msg(
            sub._sub._id,
            b"skip.x",
            b"$JS.ACK.WIRE_SKIP.c.1.99.99.1764200000000000000.0",
            b"x",
            b"NATS/1.0\r\nmine: yes\r\n\r\n",
        )
        assert jsi._dseq == 1

        async def recreated() -> bool:
            return sub._consumer != consumer

        await eventually(recreated, timeout_seconds=5)
        await js.publish("skip.after", b"after", headers={"mine": "no"})

        async def after_in() -> bool:
            return got[-1] == b"after"

        await eventually(after_in, timeout_seconds=5)
        assert got.count(b"last") == 1  # restarted after it, not before
        await sub.unsubscribe()
        await js.delete_stream("WIRE_SKIP")
    finally:
        await nc.close()


def connected(client: nats_client.Client) -> nats_client.Client:
    """A client that takes publishes into its pending buffer as if connected (no server)."""
    client._status = nats_client.Client.CONNECTED
    client._max_payload = 1024
    client._flush_queue = asyncio.Queue()
    client._flush_queue.put_nowait(None)  # never empty: nothing kicks a flusher
    return client


@pytest.mark.parametrize("headers", HEADER_SETS)
@pytest.mark.parametrize("reply", ["", "_INBOX.abc.7"])
async def test_publish_headed_sends_what_nats_py_sends(headers: dict[str, str], reply: str) -> None:
    ours, theirs = connected(wire.Client()), connected(nats_client.Client())
    await ours.publish_headed("subject.a", b'{"x": 1}', reply, headers)
    await ours.publish_headed("subject.a", b"", reply, wire.encode_headers(headers))
    for payload in (b'{"x": 1}', b""):
        await theirs.publish("subject.a", payload, reply=reply, headers=headers)
    assert ours._pending == theirs._pending
    assert ours._pending_data_size == theirs._pending_data_size
    assert ours.stats["out_msgs"] == theirs.stats["out_msgs"] == 2
    assert ours.stats["out_bytes"] == theirs.stats["out_bytes"]


async def test_publish_headed_refuses_what_nats_py_refuses() -> None:
    cases: list[tuple[str, str, bytes, dict[str, str], int]] = [
        ("bad subject", "", b"", {"a": "1"}, nats_client.Client.CONNECTED),
        ("", "", b"", {"a": "1"}, nats_client.Client.CONNECTED),
        ("s", "bad reply", b"", {"a": "1"}, nats_client.Client.CONNECTED),
        ("s", "", b"x" * 2000, {"a": "1"}, nats_client.Client.CONNECTED),
        ("s", "", b"", {"bad name": "1"}, nats_client.Client.CONNECTED),
        ("s", "", b"", {"a": "1"}, nats_client.Client.CLOSED),
        ("s", "", b"", {"a": "1"}, nats_client.Client.DRAINING_PUBS),
        ("s", "", b"x" * 100, {"a": "1"}, nats_client.Client.RECONNECTING),
    ]
    for subject, reply, payload, headers, status in cases:
        outcomes: list[type[BaseException] | None] = []
        for client, send in (
            (wire.Client(), "headed"),
            (nats_client.Client(), "nats-py"),
        ):
            connected(client)._status = status
            client._max_pending_size = 10
            try:
                if send == "headed":
                    assert isinstance(client, wire.Client)
                    await client.publish_headed(subject, payload, reply, headers)
                else:
                    await client.publish(subject, payload, reply=reply, headers=headers)
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1], (subject, reply, len(payload), headers, status)
        assert outcomes[0] is not None
