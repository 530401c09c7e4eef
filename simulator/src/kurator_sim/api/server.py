"""The aiohttp application: one catch-all route in front of the host's API, with each member's
API reachable through the Karmada cluster proxy.

Routing by hand (rather than one aiohttp route per resource) keeps a request's path work to a
few dict lookups, and lets the proxy hand the rest of its path to the member's API unchanged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from kurator_sim import errors
from kurator_sim.api import dispatch, proxy, responses, watching
from kurator_sim.api.context import ClusterApi
from kurator_sim.clock import SimClock
from kurator_sim.fleet import Fleet

HOST_KUBERNETES_VERSION = "v1.29.3"
"""What the Karmada API server (a kube-apiserver) reports as its version."""

log = logging.getLogger(__name__)


class ApiServer:
    """The host's API, the members' APIs (built on first use) and shared services."""

    def __init__(self, fleet: Fleet, *, clock: SimClock, validate: bool, rng: random.Random) -> None:
        self.fleet = fleet
        self.clock = clock
        self.validate = validate
        self.rng = rng
        self.reaper = watching.WatchReaper()
        self.host = ClusterApi(
            name="karmada",
            store=fleet.host,
            registry=fleet.host_registry,
            clock=clock,
            kubernetes_version=HOST_KUBERNETES_VERSION,
            validate=validate,
        )
        self._members: dict[str, ClusterApi] = {}

    def member(self, name: str) -> ClusterApi:
        api = self._members.get(name)
        if api is None:
            member = self.fleet.members.get(name)
            if member is None:
                raise errors.not_found("clusters", "cluster.karmada.io", name)
            api = ClusterApi(
                name=name,
                store=member.store,
                registry=self.fleet.member_registry,
                clock=self.clock,
                kubernetes_version=member.spec.kubernetes_version,
                validate=self.validate,
            )
            self._members[name] = api
        return api

    async def proxy(self, request: web.Request, cluster: str, rest: str) -> web.StreamResponse:
        api = self.member(cluster)
        await proxy.apply_faults(cluster, self.fleet.members[cluster].faults, self.rng)
        return await dispatch.handle(api, request, rest, self)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return await dispatch.handle(self.host, request, request.path, self)


SERVER_KEY = web.AppKey("kurator_sim_api_server", ApiServer)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    server = app[SERVER_KEY]
    server.reaper.start()
    yield
    await server.reaper.stop()


def build_app(
    fleet: Fleet,
    *,
    clock: SimClock,
    crd_dir_given: bool,
    rng: random.Random | None = None,
    extra_routes: Iterable[web.AbstractRouteDef] = (),
) -> web.Application:
    """The simulator's Kubernetes API for ``fleet``.

    ``crd_dir_given``: custom resources are validated against the schemas of the CRD files
    (without them the kinds are served unvalidated). ``rng`` drives fault injection and watch
    timeouts; pass a seeded one for deterministic tests. ``extra_routes`` (e.g. the fault API
    under ``/sim/v1/``) are matched before the Kubernetes API, which takes every other path.
    """
    server = ApiServer(fleet, clock=clock, validate=crd_dir_given, rng=rng or random.Random())
    app = web.Application(client_max_size=16 * 1024 * 1024, handler_args={"max_field_size": 65536})
    app[SERVER_KEY] = server

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await server.handle(request)
        except errors.ApiError as exc:
            return responses.error(exc)
        except web.HTTPException:
            raise
        except Exception as exc:
            # A bug of ours: still answer a Status, as the apiserver's panic recovery does.
            log.exception("internal error serving %s %s", request.method, request.path)
            return responses.error(errors.internal(f"Internal error occurred: {exc!r}"))

    app.router.add_routes(list(extra_routes))
    app.router.add_route("*", "/{tail:.*}", handler)
    app.cleanup_ctx.append(_lifecycle)
    return app
