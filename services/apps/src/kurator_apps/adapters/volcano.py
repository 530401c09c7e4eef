"""Volcano on the member clusters, reached through Karmada's cluster proxy.

Implements :class:`kurator_apps.batch.ports.Members`: reads nodes, pods, Volcano jobs and
queues of a member, writes jobs and queues with server-side apply as ``kurator-apps``, and
follows the jobs (and their PodGroups) we wrote with :mod:`shared.k8s.watching`. Karmada
itself is only read (its ``Cluster`` objects, for readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

from kurator_apps.batch import ports, render
from shared.k8s import connection, members, objects, resources, watching
from shared.k8s.resources import Resource

FIELD_MANAGER: Final = "kurator-apps"
JOBS: Final = Resource("batch.volcano.sh", "v1alpha1", "jobs", True, "Job")
QUEUES: Final = Resource("scheduling.volcano.sh", "v1beta1", "queues", False, "Queue")
PODGROUPS: Final = Resource("scheduling.volcano.sh", "v1beta1", "podgroups", True, "PodGroup")
_SELECTOR: Final = f"{render.MANAGED_BY}={FIELD_MANAGER}"


FAILING_TAINTS: Final = frozenset({"cluster.karmada.io/not-ready", "cluster.karmada.io/unreachable"})
"""The ``NoExecute`` taints Karmada's cluster controller puts on a failing member (what its
taint manager evicts workloads for)."""


def failing_taint(cluster: Mapping[str, Any]) -> str | None:
    """The key of the cluster's ``NoExecute`` failure taint, if it carries one."""
    for taint in (cluster.get("spec") or {}).get("taints") or ():
        if taint.get("effect") == "NoExecute" and taint.get("key") in FAILING_TAINTS:
            return str(taint["key"])
    return None


def is_ready(cluster: Mapping[str, Any]) -> bool:
    """A Karmada ``Cluster`` whose ``Ready`` condition is ``True``."""
    for condition in (cluster.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


class VolcanoMembers:
    def __init__(self, karmada: connection.ApiClient) -> None:
        self._karmada = objects.Objects(karmada, field_manager=FIELD_MANAGER)
        self._clients = members.MemberClients(karmada)
        self._members: dict[str, objects.Objects] = {}

    def _on(self, cluster: str) -> objects.Objects:
        found = self._members.get(cluster)
        if found is None:
            found = self._members[cluster] = objects.Objects(self._clients(cluster), field_manager=FIELD_MANAGER)
        return found

    async def close(self) -> None:
        await self._clients.close()

    async def ready_clusters(self) -> list[str]:
        clusters = await self._karmada.list_objects(resources.KARMADA_CLUSTERS)
        return sorted(str(c["metadata"]["name"]) for c in clusters if is_ready(c))

    async def failing_clusters(self) -> dict[str, str]:
        clusters = await self._karmada.list_objects(resources.KARMADA_CLUSTERS)
        return {str(c["metadata"]["name"]): key for c in clusters if (key := failing_taint(c)) is not None}

    async def state(self, cluster: str) -> ports.MemberState:
        api = self._on(cluster)
        nodes, pods, jobs, queues = await asyncio.gather(
            api.list_objects(resources.NODES),
            api.list_objects(resources.PODS),
            api.list_objects(JOBS),
            api.list_objects(QUEUES),
        )
        return ports.MemberState(
            cluster=cluster,
            nodes=nodes,
            pods=pods,
            jobs=jobs,
            queues={str(q["metadata"]["name"]): q for q in queues},
        )

    async def apply_namespace(self, cluster: str, name: str) -> None:
        await self._on(cluster).apply(resources.NAMESPACES, {"metadata": {"name": name}})

    async def apply_queue(self, cluster: str, body: Mapping[str, Any]) -> ports.RawObject:
        return await self._on(cluster).apply(QUEUES, body)

    async def find_queue(self, cluster: str, name: str) -> ports.RawObject | None:
        return await self._on(cluster).find(QUEUES, name=name)

    async def delete_queue(self, cluster: str, name: str) -> bool:
        return await self._on(cluster).delete(QUEUES, name=name, missing_ok=True)

    async def apply_job(self, cluster: str, body: Mapping[str, Any]) -> ports.RawObject:
        return await self._on(cluster).apply(JOBS, body)

    async def find_job(self, cluster: str, namespace: str, name: str) -> ports.RawObject | None:
        return await self._on(cluster).find(JOBS, name=name, namespace=namespace)

    async def delete_job(self, cluster: str, namespace: str, name: str) -> bool:
        return await self._on(cluster).delete(JOBS, name=name, namespace=namespace, missing_ok=True)

    async def follow(self, cluster: str) -> AsyncIterator[ports.MemberEvent]:
        # Jobs and their PodGroups (which carry the job's labels) merged into one stream.
        queue: asyncio.Queue[ports.MemberEvent] = asyncio.Queue()
        api = self._clients(cluster)

        async def pump(resource: Resource) -> None:
            try:
                async for item in watching.infinite_watch(api, resource, label_selector=_SELECTOR):
                    if isinstance(item, watching.Synced):
                        queue.put_nowait(ports.MemberEvent(cluster, resource.kind, "SYNCED", {}))
                    else:
                        queue.put_nowait(ports.MemberEvent(cluster, resource.kind, item.type, item.object))
            except Exception as exc:  # infinite_watch survives API errors; anything else is a bug
                queue.put_nowait(ports.MemberEvent(cluster, resource.kind, "FAILED", {"error": repr(exc)}))
                raise

        tasks = [asyncio.create_task(pump(r)) for r in (JOBS, PODGROUPS)]
        try:
            while True:
                event = await queue.get()
                if event.type == "FAILED":
                    raise RuntimeError(f"watching {event.kind}s on {cluster} failed: {event.object['error']}")
                yield event
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
