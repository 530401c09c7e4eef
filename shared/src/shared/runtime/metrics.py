"""Prometheus metrics of a service, registered in an injected registry.

Label sets are fixed and bounded: the subject label is the kind-level prefix
(``kurator.intent.fleet.propagationpolicy``), never an object's full subject.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry, *, service: str) -> None:
        self.service = service
        self.messages = Counter(
            "kurator_messages_total",
            "Intents handled, by subject (kind level) and outcome.",
            ["service", "subject", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "kurator_handler_duration_seconds",
            "Time from pulling an intent to settling it.",
            ["service", "subject"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.lag = Gauge(
            "kurator_consumer_lag_messages",
            "Intents in the stream not yet delivered to this service (from the last delivery).",
            ["service"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "kurator_in_flight_messages",
            "Intents this replica holds right now.",
            ["service"],
            registry=registry,
        )
        self.changes = Counter(
            "kurator_desired_state_changes_total",
            "What applying an intent did to the desired state.",
            ["service", "kind", "result"],
            registry=registry,
        )
