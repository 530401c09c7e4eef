"""Asking the fleet service to propagate: ``Propagation`` intents on the bus.

The apps service never writes Karmada objects; it publishes (or withdraws) a ``Propagation``
(:mod:`shared.contracts.models.propagation`) on ``kurator.intent.fleet.propagation.<ns>.<name>``
and reads the outcome from the fleet's status. A publish the stream does not acknowledge is
transient: :class:`~shared.errors.RetryableError`, so the intent that caused it is redelivered
and publishes again (the Propagation is the whole desired state, so publishing twice is harmless).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import errors
from shared.bus import jetstream
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, subjects

SERVICE = "fleet"
KIND = "propagation"


def address(namespace: str, name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress(SERVICE, KIND, namespace, name)


class FleetPropagations:
    """Publishes ``Propagation`` intents for the fleet service."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def apply(self, document: dict[str, Any]) -> None:
        meta = document["metadata"]
        await self._send(address(meta["namespace"], meta["name"]), document, cloudevents.APPLY)

    async def delete(self, namespace: str, name: str) -> None:
        target = address(namespace, name)
        body = {
            "apiVersion": "fleet.kurator.dev/v1alpha1",
            "kind": "Propagation",
            "metadata": {"name": name, "namespace": namespace},
        }
        await self._send(target, body, cloudevents.DELETE)

    async def _send(self, target: subjects.ObjectAddress, document: dict[str, Any], verb: str) -> None:
        try:
            await self._publisher.intent(target, document, verb=verb)
        except jetstream.NoStream as exc:
            raise errors.RetryableError(
                f"no stream takes {subjects.intent(target)} yet", delay=timedelta(seconds=5)
            ) from exc
        except (jetstream.PublishError, TimeoutError) as exc:
            raise errors.RetryableError(f"publishing {target.display()} to the fleet: {exc}") from exc
