"""Fleet membership labels on member clusters.

Covered: members labelled ``fleet.kurator.dev/fleet-name`` (and ``-namespace``) under the Fleet's
own field manager; a cluster no longer listed, or every cluster on delete, unlabelled; clusters
not joined yet and clusters of another Fleet reported, not touched; the labels survive the
cluster's own re-apply (separate managers); a cluster joining later is labelled for the Fleets
already listing it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import yaml

from shared.k8s import objects, resources

Apply = Callable[..., Any]
NAME, NAMESPACE = "fleet.kurator.dev/fleet-name", "fleet.kurator.dev/fleet-namespace"


def fleet(*members: str, name: str = "quickstart", namespace: str = "default", kind: str = "Cluster") -> dict[str, Any]:
    return {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusters": [{"name": m, "kind": kind} for m in members]},
    }


async def labels_of(read: objects.Objects, cluster: str) -> dict[str, str]:
    found = await read.get(resources.KARMADA_CLUSTERS, name=cluster)
    return dict(found["metadata"].get("labels") or {})


async def test_members_are_labelled(apply: Apply, read: objects.Objects, kit: Any) -> None:
    for name in ("cluster-beijing", "cluster-shanghai", "cluster-hangzhou"):
        await kit.add_cluster(read, name, environment="production")
    status = await apply(fleet("cluster-beijing", "cluster-shanghai"))
    assert status["phase"] == "Applied"
    assert status["clusters"] == ["cluster-beijing", "cluster-shanghai"]
    assert kit.conditions(status)["MembersLabelled"]["status"] == "True"
    assert await labels_of(read, "cluster-beijing") == {
        "environment": "production",
        NAME: "quickstart",
        NAMESPACE: "default",
    }
    assert NAME not in await labels_of(read, "cluster-hangzhou")
    stored = await read.get(resources.KARMADA_CLUSTERS, name="cluster-beijing")
    assert "kurator-fleet/fleet/default/quickstart" in {m["manager"] for m in stored["metadata"]["managedFields"]}


async def test_clusters_no_longer_listed_are_released(apply: Apply, read: objects.Objects, kit: Any) -> None:
    for name in ("cluster-beijing", "cluster-shanghai"):
        await kit.add_cluster(read, name, environment="production")
    await apply(fleet("cluster-beijing", "cluster-shanghai"))
    status = await apply(fleet("cluster-shanghai"), generation=2)
    assert status["clusters"] == ["cluster-shanghai"]
    assert await labels_of(read, "cluster-beijing") == {"environment": "production"}
    assert (await labels_of(read, "cluster-shanghai"))[NAME] == "quickstart"


async def test_delete_releases_every_member(
    apply: Apply, delete: Callable[..., Any], read: objects.Objects, kit: Any
) -> None:
    await kit.add_cluster(read, "cluster-beijing")
    await apply(fleet("cluster-beijing"))
    await delete(fleet("cluster-beijing"))
    assert NAME not in await labels_of(read, "cluster-beijing")


async def test_missing_and_foreign_members_are_reported(apply: Apply, read: objects.Objects, kit: Any) -> None:
    await kit.add_cluster(read, "cluster-beijing")
    await kit.add_cluster(read, "cluster-shanghai")
    await apply(fleet("cluster-shanghai", name="other"))
    status = await apply(fleet("cluster-beijing", "cluster-shanghai", "cluster-nowhere"))
    assert status["clusters"] == ["cluster-beijing"]
    condition = kit.conditions(status)["MembersLabelled"]
    assert (condition["status"], condition["reason"]) == ("False", "ClustersInAnotherFleet")
    assert "cluster-nowhere" in condition["message"]
    assert "cluster-shanghai (Fleet default/other)" in condition["message"]
    assert (await labels_of(read, "cluster-shanghai"))[NAME] == "other"


async def test_a_fleet_in_another_namespace_is_another_fleet(apply: Apply, read: objects.Objects, kit: Any) -> None:
    await kit.add_cluster(read, "cluster-beijing")
    await apply(fleet("cluster-beijing", namespace="team-a"))
    status = await apply(fleet("cluster-beijing", namespace="team-b"))
    assert kit.conditions(status)["MembersLabelled"]["reason"] == "ClustersInAnotherFleet"
    assert (await labels_of(read, "cluster-beijing"))[NAMESPACE] == "team-a"


async def test_labels_survive_the_clusters_own_reapply(apply: Apply, read: objects.Objects, kit: Any) -> None:
    cluster = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "member-1", "labels": {"tier": "gold"}},
        "spec": {"syncMode": "Pull"},
    }
    await apply(cluster)
    await apply(fleet("member-1"))
    cluster["spec"]["region"] = "east-china"
    await apply(cluster, generation=2)
    assert await labels_of(read, "member-1") == {"tier": "gold", NAME: "quickstart", NAMESPACE: "default"}


async def test_a_cluster_joining_later_is_labelled_for_its_fleets(
    apply: Apply, read: objects.Objects, desired: Any, kit: Any
) -> None:
    early = fleet("dev-cluster", kind="AttachedCluster")
    status = await apply(early)
    assert kit.conditions(status)["MembersLabelled"]["reason"] == "ClustersNotJoined"
    desired.put("fleet", early)
    desired.put("fleet", fleet("dev-cluster", name="elsewhere", namespace="team-b", kind="AttachedCluster"))
    config = {
        "clusters": [{"name": "c", "cluster": {"server": "https://dev.example.com"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "current-context": "c",
    }
    secret = {
        "metadata": {"name": "kc", "namespace": "default"},
        "data": {"value": base64.b64encode(yaml.safe_dump(config).encode()).decode()},
    }
    await read.apply(resources.SECRETS, secret)
    joined = await apply(
        {
            "apiVersion": "cluster.kurator.dev/v1alpha1",
            "kind": "AttachedCluster",
            "metadata": {"name": "dev-cluster", "namespace": "default"},
            "spec": {"kubeconfig": {"name": "kc"}},
        }
    )
    assert joined["fleets"] == ["default/quickstart"]
    assert (await labels_of(read, "dev-cluster"))[NAME] == "quickstart"
