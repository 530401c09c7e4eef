"""The transport's own HTTP/1.1 connections: framing, keep-alive, closed idle connections, fallbacks,
and TLS as an API server speaks it (private CA, client certificate, ``tls-server-name``)."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from kubernetes_asyncio import client

from shared.k8s import transport

LIMITS = aiohttp.ClientTimeout(total=5)


@dataclass
class Server:
    """Answers each request with the next canned answer; records what it received."""

    answers: list[bytes]
    close_after: set[int] = field(default_factory=set)
    """Answer numbers after which the server closes the connection."""
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
                length = int(lengths[0].split(b":")[1]) if lengths else 0
                self.requests.append(head + await reader.readexactly(length))
                number = len(self.requests) - 1
                writer.write(self.answers[number])
                await writer.drain()
                if number in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serving() -> AsyncIterator[Callable[[Server], asyncio.Future[client.ApiClient]]]:
    servers: list[asyncio.Server] = []
    apis: list[client.ApiClient] = []

    async def start(server: Server) -> client.ApiClient:
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        configuration = client.Configuration(host=f"http://127.0.0.1:{port}/prefix")
        api = client.ApiClient(configuration=configuration)
        apis.append(api)
        return api

    yield start  # type: ignore[misc]
    for api in apis:
        await api.close()
    for listening in servers:
        listening.close()
        await listening.wait_closed()


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Content-Type: application/json", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def get(api: client.ApiClient, path: str = "/api/v1/namespaces") -> transport.Answer:
    return await transport.for_api(api).request(
        "GET", path, query=[("limit", "1")], headers={"Accept": "application/json"}, limits=LIMITS
    )


async def test_keep_alive_reuses_one_connection(serving: Callable[[Server], asyncio.Future[client.ApiClient]]) -> None:
    server = Server([ok(b'{"a": 1}'), ok(b'{"a": 2}', "X-Thing: yes")])
    api = await serving(server)
    first, second = await get(api), await get(api)
    assert (first.status, first.body) == (200, b'{"a": 1}')
    assert second.headers["x-thing"] == "yes"
    assert server.connections == 1
    request_line, *lines = server.requests[0].split(b"\r\n")
    assert request_line == b"GET /prefix/api/v1/namespaces?limit=1 HTTP/1.1"
    assert b"Accept: application/json" in lines
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)


async def test_chunked_gzip_and_error_answers(serving: Callable[[Server], asyncio.Future[client.ApiClient]]) -> None:
    packed = gzip.compress(b'{"kind": "Status"}')
    chunked = (
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + f"{len(packed[:5]):x}\r\n".encode()
        + packed[:5]
        + b"\r\n"
        + f"{len(packed[5:]):x};ext=1\r\n".encode()
        + packed[5:]
        + b"\r\n0\r\n\r\n"
    )
    server = Server([chunked, ok(b"{}")])
    api = await serving(server)
    answer = await get(api)
    assert (answer.status, answer.reason, answer.body) == (404, "Not Found", b'{"kind": "Status"}')
    assert (await get(api)).body == b"{}"
    assert server.connections == 1


async def test_a_closed_connection_is_replaced(serving: Callable[[Server], asyncio.Future[client.ApiClient]]) -> None:
    """``Connection: close`` and a server that drops an idle connection both lead to a new one."""
    server = Server(
        [ok(b"1", "Connection: close"), ok(b"2"), ok(b"3"), b"HTTP/1.0 200 OK\r\n\r\nuntil-close"],
        close_after={1, 3},
    )
    api = await serving(server)
    assert (await get(api)).body == b"1"
    assert (await get(api)).body == b"2"
    await asyncio.sleep(0.05)  # the server has closed the idle connection by now
    assert (await get(api)).body == b"3"
    assert (await get(api)).body == b"until-close"
    assert server.connections == 3
    assert len(server.requests) == 4


async def test_unreachable_is_a_client_error(serving: Callable[[Server], asyncio.Future[client.ApiClient]]) -> None:
    api = client.ApiClient(configuration=client.Configuration(host="http://127.0.0.1:9"))
    try:
        with pytest.raises(aiohttp.ClientError):
            await get(api)
    finally:
        await api.close()


async def test_a_proxy_goes_through_aiohttp(serving: Callable[[Server], asyncio.Future[client.ApiClient]]) -> None:
    """A configured proxy is aiohttp's business: the request goes to the proxy, not the host."""
    proxy = Server([ok(b"via proxy")])
    proxied = await serving(proxy)
    port = proxied.configuration.host.split(":")[2].split("/")[0]
    configuration = client.Configuration(host="http://example.invalid")
    configuration.proxy = f"http://127.0.0.1:{port}"
    api = client.ApiClient(configuration=configuration)
    try:
        answer = await get(api)
    finally:
        await api.close()
    assert answer.body == b"via proxy"
    assert proxy.requests[0].startswith(b"GET http://example.invalid/api/v1/namespaces?limit=1 HTTP/1.1")


# --- TLS, as a real API server speaks it: a private CA, client certificates, tls-server-name ----


@dataclass(frozen=True)
class Pki:
    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate valid only for ``kube.test`` and a client certificate (the
    ``kubernetes-admin`` kind a kubeconfig carries), made with the ``openssl`` CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=kurator-test-ca", cwd=d)  # fmt: skip
    for name, subject, ext in (
        ("server", "/CN=kube-apiserver", "subjectAltName=DNS:kube.test\nextendedKeyUsage=serverAuth"),
        ("client", "/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subject, cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)  # fmt: skip
    return Pki(*(str(d / f) for f in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")))


@pytest.fixture
async def tls_listening(pki: Pki) -> AsyncIterator[tuple[Server, int]]:
    """A server that, like kube-apiserver with ``--client-ca-file``, requires a client certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.ca)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    server = Server([ok(b'{"n": 1}'), ok(b'{"n": 2}')])
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server, listening.sockets[0].getsockname()[1]
    finally:
        listening.close()
        await listening.wait_closed()


def tls_client(
    port: int, pki: Pki, *, server_name: str | None = "kube.test", client_cert: bool = True
) -> client.ApiClient:
    configuration = client.Configuration(host=f"https://127.0.0.1:{port}")
    configuration.ssl_ca_cert = pki.ca
    configuration.tls_server_name = server_name
    if client_cert:
        configuration.cert_file, configuration.key_file = pki.client_cert, pki.client_key
    return client.ApiClient(configuration=configuration)


async def test_tls_with_a_client_certificate_and_tls_server_name_keeps_one_connection(
    tls_listening: tuple[Server, int], pki: Pki
) -> None:
    server, port = tls_listening
    api = tls_client(port, pki)
    try:
        first, second = await get(api), await get(api)
        own = transport.for_api(api)._origin_for(api, api.rest_client)
    finally:
        await api.close()
    assert (first.body, second.body) == (b'{"n": 1}', b'{"n": 2}')
    assert own is not None  # the transport's own connections carried it, not aiohttp
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /api/v1/namespaces?limit=1 HTTP/1.1")


@pytest.mark.parametrize(
    ("server_name", "client_cert", "says"),
    [
        pytest.param(None, True, "not valid for '127.0.0.1'", id="certificate-not-for-the-address"),
        pytest.param("other.test", True, "not valid for 'other.test'", id="certificate-not-for-the-server-name"),
        # TLS 1.3: the server refuses after the handshake, so the client only sees the connection end.
        pytest.param("kube.test", False, "", id="no-client-certificate"),
    ],
)
async def test_tls_that_must_fail_fails_as_a_client_error(
    tls_listening: tuple[Server, int], pki: Pki, server_name: str | None, client_cert: bool, says: str
) -> None:
    server, port = tls_listening
    api = tls_client(port, pki, server_name=server_name, client_cert=client_cert)
    try:
        with pytest.raises(aiohttp.ClientConnectionError) as caught:
            await get(api)
    finally:
        await api.close()
    assert says in str(caught.value)
    assert server.requests == []


# --- the request path's own bookkeeping: credentials, deadlines, the connection limit, framing -----


async def test_a_bearer_token_is_sent_as_the_client_would_send_it(
    serving: Callable[[Server], asyncio.Future[client.ApiClient]],
) -> None:
    """Without a refresh hook the header is made here; with one, kubernetes_asyncio's own path
    runs (the hook sees every call) and the refreshed token is sent."""
    server = Server([ok(b"{}"), ok(b"{}"), ok(b"{}")])
    api = await serving(server)
    api.configuration.api_key["BearerToken"] = "first"
    api.configuration.api_key_prefix["BearerToken"] = "Bearer"
    await get(api)
    refreshed: list[str] = []

    def refresh(configuration: client.Configuration) -> None:
        refreshed.append("called")
        configuration.api_key["BearerToken"] = f"refreshed-{len(refreshed)}"

    api.configuration.refresh_api_key_hook = refresh
    await get(api)
    await get(api)
    tokens = [
        line for request in server.requests for line in request.split(b"\r\n") if line.startswith(b"authorization")
    ]
    assert tokens == [
        b"authorization: Bearer first",
        b"authorization: Bearer refreshed-1",
        b"authorization: Bearer refreshed-2",
    ]


async def test_no_answer_in_time_is_a_timeout_and_the_connection_is_not_used_again(
    serving: Callable[[Server], asyncio.Future[client.ApiClient]],
) -> None:
    """The second request gets no answer; the third goes out on a new connection (the old one may
    still carry the late answer)."""
    server = Server([ok(b"1"), b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nla", ok(b"3")])
    api = await serving(server)
    assert (await get(api)).body == b"1"
    with pytest.raises(TimeoutError):
        await transport.for_api(api).request("GET", "/slow", headers={}, limits=aiohttp.ClientTimeout(total=0.2))
    assert (await get(api)).body == b"3"
    assert server.connections == 2


async def test_requests_beyond_the_pool_limit_wait_their_turn(
    serving: Callable[[Server], asyncio.Future[client.ApiClient]],
) -> None:
    """With a pool of one, concurrent requests take one connection in turn, and one that gives up
    while waiting (cancelled) holds nobody up."""
    server = Server([ok(str(n).encode()) for n in range(4)])
    listening = await serving(server)
    configuration = client.Configuration(host=listening.configuration.host)
    configuration.connection_pool_maxsize = 1
    api = client.ApiClient(configuration=configuration)
    try:
        first = asyncio.ensure_future(get(api))
        given_up = asyncio.ensure_future(get(api))
        rest = [asyncio.ensure_future(get(api)) for _ in range(3)]
        await asyncio.sleep(0)
        given_up.cancel()
        answers = [await first, *await asyncio.gather(*rest)]
    finally:
        await api.close()
    assert sorted(a.body for a in answers) == [b"0", b"1", b"2", b"3"]
    assert server.connections == 1
    assert given_up.cancelled()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n12", id="more-than-its-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 1\r\n\r\n1", id="a-header-line-without-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n1", id="a-length-that-is-no-number"),
        pytest.param(b"SMTP ready\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", id="closed-before-the-end"),
    ],
)
async def test_answers_that_are_not_http_fail_as_a_client_error(
    serving: Callable[[Server], asyncio.Future[client.ApiClient]], answer: bytes
) -> None:
    server = Server([answer, ok(b"next")], close_after={0})
    api = await serving(server)
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(api)
    assert (await get(api)).body == b"next"  # on a new connection
    assert server.connections == 2


async def test_headers_are_read_as_aiohttp_reads_them(
    serving: Callable[[Server], asyncio.Future[client.ApiClient]],
) -> None:
    server = Server([ok(b"{}", "X-Many: a", "x-many:  b ", 'Warning: 299 - "deprecated: yes"')])
    api = await serving(server)
    answer = await get(api)
    assert answer.headers.getall("X-Many") == ["a", "b"]
    assert answer.headers["warning"] == '299 - "deprecated: yes"'
    assert answer.headers["content-length"] == "2"
