"""Loading the upstream CRDs in ../shared/crds into CRDInfo records."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kurator_sim.machinery.crds import AGE_COLUMN, CRDInfo, load_crds, parse_documents

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "crds"

pytestmark = pytest.mark.skipif(not CRD_DIR.is_dir(), reason="shared CRDs not available")


@pytest.fixture(scope="module")
def crds() -> dict[str, CRDInfo]:
    return {c.name: c for c in load_crds(CRD_DIR)}


def test_every_crd_is_loaded_once(crds: dict[str, CRDInfo]) -> None:
    # 15 Istio (one multi-document file) + 7 Karmada + 6 KubeEdge + 4 Prometheus + 5 Velero + 3 Volcano
    assert len(crds) == 40
    per_project = Counter(Path(c.source).parent.name for c in crds.values())
    assert per_project == {
        "istio": 15,
        "karmada": 7,
        "kubeedge": 6,
        "prometheus-operator": 4,
        "velero": 5,
        "volcano": 3,
    }
    kinds = {(c.group, c.kind) for c in crds.values()}
    assert len(kinds) == 40
    assert ("batch.volcano.sh", "Job") in kinds
    assert ("networking.istio.io", "VirtualService") in kinds


def test_volcano_job(crds: dict[str, CRDInfo]) -> None:
    job = crds["jobs.batch.volcano.sh"]
    assert (job.group, job.kind, job.plural, job.singular, job.list_kind) == (
        "batch.volcano.sh",
        "Job",
        "jobs",
        "job",
        "JobList",
    )
    assert job.short_names == ("vcjob", "vj")
    assert job.namespaced
    (version,) = job.versions
    assert (version.name, version.served, version.storage) == ("v1alpha1", True, True)
    assert version.has_status
    assert not version.has_scale
    assert version.schema is not None
    assert "spec" in version.schema["properties"]
    assert [c.name for c in version.printer_columns] == ["STATUS", "minAvailable", "RUNNINGS", "AGE", "QUEUE"]
    status = version.printer_columns[0]
    assert (status.type, status.json_path) == ("string", ".status.state.phase")
    assert job.storage_version is version


def test_scope_scale_and_columns(crds: dict[str, CRDInfo]) -> None:
    queue = crds["queues.scheduling.volcano.sh"]
    assert queue.scope == "Cluster"
    assert not queue.namespaced
    prometheus = crds["prometheuses.monitoring.coreos.com"].storage_version
    assert prometheus.scale is not None
    assert prometheus.scale.spec_replicas_path == ".spec.shards"
    assert prometheus.scale.label_selector_path == ".status.selector"
    assert any(c.priority == 1 for c in prometheus.printer_columns)
    # a version without declared columns is served with Age
    backup = crds["backups.velero.io"].storage_version
    assert backup.printer_columns == ()
    assert backup.columns == (AGE_COLUMN,)


def test_multi_version_istio(crds: dict[str, CRDInfo]) -> None:
    vs = crds["virtualservices.networking.istio.io"]
    assert [v.name for v in vs.versions] == ["v1", "v1alpha3", "v1beta1"]
    assert vs.storage_version.name == "v1"
    assert [v.name for v in vs.served_versions] == ["v1", "v1alpha3", "v1beta1"]
    assert vs.version("v1beta1") is not None
    assert vs.version("v2") is None
    assert "istio-io" in vs.categories
    assert vs.short_names == ("vs",)
    telemetry = crds["telemetries.telemetry.istio.io"]
    assert telemetry.storage_version.name == "v1alpha1"


def test_non_crd_documents_are_ignored() -> None:
    docs = [
        None,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {}}}],
            },
        },
    ]
    (widget,) = parse_documents(docs)
    assert (widget.kind, widget.singular, widget.list_kind) == ("Widget", "widget", "WidgetList")
    assert widget.versions[0].schema == {}


def test_legacy_v1beta1_layout() -> None:
    doc = {
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "olds.example.com"},
        "spec": {
            "group": "example.com",
            "version": "v1",
            "names": {"kind": "Old", "plural": "olds"},
            "scope": "Cluster",
            "validation": {"openAPIV3Schema": {"type": "object"}},
            "subresources": {"status": {}},
            "additionalPrinterColumns": [{"name": "Phase", "type": "string", "JSONPath": ".status.phase"}],
        },
    }
    (old,) = parse_documents([doc])
    version = old.storage_version
    assert version.name == "v1"
    assert version.schema == {"type": "object"}
    assert version.has_status
    assert version.printer_columns[0].json_path == ".status.phase"


def test_single_file_and_timestamps_stay_strings(tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(
        """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  group: example.com
  names: {kind: Thing, plural: things}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          since: {type: string, default: 2024-01-02}
"""
    )
    (thing,) = load_crds(crd)
    schema = thing.storage_version.schema
    assert schema is not None
    assert schema["properties"]["since"]["default"] == "2024-01-02"
