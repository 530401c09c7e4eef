"""pytest fixtures: one real ``nats-server`` with JetStream per session, a clean bus per test.

Every test starts from empty kurator streams and buckets (they have fixed names, so tests
cannot share them), with a fresh client connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.contracts import subjects
from shared.runtime import natsserver


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[natsserver.NatsServer]:
    root = tmp_path_factory.mktemp("nats")
    server = natsserver.NatsServer(store_dir=root, port=0, log_file=root / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: natsserver.NatsServer) -> str:
    return nats_server.url


async def wipe(js: JetStreamContext) -> None:
    """Delete every kurator stream and KV bucket (also the buckets a service declares for itself)."""
    names = [subjects.INTENTS_STREAM, subjects.STATUS_STREAM, subjects.EVENTS_STREAM, subjects.DLQ_STREAM]
    names += [f"KV_{subjects.kv_bucket(s)}" for s in subjects.SERVICES]
    names += [n for i in await js.streams_info() if (n := i.config.name or "").startswith("KV_kurator_")]
    for name in dict.fromkeys(names):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url, name="pytest")
    await wipe(client.jetstream())
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parents[4] / "examples"
