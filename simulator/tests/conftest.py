"""Fixtures for the simulator's tests: a running simulator per test (``sim``), an HTTP session
against it (``http``), and a kubernetes_asyncio client configured from its kubeconfig
(``kube``). CRD schemas come from ``../shared/crds`` when it is there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from kubernetes_asyncio import client, config

from kurator_sim import testing

CRDS: Path | None = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None


@pytest.fixture
async def sim() -> AsyncIterator[testing.RunningSim]:
    async with testing.serve(crd_dir=CRDS) as running:
        yield running


@pytest.fixture
async def http(sim: testing.RunningSim) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.base_url) as session:
        yield session


@pytest.fixture
async def kube(sim: testing.RunningSim, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    path = sim.write_kubeconfig(tmp_path / "kubeconfig")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api
