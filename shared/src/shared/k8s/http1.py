"""Keep-alive HTTP/1.1 connections to one API server, for :mod:`shared.k8s.transport`.

A connection is an ``asyncio.Protocol`` that parses its answer as the bytes arrive and
completes one future with it: no stream reader between the socket and the parse (each of its
``readuntil``/``readexactly`` calls is a wait of its own), no timeout context (a timer on the
answer's future), no semaphore while a connection is free. A request is one write of bytes
prepared in one go. Only the few response headers the framing needs are read on the way; the
others are parsed when someone asks for them (an error's details).

Errors are aiohttp's, as the transport's aiohttp path raises them: ``ClientConnectionError``
when the server cannot be reached, breaks the connection or answers what is not HTTP/1.x;
``TimeoutError`` when the whole request (waiting for a connection included) takes too long.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import ssl
import zlib
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

HEAD_LIMIT: Final = 2**21
"""Most bytes a response head may take (as kubernetes_asyncio's read buffer)."""

_HEADER_BLOCK: Final = re.compile(rb"(?:[^\r\n:]+:[^\r\n]*\r\n)*")
"""Header lines (each ends ``\\r\\n``); anything else in a head is malformed."""
_FIELDS: Final = re.compile(rb"\r\n(content-length|transfer-encoding|connection|content-encoding):[ \t]*([^\r\n]*)")


class Answer:
    """One response: status, reason, body (decoded from its transfer and content codings), and
    its headers (aiohttp's case-insensitive multidict, parsed when first asked for)."""

    __slots__ = ("_headers", "_raw", "body", "reason", "status")

    def __init__(self, status: int, reason: str, headers: Any, body: bytes, *, raw_headers: bytes = b"") -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self._headers = headers
        self._raw = raw_headers

    @property
    def headers(self) -> Any:
        if self._headers is None:
            parsed: CIMultiDict[str] = CIMultiDict()
            for line in self._raw.decode("latin-1").split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    parsed.add(name.strip(), value.strip())
            self._headers = CIMultiDictProxy(parsed)
        return self._headers

    def __repr__(self) -> str:
        return f"Answer(status={self.status}, reason={self.reason!r}, body={self.body[:80]!r})"


class _ClosedError(ConnectionError):
    """The connection ended before the answer was complete; ``nothing`` if before its first byte."""

    def __init__(self, message: str, *, nothing: bool) -> None:
        super().__init__(message)
        self.nothing = nothing


class _Connection(asyncio.Protocol):
    """One connection: a request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[Answer, bool]] | None = None
        self._method = ""
        # The answer's head, once read: status, reason, raw header lines, keep-alive, framing.
        self._status = 0
        self._reason = ""
        self._raw = b""
        self._keep = True
        self._length = -1  # body length, -1 when chunked or delimited by the close
        self._chunked = False
        self._chunks: _Chunks | None = None
        self._encoding = b""
        self._headed = False

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._abort()  # bytes nobody asked for: this connection cannot be trusted
            return
        self._buffer += data
        try:
            self._parse(eof=False)
        except (ValueError, zlib.error) as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self._ended()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)

    # --- the request ----------------------------------------------------------------------

    def send(self, method: str, data: bytes) -> asyncio.Future[tuple[Answer, bool]]:
        """Write one request; the future gets its answer and whether the connection can be used again."""
        assert self.transport is not None
        waiter: asyncio.Future[tuple[Answer, bool]] = asyncio.get_running_loop().create_future()
        self._waiter, self._method, self._headed = waiter, method, False
        self._buffer.clear()
        self.transport.write(data)
        return waiter

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _ended(self, exc: Exception | None = None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headed and not self._chunked and self._length < 0:
            try:
                self._parse(eof=True)  # the body is what came before the close
            except (ValueError, zlib.error) as failed:
                self._fail(failed)
            return
        nothing = not self._headed and not self._buffer
        message = f"the connection ended before the answer was complete: {exc or 'closed'}"
        closed = _ClosedError(message, nothing=nothing)
        closed.__cause__ = exc
        waiter.set_exception(closed)

    def _fail(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self._abort()

    def _parse(self, *, eof: bool) -> None:
        buffer = self._buffer
        if not self._headed:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > HEAD_LIMIT:
                    raise ValueError(f"the answer's head is longer than {HEAD_LIMIT} bytes")
                return
            self._read_head(bytes(buffer[: end + 2]))
            del buffer[: end + 4]
        if self._method == "HEAD" or self._status in (204, 304):
            body = b""
        elif self._chunks is not None:
            found = self._chunks.body(buffer)
            if found is None:
                return
            body = found
        elif self._length >= 0:
            if len(buffer) < self._length:
                return
            if len(buffer) > self._length:
                raise ValueError("the server sent more than the answer's Content-Length")
            body = bytes(buffer)
        elif eof:
            body = bytes(buffer)
        else:
            return
        buffer.clear()
        encoding = self._encoding
        if encoding in (b"gzip", b"deflate"):
            body = zlib.decompress(body, zlib.MAX_WBITS | 32)  # either framing, as aiohttp accepts
        elif encoding not in (b"", b"identity"):
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        waiter = self._waiter
        assert waiter is not None
        self._waiter = None
        waiter.set_result((Answer(self._status, self._reason, None, body, raw_headers=self._raw), self._keep))

    def _read_head(self, head: bytes) -> None:
        """The status line and the headers that frame the body (``head`` ends with ``\\r\\n``)."""
        line_end = head.index(b"\r\n")
        status_line = head[:line_end].decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not code.isdigit() or int(code) < 200:
            raise ValueError(f"unexpected status line {status_line[:80]!r}")
        raw = head[line_end + 2 :]
        if _HEADER_BLOCK.fullmatch(raw) is None:
            raise ValueError(f"malformed header lines {raw[:80]!r}")
        fields: dict[bytes, bytes] = {}
        for name, value in _FIELDS.findall(b"\r\n" + raw.lower()):
            value = value.rstrip(b" \t")
            fields[name] = fields[name] + b", " + value if name in fields else value
        connection = fields.get(b"connection", b"")
        self._keep = b"keep-alive" in connection if version == "HTTP/1.0" else b"close" not in connection
        self._status, self._reason, self._raw = int(code), reason, raw
        self._chunked = b"chunked" in fields.get(b"transfer-encoding", b"")
        self._chunks = _Chunks() if self._chunked else None
        length = fields.get(b"content-length")
        if self._chunked or length is None:
            self._length = -1
            if not self._chunked:
                self._keep = self._keep and (self._method == "HEAD" or self._status in (204, 304))
        elif length.isdigit():
            self._length = int(length)
        else:
            raise ValueError(f"invalid Content-Length {length[:40]!r}")
        self._encoding = fields.get(b"content-encoding", b"identity").strip()
        self._headed = True


class _Chunks:
    """The body of a chunked answer, read as its bytes arrive: each call goes on from the
    first chunk (or trailer line) it could not finish, so a body that comes in many reads is
    scanned once, not once per read."""

    __slots__ = ("at", "parts", "trailers")

    def __init__(self) -> None:
        self.at = 0  # where the first unfinished chunk's size line (or trailer line) starts
        self.parts: list[bytes] = []
        self.trailers = False

    def body(self, buffer: bytearray) -> bytes | None:
        """The whole body once ``buffer`` holds the complete message (trailers included), else ``None``."""
        at = self.at
        while not self.trailers:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                break
            size = int(bytes(buffer[at:line_end]).split(b";", 1)[0].strip(), 16)
            if size == 0:
                at, self.trailers = line_end + 2, True
                break
            start = line_end + 2
            if len(buffer) < start + size + 2:
                break
            if buffer[start + size : start + size + 2] != b"\r\n":
                raise ValueError("a chunk does not end with CRLF")
            self.parts.append(bytes(buffer[start : start + size]))
            at = start + size + 2
        while self.trailers:  # trailer fields, up to an empty line
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                break
            if line_end == at:
                if line_end + 2 != len(buffer):
                    raise ValueError("the server sent more than the chunked answer")
                return b"".join(self.parts)
            at = line_end + 2
        self.at = at
        return None


class Origin:
    """Keep-alive HTTP/1.1 connections to the API server, ``limit`` at most."""

    def __init__(
        self,
        *,
        base: str,
        host: str,
        port: int,
        netloc: str,
        prefix: str,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
        limit: int,
    ) -> None:
        self.base = base
        """The configured host URL, which request URLs start with."""
        self.prefix = prefix
        """Its path (a cluster proxy's, say), which request targets start with."""
        self._host, self._port, self._tls, self._server_hostname = host, port, tls, server_hostname
        self._host_line = f"Host: {netloc}\r\n"
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._limit = limit
        self._busy = 0
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        timeout_seconds: float | None,
    ) -> Answer:
        """One request and its answer, on an idle connection or a new one.

        Raises ``aiohttp.ClientConnectionError`` (as aiohttp would) when the server cannot be
        reached or breaks the connection, ``TimeoutError`` after ``timeout_seconds``.
        """
        data = head(method, target, self._host_line, headers, body)
        if body:
            data += body
        loop = asyncio.get_running_loop()
        deadline = None if timeout_seconds is None else loop.time() + timeout_seconds
        if self._busy < self._limit and not self._queue:
            self._busy += 1
        else:
            await self._turn(deadline)
        try:
            while True:
                connection, reused = await self._connection(deadline)
                waiter = connection.send(method, data)
                timer = None if deadline is None else loop.call_at(deadline, _expire, waiter)
                try:
                    answer, keep = await waiter
                except _ClosedError as exc:
                    self._discard(connection)
                    if reused and exc.nothing:
                        continue  # the server had closed this idle connection: a new one
                    raise aiohttp.ClientConnectionError(f"{self.base}: {exc!r}") from exc
                except TimeoutError:
                    self._discard(connection)  # in the middle of an answer
                    raise
                except (OSError, ValueError, zlib.error) as exc:
                    self._discard(connection)
                    raise aiohttp.ClientConnectionError(f"{self.base}: {exc!r}") from exc
                except BaseException:
                    self._discard(connection)  # cancelled or timed out in the middle of an answer
                    raise
                finally:
                    if timer is not None:
                        timer.cancel()
                if keep and connection.usable() and not self._closed:
                    self._idle.append(connection)
                else:
                    self._discard(connection)
                return answer
        finally:
            self._release()

    async def _turn(self, deadline: float | None) -> None:
        """Until a request ends and hands this one its place (in order of arrival)."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            async with asyncio.timeout_at(deadline):
                await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # handed the place, but leaving: the next one takes it
            else:
                turn.cancel()
                with contextlib.suppress(ValueError):  # (a release may have dropped it already)
                    self._queue.remove(turn)
            raise

    def _release(self) -> None:
        """A request ends: its place goes to the first one waiting, if any."""
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._busy -= 1

    async def _connection(self, deadline: float | None) -> tuple[_Connection, bool]:
        if self._closed:
            raise aiohttp.ClientConnectionError(f"{self.base}: the client is closed")
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection, True
            self._discard(connection)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._server_hostname if self._tls else None,
                )
        except TimeoutError:
            raise
        except OSError as exc:
            raise aiohttp.ClientConnectionError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        if self._closed:  # closed while connecting: nobody would close this one
            connection.close()
            raise aiohttp.ClientConnectionError(f"{self.base}: the client is closed")
        self._open.add(connection)
        return connection, False

    def _discard(self, connection: _Connection) -> None:
        self._open.discard(connection)
        connection.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close every connection (the ``ApiClient`` is closing); later requests fail."""
        self._closed = True
        self._idle.clear()
        for connection in list(self._open):
            self._discard(connection)


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def head(method: str, target: str, host_line: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """The request line and headers, ending with the empty line."""
    lines = [f"{method} {target} HTTP/1.1\r\n", host_line]
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n")
    if body is not None or method in ("PATCH", "POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}\r\n")
    lines.append("\r\n")
    text = "".join(lines)
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise ValueError(f"a header holds a line break: {text[:200]!r}")
    return text.encode("latin-1")
