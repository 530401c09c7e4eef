"""Reading the fleet service's statuses from the bus (``kurator.status.fleet.>``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nats.js import JetStreamContext

from shared.bus import reader
from shared.contracts import status, subjects


class BusStatuses:
    """:class:`kurator_apps.applications.membership.Statuses` over the status stream's last values."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def latest(self, address: subjects.ObjectAddress) -> Mapping[str, Any] | None:
        found = await reader.last(self._js, subjects.status(address))
        if found is None or found.phase == status.DELETED:
            return None  # a Deleted status lingers a few seconds before it is purged
        return found.document
