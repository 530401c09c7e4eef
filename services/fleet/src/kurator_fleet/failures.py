"""What a Karmada error means for the intent being handled: reject it, or try again later.

* 422 Invalid / 400 BadRequest: Karmada refuses the object as written, so the intent can never
  succeed: :class:`~shared.errors.InvalidIntent`, one reason per ``Status`` cause, the field
  prefixed with where the written object sits in the intent document
  (``spec.templates[1].spec.replicas``).
* A kind Karmada does not serve (404 from discovery): rejected as well, on ``kind``.
* Conflicts, throttling, 5xx, timeouts, an unreachable API server: transient, so
  :class:`~shared.errors.RetryableError` with a delay fitting the cause (the consumer naks).
* 401/403: not the intent's fault and not transient either, but fixable by an operator
  (credentials, RBAC), so retried slowly until the message reaches the DLQ.

Anything else (405, 415, ...) is a bug on our side and propagates unchanged (nak with back-off).
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Final, Literal, get_args

from shared import errors
from shared.contracts import validation
from shared.k8s import errors as k8s_errors

_REASON_CODES: Final = frozenset(get_args(validation.ReasonCode))

_DELAYS: Final[dict[type[k8s_errors.ApiError], timedelta]] = {
    k8s_errors.Conflict: timedelta(seconds=1),
    k8s_errors.TooManyRequests: timedelta(seconds=2),
    k8s_errors.ServerError: timedelta(seconds=2),
    k8s_errors.Unavailable: timedelta(seconds=5),
    k8s_errors.Gone: timedelta(seconds=1),
    k8s_errors.Unauthorized: timedelta(seconds=30),
    k8s_errors.Forbidden: timedelta(seconds=30),
}


def join_field(prefix: str, field: str) -> str:
    """``spec.templates[1]`` + ``spec.replicas`` -> ``spec.templates[1].spec.replicas``."""
    if not field:
        return prefix or "<root>"
    if not prefix:
        return field
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _reason_code(reason: str) -> validation.ReasonCode:
    return reason if reason in _REASON_CODES else "FieldValueInvalid"  # type: ignore[return-value]


def refused(exc: k8s_errors.ApiError, *, field: str, what: str, nest: bool = True) -> errors.InvalidIntent:
    """The rejection for Karmada refusing ``what``; causes become reasons under ``field``.

    ``nest=False`` when the written object is derived from the intent rather than contained
    in it: every reason is then on ``field`` itself, the object's own field named in the message.
    """
    if not exc.causes:
        return errors.InvalidIntent(
            [validation.Reason(field=field or "<root>", message=f"Karmada refused {what}: {exc.message}")]
        )
    reasons = []
    for cause in exc.causes:
        where = join_field(field, cause.field) if nest else field or "<root>"
        detail = cause.message if nest else f"{cause.field}: {cause.message}"
        message = f"Karmada refused {what}: {detail}"
        reasons.append(validation.Reason(field=where, reason=_reason_code(cause.reason), message=message))
    return errors.InvalidIntent(reasons)


def retry_later(exc: k8s_errors.ApiError, *, what: str) -> errors.RetryableError:
    delay = _DELAYS.get(type(exc), timedelta(seconds=2))
    if exc.retry_after_seconds is not None:
        delay = timedelta(seconds=exc.retry_after_seconds)
    return errors.RetryableError(f"writing {what} to Karmada: {exc}", delay=delay)


class writing:  # noqa: N801 - used as a function: ``with failures.writing(...)``
    """Map Karmada errors raised inside to intent errors; ``field`` is where ``what`` sits in the intent
    (``nest``: see :func:`refused`).

    A class rather than a generator context manager: an apply enters several of these, and a
    generator costs a few times more to enter and leave.
    """

    __slots__ = ("_field", "_nest", "_what")

    def __init__(self, what: str, *, field: str = "", nest: bool = True) -> None:
        self._what, self._field, self._nest = what, field, nest

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, k8s_errors.ApiError):
            return False
        what, field = self._what, self._field
        if isinstance(exc, k8s_errors.Invalid | k8s_errors.BadRequest):
            raise refused(exc, field=field, what=what, nest=self._nest) from exc
        if isinstance(exc, k8s_errors.NotFound):
            if exc.details.get("kind") == "namespaces" or exc.details.get("name"):
                return False  # an object went missing under us: not a statement about the intent
            kind_field = join_field(field, "kind")
            raise errors.InvalidIntent(
                [validation.Reason(field=kind_field, reason="FieldValueNotSupported", message=f"{what}: {exc.message}")]
            ) from exc
        if exc.transient or type(exc) in _DELAYS:
            raise retry_later(exc, what=what) from exc
        return False
