"""One OpenTelemetry CLIENT span per Kubernetes API call (DESIGN 4: spans per Kubernetes call).

The span is a child of whatever is current (the CONSUMER span of the intent being handled),
named ``<verb> <plural>.<group>`` (``apply propagationpolicies.policy.karmada.io``). A call
that fails with one of our :mod:`shared.k8s.errors` marks the span as an error with the HTTP
status; the error is re-raised untouched.

The tracer is passed in (the runtime hands providers around rather than setting a global);
without one, the global API tracer is used, which makes no spans unless a global provider
was installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.k8s import errors, resources

INSTRUMENTATION: Final = "kurator.k8s"


def default_tracer() -> trace.Tracer:
    return trace.get_tracer(INSTRUMENTATION)


_NO_SPAN: Final = contextlib.nullcontext(trace.INVALID_SPAN)


def makes_spans(tracer: trace.Tracer) -> bool:
    """Whether ``tracer`` can make a span: the no-op tracer cannot, nor can the global API
    tracer while no global provider is installed (asked again each time: one may be installed
    later)."""
    if isinstance(tracer, trace.NoOpTracer):
        return False
    if isinstance(tracer, trace.ProxyTracer):
        return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    return True


def call_span(
    tracer: trace.Tracer,
    *,
    verb: str,
    resource: resources.Resource | None = None,
    namespace: str | None = None,
    name: str | None = None,
    path: str = "",
) -> contextlib.AbstractContextManager[trace.Span]:
    """The span around one API call; ``resource`` is ``None`` for non-resource paths (discovery).

    A tracer that makes no spans gets no span machinery either (starting a non-recording span
    and making it current cost about as much as the rest of a call's client side).
    """
    if not makes_spans(tracer):
        return _NO_SPAN
    return _call_span(tracer, verb=verb, resource=resource, namespace=namespace, name=name, path=path)


@contextlib.contextmanager
def _call_span(
    tracer: trace.Tracer,
    *,
    verb: str,
    resource: resources.Resource | None,
    namespace: str | None,
    name: str | None,
    path: str,
) -> Iterator[trace.Span]:
    target = resource.display if resource is not None else path
    with tracer.start_as_current_span(
        f"{verb} {target}", kind=SpanKind.CLIENT, record_exception=False, set_status_on_exception=False
    ) as span:
        if span.is_recording():
            span.set_attribute("k8s.verb", verb)
            if resource is not None:
                span.set_attribute("k8s.resource", resource.display)
                span.set_attribute("k8s.api_version", resource.api_version)
            if namespace is not None:
                span.set_attribute("k8s.namespace.name", namespace)
            if name is not None:
                span.set_attribute("k8s.object.name", name)
            if path:
                span.set_attribute("url.path", path)
        try:
            yield span
        except errors.ApiError as exc:
            if span.is_recording():
                if exc.status:
                    span.set_attribute("http.response.status_code", exc.status)
                span.set_attribute("error.type", type(exc).__name__)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, exc.message))
            raise
