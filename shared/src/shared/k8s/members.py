"""Reaching a member cluster through Karmada's cluster proxy.

Karmada serves every member's API at ``/apis/cluster.karmada.io/v1alpha1/clusters/<name>/proxy/``
on its own API server, with the caller's Karmada credentials (the simulator does the same).
A service that must read or write a member directly (Volcano jobs, Istio config on the mesh's
primaries, node capacity) gets an ``ApiClient`` per member from :class:`MemberClients`:
the Karmada client's configuration with the proxy path appended to its host, so the typed
and dynamic ``kubernetes_asyncio`` APIs and :class:`shared.k8s.objects.Objects` work unchanged.
"""

from __future__ import annotations

import copy
from urllib.parse import quote

from kubernetes_asyncio import client

PROXY_PATH = "/apis/cluster.karmada.io/v1alpha1/clusters/{name}/proxy"


def proxy_host(karmada_host: str, cluster: str) -> str:
    """The base URL of ``cluster``'s API as Karmada proxies it."""
    return karmada_host.rstrip("/") + PROXY_PATH.format(name=quote(cluster, safe=""))


class MemberClients:
    """One ``ApiClient`` per member cluster, made on first use and kept (each holds a
    connection pool); :meth:`close` closes them all."""

    def __init__(self, karmada: client.ApiClient) -> None:
        self._karmada = karmada
        self._clients: dict[str, client.ApiClient] = {}

    def __call__(self, cluster: str) -> client.ApiClient:
        found = self._clients.get(cluster)
        if found is None:
            configuration = copy.copy(self._karmada.configuration)
            configuration.host = proxy_host(str(self._karmada.configuration.host), cluster)
            found = self._clients[cluster] = client.ApiClient(configuration=configuration)
        return found

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for api in clients:
            await api.close()
