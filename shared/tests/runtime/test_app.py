"""A service replica as a whole: probes, metrics, queries, traces, replicas sharing a stream."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import aiohttp
import orjson
from nats.aio.client import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from shared.bus import client, queries, reader, store
from shared.bus.publisher import Publisher
from shared.contracts import subjects
from shared.contracts.meta import KubeObject
from shared.runtime import intents
from shared.testing import samples, services
from shared.testing.eventually import eventually

policy = samples.propagation_policy
addr = samples.policy_address


async def test_probes_and_metrics(nc: Client, nats_url: str) -> None:
    """/healthz and /readyz answer 200 once ready; /metrics counts handled intents by outcome."""
    async with services.running("fleet", nats_url=nats_url) as replica:
        await client.submit(nc, [(addr("a"), policy("a")), (addr("Bad"), policy("Bad"))], timeout_seconds=10)
        assert replica.health_server is not None
        base = f"http://127.0.0.1:{replica.health_server.bound_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/readyz") as resp:
                body = await resp.json()
                assert resp.status == 200, body
                assert body["checks"] == {"nats": True, "consumer": True, "started": True}
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    subject = ("subject", "kurator.intent.fleet.propagationpolicy")
    assert samples[("kurator_messages_total", (("outcome", "acked"), ("service", "fleet"), subject))] == 1
    assert samples[("kurator_messages_total", (("outcome", "rejected"), ("service", "fleet"), subject))] == 1
    assert samples[("kurator_handler_duration_seconds_count", (("service", "fleet"), subject))] == 2
    changes = (("kind", "propagationpolicy"), ("result", "created"), ("service", "fleet"))
    assert samples[("kurator_desired_state_changes_total", changes)] == 1


async def test_readyz_is_503_before_the_consumer_runs(nats_url: str) -> None:
    """Readiness is computed from checks; a failing one turns the answer into 503 naming it."""
    async with services.running("fleet", nats_url=nats_url) as replica:
        assert replica.health_server is not None
        replica.health_server.add_check("kubernetes", lambda: False)
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{replica.health_server.bound_port}/readyz"
            async with http.get(url) as resp:
                assert resp.status == 503
                assert (await resp.json())["checks"]["kubernetes"] is False


async def test_query_endpoints_and_micro_discovery(nc: Client, nats_url: str) -> None:
    """kurator.query.<svc>.get/list answer from the desired state; $SRV.PING finds the service."""
    async with services.running("fleet", nats_url=nats_url):
        await client.submit(nc, [(addr(n), policy(n)) for n in ("a", "b")], timeout_seconds=10)
        got = await queries.ask(nc, service="fleet", op="get", body={"kind": "pp", "name": "a"})
        listed = await queries.ask(nc, service="fleet", op="list", body={"kind": "propagationpolicies"})
        missing = None
        try:
            await queries.ask(nc, service="fleet", op="get", body={"kind": "pp", "name": "zz"})
        except queries.QueryError as exc:
            missing = exc.code
        ping = await nc.request("$SRV.PING.kurator-fleet", b"", timeout=2)
    assert got["metadata"]["name"] == "a"
    assert got["metadata"]["generation"] == 1
    assert sorted(d["metadata"]["name"] for d in listed["items"]) == ["a", "b"]
    assert missing == 404
    assert json.loads(ping.data)["name"] == "kurator-fleet"


async def test_trace_started_by_publisher_continues_in_the_service(nc: Client, nats_url: str) -> None:
    """The service's CONSUMER span joins the publisher's trace through the traceparent header."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    publisher_tracer = TracerProvider().get_tracer("test-publisher")
    async with services.running("fleet", nats_url=nats_url, tracer_provider=provider):
        with publisher_tracer.start_as_current_span("ci-pipeline publish", kind=SpanKind.PRODUCER) as parent:
            answers = await client.submit(nc, [(addr("traced"), policy("traced"))], timeout_seconds=10)
        assert answers[0].ok
        spans = await eventually(lambda: _consumer_spans(exporter), message="service span exported")
    span = spans[0]
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.attributes is not None
    assert span.attributes["kurator.outcome"] == "acked"
    assert span.attributes["messaging.destination.name"] == subjects.intent(addr("traced"))


async def _consumer_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CONSUMER]


async def test_idle_consumer_keeps_running(nc: Client, nats_url: str) -> None:
    """Pull timeouts on an idle stream are not errors: the replica still handles a late intent."""
    async with services.running("fleet", nats_url=nats_url) as replica:
        await asyncio.sleep(2.5)  # several idle pull timeouts (fetch timeout is 1 s)
        assert replica.intent_consumer is not None
        assert replica.intent_consumer.running
        [answer] = await client.submit(nc, [(addr("late"), policy("late"))], timeout_seconds=10)
    assert answer.result == "created"


class Recorder:
    """A kind handler that records which replica applied which object."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.log = log

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        self.log.append((self.name, obj.metadata.name))
        return intents.accepted_status(record)

    async def on_delete(self, record: store.Record) -> None:
        return None


async def test_two_replicas_share_a_stream_without_loss_or_duplicates(nc: Client, nats_url: str) -> None:
    """1,000 intents over two replicas: every object applied exactly once, both replicas working."""
    applied: list[tuple[str, str]] = []
    async with (
        services.running("fleet", nats_url=nats_url, handlers={"propagationpolicy": Recorder("r1", applied)}),
        services.running("fleet", nats_url=nats_url, handlers={"propagationpolicy": Recorder("r2", applied)}),
    ):
        statuses: set[str] = set()

        async def on_status(msg: Any) -> None:
            statuses.add(orjson.loads(msg.data)["metadata"]["name"])

        await nc.subscribe(subjects.statuses("fleet"), cb=on_status)
        pub = Publisher(nc, source="test")
        for i in range(1000):
            await pub.intent(addr(f"obj-{i}"), policy(f"obj-{i}"))
        await eventually(lambda: _ready(len(statuses) == 1000), timeout_seconds=60, message="1000 statuses")
    per_object = Counter(name for _, name in applied)
    per_replica = Counter(replica for replica, _ in applied)
    assert len(per_object) == 1000
    assert max(per_object.values()) == 1, "an intent was handled twice"
    assert per_replica["r1"] > 0, per_replica
    assert per_replica["r2"] > 0, per_replica


async def _ready(value: object) -> bool:
    return bool(value)


async def test_without_an_exporter_the_publishers_trace_flows_through(nc: Client, nats_url: str) -> None:
    """No exporter, no spans: the status still carries the publisher's trace id onward."""
    publisher_tracer = TracerProvider().get_tracer("test-publisher")
    async with services.running("fleet", nats_url=nats_url, tracer_provider=None):
        with publisher_tracer.start_as_current_span("publish") as parent:
            [answer] = await client.submit(nc, [(addr("plain"), policy("plain"))], timeout_seconds=10)
    assert answer.ok
    found = await reader.last(nc.jetstream(), subjects.status(addr("plain")))
    assert found is not None
    trace_id = format(parent.get_span_context().trace_id, "032x")
    assert found.headers["traceparent"].split("-")[1] == trace_id
