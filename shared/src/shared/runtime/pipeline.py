"""The middleware every handled intent passes through: trace span, log context, metrics,
and the one canonical log line per message.

It wraps the settle step (``shared.bus.consumer.Settler``), so it sees the final outcome.
This runs once per intent on the hot path, so it does only what is switched on: with no
trace exporter it makes no span and just carries the publisher's trace context through
(whatever the handler publishes continues the publisher's trace); with logging above info it
builds no log fields; metric children are looked up once per label set.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

from shared.bus import consumer, messages, tracecontext
from shared.runtime.metrics import ServiceMetrics

log = structlog.get_logger("kurator.intent")

_QUIET = (consumer.Outcome.ACKED, consumer.Outcome.SKIPPED)


def kind_subject(subject: str) -> str:
    """``kurator.intent.fleet.pp.ns.name`` -> ``kurator.intent.fleet.pp`` (a bounded label)."""
    return ".".join(subject.split(".")[:4])


class _Children:
    """Prometheus label children, resolved once per label set rather than per message."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._counters: dict[tuple[str, str], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self.lag = metrics.lag.labels(metrics.service)

    def count(self, label: str, outcome: str) -> Counter:
        key = (label, outcome)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = self._metrics.messages.labels(self._metrics.service, label, outcome)
        return child

    def latency(self, label: str) -> Histogram:
        child = self._latency.get(label)
        if child is None:
            child = self._latency[label] = self._metrics.latency.labels(self._metrics.service, label)
        return child


def telemetry(
    *, tracer: trace.Tracer | None, metrics: ServiceMetrics, log_enabled: Callable[[], bool] = lambda: True
) -> consumer.Middleware:
    """The middleware. ``tracer=None`` means no exporter: pass trace context through, make no span."""
    children = _Children(metrics)

    def observe(
        delivery: messages.Delivery, settlement: consumer.Settlement, label: str, started: float, trace_id: int
    ) -> None:
        elapsed = time.perf_counter() - started
        outcome = settlement.outcome.value
        children.count(label, outcome).inc()
        children.latency(label).observe(elapsed)
        children.lag.set(delivery.num_pending)
        quiet = settlement.outcome in _QUIET
        if quiet and not log_enabled():
            return
        fields: dict[str, object] = {
            "subject": delivery.subject,
            "intent_id": delivery.envelope.id,
            "trace_id": format(trace_id, "032x"),
            "outcome": outcome,
            "duration_ms": round(elapsed * 1000, 3),
            "sequence": delivery.stream_sequence,
            "deliveries": delivery.num_delivered,
        }
        if settlement.error is not None:
            fields["error"] = str(settlement.error)
        if quiet:
            log.info("intent.handled", **fields)
        else:
            log.warning("intent.handled", **fields)

    async def passthrough(delivery: messages.Delivery, nxt: consumer.Next) -> consumer.Settlement:
        started = time.perf_counter()
        parent = tracecontext.extract(delivery.msg.headers)
        token = otel_context.attach(parent)
        try:
            settlement = await nxt(delivery)
        finally:
            otel_context.detach(token)
        trace_id = trace.get_current_span(parent).get_span_context().trace_id
        observe(delivery, settlement, kind_subject(delivery.subject), started, trace_id)
        return settlement

    async def traced(delivery: messages.Delivery, nxt: consumer.Next) -> consumer.Settlement:
        assert tracer is not None
        started = time.perf_counter()
        label = kind_subject(delivery.subject)
        parent = tracecontext.extract(delivery.msg.headers)
        with tracer.start_as_current_span(f"process {label}", context=parent, kind=SpanKind.CONSUMER) as span:
            if span.is_recording():
                env = delivery.envelope
                span.set_attributes(
                    {
                        "messaging.system": "nats",
                        "messaging.operation.type": "process",
                        "messaging.destination.name": delivery.subject,
                        "messaging.message.id": env.id,
                        "messaging.nats.stream_sequence": delivery.stream_sequence,
                        "messaging.nats.delivery_count": delivery.num_delivered,
                        "cloudevents.event_type": env.type,
                    }
                )
            settlement = await nxt(delivery)
            if span.is_recording():
                span.set_attribute("kurator.outcome", settlement.outcome.value)
                if settlement.outcome not in _QUIET and settlement.error is not None:
                    span.record_exception(settlement.error)
                    span.set_status(Status(StatusCode.ERROR, str(settlement.error)))
            observe(delivery, settlement, label, started, span.get_span_context().trace_id)
        return settlement

    return traced if tracer is not None else passthrough
