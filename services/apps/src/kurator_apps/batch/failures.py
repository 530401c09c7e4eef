"""What a member's refusal means for a Volcano intent: reject it, or try again later.

* 422 Invalid / 400 BadRequest (Volcano's admission webhooks answer 400 with
  ``admission webhook "validatejob.volcano.sh" denied the request: ...``): the member will
  never take the object as written, so :class:`~shared.errors.InvalidIntent`, one reason per
  ``Status`` cause (prefixed by where the object sits in the intent), or one on ``field``.
* Conflicts, throttling, 5xx, an unreachable member: :class:`~shared.errors.RetryableError`.

Anything else propagates unchanged (the consumer naks with back-off).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from shared import errors
from shared.contracts import validation
from shared.k8s import errors as k8s_errors


def _join(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def refused(exc: k8s_errors.ApiError, *, field: str, what: str) -> errors.InvalidIntent:
    if not exc.causes:
        return errors.InvalidIntent([validation.Reason(field=field, message=f"{what} refused: {exc.message}")])
    return errors.InvalidIntent(
        [
            validation.Reason(field=_join(field, cause.field), message=f"{what} refused: {cause.message}")
            for cause in exc.causes
        ]
    )


@contextlib.contextmanager
def writing(what: str, *, field: str = "spec") -> Iterator[None]:
    """Map member API errors raised inside to intent errors; ``field``: where ``what`` sits in the intent."""
    try:
        yield
    except (k8s_errors.Invalid, k8s_errors.BadRequest) as exc:
        raise refused(exc, field=field, what=what) from exc
    except k8s_errors.ApiError as exc:
        if not exc.transient:
            raise
        delay = timedelta(seconds=exc.retry_after_seconds or 2)
        raise errors.RetryableError(f"writing {what}: {exc}", delay=delay) from exc
