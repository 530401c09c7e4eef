"""Choosing the mesh's primary clusters, and reading member clusters from Karmada."""

from __future__ import annotations

from typing import Any

from kurator_apps.traffic.mesh import PRIMARY_LABEL, MemberCluster, primary_clusters


def test_labelled_primaries_win() -> None:
    clusters = [
        MemberCluster("b", {PRIMARY_LABEL: "true"}),
        MemberCluster("a", {PRIMARY_LABEL: "true"}, ready=True),
        MemberCluster("c", {}),
    ]
    assert primary_clusters(clusters) == ("a", "b")


def test_without_labels_every_cluster_is_a_primary_but_edge_sites_and_opt_outs() -> None:
    clusters = [
        MemberCluster("west", {}),
        MemberCluster("east", {"region": "east"}),
        MemberCluster("remote", {PRIMARY_LABEL: "false"}),
        MemberCluster("factory", {"kurator.dev/edge": "true"}),
    ]
    assert primary_clusters(clusters) == ("east", "west")


def test_a_label_value_other_than_true_does_not_make_a_primary() -> None:
    clusters = [MemberCluster("a", {PRIMARY_LABEL: "yes"}), MemberCluster("b", {})]
    assert primary_clusters(clusters) == ("a", "b")


def test_no_clusters_no_primaries() -> None:
    assert primary_clusters([]) == ()


def test_from_karmada() -> None:
    cluster: dict[str, Any] = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "cluster-beijing", "labels": {PRIMARY_LABEL: "true"}},
        "spec": {"syncMode": "Push"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ClusterReady"}]},
    }
    assert MemberCluster.from_karmada(cluster) == MemberCluster("cluster-beijing", {PRIMARY_LABEL: "true"}, True)
    cluster["status"]["conditions"][0]["status"] = "Unknown"
    assert not MemberCluster.from_karmada(cluster).ready
    assert not MemberCluster.from_karmada({"metadata": {"name": "new"}}).ready
