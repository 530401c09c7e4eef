"""Query parameters and request bodies of API calls, parsed and checked as the apiserver does.

``ListOptions`` (selectors, paging, watch), ``WriteOptions`` (``dryRun``, ``fieldManager``,
``fieldValidation``, ``force``) and ``DeleteOptions`` (from the body or the query). The
default field manager is derived from the User-Agent exactly as the apiserver does it
(everything before the first ``/``), so ``kubectl`` writes show up as manager ``kubectl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson
import yaml
from aiohttp import web
from multidict import MultiDict, MultiMapping

from kurator_sim import errors
from kurator_sim.api import protobuf
from kurator_sim.resources import ResourceType

FieldValidation = Literal["Ignore", "Warn", "Strict"]
_VALIDATION: dict[str, FieldValidation] = {"ignore": "Ignore", "warn": "Warn", "strict": "Strict"}


def _flag(query: MultiMapping[str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


@dataclass(frozen=True, slots=True)
class ListOptions:
    label_selector: str | None
    field_selector: str | None
    limit: int | None
    continue_token: str | None
    resource_version: str | None
    watch: bool
    bookmarks: bool
    send_initial_events: bool
    timeout_seconds: float | None
    include_object: Literal["None", "Metadata", "Object"]

    @classmethod
    def parse(cls, query: MultiMapping[str]) -> ListOptions:
        limit: int | None = None
        if query.get("limit"):
            try:
                limit = int(query["limit"])
            except ValueError as exc:
                raise errors.bad_request(f"invalid limit: {query['limit']}") from exc
            if limit <= 0:
                limit = None
        timeout: float | None = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError as exc:
                raise errors.bad_request(f"invalid timeoutSeconds: {query['timeoutSeconds']}") from exc
        include = query.get("includeObject", "Metadata") or "Metadata"
        if include not in ("None", "Metadata", "Object"):
            raise errors.bad_request(f"includeObject: Unsupported value: {include!r}")
        return cls(
            label_selector=query.get("labelSelector") or None,
            field_selector=query.get("fieldSelector") or None,
            limit=limit,
            continue_token=query.get("continue") or None,
            resource_version=query.get("resourceVersion") or None,
            watch=_flag(query, "watch"),
            bookmarks=_flag(query, "allowWatchBookmarks"),
            send_initial_events=_flag(query, "sendInitialEvents"),
            timeout_seconds=timeout,
            include_object=include,  # type: ignore[arg-type]  # checked just above
        )


NO_LIST_OPTIONS: ListOptions = ListOptions.parse(MultiDict())
"""What a request without a query string asks for (most GETs): parsed once."""


def default_manager(user_agent: str | None) -> str:
    """The apiserver's ``prefixFromUserAgent``: ``kubectl/v1.33.1 (linux/amd64) ...`` -> ``kubectl``."""
    return (user_agent or "").split("/")[0][:128]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool
    field_manager: str
    field_manager_given: bool
    field_validation: FieldValidation
    force: bool

    @classmethod
    def parse(cls, request: web.Request) -> WriteOptions:
        query = request.query
        dry = query.getall("dryRun", [])
        for value in dry:
            if value != "All":
                raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        manager = query.get("fieldManager", "")
        validation = query.get("fieldValidation", "") or "Warn"
        mode = _VALIDATION.get(validation.lower())
        if mode is None:
            raise errors.bad_request(f"invalid fieldValidation directive: {validation}")
        return cls(
            dry_run=bool(dry),
            field_manager=manager or default_manager(request.headers.get("User-Agent")),
            field_manager_given=bool(manager),
            field_validation=mode,
            force=_flag(query, "force"),
        )


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    propagation: str
    uid: str | None
    resource_version: str | None
    dry_run: bool

    @classmethod
    def parse(cls, request: web.Request, body: Any) -> DeleteOptions:
        query = request.query
        opts = body if isinstance(body, dict) else {}
        propagation = opts.get("propagationPolicy") or query.get("propagationPolicy") or ""
        orphan = opts.get("orphanDependents")
        if orphan is None and "orphanDependents" in query:
            orphan = _flag(query, "orphanDependents")
        if not propagation:
            propagation = "Orphan" if orphan else "Background"
        if propagation not in ("Orphan", "Background", "Foreground"):
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [
                    errors.StatusCause(
                        "FieldValueNotSupported",
                        f'Unsupported value: "{propagation}": supported values: "Foreground", "Background", "Orphan"',
                        "propagationPolicy",
                    )
                ],
            )
        pre = opts.get("preconditions") or {}
        dry = opts.get("dryRun") or query.getall("dryRun", [])
        return cls(
            propagation=propagation,
            uid=pre.get("uid") or None,
            resource_version=pre.get("resourceVersion") or None,
            dry_run=bool(dry),
        )


def decode(data: bytes, content_type: str) -> Any:
    """A request body: JSON, or YAML when the client says so (or JSON fails and YAML parses)."""
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "yaml" not in content_type:
            raise errors.bad_request(f"the body of the request could not be decoded as JSON: {exc}") from exc
    # JSON is YAML: clients (kubectl among them) send apply patches as JSON, so that went first.
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {exc}") from exc


async def body(request: web.Request) -> Any:
    return decode(await request.read(), request.headers.get("Content-Type", ""))


async def object_body(request: web.Request, rt: ResourceType) -> dict[str, Any]:
    """A body that must be one object (create, replace): JSON, YAML or, for built-in kinds,
    Kubernetes protobuf (kubectl >= 1.33 sends its typed writes that way)."""
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith(protobuf.MEDIA_TYPE):
        return protobuf.decode(await request.read(), rt)
    data = decode(await request.read(), content_type)
    if not isinstance(data, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    return data
