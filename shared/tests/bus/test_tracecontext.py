"""Trace context in message headers, with and without a trace, with default and other propagators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.propagators import textmap
from opentelemetry.sdk.trace import TracerProvider

from shared.bus import tracecontext

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_no_trace_adds_nothing_and_reads_nothing() -> None:
    assert tracecontext.inject({"ce-id": "1"}) == {"ce-id": "1"}
    assert tracecontext.extract({"ce-id": "1"}) == otel_context.Context()
    assert tracecontext.extract(None) == otel_context.Context()


def test_a_span_and_baggage_travel_through_headers() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        token = otel_context.attach(baggage.set_baggage("tenant", "a"))
        try:
            headers = tracecontext.inject({})
        finally:
            otel_context.detach(token)
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    assert headers["baggage"] == "tenant=a"
    received = tracecontext.extract(headers)
    assert trace.get_current_span(received).get_span_context().trace_id == span.get_span_context().trace_id
    assert baggage.get_baggage("tenant", received) == "a"
    only_parent = tracecontext.extract({"traceparent": TRACEPARENT})
    assert format(trace.get_current_span(only_parent).get_span_context().span_id, "016x") == "b7ad6b7169203331"


class Constant(textmap.TextMapPropagator):
    """A propagator that writes and reads a header the defaults do not know."""

    def inject(
        self,
        carrier: textmap.CarrierT,
        context: otel_context.Context | None = None,
        setter: textmap.Setter[textmap.CarrierT] = textmap.default_setter,
    ) -> None:
        setter.set(carrier, "x-constant", "1")

    def extract(
        self,
        carrier: textmap.CarrierT,
        context: otel_context.Context | None = None,
        getter: textmap.Getter[textmap.CarrierT] = textmap.default_getter,
    ) -> otel_context.Context:
        found = getter.get(carrier, "x-constant")
        return otel_context.set_value("constant", found[0] if found else None, context)

    @property
    def fields(self) -> set[str]:
        return {"x-constant"}


@pytest.fixture
def constant_propagator() -> Iterator[None]:
    before = propagate.get_global_textmap()
    propagate.set_global_textmap(Constant())
    try:
        yield
    finally:
        propagate.set_global_textmap(before)


@pytest.mark.usefixtures("constant_propagator")
def test_other_propagators_are_always_asked() -> None:
    assert tracecontext.inject({}) == {"x-constant": "1"}
    assert otel_context.get_value("constant", tracecontext.extract({"x-constant": "v"})) == "v"
    assert otel_context.get_value("constant", tracecontext.extract({"ce-id": "1"})) is None
