"""OpenTelemetry tracing, propagated HTTP -> gRPC -> NATS through W3C trace context.

Tracing is exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and is a
no-op otherwise, so the local stack and the tests pay nothing for it.
"""

from collections.abc import Mapping, MutableMapping

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(*, service: str, otlp_endpoint: str | None) -> TracerProvider | None:
    """Install an exporting tracer provider if an OTLP endpoint is configured."""
    if not otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": f"eoplex-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def inject_trace_context(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context into outgoing headers or gRPC metadata."""
    propagate.inject(carrier)


def extract_trace_context(carrier: Mapping[str, str]) -> context.Context:
    """Read the trace context of an incoming request, to parent the spans it causes."""
    return propagate.extract(carrier)


tracer = trace.get_tracer("eoplex")
