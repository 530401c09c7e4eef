"""The nats-py client the services connect with: the same protocol, cheaper per message.

Every kurator-py message carries about ten headers (the CloudEvents binding, ``Nats-Msg-Id``,
trace context). nats-py encodes them one at a time on every publish (strip the name, match it
against a regular expression, strip the value, replace its newlines, encode both, append four
pieces to a ``bytearray``) and decodes them on receipt testing every character of every name
for whitespace in a generator. On the fleet service's hot path, where each intent leads to a
dozen publishes and as many received messages, that was several percent of its CPU.

:class:`Client` produces and accepts exactly the bytes and dictionaries nats-py does, with
the per-name work done once per distinct name (a bounded cache: names come from a small
set, values do not) and the per-value work done on one joined string. Anything unusual (a
name not seen yet, a value with a line break, a name with surrounding blanks) takes nats-py's
own path, so the results are the same by construction.

:meth:`Client.subscribe_inline` is for the JetStream acknowledgements every publish waits for
(``shared.bus.jetstream``): they are handed over as the read loop parses them.
:meth:`Client.skip_deliveries` lets a JetStream push subscription (an ordered consumer) drop
deliveries its reader already knows (a service's own statuses coming back) as they are parsed,
with nats-py's bookkeeping for them done as if they had been handed over.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from nats import errors as nats_errors
from nats.aio import client as nats_client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.protocol import command

_HEAD: Final = b"NATS/1.0\r\n"
_CRLF: Final = b"\r\n"
_CACHED_NAMES: Final = 1024
"""Distinct header names remembered per direction: far more than kurator-py uses, so a
peer sending arbitrary names cannot grow the cache without bound."""

_prefixes: dict[str, str] = {}
"""Header name as given -> ``"<name>: "``, for names nats-py accepts as they are."""
_names: dict[bytes, str] = {}
"""Header name as received -> its decoded form, for names nats-py keeps."""


def encode_headers(headers: Mapping[str, Any]) -> bytes:
    """The header block nats-py sends for ``headers`` (from ``NATS/1.0`` to the blank line).

    Raises ``nats.errors.BadHeaderError`` for a name nats-py refuses.
    """
    try:
        text = "".join([_prefixes[k] + v.strip() + "\r\n" for k, v in headers.items()])
    except KeyError:
        return _encode_slowly(headers)
    lines = len(headers)
    if text.count("\n") != lines or text.count("\r") != lines:
        # A value holds a line break, which nats-py turns into a blank.
        return _encode_slowly(headers)
    return _HEAD + text.encode() + _CRLF


def _encode_slowly(headers: Mapping[str, Any]) -> bytes:
    """nats-py's encoding (``Client._send_publish``), remembering the names it accepts."""
    hdr = bytearray(_HEAD)
    for k, v in headers.items():
        key = k.strip()
        if not key:
            continue
        if not nats_client._HEADER_KEY_RE.fullmatch(key):
            raise nats_errors.BadHeaderError(key)
        if key == k and len(_prefixes) < _CACHED_NAMES:
            _prefixes[k] = k + ": "
        hdr.extend(key.encode())
        hdr.extend(b": ")
        hdr.extend(v.strip().translate(nats_client._HEADER_VALUE_NEWLINES).encode())
        hdr.extend(_CRLF)
    hdr.extend(_CRLF)
    return bytes(hdr)


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """What nats-py's ``Client._parse_header_lines`` makes of a header block."""
    out: dict[str, str] = {}
    names = _names
    for line in raw.split(_CRLF):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = names.get(name)
        if key is None:
            key = _name_of(name)
            if key is None:
                continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def _name_of(name: bytes) -> str | None:
    """A received header name as nats-py decodes it, or ``None`` where nats-py skips the line."""
    try:
        key = name.strip().decode("ascii")
    except UnicodeDecodeError:
        return None
    if any(c.isspace() for c in key):
        return None
    if len(_names) < _CACHED_NAMES:
        _names[name] = key
    return key


InlineHandler = Callable[[bytes, bytes, dict[str, str] | None], None]
"""Takes a message's subject, payload and headers (``None`` if it has none) as received."""


SkipDelivery = Callable[[bytes, bytes, bytes], bool]
"""Takes a JetStream delivery's subject, reply subject (``$JS.ACK...``) and raw header block, as
received; ``True``: drop it."""

_JS_ACK: Final = b"$JS.ACK."
_validate_subject: Final = nats_client._validate_subject


class Client(nats_client.Client):
    """nats-py's client with :func:`encode_headers`, :func:`parse_header_lines`,
    :meth:`subscribe_inline` and :meth:`skip_deliveries`."""

    def __init__(self) -> None:
        super().__init__()
        self._inline: dict[int, InlineHandler] = {}
        # By subscription object, not id: an ordered consumer that resets moves to a new id.
        self._skips: weakref.WeakKeyDictionary[Subscription, SkipDelivery] = weakref.WeakKeyDictionary()

    def skip_deliveries(self, sub: Subscription, skip: SkipDelivery) -> None:
        """Drop the JetStream deliveries (data messages, never control messages) of push
        subscription ``sub`` that ``skip`` picks, as the read loop parses them: no headers
        parsed, no ``Msg`` built, queued or handed to the callback. nats-py's bookkeeping counts
        them as delivered (received count, an ordered consumer's sequences and its reset on a
        gap, flow control), so the consumer runs on as if the callback had ignored them.
        ``skip`` must not block; it lasts as long as the subscription.
        """
        self._skips[getattr(sub, "_sub", sub)] = skip  # a JetStream subscription wraps the client's

    async def subscribe_inline(self, subject: str, handler: InlineHandler) -> Subscription:
        """Subscribe with ``handler`` called from the read loop itself, as each message is parsed.

        For high-rate replies that only resolve a future (JetStream acknowledgements): nats-py
        would build a ``Msg`` for each, queue it and switch to the subscription's task to call
        an ``async`` callback. ``handler`` must not block; what it raises goes to the error
        callback. Unsubscribe as usual.
        """
        sub: Subscription = await self.subscribe(subject)
        self._inline[sub._id] = handler
        return sub

    def _remove_sub(self, sid: int, max_msgs: int = 0) -> None:
        self._inline.pop(sid, None)
        super()._remove_sub(sid, max_msgs)

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        handler = self._inline.get(sid)
        if handler is None:
            if self._skips and headers and reply.startswith(_JS_ACK):
                sub = self._subs.get(sid)
                skip = self._skips.get(sub) if sub is not None else None
                if sub is not None and skip is not None and skip(subject, reply, headers):
                    await self._skipped(sid, sub, reply, len(data))
                    return
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        self.stats["in_msgs"] += 1
        self.stats["in_bytes"] += len(data)
        try:
            handler(subject, data, await self._process_headers(headers) if headers else None)
        except Exception as exc:  # the read loop must go on
            await self._error_cb(exc)

    async def _skipped(self, sid: int, sub: Subscription, reply: bytes, size: int) -> None:
        """What nats-py's ``_process_msg`` does for a JetStream data message, short of handing it over."""
        self.stats["in_msgs"] += 1
        self.stats["in_bytes"] += size
        sub._received += 1
        if sub._max_msgs > 0 and sub._received >= sub._max_msgs:
            self._subs.pop(sid, None)
        jsi = sub._jsi
        if jsi is None:
            return
        jsi._active = True
        text = reply.decode()
        if jsi._ordered:
            tokens = Msg.Metadata._get_metadata_fields(text)
            sseq, dseq = int(tokens[5]), int(tokens[6])  # as nats-py reads them (no domain)
            if dseq != jsi._dseq:
                await jsi.reset_ordered_consumer(jsi._sseq + 1)
                return
            jsi._dseq = dseq + 1
            jsi._sseq = sseq
        jsi.track_sequences(text)

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        return parse_header_lines(raw)

    async def publish_headed(
        self, subject: str, payload: bytes, reply: str, headers: bytes | Mapping[str, Any]
    ) -> None:
        """nats-py's ``publish`` of a message with headers, in one call instead of four.

        ``headers`` may be the block :func:`encode_headers` makes of them, already encoded. The
        checks, their order, the errors, the statistics and the command sent are nats-py's.
        """
        if not self._skip_subject_validation:
            _validate_subject(subject)
            if reply:
                _validate_subject(reply)
        if self.is_closed:
            raise nats_errors.ConnectionClosedError
        if self.is_draining_pubs:
            raise nats_errors.ConnectionDrainingError
        payload_size = len(payload)
        if not self.is_connected and (
            self._max_pending_size <= 0 or payload_size + self._pending_data_size > self._max_pending_size
        ):
            raise nats_errors.OutboundBufferLimitError
        if payload_size > self._max_payload:
            raise nats_errors.MaxPayloadError
        if subject == "":
            raise nats_errors.BadSubjectError
        block = headers if isinstance(headers, bytes) else encode_headers(headers)
        size = len(block)
        command = f"HPUB {subject} {reply} {size} {size + payload_size}\r\n".encode() + block + payload + _CRLF
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += payload_size
        self._pending.append(command)
        self._pending_data_size += len(command)
        if self._max_pending_size > 0 and self._pending_data_size > self._max_pending_size:
            await self._flush_pending(force_flush=True)
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()

    async def _send_publish(
        self, subject: str, reply: str, payload: bytes, payload_size: int, headers: dict[str, Any] | None
    ) -> None:
        if headers is None:
            await super()._send_publish(subject, reply, payload, payload_size, headers)
            return
        if subject == "":
            raise nats_errors.BadSubjectError
        pub_cmd = command.hpub_cmd(subject, reply, encode_headers(headers), payload)
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += payload_size
        await self._send_command(pub_cmd)
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()
