"""The routing table resolves every model, and every seed manifest routes and validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.contracts import kinds
from shared.contracts.meta import KubeObject

EXAMPLES = Path(__file__).parents[3] / "examples"

SEED_FILES = {
    "01-propagationpolicy-nginx.yaml": ["PropagationPolicy"],
    "02-clusterpropagationpolicy-frontend.yaml": ["ClusterPropagationPolicy"],
    "03-edgenode.yaml": ["EdgeNode"],
    "04-volcano-job-tensorflow.yaml": ["Job"],
    "05-virtualservice-user-service.yaml": ["VirtualService"],
    "06-federateddeployment-frontend.yaml": ["FederatedDeployment", "Service", "Ingress"],
    "07-backuppolicy-production.yaml": ["BackupPolicy"],
    "08-prometheus.yaml": ["Prometheus"],
    "09-deployment-kurator-controller-manager.yaml": ["Deployment"],
}


def _documents() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for name in sorted(SEED_FILES):
        docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text(encoding="utf-8")) if d]
        out += [(name, i, doc) for i, doc in enumerate(docs)]
    return out


@pytest.mark.parametrize("info", kinds.KINDS, ids=[f"{k.group or 'core'}/{k.kind}" for k in kinds.KINDS])
def test_every_kind_resolves_its_model(info: kinds.KindInfo) -> None:
    model = info.model
    assert issubclass(model, KubeObject)
    if info.kind not in ("ConfigMap", "Secret"):
        assert "spec" in model.model_fields, f"{info.model_path} declares no spec"


def test_examples_folder_holds_exactly_the_seed_files() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(SEED_FILES)
    assert (EXAMPLES / "README.md").is_file()


def test_each_file_holds_the_seed_kinds() -> None:
    for name, expected in SEED_FILES.items():
        docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text(encoding="utf-8")) if d]
        assert [d["kind"] for d in docs] == expected, name


@pytest.mark.parametrize(("name", "index", "doc"), _documents(), ids=[f"{n}#{i}" for n, i, _ in _documents()])
def test_seed_manifest_routes_and_validates(name: str, index: int, doc: dict[str, Any]) -> None:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    model = info.model.model_validate(doc)
    assert model.metadata.name == doc["metadata"]["name"]
    # What we forward is what the user wrote (besides the defaults a model fills in).
    wire = model.to_wire()
    expected = {k: v for k, v in doc.items() if k != "metadata"}
    if info.token == "volcanojob":
        expected["spec"] = {**expected["spec"], "queue": "default"}
    assert {k: v for k, v in wire.items() if k != "metadata"} == expected


def test_seed_routes_to_the_owning_services() -> None:
    services = {doc["kind"]: kinds.for_object(doc["apiVersion"], doc["kind"]).service for _, _, doc in _documents()}
    assert services == {
        "PropagationPolicy": "fleet",
        "ClusterPropagationPolicy": "fleet",
        "Deployment": "fleet",
        "EdgeNode": "edge",
        "Job": "apps",
        "VirtualService": "apps",
        "FederatedDeployment": "apps",
        "Service": "apps",
        "Ingress": "apps",
        "BackupPolicy": "backup",
        "Prometheus": "observability",
    }
