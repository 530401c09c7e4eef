"""Fixtures for the fleet service's write path: the simulator's Karmada API, the adapter over it,
intent records as the intent processor would hand them to a handler, and reading Karmada back.

Handlers are driven directly here (fast, one behaviour per test); ``test_end_to_end.py`` runs
the whole service on the bus against the simulator with its controllers.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_fleet import handlers
from kurator_fleet.adapters import karmada as karmada_adapter
from kurator_sim import testing
from shared.bus import store
from shared.contracts import kinds
from shared.contracts.meta import KubeObject
from shared.k8s import connection, objects, resources

CRDS: Path | None = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
EXAMPLES = Path(__file__).parents[4] / "examples"


class FakeDesired:
    """The desired-state entries a handler may read (``items``), without NATS."""

    def __init__(self) -> None:
        self.entries: dict[str, store.Versioned] = {}

    def put(self, token: str, doc: dict[str, Any]) -> None:
        meta = doc["metadata"]
        self.entries[f"{token}.{meta.get('namespace') or '_'}.{meta['name']}"] = store.Versioned(record(doc), 1)

    async def items(self) -> AsyncIterator[tuple[str, store.Versioned]]:
        for key, item in list(self.entries.items()):
            yield key, item


def record(doc: dict[str, Any], *, generation: int = 1) -> store.Record:
    """What the intent processor stores for ``doc`` and hands to ``on_apply``/``on_delete``."""
    return store.Record(
        document=doc, generation=generation, intent_seq=generation, intent_id=f"intent-{generation}", spec_hash="h"
    )


def model(doc: dict[str, Any]) -> KubeObject:
    return kinds.for_object(doc["apiVersion"], doc["kind"]).model.model_validate(doc)


def example(name: str, *, namespace: str | None = "default") -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    if info.namespaced:
        doc["metadata"].setdefault("namespace", namespace)
    return doc


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sim() -> AsyncIterator[testing.RunningSim]:
    async with testing.serve(crd_dir=CRDS) as running:
        yield running


@pytest.fixture
async def kube(sim: testing.RunningSim, tmp_path: Path) -> AsyncIterator[connection.ApiClient]:
    api = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
def karmada(kube: connection.ApiClient) -> karmada_adapter.KarmadaApi:
    return karmada_adapter.KarmadaApi(kube)


@pytest.fixture
def read(kube: connection.ApiClient) -> objects.Objects:
    """Reading Karmada back (and writing test fixtures into it) as another field manager."""
    return objects.Objects(kube, field_manager="pytest")


@pytest.fixture
def desired() -> FakeDesired:
    return FakeDesired()


@pytest.fixture
def fleet_handlers(karmada: karmada_adapter.KarmadaApi, desired: FakeDesired) -> dict[str, Any]:
    return handlers.for_karmada(karmada, desired=desired)


@pytest.fixture
def apply(fleet_handlers: dict[str, Any]) -> Callable[..., Any]:
    """``await apply(doc)`` -> the status the handler of ``doc``'s kind returns."""

    async def run(doc: dict[str, Any], *, generation: int = 1) -> dict[str, Any]:
        token = kinds.for_object(doc["apiVersion"], doc["kind"]).token
        result: dict[str, Any] = await fleet_handlers[token].on_apply(model(doc), record(doc, generation=generation))
        return result

    return run


@pytest.fixture
def delete(fleet_handlers: dict[str, Any]) -> Callable[..., Any]:
    async def run(doc: dict[str, Any]) -> None:
        token = kinds.for_object(doc["apiVersion"], doc["kind"]).token
        await fleet_handlers[token].on_delete(record(doc))

    return run


async def add_cluster(read: objects.Objects, name: str, **labels: str) -> None:
    """A member cluster joined outside Kurator (as the simulator's topology members are)."""
    body = {"metadata": {"name": name, "labels": labels}, "spec": {"syncMode": "Push"}}
    await read.apply(resources.KARMADA_CLUSTERS, body)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


class Kit:
    """The helpers above, for test modules (conftest modules cannot be imported by name)."""

    crds = CRDS
    record = staticmethod(record)
    model = staticmethod(model)
    example = staticmethod(example)
    closed_port = staticmethod(closed_port)
    add_cluster = staticmethod(add_cluster)
    conditions = staticmethod(conditions)


@pytest.fixture
def kit() -> Kit:
    return Kit()
