"""The Flux adapter on the simulator: apply (creating the namespace), find by label, delete,
kubeconfig Secret keys; a server without Flux (a member cluster) has no Flux objects, and
writing one there is retried, not blamed on the intent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kurator_apps.adapters.flux import FluxHost
from kurator_apps.applications import failures, render
from kurator_sim import app
from kurator_sim.settings import SimSettings
from shared import errors
from shared.k8s import connection
from shared.k8s import errors as k8s_errors

pytestmark = pytest.mark.slow


@pytest.fixture
async def kubeconfig(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "kubeconfig"
    async with app.running(SimSettings(port=0, kubeconfig=path)):
        yield path


def _source(name: str, namespace: str) -> dict[str, object]:
    labels = {render.APP_LABEL: "web", render.MANAGED_BY_LABEL: render.MANAGER}
    return {
        "apiVersion": render.SOURCE_API,
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"url": "https://example.com/web.git", "interval": "1m"},
    }


async def test_flux_objects_on_the_host(kubeconfig: Path) -> None:
    api = await connection.api_client(kubeconfig)
    try:
        host = FluxHost(api)
        stored = await host.apply(_source("web", "team-a"))  # team-a does not exist yet
        assert stored["metadata"]["managedFields"][0]["manager"] == "kurator-apps"
        found = await host.labelled(namespace="team-a", selector=render.owned_selector("web"))
        assert [(o["kind"], o["metadata"]["name"]) for o in found] == [("GitRepository", "web")]
        assert await host.labelled(namespace="team-a", selector=render.owned_selector("other")) == []
        assert await host.delete(kind="GitRepository", namespace="team-a", name="web") is True
        assert await host.delete(kind="GitRepository", namespace="team-a", name="web") is False
        assert await host.secret_keys(namespace="team-a", name="member-kubeconfig") is None
    finally:
        await api.close()


async def test_a_server_without_flux(kubeconfig: Path) -> None:
    api = await connection.api_client(kubeconfig, context="cluster-beijing")
    try:
        member = FluxHost(api)
        assert await member.labelled(namespace="default", selector=render.owned_selector("web")) == []
        with pytest.raises(k8s_errors.NotFound):
            await member.apply(_source("web", "default"))
        with pytest.raises(errors.RetryableError, match="is Flux installed"), failures.on_host("GitRepository web"):
            await member.apply(_source("web", "default"))
    finally:
        await api.close()
