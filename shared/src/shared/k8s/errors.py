"""Kubernetes API errors as our own types, translated from ``kubernetes_asyncio`` at the boundary.

The client library may be replaced one day (kopf's reason for the same module), so nothing
above ``shared.k8s`` catches its exceptions: every call in :mod:`shared.k8s.objects` raises
:func:`translation` of the library's error, one of the types below, ``from`` that error.

The type says what happened (``NotFound``, ``Conflict``, ``Invalid`` with the ``Status``
causes, ...); ``transient`` says whether trying again later can help. Deciding what that
means for an intent (reject, retry) is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import aiohttp
import orjson
from kubernetes_asyncio.client.exceptions import ApiException

from shared import errors

_MAX_MESSAGE: Final = 256
"""Bodies that are not a ``Status`` are cut to this many characters: protect the logs."""


@dataclass(frozen=True, slots=True)
class Cause:
    """One ``Status.details.causes`` entry: which field, and why."""

    field: str
    reason: str
    message: str


class ApiError(errors.KuratorError):
    """The API server refused or failed a call (or could not be reached)."""

    transient: ClassVar[bool] = False
    """Whether the same call may succeed later without anyone changing the request."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        causes: tuple[Cause, ...] = (),
        details: Mapping[str, Any] | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes
        self.details = dict(details or {})
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"({status} {reason}) {message}" if status else message)


class BadRequest(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """400: the request is malformed (strict decoding errors, an admission webhook's denial)."""


class Unauthorized(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """401: the credentials were refused."""


class Forbidden(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """403: RBAC (or an admission policy) forbids the call."""


class NotFound(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """404: the object (or its namespace, or the resource type) does not exist."""


class MethodNotAllowed(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """405: the resource does not support the verb."""


class Conflict(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """409 ``Conflict``: a stale ``resourceVersion``, or server-side apply field conflicts."""

    transient = True


class AlreadyExists(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """409 ``AlreadyExists``: a create found the name taken."""


class Gone(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """410: the requested resource version is too old (watches and paginated lists)."""

    transient = True


class Invalid(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """422: the object fails validation (schema, CEL rules, API-specific checks); see ``causes``."""


class TooManyRequests(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """429: throttled (API priority and fairness); ``retry_after_seconds`` says for how long."""

    transient = True


class ServerError(ApiError):
    """5xx: the API server (or a webhook it called) failed."""

    transient = True


class Unavailable(ApiError):  # noqa: N818 - named as Kubernetes names the Status reason
    """No answer: connection refused or reset, a timeout, or 503 from the server."""

    transient = True


_BY_STATUS: Final[dict[int, type[ApiError]]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    503: Unavailable,
}


def _error_class(status: int, reason: str) -> type[ApiError]:
    if status == 409:
        return AlreadyExists if reason == "AlreadyExists" else Conflict
    found = _BY_STATUS.get(status)
    if found is not None:
        return found
    if status >= 500:
        return ServerError
    if status == 0:
        return Unavailable
    return ApiError


def _status_body(body: Any) -> dict[str, Any] | None:
    """The ``Status`` object in a response body, or ``None`` if the body is something else."""
    if isinstance(body, bytes | bytearray):
        body = body.decode(errors="replace")
    if isinstance(body, str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return body
    return None


def _causes(details: Mapping[str, Any]) -> tuple[Cause, ...]:
    out = []
    for raw in details.get("causes") or ():
        if isinstance(raw, dict):
            out.append(Cause(str(raw.get("field", "")), str(raw.get("reason", "")), str(raw.get("message", ""))))
    return tuple(out)


def from_api_exception(exc: ApiException) -> ApiError:
    """The typed error for an ``ApiException`` (its ``Status`` body parsed when there is one)."""
    status = int(exc.status or 0)
    body = _status_body(exc.body)
    if body is None:
        text = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body or "")
        message = (text or str(exc.reason or "")).strip()[:_MAX_MESSAGE]
        return _error_class(status, "")(message, status=status, reason=str(exc.reason or ""))
    reason = str(body.get("reason", ""))
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    assert isinstance(details, dict)
    retry_after = details.get("retryAfterSeconds")
    return _error_class(status, reason)(
        str(body.get("message", "")),
        status=status,
        reason=reason,
        causes=_causes(details),
        details=details,
        retry_after_seconds=float(retry_after) if isinstance(retry_after, int | float) else None,
    )


def translation(exc: ApiException | TimeoutError | aiohttp.ClientError) -> ApiError:
    """Our error for a client library's (raise it ``from`` that one)."""
    if isinstance(exc, ApiException):
        return from_api_exception(exc)
    if isinstance(exc, TimeoutError):
        return Unavailable(f"the API server did not answer in time: {exc or 'timeout'}")
    return Unavailable(f"the API server cannot be reached: {exc}")
