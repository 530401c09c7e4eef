"""The Prometheus (and Thanos Query) compatible HTTP API over the simulated series.

``build_query_app(fleet, clock)`` returns an aiohttp application to mount anywhere (its paths
are the Prometheus ones: ``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/series``,
``/api/v1/labels``, ``/api/v1/label/<name>/values``, ``/api/v1/metadata``,
``/api/v1/rules``, ``/api/v1/alerts``, ``/api/v1/status/buildinfo``, ``/-/ready``,
``/-/healthy``). Parameters come from the query string or a form-encoded POST body, as in
Prometheus. Responses use Prometheus's envelope (``{"status": "success", "data": ...}``) and
value encoding (``[<unix seconds>, "<value>"]``); errors are ``{"status": "error",
"errorType": "bad_data" | "execution" | "internal", "error": "..."}`` with 400, 422 or 500
and Prometheus's messages (``invalid parameter "query": 1:5: parse error: ...``). Thanos's
extra parameters (``dedup``, ``partial_response``, ``max_source_resolution``,
``replicaLabels[]``, ``storeMatch[]``, ``engine``) are accepted and have no effect: every
series already carries its ``cluster`` external label and there are no replicas to merge.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from kurator_sim.clock import SimClock
from kurator_sim.fleet import Fleet
from kurator_sim.prometheus.evaluator import Evaluator
from kurator_sim.prometheus.functions import EvaluationError
from kurator_sim.prometheus.lexer import ParseError, duration_seconds
from kurator_sim.prometheus.parser import parse, parse_selector
from kurator_sim.prometheus.series import METADATA, FleetSeries, SimSeries
from kurator_sim.prometheus.values import (
    NAME,
    LabelKey,
    Labels,
    Matrix,
    Scalar,
    String,
    Value,
    Vector,
    format_time,
    format_value,
    key,
)

MAX_POINTS = 11_000
BUILD_INFO = {
    "version": "2.55.1",
    "revision": "kurator-sim",
    "branch": "HEAD",
    "buildUser": "kurator-sim",
    "buildDate": "20250101-00:00:00",
    "goVersion": "go1.23.4",
}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class ApiError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def status(self) -> int:
        return {"bad_data": 400, "execution": 422, "timeout": 503, "canceled": 503}.get(self.error_type, 500)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def _success(data: Any) -> web.Response:
    return _json({"status": "success", "data": data})


def _error(err: ApiError) -> web.Response:
    return _json({"status": "error", "errorType": err.error_type, "error": err.message}, err.status)


def parse_timestamp(raw: str, param: str) -> float:
    """``parseTime``: unix seconds (fractions allowed) or RFC 3339."""
    try:
        value = float(raw)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError("bad_data", f'invalid parameter "{param}": cannot parse "{raw}" to a valid timestamp') from None


def parse_duration(raw: str, param: str) -> float:
    """``parseDuration``: seconds (fractions allowed) or a Prometheus duration (``5m``)."""
    try:
        value = float(raw)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    if re.fullmatch(r"(?:[0-9]+(?:ms|[smhdwy]))+", raw):
        try:
            return duration_seconds(raw)
        except ValueError:
            pass
    raise ApiError("bad_data", f'invalid parameter "{param}": cannot parse "{raw}" to a valid duration')


class _QueryApi:
    def __init__(self, series: FleetSeries, clock: SimClock) -> None:
        self.source = series
        self.clock = clock

    # -- plumbing -------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> MultiDict[str]:
        params: MultiDict[str] = MultiDict(request.query)
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            form: MultiDictProxy[Any] = await request.post()
            for name, value in form.items():
                if isinstance(value, str):
                    params.add(name, value)
        return params

    def _evaluator(self) -> tuple[Evaluator, list[SimSeries]]:
        snapshot = self.source.snapshot()
        return Evaluator(snapshot, since=self.source.boot), snapshot

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _parse(self, query: str) -> Any:
        try:
            return parse(query)
        except ParseError as exc:
            raise ApiError("bad_data", f'invalid parameter "query": {exc}') from None

    def _matchers(self, params: MultiDict[str], *, required: bool) -> list[Any]:
        raw = params.getall("match[]", [])
        if not raw and required:
            raise ApiError("bad_data", "no match[] parameter provided")
        selectors = []
        for text in raw:
            try:
                selectors.append(parse_selector(text))
            except ParseError as exc:
                raise ApiError("bad_data", f'invalid parameter "match[]": {exc}') from None
        return selectors

    def _matching(self, evaluator: Evaluator, snapshot: list[SimSeries], selectors: list[Any]) -> list[SimSeries]:
        if not selectors:
            return snapshot
        found: dict[LabelKey, SimSeries] = {}
        for selector in selectors:
            for s in evaluator.select(selector):
                found[s.key] = s
        return list(found.values())

    async def _handle(self, request: web.Request, fn: Any) -> web.Response:
        try:
            params = await self._params(request)
            return _success(fn(params, request))
        except ApiError as err:
            return _error(err)
        except EvaluationError as err:
            return _error(ApiError("execution", str(err)))

    # -- endpoints --------------------------------------------------------------------------------------

    async def query(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._query)

    def _query(self, params: MultiDict[str], request: web.Request) -> Any:
        t = parse_timestamp(params["time"], "time") if params.get("time") else self._now()
        if params.get("timeout"):
            parse_duration(params["timeout"], "timeout")
        expr = self._parse(params.get("query", ""))
        evaluator, _ = self._evaluator()
        value = evaluator.eval(expr, t)
        return _encode(value, t)

    async def query_range(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._query_range)

    def _query_range(self, params: MultiDict[str], request: web.Request) -> Any:
        start = parse_timestamp(params.get("start", ""), "start")
        end = parse_timestamp(params.get("end", ""), "end")
        if end < start:
            raise ApiError("bad_data", 'invalid parameter "end": end timestamp must not be before start time')
        step = parse_duration(params.get("step", ""), "step")
        if step <= 0:
            raise ApiError(
                "bad_data",
                'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
                "Try a positive integer",
            )
        if (end - start) / step > MAX_POINTS:
            raise ApiError(
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution "
                "(?step=XX)",
            )
        expr = self._parse(params.get("query", ""))
        if expr.type not in ("scalar", "vector"):
            kind = {"matrix": "range vector", "string": "string"}[expr.type]
            raise ApiError(
                "bad_data",
                f'invalid parameter "query": invalid expression type "{kind}" for range query, must be Scalar or '
                "instant Vector",
            )
        evaluator, _ = self._evaluator()
        rows: dict[LabelKey, tuple[Labels, list[list[Any]]]] = {}
        steps = math.floor((end - start) / step + 1e-9) + 1
        for i in range(steps):
            t = start + i * step
            value = evaluator.eval(expr, t)
            samples = (
                [(({}), value.value)]
                if isinstance(value, Scalar)
                else [
                    (s.labels, s.value)
                    for s in value.samples  # type: ignore[union-attr]
                ]
            )
            for labels, v in samples:
                rows.setdefault(key(labels), (labels, []))[1].append([format_time(t), format_value(v)])
        result = [{"metric": labels, "values": values} for _, (labels, values) in sorted(rows.items())]
        return {"resultType": "matrix", "result": result}

    async def series(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._series)

    def _series(self, params: MultiDict[str], request: web.Request) -> Any:
        self._time_range(params)
        selectors = self._matchers(params, required=True)
        evaluator, snapshot = self._evaluator()
        found = self._matching(evaluator, snapshot, selectors)
        return [s.labels for s in sorted(found, key=lambda s: s.key)]

    async def labels(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._labels)

    def _labels(self, params: MultiDict[str], request: web.Request) -> Any:
        self._time_range(params)
        selectors = self._matchers(params, required=False)
        evaluator, snapshot = self._evaluator()
        names = {name for s in self._matching(evaluator, snapshot, selectors) for name in s.labels}
        return sorted(names)

    async def label_values(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]

        def values(params: MultiDict[str], request: web.Request) -> Any:
            if not _LABEL_NAME.match(name):
                raise ApiError("bad_data", f'invalid label name: "{name}"')
            self._time_range(params)
            selectors = self._matchers(params, required=False)
            evaluator, snapshot = self._evaluator()
            found = {s.labels[name] for s in self._matching(evaluator, snapshot, selectors) if name in s.labels}
            return sorted(found)

        return await self._handle(request, values)

    async def metadata(self, request: web.Request) -> web.Response:
        def data(params: MultiDict[str], request: web.Request) -> Any:
            wanted = params.get("metric")
            present = {s.labels.get(NAME, "") for s in self.source.snapshot()}
            return {
                name: [{"type": kind, "help": help_text, "unit": ""}]
                for name, (kind, help_text) in sorted(METADATA.items())
                if name in present and (not wanted or wanted == name)
            }

        return await self._handle(request, data)

    def _time_range(self, params: MultiDict[str]) -> None:
        for name in ("start", "end"):
            if params.get(name):
                parse_timestamp(params[name], name)

    async def rules(self, request: web.Request) -> web.Response:
        return _success({"groups": []})

    async def alerts(self, request: web.Request) -> web.Response:
        return _success({"alerts": []})

    async def buildinfo(self, request: web.Request) -> web.Response:
        return _success(BUILD_INFO)

    async def ready(self, request: web.Request) -> web.Response:
        return web.Response(text="Prometheus Server is Ready.\n")

    async def healthy(self, request: web.Request) -> web.Response:
        return web.Response(text="Prometheus Server is Healthy.\n")


def _encode(value: Value, t: float) -> dict[str, Any]:
    ts = format_time(t)
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [ts, format_value(value.value)]}
    if isinstance(value, String):
        return {"resultType": "string", "result": [ts, value.value]}
    if isinstance(value, Matrix):
        rows = sorted(value.series, key=lambda s: key(s.labels))
        return {
            "resultType": "matrix",
            "result": [
                {"metric": s.labels, "values": [[format_time(pt), format_value(v)] for pt, v in s.points]} for s in rows
            ],
        }
    assert isinstance(value, Vector)
    samples = value.samples if value.ordered else sorted(value.samples, key=lambda s: key(s.labels))
    return {
        "resultType": "vector",
        "result": [{"metric": s.labels, "value": [ts, format_value(s.value)]} for s in samples],
    }


def build_query_app(fleet: Fleet, clock: SimClock) -> web.Application:
    """An aiohttp application serving the Prometheus query API over ``fleet``'s series."""
    api = _QueryApi(FleetSeries(fleet, clock), clock)
    app = web.Application()
    routes = {
        "/api/v1/query": api.query,
        "/api/v1/query_range": api.query_range,
        "/api/v1/series": api.series,
        "/api/v1/labels": api.labels,
        "/api/v1/label/{name}/values": api.label_values,
        "/api/v1/metadata": api.metadata,
    }
    for path, handler in routes.items():
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    app.router.add_get("/api/v1/rules", api.rules)
    app.router.add_get("/api/v1/alerts", api.alerts)
    app.router.add_get("/api/v1/status/buildinfo", api.buildinfo)
    app.router.add_get("/-/ready", api.ready)
    app.router.add_get("/-/healthy", api.healthy)
    return app
