"""Fault injection: take clusters and edge nodes down, partition them, slow or fail their API.

The same operations are available in-process (for tests) and over a small HTTP API under
``/sim/v1/`` on the simulator's port:

==========================================================  =================================
``GET  /sim/v1/faults``                                      every member's current faults
``POST /sim/v1/clusters/<name>/down`` / ``.../up``           stop / resume the whole cluster
``POST /sim/v1/clusters/<name>/partition`` / ``.../heal``    cut / restore the control plane's reach
``PUT  /sim/v1/clusters/<name>/faults``                      ``{"latencySeconds", "errorRate", "timeoutRate"}``
``POST /sim/v1/clusters/<name>/edge-nodes/<node>/down|up``   stop / resume an edge node's heartbeats
``GET  /sim/v1/clock``                                       simulated time and its scale
==========================================================  =================================

What a fault *does* is up to the parts that read :class:`kurator_sim.fleet.Faults`: the
cluster controller stops heartbeats of a down member (Karmada marks it not ready after its
grace period), the API layer fails proxied calls, the edge controller stops node heartbeats.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kurator_sim import errors
from kurator_sim.fleet import Faults, Fleet, Member


def _member(fleet: Fleet, name: str) -> Member:
    try:
        return fleet.member(name)
    except KeyError as exc:
        raise errors.not_found("clusters", "cluster.karmada.io", name) from exc


def set_down(fleet: Fleet, cluster: str, down: bool = True) -> None:
    _member(fleet, cluster).faults.down = down


def set_partitioned(fleet: Fleet, cluster: str, partitioned: bool = True) -> None:
    _member(fleet, cluster).faults.partitioned = partitioned


def set_api_faults(
    fleet: Fleet,
    cluster: str,
    *,
    latency_seconds: float | None = None,
    error_rate: float | None = None,
    timeout_rate: float | None = None,
) -> None:
    faults = _member(fleet, cluster).faults
    for name, value in (
        ("latency_seconds", latency_seconds),
        ("error_rate", error_rate),
        ("timeout_rate", timeout_rate),
    ):
        if value is None:
            continue
        if value < 0 or (name != "latency_seconds" and value > 1):
            raise errors.bad_request(f"{name} out of range: {value}")
        setattr(faults, name, float(value))


def set_edge_down(fleet: Fleet, cluster: str, node: str, down: bool = True) -> None:
    member = _member(fleet, cluster)
    if node not in {e.name for e in member.spec.edge_nodes}:
        raise errors.not_found("nodes", "", node)
    if down:
        member.edge_down.add(node)
    else:
        member.edge_down.discard(node)


def clear(fleet: Fleet) -> None:
    """Heal everything."""
    for member in fleet.members.values():
        member.faults = Faults()
        member.edge_down.clear()


def describe(fleet: Fleet) -> dict[str, Any]:
    return {
        name: {
            "down": m.faults.down,
            "partitioned": m.faults.partitioned,
            "latencySeconds": m.faults.latency_seconds,
            "errorRate": m.faults.error_rate,
            "timeoutRate": m.faults.timeout_rate,
            "edgeNodesDown": sorted(m.edge_down),
        }
        for name, m in fleet.members.items()
    }


def routes(fleet: Fleet) -> list[web.RouteDef]:
    """The HTTP fault API, for mounting on the simulator's application."""

    def answer(body: Any, status: int = 200) -> web.Response:
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def guarded(fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            try:
                return await fn(request)  # type: ignore[no-any-return]
            except errors.ApiError as exc:
                return answer(exc.status(), exc.code)

        return handler

    async def get_faults(_: web.Request) -> web.Response:
        return answer(describe(fleet))

    async def cluster_action(request: web.Request) -> web.Response:
        name, action = request.match_info["name"], request.match_info["action"]
        actions = {
            "down": lambda: set_down(fleet, name, True),
            "up": lambda: set_down(fleet, name, False),
            "partition": lambda: set_partitioned(fleet, name, True),
            "heal": lambda: set_partitioned(fleet, name, False),
        }
        if action not in actions:
            raise errors.not_found("actions", "sim", action)
        actions[action]()
        return answer(describe(fleet)[name])

    async def put_faults(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = orjson.loads(await request.read() or b"{}")
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request("body is not JSON") from exc
        set_api_faults(
            fleet,
            name,
            latency_seconds=body.get("latencySeconds"),
            error_rate=body.get("errorRate"),
            timeout_rate=body.get("timeoutRate"),
        )
        return answer(describe(fleet)[name])

    async def edge_action(request: web.Request) -> web.Response:
        name, node, action = request.match_info["name"], request.match_info["node"], request.match_info["action"]
        if action not in ("down", "up"):
            raise errors.not_found("actions", "sim", action)
        set_edge_down(fleet, name, node, action == "down")
        return answer(describe(fleet)[name])

    async def clock(_: web.Request) -> web.Response:
        return answer({"now": fleet.clock.timestamp(), "scale": fleet.clock.scale, "elapsed": fleet.clock.elapsed()})

    async def heal_all(_: web.Request) -> web.Response:
        clear(fleet)
        return answer(describe(fleet))

    return [
        web.get("/sim/v1/faults", guarded(get_faults)),
        web.delete("/sim/v1/faults", guarded(heal_all)),
        web.post("/sim/v1/clusters/{name}/{action}", guarded(cluster_action)),
        web.put("/sim/v1/clusters/{name}/faults", guarded(put_faults)),
        web.post("/sim/v1/clusters/{name}/edge-nodes/{node}/{action}", guarded(edge_action)),
        web.get("/sim/v1/clock", guarded(clock)),
    ]
