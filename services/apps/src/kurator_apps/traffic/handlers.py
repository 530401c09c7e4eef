"""The kind handlers of ``VirtualService`` and ``DestinationRule``: thin, :class:`~.reconciler.Traffic` acts."""

from __future__ import annotations

from typing import Any

from kurator_apps.traffic.reconciler import Traffic
from shared.bus import store
from shared.contracts.meta import KubeObject
from shared.contracts.models import istio


class VirtualServiceHandler:
    def __init__(self, traffic: Traffic) -> None:
        self._traffic = traffic

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, istio.VirtualService)  # the runtime validated it with this kind's model
        return await self._traffic.apply_virtual_service(obj, record.generation)

    async def on_delete(self, record: store.Record) -> None:
        await self._traffic.delete_virtual_service(record.document)


class DestinationRuleHandler:
    def __init__(self, traffic: Traffic) -> None:
        self._traffic = traffic

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, istio.DestinationRule)
        return await self._traffic.apply_destination_rule(obj, record.generation)

    async def on_delete(self, record: store.Record) -> None:
        await self._traffic.delete_destination_rule(record.document)
