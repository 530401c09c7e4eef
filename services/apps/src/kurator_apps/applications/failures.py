"""What an API server error while writing an Application's Flux objects means for the intent.

* 422 Invalid / 400 BadRequest: the host refuses a rendered object, so the intent cannot
  succeed as written: :class:`~shared.errors.InvalidIntent` on ``spec`` (the objects are derived
  from the whole Application), each cause's field named in the message.
* 404 for a Flux resource itself (the host does not serve Flux's APIs): not the intent's fault,
  but nothing works until Flux is installed, so retried slowly (until the DLQ takes it).
* Conflicts, throttling, 5xx, timeouts, 401/403: retried later (the consumer naks).

Anything else propagates unchanged (nak with back-off).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Final

from shared import errors
from shared.contracts import validation
from shared.k8s import errors as k8s_errors

_SLOW: Final = timedelta(seconds=30)
_SOON: Final = timedelta(seconds=2)


@contextlib.contextmanager
def on_host(what: str) -> Iterator[None]:
    """Map API errors raised inside to intent errors; ``what`` names the object in messages."""
    try:
        yield
    except (k8s_errors.Invalid, k8s_errors.BadRequest) as exc:
        details = [f"{c.field}: {c.message}" if c.field else c.message for c in exc.causes] or [exc.message]
        raise errors.InvalidIntent(
            [validation.Reason(field="spec", message=f"the host refused {what}: {d}") for d in details]
        ) from exc
    except k8s_errors.NotFound as exc:
        if exc.details.get("name") or exc.details.get("kind") == "namespaces":
            raise  # an object went missing under us: a retry sees the new state
        raise errors.RetryableError(f"the host does not serve {what} (is Flux installed?): {exc}", delay=_SLOW) from exc
    except (k8s_errors.Unauthorized, k8s_errors.Forbidden) as exc:
        raise errors.RetryableError(f"writing {what}: {exc}", delay=_SLOW) from exc
    except k8s_errors.ApiError as exc:
        if not exc.transient:
            raise
        delay = timedelta(seconds=exc.retry_after_seconds) if exc.retry_after_seconds is not None else _SOON
        raise errors.RetryableError(f"writing {what}: {exc}", delay=delay) from exc
