"""The lifecycle of one service process, as an ``AsyncExitStack``.

health server -> NATS connection -> streams, consumer and KV declared -> query endpoints ->
intent consumer. Readiness turns on only when all of it is up. On stop: readiness off,
the consumer stops pulling and drains within the deadline, then everything closes in
reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from shared.bus import connection, consumer, lease, queries, store, streams
from shared.bus.publisher import Publisher
from shared.contracts import kinds, subjects
from shared.k8s import connection as k8s_connection
from shared.runtime import extensions as ext
from shared.runtime import health, intents, pipeline, telemetry
from shared.runtime.metrics import ServiceMetrics
from shared.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

VERSION = "0.1.0"


@dataclass
class ServiceApp:
    """One running replica of a service."""

    service: str
    settings: ServiceSettings
    handlers: Mapping[str, intents.KindHandler] = field(default_factory=dict)
    extensions: ext.ExtensionFactory | None = None
    """The service's own handlers, background work and queries, built once connected."""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    tracer_provider: TracerProvider | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    nc: Client | None = None
    js: JetStreamContext | None = None
    intent_consumer: consumer.IntentConsumer | None = None
    processor: intents.IntentProcessor | None = None
    health_server: health.HealthServer | None = None
    kube: k8s_connection.ApiClient | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then drain and close."""
        settings = self.settings
        provider = self.tracer_provider or telemetry.tracer_provider(
            service_name=f"kurator-{self.service}", replica_id=settings.replica_id
        )
        tracer = provider.get_tracer(telemetry.INSTRUMENTATION) if provider is not None else None
        info_logs = settings.log_level in ("debug", "info")
        metrics = ServiceMetrics(self.registry, service=self.service)
        for info in kinds.of_service(self.service):
            _ = info.model  # import every model now, not on the first intent of each kind
        async with contextlib.AsyncExitStack() as stack:
            self.health_server = health.HealthServer(self.registry, settings.http_host, settings.http_port)
            await self.health_server.start()
            stack.push_async_callback(self.health_server.stop)
            self.health_server.add_check("nats", lambda: self.nc is not None and self.nc.is_connected)
            self.health_server.add_check(
                "consumer", lambda: self.intent_consumer is not None and self.intent_consumer.running
            )
            self.health_server.add_check("started", self.ready.is_set)

            if settings.kubeconfig:
                await self._connect_kubernetes(stack, Path(settings.kubeconfig))

            self.nc = await connection.connect(settings.nats_url, name=f"kurator-{self.service}-{settings.replica_id}")
            stack.push_async_callback(self._close_nats)
            self.js = js = self.nc.jetstream()
            await streams.declare_streams(js, limits=streams.StreamLimits(replicas=settings.stream_replicas))
            await streams.declare_consumer(
                js,
                streams.ConsumerSpec(
                    service=self.service,
                    ack_wait=settings.ack_wait,
                    max_deliver=settings.max_deliver,
                    max_ack_pending=settings.max_ack_pending,
                ),
            )
            kv = await streams.declare_bucket(js, service=self.service, replicas=settings.stream_replicas)
            publisher = Publisher(self.nc, source=f"kurator/{self.service}/{settings.replica_id}")
            desired = store.DesiredStateStore(
                kv, bucket=subjects.kv_bucket(self.service), publisher=publisher.js_publisher
            )

            context = ext.ServiceContext(
                service=self.service,
                settings=settings,
                nc=self.nc,
                js=js,
                publisher=publisher,
                desired=desired,
                metrics=metrics,
                registry=self.registry,
                kube=self.kube,
            )
            extra = self.extensions(context) if self.extensions else ext.Extensions()
            handlers = {**self.handlers, **extra.handlers}
            micro = await queries.start(
                self.nc, service=self.service, version=VERSION, handlers={**self._queries(desired), **extra.queries}
            )
            stack.push_async_callback(micro.stop)

            self.processor = processor = intents.IntentProcessor(
                service=self.service,
                store=desired,
                publisher=publisher,
                metrics=metrics,
                handlers=handlers,
                deleted_linger=timedelta(seconds=settings.deleted_linger_seconds),
            )
            stack.push_async_callback(processor.flush_purges)
            self.intent_consumer = consume = consumer.IntentConsumer(
                self.nc,
                publisher=publisher,
                handler=processor,
                options=consumer.ConsumerOptions(
                    service=self.service,
                    max_in_flight=settings.max_in_flight,
                    fetch_batch=settings.fetch_batch,
                    max_deliver=settings.max_deliver,
                ),
                middlewares=[pipeline.telemetry(tracer=tracer, metrics=metrics, log_enabled=lambda: info_logs)],
            )
            metrics.in_flight.labels(self.service).set_function(lambda: consume.in_flight)
            run_task = asyncio.create_task(consume.run(), name=f"kurator-{self.service}-consumer")

            async def stop_consumer() -> None:
                await consume.stop(deadline=settings.drain_timeout)
                run_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run_task

            stack.push_async_callback(stop_consumer)
            await self._start_background(stack, js, extra.background)
            self.ready.set()
            log.info(
                "service.ready",
                service=self.service,
                http_port=self.health_server.bound_port,
                kinds=[k.token for k in kinds.of_service(self.service)],
            )
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({stopped, run_task}, return_when=asyncio.FIRST_COMPLETED)
            if run_task in done and not stopped.done():
                stopped.cancel()
                run_task.result()  # the consumer died: surface why
            self.ready.clear()
            log.info("service.stopping", service=self.service, in_flight=consume.in_flight)
        if self.tracer_provider is None and provider is not None:
            provider.shutdown()
        log.info("service.stopped", service=self.service)

    async def _connect_kubernetes(self, stack: contextlib.AsyncExitStack, kubeconfig: Path) -> None:
        """Open the Kubernetes client and keep a readiness check on it (refreshed in the background)."""
        if not kubeconfig.exists():  # noqa: ASYNC240 - once, at start-up
            # deploy/ mounts the kubeconfig Secret as optional: no file means no Kubernetes yet.
            log.warning("kubernetes.kubeconfig_missing", path=str(kubeconfig))
            return
        self.kube = await k8s_connection.api_client(kubeconfig)
        stack.push_async_callback(self.kube.close)
        state = {"reachable": False}

        async def probe() -> None:
            while True:
                assert self.kube is not None
                state["reachable"] = await k8s_connection.reachable(self.kube)
                await asyncio.sleep(5 if state["reachable"] else 1)

        task = asyncio.create_task(probe(), name="kubernetes-probe")
        stack.callback(task.cancel)
        assert self.health_server is not None
        self.health_server.add_check("kubernetes", lambda: state["reachable"])

    async def _start_background(
        self, stack: contextlib.AsyncExitStack, js: JetStreamContext, work: Sequence[ext.Background]
    ) -> None:
        """Run background work, singletons under a lease; a crash is logged and retried."""
        if not work:
            return
        leases = None
        if any(w.singleton for w in work):
            leases = await lease.declare_bucket(js, ttl=self.settings.lease_ttl, replicas=self.settings.stream_replicas)

        async def supervise(item: ext.Background) -> None:
            while True:
                try:
                    if item.singleton:
                        assert leases is not None
                        holder = lease.Lease(
                            leases,
                            name=f"{self.service}.{item.name}",
                            holder=self.settings.replica_id,
                            ttl=self.settings.lease_ttl,
                        )
                        await holder.run(item.run)
                    else:
                        await item.run()
                    log.warning("background.exited", work=item.name)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background.crashed", work=item.name)
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(supervise(w), name=f"background:{w.name}") for w in work]

        async def stop_all() -> None:
            for t in tasks:
                t.cancel()
            # Bounded: background work that is slow to stop must not hold the whole service.
            seconds = self.settings.drain_timeout_seconds
            _, pending = await asyncio.wait(tasks, timeout=seconds)
            for t in pending:
                log.warning("background.did_not_stop", work=t.get_name(), seconds=seconds)

        stack.push_async_callback(stop_all)

    async def _close_nats(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()

    def _queries(self, desired: store.DesiredStateStore) -> dict[str, queries.QueryHandler]:
        service = self.service

        def address(body: Any) -> subjects.ObjectAddress:
            if not isinstance(body, dict) or not body.get("kind") or not body.get("name"):
                raise queries.QueryError(400, "need {kind, name[, namespace]}")
            try:
                info = kinds.resolve_name(str(body["kind"]))
            except kinds.UnknownKind as exc:
                raise queries.QueryError(404, str(exc)) from exc
            if info.service != service:
                raise queries.QueryError(400, f"{info.kind} belongs to the {info.service} service")
            ns = (body.get("namespace") or "default") if info.namespaced else None
            return subjects.ObjectAddress(service, info.token, ns, str(body["name"]))

        async def get(body: Any) -> Any:
            found = await desired.get(address(body))
            if found is None or found.record.deleted:
                raise queries.QueryError(404, "not found")
            return found.record.document

        async def list_(body: Any) -> Any:
            kind = body.get("kind") if isinstance(body, dict) else None
            token = kinds.resolve_name(str(kind)).token if kind else None
            out = []
            async for key, item in desired.items():
                if token is None or key.split(".", 1)[0] == token:
                    out.append(item.record.document)
            return {"items": out}

        return {"get": get, "list": list_}
