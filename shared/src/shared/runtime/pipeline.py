"""The middleware every handled intent passes through: trace span, log context, metrics,
and the one canonical log line per message.

It wraps the settle step (``shared.bus.consumer.Settler``), so it sees the final outcome.
"""

from __future__ import annotations

import time

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.bus import consumer, messages, tracecontext
from shared.runtime.metrics import ServiceMetrics

log = structlog.get_logger("kurator.intent")

_QUIET = (consumer.Outcome.ACKED, consumer.Outcome.SKIPPED)


def kind_subject(subject: str) -> str:
    """``kurator.intent.fleet.pp.ns.name`` -> ``kurator.intent.fleet.pp`` (a bounded label)."""
    return ".".join(subject.split(".")[:4])


def telemetry(*, tracer: trace.Tracer, metrics: ServiceMetrics) -> consumer.Middleware:
    service = metrics.service

    async def middleware(delivery: messages.Delivery, nxt: consumer.Next) -> consumer.Settlement:
        started = time.perf_counter()
        env = delivery.envelope
        label = kind_subject(delivery.subject)
        parent = tracecontext.extract(delivery.msg.headers)
        with tracer.start_as_current_span(
            f"process {label}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": delivery.subject,
                "messaging.message.id": env.id,
                "messaging.nats.stream_sequence": delivery.stream_sequence,
                "messaging.nats.delivery_count": delivery.num_delivered,
                "cloudevents.event_type": env.type,
            },
        ) as span:
            ctx = span.get_span_context()
            with structlog.contextvars.bound_contextvars(
                subject=delivery.subject,
                intent_id=env.id,
                trace_id=format(ctx.trace_id, "032x"),
            ):
                settlement = await nxt(delivery)
                elapsed = time.perf_counter() - started
                outcome = settlement.outcome.value
                span.set_attribute("kurator.outcome", outcome)
                if settlement.outcome not in _QUIET and settlement.error is not None:
                    span.record_exception(settlement.error)
                    span.set_status(Status(StatusCode.ERROR, str(settlement.error)))
                metrics.messages.labels(service, label, outcome).inc()
                metrics.latency.labels(service, label).observe(elapsed)
                metrics.lag.labels(service).set(delivery.num_pending)
                fields = {
                    "outcome": outcome,
                    "duration_ms": round(elapsed * 1000, 3),
                    "sequence": delivery.stream_sequence,
                    "deliveries": delivery.num_delivered,
                }
                if settlement.error is not None:
                    fields["error"] = str(settlement.error)
                if settlement.outcome in _QUIET:
                    log.info("intent.handled", **fields)
                else:
                    log.warning("intent.handled", **fields)
        return settlement

    return middleware
