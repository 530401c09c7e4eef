"""Reading manifests like kubectl apply -f: files, directories, stdin, JSON, Lists; routing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kurator_cli import manifests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_reads_the_examples_directory_in_name_order() -> None:
    docs = manifests.read([str(EXAMPLES)])
    assert len(docs) == 11
    assert docs[0][0].endswith("01-propagationpolicy-nginx.yaml")
    assert [src.rsplit("#", 1)[-1] for src, _ in docs if "06-" in src] == ["0", "1", "2"]


def test_json_object_list_and_kubernetes_list(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}')
    (tmp_path / "b.json").write_text('[{"kind": "X"}, {"kind": "Y"}]')
    (tmp_path / "c.yaml").write_text("kind: List\napiVersion: v1\nitems:\n  - {kind: P}\n  - {kind: Q}\n")
    (tmp_path / "ignored.txt").write_text("not a manifest")
    docs = manifests.read([str(tmp_path)])
    assert [d["kind"] for _, d in docs] == ["ConfigMap", "X", "Y", "P", "Q"]
    assert docs[3][0].endswith("c.yaml[0]")


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("kind: A\n---\nkind: B\n"))
    assert [d["kind"] for _, d in manifests.read(["-"])] == ["A", "B"]


def test_errors_name_the_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(manifests.ManifestError, match=r"bad.yaml: invalid YAML"):
        manifests.read([str(bad)])
    with pytest.raises(manifests.ManifestError, match="no such file"):
        manifests.read([str(tmp_path / "missing.yaml")])


def test_route_defaults_namespace_and_checks_conflicts() -> None:
    doc = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "p"}}
    m = manifests.route("f", doc)
    assert (m.address.service, m.address.kind, m.address.namespace) == ("fleet", "propagationpolicy", "default")
    assert m.display == "propagationpolicy.policy.karmada.io/p"
    assert manifests.route("f", doc, namespace="team-a").address.namespace == "team-a"
    cluster_scoped = {"apiVersion": "edge.kubeedge.io/v1", "kind": "EdgeNode", "metadata": {"name": "n"}}
    assert manifests.route("f", cluster_scoped, namespace="x").address.namespace is None
    with_ns = {**doc, "metadata": {"name": "p", "namespace": "a"}}
    with pytest.raises(manifests.ManifestError, match="does not match the namespace"):
        manifests.route("f", with_ns, namespace="b")
    with pytest.raises(manifests.ManifestError, match=r"metadata\.name is required"):
        manifests.route("f", {**doc, "metadata": {}})
    with pytest.raises(manifests.ManifestError, match="no kurator service handles"):
        manifests.route("f", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
