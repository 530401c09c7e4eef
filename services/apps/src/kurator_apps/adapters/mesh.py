"""Istio config on the mesh's primary clusters, reached through Karmada's cluster proxy.

One :class:`~shared.k8s.objects.Objects` per member (field manager ``kurator-apps``), over the
member's ``ApiClient`` from :class:`~shared.k8s.members.MemberClients`. What this adapter adds
is what the traffic domain should not know: the REST resources of Istio's kinds (served as
``networking.istio.io/v1`` by every supported Istio, so no discovery round trip per member)
and creating the object's namespace on a member that does not have it yet (``kubectl apply``
would fail there; the mesh config should not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared.k8s import connection, errors, members, objects, resources

MANAGER: Final = "kurator-apps"
ISTIO: Final = {
    "VirtualService": resources.Resource("networking.istio.io", "v1", "virtualservices", True, "VirtualService"),
    "DestinationRule": resources.Resource("networking.istio.io", "v1", "destinationrules", True, "DestinationRule"),
}


class MeshClusters:
    """Server-side apply, read, list and delete of Istio objects on member clusters."""

    def __init__(self, karmada: connection.ApiClient) -> None:
        self._members = members.MemberClients(karmada)
        self._objects: dict[str, objects.Objects] = {}

    def _on(self, cluster: str) -> objects.Objects:
        found = self._objects.get(cluster)
        if found is None:
            found = self._objects[cluster] = objects.Objects(self._members(cluster), field_manager=MANAGER)
        return found

    async def apply(self, cluster: str, obj: Mapping[str, Any]) -> resources.RawObject:
        """Write ``obj`` (a ``VirtualService`` or ``DestinationRule``) to ``cluster``; returns it as stored."""
        on, resource = self._on(cluster), ISTIO[str(obj["kind"])]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        try:
            return await on.apply(resource, body)
        except errors.NotFound as exc:
            namespace = (obj.get("metadata") or {}).get("namespace")
            if not (namespace and exc.details.get("kind") == "namespaces"):
                raise
        await on.apply(resources.NAMESPACES, {"metadata": {"name": namespace}})
        return await on.apply(resource, body)

    async def find(self, cluster: str, kind: str, *, namespace: str, name: str) -> resources.RawObject | None:
        return await self._on(cluster).find(ISTIO[kind], name=name, namespace=namespace)

    async def list_labelled(
        self, cluster: str, kind: str, *, namespace: str, selector: str
    ) -> list[resources.RawObject]:
        return await self._on(cluster).list_objects(ISTIO[kind], namespace=namespace, label_selector=selector)

    async def delete(self, cluster: str, kind: str, *, namespace: str, name: str) -> bool:
        """``False`` when it was not there."""
        return await self._on(cluster).delete(ISTIO[kind], name=name, namespace=namespace, missing_ok=True)

    async def close(self) -> None:
        self._objects.clear()
        await self._members.close()
