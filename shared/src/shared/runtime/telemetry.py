"""OpenTelemetry tracing: a provider per process, exporter chosen by the standard variables.

``OTEL_TRACES_EXPORTER`` picks the exporter: ``none`` (the default: no spans are made, but
the incoming trace context still flows through to what a service publishes), ``console`` or ``otlp``
(``OTEL_EXPORTER_OTLP_ENDPOINT``, HTTP/protobuf). ``OTEL_SERVICE_NAME`` overrides the service
name. The provider is passed to whoever needs it rather than read from a global.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

INSTRUMENTATION: str = "kurator"


def _exporter(name: str) -> SpanExporter | None:
    if name in ("", "none"):
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported (none, console, otlp)")


def tracer_provider(*, service_name: str, replica_id: str) -> TracerProvider | None:
    """A provider exporting where ``OTEL_TRACES_EXPORTER`` says, or ``None`` when it says none.

    With no exporter there is nothing to gain from making spans: services then pass the
    incoming trace context through unchanged, which costs almost nothing per message.
    """
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower())
    if exporter is None:
        return None
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service_name),
            "service.instance.id": replica_id,
            "service.namespace": "kurator",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
