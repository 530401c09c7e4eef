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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from nats import errors as nats_errors
from nats.aio import client as nats_client
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


class Client(nats_client.Client):
    """nats-py's client with :func:`encode_headers`, :func:`parse_header_lines` and
    :meth:`subscribe_inline`."""

    def __init__(self) -> None:
        super().__init__()
        self._inline: dict[int, InlineHandler] = {}

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
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        self.stats["in_msgs"] += 1
        self.stats["in_bytes"] += len(data)
        try:
            handler(subject, data, await self._process_headers(headers) if headers else None)
        except Exception as exc:  # the read loop must go on
            await self._error_cb(exc)

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        return parse_header_lines(raw)

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
