"""The desired-state store's reads: a direct get answered as nats-py's ``KeyValue.get`` answers it
(present, absent, deleted, purged, rewritten), through both clients, and the nats-py path for a
bucket without direct gets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from shared.bus import connection, jetstream, store, streams
from shared.contracts import subjects

WEB = subjects.ObjectAddress("fleet", "deployment", "default", "web")
API = subjects.ObjectAddress("fleet", "deployment", "default", "api")


@pytest.fixture(params=["nats-py", "wire"])
async def client(request: pytest.FixtureRequest, nc: Client, nats_url: str) -> AsyncIterator[Client]:
    if request.param == "nats-py":
        yield nc
        return
    services_client = await connection.connect(nats_url, name="test-store")
    try:
        yield services_client
    finally:
        await services_client.close()


def record(n: int) -> store.Record:
    return store.Record(
        document={"metadata": {"name": "web"}, "spec": {"replicas": n}},
        generation=n,
        intent_seq=10 + n,
        intent_id=f"id-{n}",
        spec_hash=f"h{n}",
    )


async def nats_py_read(kv: KeyValue, key: str) -> tuple[bytes, int] | None:
    try:
        entry = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None
    if entry.value is None or entry.revision is None:
        return None
    return entry.value, entry.revision


async def test_a_direct_get_reads_what_nats_py_reads(client: Client) -> None:
    js = client.jetstream()
    kv = await streams.declare_bucket(js, service="fleet")
    publisher = jetstream.JetStreamPublisher(client)
    desired = store.DesiredStateStore(kv, bucket=subjects.kv_bucket("fleet"), publisher=publisher)
    try:

        async def agree(address: subjects.ObjectAddress) -> store.Versioned | None:
            found = await desired.get(address)
            expected = await nats_py_read(kv, address.key)
            assert (None if found is None else (found.record.to_bytes(), found.revision)) == expected
            return found

        assert await agree(WEB) is None  # never written
        first = await desired.put(WEB, record(1), revision=None)
        await desired.put(API, record(5), revision=None)
        found = await agree(WEB)
        assert found is not None
        assert (found.record, found.revision) == (record(1), first)
        second = await desired.put(WEB, record(2), revision=first)
        found = await agree(WEB)
        assert found is not None
        assert (found.record.generation, found.revision) == (2, second)
        assert desired.remembered(WEB) is not None

        await kv.delete(WEB.key)
        assert await agree(WEB) is None
        assert desired.remembered(WEB) is None  # forgotten, as a miss
        await kv.purge(API.key)
        assert await agree(API) is None
    finally:
        await publisher.stop()


async def test_a_bucket_without_direct_gets_is_read_through_nats_py(nc: Client) -> None:
    js = nc.jetstream()
    kv = await streams.declare_bucket(js, service="fleet")
    kv._direct = False  # as a bucket declared without allow_direct reads
    publisher = jetstream.JetStreamPublisher(nc)
    desired = store.DesiredStateStore(kv, bucket=subjects.kv_bucket("fleet"), publisher=publisher)
    try:
        assert await desired.get(WEB) is None
        revision = await desired.put(WEB, record(1), revision=None)
        found = await desired.get(WEB)
        assert found is not None
        assert (found.record, found.revision) == (record(1), revision)
    finally:
        await publisher.stop()
