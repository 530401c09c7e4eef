"""The batch area's kind handlers: what an accepted ``Job`` or ``Queue`` intent does on the members."""

from __future__ import annotations

import asyncio
from typing import Any

from kurator_apps.batch import failures, ports, render
from kurator_apps.batch.placing import MANAGER, Placer, job_address
from shared.bus import store
from shared.contracts import cloudevents
from shared.contracts import status as status_contract
from shared.contracts.meta import KubeObject


class JobHandler:
    """Places the gang (or leaves it waiting) and answers with its status; delete removes it from its member."""

    def __init__(self, placer: Placer) -> None:
        self._placer = placer

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        body, event = await self._placer.apply(
            record.document, generation=record.generation, changed_at=record.changed_at
        )
        if event is not None:
            await self._placer.announce(job_address(record.document), event, body)
        return body

    async def on_delete(self, record: store.Record) -> None:
        await self._placer.remove(record.document)


class QueueHandler:
    """A declared queue is written to every ready member that has it (others get it with their first job).

    Delete removes it from the members where we created it (Volcano's own queues are left alone).
    """

    def __init__(self, members: ports.Members) -> None:
        self._members = members

    async def _holding(self, name: str) -> list[tuple[str, ports.RawObject]]:
        clusters = await self._members.ready_clusters()
        found = await asyncio.gather(*(self._members.find_queue(c, name) for c in clusters))
        return [(c, q) for c, q in zip(clusters, found, strict=True) if q is not None]

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        name = obj.metadata.name
        with failures.writing("queue"):
            holding = await self._holding(name)
            for cluster, _ in holding:
                await self._members.apply_queue(cluster, render.member_queue(name, record.document, manager=MANAGER))
        clusters = [c for c, _ in holding]
        message = (
            f"written to {', '.join(clusters)}" if clusters else "written to a member with the first job that uses it"
        )
        return {
            "phase": "Applied" if clusters else status_contract.ACCEPTED,
            "observedGeneration": record.generation,
            "clusters": clusters,
            "conditions": [
                status_contract.condition(
                    type="Applied",
                    status="True" if clusters else "False",
                    reason="Written" if clusters else "NotNeededYet",
                    message=message,
                    generation=record.generation,
                    time=record.changed_at or cloudevents.now_rfc3339(),
                )
            ],
        }

    async def on_delete(self, record: store.Record) -> None:
        name = str(record.document["metadata"]["name"])
        with failures.writing("queue"):
            for cluster, queue in await self._holding(name):
                labels = (queue.get("metadata") or {}).get("labels") or {}
                if labels.get(render.MANAGED_BY) == MANAGER:
                    await self._members.delete_queue(cluster, name)
