"""Flux objects on the host (the Karmada API server, or the simulator) for Kurator ``Application``s.

Built on :mod:`shared.k8s.objects`: server-side apply as ``kurator-apps``, with our own error
types. What this adapter knows that the domain should not: which resource serves each Flux
kind (fixed here rather than discovered, since an Application only ever writes these five),
that the Application's namespace may not exist on the host yet (the Application itself lives
on the bus, so nothing else creates it), and how to find what an Application wrote before (its
label, across every Flux kind) so that what it no longer renders can be deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared.k8s import connection, errors, objects, resources
from shared.k8s.resources import RawObject, Resource

FIELD_MANAGER: Final = "kurator-apps"

FLUX_RESOURCES: Final[dict[str, Resource]] = {
    "GitRepository": Resource("source.toolkit.fluxcd.io", "v1beta2", "gitrepositories", True, "GitRepository"),
    "HelmRepository": Resource("source.toolkit.fluxcd.io", "v1beta2", "helmrepositories", True, "HelmRepository"),
    "OCIRepository": Resource("source.toolkit.fluxcd.io", "v1beta2", "ocirepositories", True, "OCIRepository"),
    "Kustomization": Resource("kustomize.toolkit.fluxcd.io", "v1beta2", "kustomizations", True, "Kustomization"),
    "HelmRelease": Resource("helm.toolkit.fluxcd.io", "v2beta1", "helmreleases", True, "HelmRelease"),
}


def _resource(kind: str) -> Resource:
    try:
        return FLUX_RESOURCES[kind]
    except KeyError:
        raise ValueError(f"{kind} is not a Flux kind an Application writes") from None


class FluxHost:
    """Flux sources, Kustomizations and HelmReleases on one API server, plus kubeconfig Secret lookups."""

    def __init__(self, api: connection.ApiClient, *, field_manager: str = FIELD_MANAGER) -> None:
        self._objects = objects.Objects(api, field_manager=field_manager)

    async def apply(self, obj: Mapping[str, Any]) -> RawObject:
        """Server-side apply one Flux object; creates its namespace first if the host lacks it."""
        resource = _resource(str(obj["kind"]))
        try:
            return await self._objects.apply(resource, obj)
        except errors.NotFound as exc:
            namespace = (obj.get("metadata") or {}).get("namespace")
            if not namespace or exc.details.get("kind") != "namespaces":
                raise
        await self._objects.apply(resources.NAMESPACES, {"metadata": {"name": namespace}})
        return await self._objects.apply(resource, obj)

    async def labelled(self, *, namespace: str, selector: str) -> list[RawObject]:
        """Every Flux object in ``namespace`` matching the label ``selector``, all kinds."""
        found: list[RawObject] = []
        for resource in FLUX_RESOURCES.values():
            try:
                found.extend(await self._objects.list_objects(resource, namespace=namespace, label_selector=selector))
            except errors.NotFound:
                continue  # listing answers 404 only for a kind the host does not serve: none of it exists
        return found

    async def find(self, *, kind: str, namespace: str, name: str) -> RawObject | None:
        """One Flux object, or ``None`` when it does not exist."""
        return await self._objects.find(_resource(kind), name=name, namespace=namespace)

    async def delete(self, *, kind: str, namespace: str, name: str) -> bool:
        """Delete one Flux object; ``False`` if it was already gone."""
        return await self._objects.delete(_resource(kind), name=name, namespace=namespace, missing_ok=True)

    async def secret_keys(self, *, namespace: str, name: str) -> frozenset[str] | None:
        """The data keys of a Secret (never its values), or ``None`` when it does not exist."""
        secret = await self._objects.find(resources.SECRETS, name=name, namespace=namespace)
        if secret is None:
            return None
        return frozenset((secret.get("data") or {}).keys()) | frozenset((secret.get("stringData") or {}).keys())
