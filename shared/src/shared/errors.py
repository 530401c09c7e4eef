"""Typed errors a handler raises; each type carries its own retry meaning.

The mapping to JetStream acknowledgements lives in exactly one place,
``shared.bus.consumer``:

* success                -> ``ack``
* :class:`InvalidIntent` -> rejection event, then ``term`` (never redelivered)
* :class:`BenignError`   -> ``ack`` (nothing to do, e.g. a stale or duplicate intent)
* :class:`RetryableError`-> ``nak`` with the error's delay
* any other exception    -> ``nak`` with capped exponential back-off
* delivery count reaching ``max_deliver`` -> DLQ, then ``term``
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from shared.contracts import validation


class KuratorError(Exception):
    """Base of every error kurator-py raises on purpose."""


class InvalidIntent(KuratorError):  # noqa: N818 - reads as the outcome, like kopf's PermanentError
    """The intent can never succeed as written: reject it with reasons that name the field."""

    def __init__(self, reasons: Sequence[validation.Reason]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("; ".join(f"{r.field}: {r.message}" for r in self.reasons))


class RetryableError(KuratorError):
    """A transient failure (API server 5xx, timeout, conflict): try again after ``delay``."""

    def __init__(self, message: str, *, delay: timedelta = timedelta(seconds=1)) -> None:
        self.delay = delay
        super().__init__(message)


class BenignError(KuratorError):
    """Nothing went wrong but there is nothing to do: acknowledge without an error metric."""


class NotConnectedError(KuratorError):
    """A connection holder was used before it connected, or after it closed."""
