"""The HTTP requests :mod:`shared.k8s.objects` makes, on an ``ApiClient``'s connection pool.

kubernetes_asyncio's session trusts the environment (``trust_env``): it honours
``HTTPS_PROXY``/``NO_PROXY`` and ``~/.netrc``, and aiohttp looks both up again on every
request, each in a worker thread (two thread round trips per call, most of a server-side
apply's CPU in the fleet service's profile). The environment does not change while a
service runs, so a :class:`Transport` looks them up once per API host and sends on a session
of its own over the ``ApiClient``'s connector: the same connection pool and TLS settings,
the same proxy, the same credentials (``update_params_for_auth`` still runs per call, so
refreshed tokens are used), without the per-request look-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp import helpers
from kubernetes_asyncio import client
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
        if rest.server_hostname:
            extra["server_hostname"] = rest.server_hostname
        async with self._session_for(rest).request(
            method, url, headers=sent, data=body, timeout=limits, **extra
        ) as response:
            data = await response.read()
            return Answer(response.status, str(response.reason or ""), response.headers, data)

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
