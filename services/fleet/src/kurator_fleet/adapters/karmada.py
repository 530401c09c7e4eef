"""The Karmada API server (a real Karmada, or the simulator) behind :class:`kurator_fleet.ports.Karmada`.

Built on :mod:`shared.k8s.objects`, so every call is server-side apply / get / list / delete
with one span each and our own error types. What this adapter adds is Karmada knowledge the
domain should not carry: which resource serves a kind (well-known types, else discovery) and
creating a template's namespace when Karmada does not have it yet (``kubectl apply`` would
fail there; an intent should not, and Karmada propagates namespaces to members itself).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from kurator_fleet import ownership, ports
from shared.k8s import connection, errors, objects, resources


class KarmadaApi:
    """:class:`kurator_fleet.ports.Karmada` over one ``ApiClient``."""

    def __init__(
        self, api: connection.ApiClient, *, field_manager: str = ownership.MANAGER, tracer: trace.Tracer | None = None
    ) -> None:
        self._objects = objects.Objects(api, field_manager=field_manager, tracer=tracer)

    async def apply(self, obj: Mapping[str, Any], *, field_manager: str | None = None) -> ports.RawObject:
        resource = await self._objects.resource_for(str(obj["apiVersion"]), str(obj["kind"]))
        try:
            return await self._objects.apply(resource, obj, field_manager=field_manager)
        except errors.NotFound as exc:
            namespace = (obj.get("metadata") or {}).get("namespace")
            if not (resource.namespaced and namespace and exc.details.get("kind") == "namespaces"):
                raise
        await self._objects.apply(resources.NAMESPACES, {"metadata": {"name": namespace}})
        return await self._objects.apply(resource, obj, field_manager=field_manager)

    async def find(self, ref: ports.ObjectRef) -> ports.RawObject | None:
        try:
            resource = await self._objects.resource_for(ref.api_version, ref.kind)
        except errors.NotFound:
            return None  # a kind Karmada does not serve has no objects
        return await self._objects.find(resource, name=ref.name, namespace=ref.namespace)

    async def delete(self, ref: ports.ObjectRef) -> bool:
        try:
            resource = await self._objects.resource_for(ref.api_version, ref.kind)
        except errors.NotFound:
            return False
        return await self._objects.delete(resource, name=ref.name, namespace=ref.namespace, missing_ok=True)

    async def is_namespaced(self, *, api_version: str, kind: str) -> bool:
        return (await self._objects.resource_for(api_version, kind)).namespaced

    async def read_secret(self, *, namespace: str, name: str) -> dict[str, bytes] | None:
        secret = await self._objects.find(resources.SECRETS, name=name, namespace=namespace)
        if secret is None:
            return None
        out: dict[str, bytes] = {}
        for key, value in (secret.get("data") or {}).items():
            try:
                out[key] = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                continue  # the API server only stores base64; anything else is not a value
        return out

    async def clusters(self, *, label_selector: str) -> list[ports.RawObject]:
        return await self._objects.list_objects(resources.KARMADA_CLUSTERS, label_selector=label_selector)
