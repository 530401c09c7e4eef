"""W3C trace context carried in NATS headers (``traceparent``, ``tracestate``).

Every message goes through :func:`inject` or :func:`extract`, and most carry no trace (no
exporter is configured by default). With OpenTelemetry's default propagators (W3C trace
context and baggage) the outcome of a message without a trace is known without asking them:
nothing to inject from an empty context, an empty context from headers that hold none of
their fields. Any other propagator is always asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators import composite, textmap
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_DEFAULTS = (TraceContextTextMapPropagator, W3CBaggagePropagator)

_known: tuple[textmap.TextMapPropagator | None, frozenset[str] | None] = (None, None)
"""The global propagator last seen, and its fields if it is made of the defaults only."""


def _default_fields() -> frozenset[str] | None:
    """The header names the global propagator reads, if it is made of the defaults only."""
    global _known
    current = propagate.get_global_textmap()
    if _known[0] is not current:
        parts = current._propagators if isinstance(current, composite.CompositePropagator) else [current]
        plain = all(type(p) in _DEFAULTS for p in parts)
        _known = (current, frozenset(current.fields) if plain else None)
    return _known[1]


def adds_nothing() -> bool:
    """Whether :func:`inject` would leave headers as they are now (no span, no baggage, and
    the default propagators), so that a publisher may skip the dictionary altogether."""
    return not otel_context.get_current() and _default_fields() is not None


def inject(headers: dict[str, str], *, ctx: otel_context.Context | None = None) -> dict[str, str]:
    """Add the current (or given) trace context to ``headers``; returns them for chaining."""
    if ctx is None:
        ctx = otel_context.get_current()
    if not ctx and _default_fields() is not None:
        return headers  # no span, no baggage: the defaults add nothing
    propagate.inject(headers, context=ctx)
    return headers


def extract(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The remote trace context a message carries (an empty context if none)."""
    if not headers:
        return otel_context.Context()
    fields = _default_fields()
    if fields is not None and fields.isdisjoint(headers):
        return otel_context.Context()
    return propagate.extract(dict(headers))
