"""Opening an API client from a kubeconfig, and checking that the API server answers."""

from __future__ import annotations

from pathlib import Path

from kubernetes_asyncio import client, config

ApiClient = client.ApiClient


async def api_client(kubeconfig: Path, *, context: str | None = None) -> client.ApiClient:
    """An ``ApiClient`` for ``kubeconfig`` (its current context unless ``context`` is given)."""
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=configuration)
    return client.ApiClient(configuration=configuration)


async def reachable(api: client.ApiClient, *, timeout_seconds: float = 2.0) -> bool:
    """Whether ``GET /version`` answers (the readiness probe's Kubernetes check)."""
    try:
        await client.VersionApi(api).get_code(_request_timeout=timeout_seconds)
    except Exception:
        return False
    return True
