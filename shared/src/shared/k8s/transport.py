"""The HTTP requests :mod:`shared.k8s.objects` makes, on an ``ApiClient``'s connection pool.

kubernetes_asyncio's session trusts the environment (``trust_env``): it honours
``HTTPS_PROXY``/``NO_PROXY`` and ``~/.netrc``, and aiohttp looks both up again on every
request, each in a worker thread (two thread round trips per call, most of a server-side
apply's CPU in the fleet service's profile). The environment does not change while a
service runs, so a :class:`Transport` looks them up once per API host and sends on a session
of its own over the ``ApiClient``'s connector: the same connection pool and TLS settings,
the same proxy, the same credentials, without the per-request look-ups. Credentials are
read per call, so refreshed tokens are used: through ``update_params_for_auth`` where a
refresh hook or a subclass may do more than kubernetes_asyncio's own bearer-token header,
which is otherwise added here without its three coroutines.

Where nothing stands between us and the API server (no proxy, no netrc credentials, ``http``
or ``https`` with the client's own TLS context, a plain ASCII path), requests go out on
keep-alive HTTP/1.1 connections of the transport's own (:mod:`shared.k8s.http1`) instead: a
request is one write of bytes prepared in one go, its answer parsed as it arrives. aiohttp's
general machinery per request (URL parsing and re-quoting, header multidicts, timer contexts,
payload objects, response streams) cost several times what the simulator needs to answer a
server-side apply. At most as many connections as the ``ApiClient``'s pool allows; they
close when the ``ApiClient`` does. Everything else takes aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import helpers
from kubernetes_asyncio import client
from yarl import URL

from shared.k8s import http1

_AUTH: Final = ["BearerToken"]
_READ_BUFSIZE: Final = 2**21
"""As kubernetes_asyncio's session: large objects exceed aiohttp's default read buffer."""


Answer = http1.Answer


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
        self._origin: http1.Origin | None = None
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
        configuration = api.configuration
        if not _bearer_token(api, configuration, sent):
            await api.update_params_for_auth(sent, params, _AUTH)
        host = str(configuration.host)
        url = f"{host}{path}"
        if params:
            url += "?" + _encoded(tuple(params))
        extra: dict[str, Any] = {}
        if rest.proxy:
            extra["proxy"] = rest.proxy
            if rest.proxy_headers:
                extra["proxy_headers"] = rest.proxy_headers
        else:
            env = self._environments.get(host) or await self._environment(host)
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

    def _origin_for(self, api: client.ApiClient, rest: Any) -> http1.Origin | None:
        """Our own connections to the API server, where they would do what aiohttp does."""
        connector = rest.pool_manager.connector
        if connector is None or connector.closed:
            return None  # aiohttp reports the closed client
        base = str(api.configuration.host)
        if self._origin is not None and self._origin.base == base and not self._origin.closed:
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
        self._origin = http1.Origin(
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


def _bearer_token(api: client.ApiClient, configuration: client.Configuration, headers: dict[str, str]) -> bool:
    """Whether ``update_params_for_auth`` would do no more than this, which it then need not
    (a coroutine and two more per call): kubernetes_asyncio's own classes, no refresh hook,
    the bearer token (if any) as the header it would add."""
    if configuration.refresh_api_key_hook is not None or not _stock_auth(type(api), type(configuration)):
        return False
    token = configuration.api_key.get("BearerToken")
    if not token:
        return "BearerToken" not in configuration.api_key  # an empty token goes its own way
    prefix = configuration.api_key_prefix.get("BearerToken")
    headers["authorization"] = f"{prefix} {token}" if prefix else token
    return True


def _stock_auth(api_type: type[client.ApiClient], configuration_type: type[client.Configuration]) -> bool:
    return (
        api_type.update_params_for_auth is client.ApiClient.update_params_for_auth
        and getattr(api_type, "_apply_auth_params", None) is getattr(client.ApiClient, "_apply_auth_params", None)
        and configuration_type.auth_settings is client.Configuration.auth_settings
        and configuration_type.get_api_key_with_prefix is client.Configuration.get_api_key_with_prefix
    )


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
