"""W3C trace context carried in NATS headers (``traceparent``, ``tracestate``)."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate


def inject(headers: dict[str, str], *, ctx: otel_context.Context | None = None) -> dict[str, str]:
    """Add the current (or given) trace context to ``headers``; returns them for chaining."""
    propagate.inject(headers, context=ctx)
    return headers


def extract(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The remote trace context a message carries (an empty context if none)."""
    return propagate.extract(dict(headers or {}))
