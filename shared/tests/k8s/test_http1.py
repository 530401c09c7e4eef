"""The chunked body reader of the transport's own HTTP/1.1 connections (``shared.k8s.http1``)."""

from __future__ import annotations

import random

import aiohttp
import pytest

from shared.k8s import http1


def _chunked(parts: list[bytes], *, trailers: bytes = b"") -> bytes:
    encoded = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts)
    return encoded + b"0\r\n" + trailers + b"\r\n"


@pytest.mark.parametrize("trailers", [b"", b"X-Checksum: abc\r\nX-Other: 1\r\n"])
def test_a_body_read_in_pieces_is_the_whole_body_once_complete(trailers: bytes) -> None:
    rng = random.Random(7)
    parts = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(40)]
    message = _chunked(parts, trailers=trailers)
    for _ in range(20):
        chunks, buffer = http1._Chunks(), bytearray()
        at = 0
        while at < len(message):
            step = rng.randrange(1, 64)
            buffer += message[at : at + step]
            at += step
            body = chunks.body(buffer)
            assert (body is not None) == (at >= len(message))
        assert body == b"".join(parts)


def test_each_read_goes_on_from_the_first_unfinished_chunk() -> None:
    """A body arriving in many reads is scanned once: finished chunks are not read again."""
    chunks, buffer = http1._Chunks(), bytearray()
    buffer += b"3\r\nabc\r\n4\r\nde"
    assert chunks.body(buffer) is None
    assert (chunks.at, chunks.parts) == (8, [b"abc"])  # the second chunk's size line starts at 8
    buffer += b"fg\r\n"
    assert chunks.body(buffer) is None
    assert (chunks.at, chunks.parts) == (17, [b"abc", b"defg"])
    buffer += b"0\r\n\r\n"
    assert chunks.body(buffer) == b"abcdefg"


def test_bytes_after_the_last_chunk_or_a_chunk_without_crlf_are_refused() -> None:
    with pytest.raises(ValueError, match="more than the chunked answer"):
        http1._Chunks().body(bytearray(_chunked([b"abc"]) + b"extra"))
    with pytest.raises(ValueError, match="does not end with CRLF"):
        http1._Chunks().body(bytearray(b"3\r\nabcXY0\r\n\r\n"))


async def test_a_closed_origin_opens_no_connection_and_the_transport_makes_a_new_one() -> None:
    """A request still running when the client closes must not leave a connection nobody closes."""
    origin = http1.Origin(
        base="http://127.0.0.1:1",
        host="127.0.0.1",
        port=1,
        netloc="127.0.0.1:1",
        prefix="",
        tls=None,
        server_hostname=None,
        limit=4,
    )
    origin.close()
    assert origin.closed
    with pytest.raises(aiohttp.ClientConnectionError, match="the client is closed"):
        await origin.request("GET", "/version", {}, None, timeout_seconds=1)
