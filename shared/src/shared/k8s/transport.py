"""The HTTP requests :mod:`shared.k8s.objects` makes, on an ``ApiClient``'s connection pool.

kubernetes_asyncio's session trusts the environment (``trust_env``): it honours
``HTTPS_PROXY``/``NO_PROXY`` and ``~/.netrc``, and aiohttp looks both up again on every
request, each in a worker thread (two thread round trips per call, most of a server-side
apply's CPU in the fleet service's profile). The environment does not change while a
service runs, so a :class:`Transport` looks them up once per API host and sends on a session
of its own over the ``ApiClient``'s connector: the same connection pool and TLS settings,
the same proxy, the same credentials (``update_params_for_auth`` still runs per call, so
refreshed tokens are used), without the per-request look-ups.

Where nothing stands between us and the API server (no proxy, no netrc credentials, ``http``
or ``https`` with the client's own TLS context, a plain ASCII path), requests go out on
keep-alive HTTP/1.1 connections of the transport's own (:class:`_Origin`) instead: a request
is one write of bytes prepared in one go and an answer one read of its head and one of its
body. aiohttp's general machinery per request (URL parsing and re-quoting, header
multidicts, timer contexts, payload objects, response streams) cost several times what the
simulator needs to answer a server-side apply. At most as many connections as the
``ApiClient``'s pool allows; they close when the ``ApiClient`` does. Everything else takes
aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import helpers
from kubernetes_asyncio import client
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

_AUTH: Final = ["BearerToken"]
_READ_BUFSIZE: Final = 2**21
"""As kubernetes_asyncio's session: large objects exceed aiohttp's default read buffer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    headers: Any
    """The response headers (aiohttp's case-insensitive multidict)."""
    body: bytes


@dataclass(frozen=True, slots=True)
class _Environment:
    """What ``trust_env`` would add to a request to one origin."""

    proxy: URL | None = None
    proxy_auth: aiohttp.BasicAuth | None = None
    netrc_auth: aiohttp.BasicAuth | None = None


def _environment(url: URL) -> _Environment:
    """The environment's proxy and netrc credentials for ``url`` (blocking: reads files)."""
    proxy: URL | None = None
    proxy_auth: aiohttp.BasicAuth | None = None
    with contextlib.suppress(LookupError):
        proxy, proxy_auth = helpers.get_env_proxy_for_url(url)
    netrc_auth: aiohttp.BasicAuth | None = None
    if url.host is not None:
        with contextlib.suppress(LookupError):
            netrc_auth = helpers.basicauth_from_netrc(helpers.netrc_from_env(), url.host)
    return _Environment(proxy, proxy_auth, netrc_auth)


class Transport:
    """Requests through one ``ApiClient``: its host, credentials, proxy and connection pool."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api
        self._session: aiohttp.ClientSession | None = None
        self._environments: dict[str, _Environment] = {}
        self._origin: _Origin | None = None
        self._closing_hooked = False

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str],
        body: bytes | None = None,
        limits: aiohttp.ClientTimeout,
    ) -> Answer:
        """One request; the answer whatever its status. Raises aiohttp's and asyncio's errors."""
        api = self._api
        rest = api.rest_client
        sent = {**headers, **api.default_headers}
        if api.cookie:
            sent["Cookie"] = api.cookie
        params = list(query)
        await api.update_params_for_auth(sent, params, _AUTH)
        url = f"{api.configuration.host}{path}"
        if params:
            url += "?" + _encoded(tuple(params))
        extra: dict[str, Any] = {}
        if rest.proxy:
            extra["proxy"] = rest.proxy
            if rest.proxy_headers:
                extra["proxy_headers"] = rest.proxy_headers
        else:
            env = await self._environment(str(api.configuration.host))
            if env.proxy is not None:
                extra["proxy"], extra["proxy_auth"] = env.proxy, env.proxy_auth
            if env.netrc_auth is not None and "Authorization" not in sent:
                extra["auth"] = env.netrc_auth
        if not extra:
            origin = self._origin_for(api, rest)
            if origin is not None:
                target = origin.prefix + url[len(origin.base) :]
                if target.isascii() and target.isprintable() and " " not in target and "#" not in target:
                    return await origin.request(method, target, sent, body, timeout_seconds=limits.total)
        if rest.server_hostname:
            extra["server_hostname"] = rest.server_hostname
        async with self._session_for(rest).request(
            method, url, headers=sent, data=body, timeout=limits, **extra
        ) as response:
            data = await response.read()
            return Answer(response.status, str(response.reason or ""), response.headers, data)

    def _origin_for(self, api: client.ApiClient, rest: Any) -> _Origin | None:
        """Our own connections to the API server, where they would do what aiohttp does."""
        connector = rest.pool_manager.connector
        if connector is None or connector.closed:
            return None  # aiohttp reports the closed client
        base = str(api.configuration.host)
        if self._origin is not None and self._origin.base == base:
            return self._origin
        parts = urlsplit(base)
        tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            tls = getattr(connector, "_ssl", None)
            if not isinstance(tls, ssl.SSLContext):
                return None
        elif parts.scheme != "http":
            return None
        if parts.hostname is None or "@" in parts.netloc or parts.query or parts.fragment:
            return None
        if self._origin is not None:
            self._origin.close()
        self._origin = _Origin(
            base=base,
            host=parts.hostname,
            port=parts.port or (443 if tls else 80),
            netloc=parts.netloc,
            prefix=parts.path.rstrip("/"),
            tls=tls,
            server_hostname=rest.server_hostname or None,
            limit=int(getattr(connector, "limit", 0) or 100),
        )
        if not self._closing_hooked:
            self._closing_hooked = True
            close = rest.close

            async def close_all() -> None:
                if self._origin is not None:
                    self._origin.close()
                await close()

            rest.close = close_all
        return self._origin

    def _session_for(self, rest: Any) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=rest.pool_manager.connector,
                connector_owner=False,  # the ApiClient's own session closes it
                trust_env=False,
                read_bufsize=_READ_BUFSIZE,
            )
        return self._session

    async def _environment(self, host: str) -> _Environment:
        """By the configuration's host (its origin decides proxy and netrc), parsed only once."""
        found = self._environments.get(host)
        if found is None:
            found = self._environments[host] = await asyncio.to_thread(_environment, URL(host))
        return found


class _Origin:
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
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)
        self._open: set[asyncio.StreamWriter] = set()

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
        head = _head(method, target, self._host_line, headers, body)
        async with self._slots, asyncio.timeout(timeout_seconds):
            while True:
                reader, writer, reused = await self._connection()
                try:
                    writer.write(head + body if body else head)
                    try:
                        answer_head = await reader.readuntil(b"\r\n\r\n")
                    except (OSError, asyncio.IncompleteReadError) as exc:
                        nothing = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                        if reused and nothing:
                            self._discard(writer)
                            continue  # the server had closed this idle connection: a new one
                        raise
                    answer, keep = await _answer(reader, answer_head, method)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    self._discard(writer)
                    raise aiohttp.ClientConnectionError(f"{self.base}: {exc!r}") from exc
                except BaseException:
                    self._discard(writer)
                    raise
                if keep:
                    self._idle.append((reader, writer))
                else:
                    self._discard(writer)
                return answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            self._discard(writer)
        try:
            reader, writer = await asyncio.open_connection(
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._server_hostname if self._tls else None,
                limit=_READ_BUFSIZE,
            )
        except OSError as exc:
            raise aiohttp.ClientConnectionError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        self._open.add(writer)
        return reader, writer, False

    def _discard(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    def close(self) -> None:
        """Close every connection (the ``ApiClient`` is closing)."""
        self._idle.clear()
        for writer in list(self._open):
            self._discard(writer)


def _head(method: str, target: str, host_line: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\n", host_line]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    if body is not None or method in ("PATCH", "POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


async def _answer(reader: asyncio.StreamReader, head: bytes, method: str) -> tuple[Answer, bool]:
    """The answer whose head was read; and whether the connection can be used again."""
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    status = int(code)
    if not version.startswith("HTTP/1.") or status < 200:
        raise ValueError(f"unexpected status line {status_line[:80]!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line[:80]!r}")
        headers.add(name.strip(), value.strip())
    connection = headers.get("Connection", "").lower()
    keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("Transfer-Encoding", "").lower():
        body = await _chunked(reader)
    elif "Content-Length" in headers:
        body = await reader.readexactly(int(headers["Content-Length"]))
    else:
        body, keep = await reader.read(), False  # delimited by the server closing
    encoding = headers.get("Content-Encoding", "identity").lower()
    if encoding in ("gzip", "deflate"):
        body = zlib.decompress(body, zlib.MAX_WBITS | 32)  # either framing, as aiohttp accepts
    elif encoding != "identity":
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    return Answer(status, reason, CIMultiDictProxy(headers), body), keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


@functools.lru_cache(maxsize=256)
def _encoded(query: tuple[tuple[str, str], ...]) -> str:
    """The query string (the same few for every apply: field manager, force)."""
    return urlencode(query)


_TRANSPORTS: weakref.WeakKeyDictionary[client.ApiClient, Transport] = weakref.WeakKeyDictionary()


def for_api(api: client.ApiClient) -> Transport:
    """The one :class:`Transport` of ``api`` (made on first use, gone with ``api``)."""
    found = _TRANSPORTS.get(api)
    if found is None:
        found = _TRANSPORTS[api] = Transport(api)
    return found
