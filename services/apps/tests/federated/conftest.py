"""Fixtures for FederatedDeployment tests: the seed, its companions, the example fleet's labels, and
a tracker that knows the fleet and the seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kurator_apps.federated import index, tracker
from shared.contracts import kinds
from shared.contracts.models import apps, workloads

FD_FILE = "06-federateddeployment-frontend.yaml"
Obj = dict[str, Any]


@pytest.fixture
def fleet_labels() -> dict[str, dict[str, str]]:
    """``{cluster: labels}`` of the simulator's example fleet."""
    from kurator_sim import topology

    return {c.name: dict(c.labels) for c in topology.load().clusters}


@pytest.fixture
def seed_fd(example: Callable[..., Obj]) -> Obj:
    return example(FD_FILE, 0)


@pytest.fixture
def seed_companions(example: Callable[..., Obj]) -> list[Any]:
    """The Service and Ingress applied with the seed FederatedDeployment, as models."""
    return [_model(example(FD_FILE, i)) for i in (1, 2)]


def _model(doc: Obj) -> Any:
    return kinds.for_object(doc["apiVersion"], doc["kind"]).model.model_validate(doc)


@pytest.fixture
def to_model() -> Callable[[Obj], workloads.Service | workloads.Ingress | workloads.ConfigMap | workloads.Secret]:
    return _model


@pytest.fixture
def seeded(seed_fd: Obj, fleet_labels: dict[str, dict[str, str]]) -> tracker.Tracker:
    """A tracker that knows the example fleet's clusters and the seed (in ``default``, generation 1)."""
    found = tracker.Tracker(index.Index())
    for name, labels in fleet_labels.items():
        found.cluster(name, labels)
    doc = {**seed_fd, "metadata": {**seed_fd["metadata"], "namespace": "default"}}
    found.index.put_fd(apps.FederatedDeployment.model_validate(doc), doc, generation=1)
    return found
