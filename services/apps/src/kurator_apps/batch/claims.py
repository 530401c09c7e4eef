"""Which member holds a Volcano job, claimed once for all replicas: KV bucket ``kurator_apps_placements``.

A gang runs whole on one member. Two replicas deciding the same waiting job at the same
instant (an intent in one, the periodic re-check of waiting jobs in the lease holder) would
otherwise each pick a member and start the gang twice. A claim is a create-only KV write
(``Nats-Expected-Last-Subject-Sequence`` 0): the first choice wins, and whoever comes second
reads the winner and writes the job there instead. Deleting the job releases the claim.

Keys are ``<namespace>.<name>`` (both are DNS names, which KV keys accept); the value is the
cluster's name.
"""

from __future__ import annotations

import asyncio
from typing import Final

from nats.js import JetStreamContext, api
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from shared import errors
from shared.contracts import subjects

BUCKET: Final = "kurator_apps_placements"
ATTEMPTS: Final = 5


def key(address: subjects.ObjectAddress) -> str:
    return f"{address.namespace or 'default'}.{address.name}"


class Claims:
    def __init__(self, js: JetStreamContext, *, replicas: int = 1, bucket: str = BUCKET) -> None:
        self._js = js
        self._replicas = replicas
        self._bucket = bucket
        self._kv: KeyValue | None = None
        self._declaring = asyncio.Lock()

    async def _store(self) -> KeyValue:
        # Declared on first use: the batch area is built synchronously, before anything is awaited.
        if self._kv is not None:
            return self._kv
        async with self._declaring:
            if self._kv is None:
                try:
                    await self._js.stream_info(f"KV_{self._bucket}")
                except NotFoundError:
                    config = api.KeyValueConfig(
                        bucket=self._bucket,
                        history=1,
                        storage=api.StorageType.FILE,
                        replicas=self._replicas,
                        direct=True,
                        description="the member each Volcano job was placed on",
                    )
                    await self._js.create_key_value(config=config)
                self._kv = await self._js.key_value(self._bucket)
        return self._kv

    async def holder(self, address: subjects.ObjectAddress) -> str | None:
        """The member the job is claimed for, if any."""
        kv = await self._store()
        try:
            entry = await kv.get(key(address))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return entry.value.decode() if entry.value else None

    async def claim(self, address: subjects.ObjectAddress, cluster: str) -> tuple[str, bool]:
        """Claim ``cluster`` for the job unless it is claimed already: the member that holds it
        now, and whether this call's claim is the one that holds."""
        kv = await self._store()
        for _ in range(ATTEMPTS):
            try:
                await kv.create(key(address), cluster.encode())
            except KeyWrongLastSequenceError:
                # Claimed by someone else, or released between their write and our read: look again.
                found = await self.holder(address)
                if found is not None:
                    return found, False
                continue
            return cluster, True
        raise errors.RetryableError(f"the placement of {address.display()} kept changing while claiming it")

    async def release(self, address: subjects.ObjectAddress) -> None:
        kv = await self._store()
        await kv.delete(key(address))
