"""Building HTTP answers: JSON bodies (orjson), ``Status`` errors and ``Warning`` headers.

Every error leaves the server as a ``Status`` object with the matching HTTP code, which is
what lets kubectl print ``Error from server (NotFound): ...`` and kubernetes_asyncio raise an
``ApiException`` carrying the reason. Warnings go out as the apiserver sends them,
``Warning: 299 - "<text>"``, one header each; kubectl prints them as ``Warning: <text>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from kurator_sim import errors

JSON_CONTENT_TYPE = "application/json"


def warning_header(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def raw(
    body: bytes, *, status: int = 200, content_type: str = JSON_CONTENT_TYPE, warnings: Iterable[str] = ()
) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict({"Content-Type": content_type})
    for text in warnings:
        headers.add("Warning", warning_header(text))
    return web.Response(body=body, status=status, headers=headers)


def json(
    obj: Any, *, status: int = 200, content_type: str = JSON_CONTENT_TYPE, warnings: Iterable[str] = ()
) -> web.Response:
    return raw(orjson.dumps(obj), status=status, content_type=content_type, warnings=warnings)


def error(err: errors.ApiError) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict({"Content-Type": JSON_CONTENT_TYPE})
    if err.retry_after_seconds is not None:
        headers["Retry-After"] = str(err.retry_after_seconds)
    return web.Response(body=orjson.dumps(err.status()), status=err.code, headers=headers)


def not_found_path() -> errors.ApiError:
    """The apiserver's answer for a path it serves nothing at."""
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed() -> errors.ApiError:
    return errors.method_not_allowed("the server does not allow this method on the requested resource")
