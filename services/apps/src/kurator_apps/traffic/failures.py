"""What a member cluster's answer means for the intent: reject it, or try again later.

* 422 Invalid / 400 BadRequest: the member's Istio CRD schema (or Istio's validating webhook)
  refuses the object, so the intent can never succeed as written: one reason per ``Status``
  cause, on the intent's own field when the refused object is the one the user wrote
  (the VirtualService, a user's DestinationRule), else on ``field`` with the cause named.
* Conflicts, throttling, 5xx, timeouts, an unreachable member: transient, retried after a
  delay fitting the cause; 401/403 likewise but slowly (an operator must fix credentials).

Anything else is a bug on our side and propagates (nak with back-off).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Final, get_args

from shared import errors
from shared.contracts import validation
from shared.k8s import errors as k8s_errors

_REASON_CODES: Final = frozenset(get_args(validation.ReasonCode))
_SLOW: Final = timedelta(seconds=30)


def _code(reason: str) -> validation.ReasonCode:
    return reason if reason in _REASON_CODES else "FieldValueInvalid"  # type: ignore[return-value]


def refused(exc: k8s_errors.ApiError, *, cluster: str, what: str, field: str | None) -> errors.InvalidIntent:
    """``field=None``: the refused object is the intent's own, so its causes' fields are the intent's."""
    prefix = f"cluster {cluster} refused {what}"
    if not exc.causes:
        return errors.InvalidIntent([validation.Reason(field=field or "spec", message=f"{prefix}: {exc.message}")])
    return errors.InvalidIntent(
        [
            validation.Reason(
                field=(c.field or "spec") if field is None else field,
                reason=_code(c.reason),
                message=f"{prefix}: {c.message}" if field is None else f"{prefix}: {c.field}: {c.message}",
            )
            for c in exc.causes
        ]
    )


@contextlib.contextmanager
def writing(cluster: str, what: str, *, field: str | None = None) -> Iterator[None]:
    """Map the member's errors inside to intent errors (``field``: see :func:`refused`)."""
    try:
        yield
    except (k8s_errors.Invalid, k8s_errors.BadRequest) as exc:
        raise refused(exc, cluster=cluster, what=what, field=field) from exc
    except (k8s_errors.Unauthorized, k8s_errors.Forbidden) as exc:
        raise errors.RetryableError(f"writing {what} to {cluster}: {exc}", delay=_SLOW) from exc
    except k8s_errors.ApiError as exc:
        if not exc.transient:
            raise
        delay = timedelta(seconds=exc.retry_after_seconds or 1)
        raise errors.RetryableError(f"writing {what} to {cluster}: {exc}", delay=delay) from exc
