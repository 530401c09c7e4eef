"""Member clusters: bare Karmada ``Cluster`` intents, and AttachedCluster join and unjoin.

Covered: the join writes the Cluster (named like the AttachedCluster, Push, apiEndpoint from
the kubeconfig) and the join Secret it refers to (token and caBundle), both labelled with the
owner; unjoin removes both; a missing Secret or key, or a kubeconfig without a server, answers
Pending and writes nothing; a name Karmada cannot take, or one another join holds, is refused;
a bare Cluster intent is written and deleted as it is, and cannot take over a joined one.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from shared import errors
from shared.k8s import objects, resources

Apply = Callable[..., Any]

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "other", "cluster": {"server": "https://other.example.com"}},
        {
            "name": "dev",
            "cluster": {"server": "https://dev.example.com:6443", "certificate-authority-data": "Q0EtUEVN"},
        },
    ],
    "contexts": [
        {"name": "other", "context": {"cluster": "other", "user": "nobody"}},
        {"name": "dev", "context": {"cluster": "dev", "user": "admin"}},
    ],
    "users": [{"name": "admin", "user": {"token": "s3cr3t"}}],
    "current-context": "dev",
}


def attached(name: str = "dev-cluster", *, namespace: str = "default", key: str = "config") -> dict[str, Any]:
    return {
        "apiVersion": "cluster.kurator.dev/v1alpha1",
        "kind": "AttachedCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"kubeconfig": {"name": "dev-kubeconfig", "key": key}},
    }


async def put_kubeconfig(read: objects.Objects, *, namespace: str = "default", config: Any = None) -> None:
    text = yaml.safe_dump(KUBECONFIG if config is None else config)
    await read.apply(resources.NAMESPACES, {"metadata": {"name": namespace}})
    body = {
        "metadata": {"name": "dev-kubeconfig", "namespace": namespace},
        "data": {"config": base64.b64encode(text.encode()).decode()},
    }
    await read.apply(resources.SECRETS, body)


async def test_join_writes_the_cluster_and_its_secret(apply: Apply, read: objects.Objects, kit: Any) -> None:
    await put_kubeconfig(read)
    status = await apply(attached())
    assert status["phase"] == "Applied"
    assert status["clusterName"] == "dev-cluster"
    assert kit.conditions(status)["Joined"]["status"] == "True"
    assert [(w["kind"], w["name"]) for w in status["written"]] == [
        ("Secret", "dev-cluster"),
        ("Cluster", "dev-cluster"),
    ]
    cluster = await read.get(resources.KARMADA_CLUSTERS, name="dev-cluster")
    assert cluster["spec"]["syncMode"] == "Push"
    assert cluster["spec"]["apiEndpoint"] == "https://dev.example.com:6443"
    assert cluster["spec"]["secretRef"] == {"namespace": "karmada-cluster", "name": "dev-cluster"}
    labels = cluster["metadata"]["labels"]
    assert labels["kurator.dev/owner-kind"] == "AttachedCluster"
    assert (labels["kurator.dev/owner-namespace"], labels["kurator.dev/owner-name"]) == ("default", "dev-cluster")
    secret = await read.get(resources.SECRETS, name="dev-cluster", namespace="karmada-cluster")
    assert base64.b64decode(secret["data"]["token"]) == b"s3cr3t"
    assert secret["data"]["caBundle"] == "Q0EtUEVN"


async def test_unjoin_removes_the_cluster_and_its_secret(
    apply: Apply, delete: Callable[..., Any], read: objects.Objects
) -> None:
    await put_kubeconfig(read)
    await apply(attached())
    await delete(attached())
    assert await read.find(resources.KARMADA_CLUSTERS, name="dev-cluster") is None
    assert await read.find(resources.SECRETS, name="dev-cluster", namespace="karmada-cluster") is None
    assert await read.find(resources.SECRETS, name="dev-kubeconfig", namespace="default") is not None
    await delete(attached())  # never joined (any more): nothing to do


async def test_joining_again_is_idempotent(apply: Apply, read: objects.Objects) -> None:
    await put_kubeconfig(read)
    await apply(attached())
    before = await read.get(resources.KARMADA_CLUSTERS, name="dev-cluster")
    await apply(attached())
    after = await read.get(resources.KARMADA_CLUSTERS, name="dev-cluster")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


@pytest.mark.parametrize(
    ("setup", "key", "reason"),
    [
        ("none", "config", "KubeconfigSecretNotFound"),
        ("good", "other-key", "KubeconfigKeyNotFound"),
        ("serverless", "config", "KubeconfigInvalid"),
    ],
)
async def test_join_waits_for_a_usable_kubeconfig(
    apply: Apply, read: objects.Objects, kit: Any, setup: str, key: str, reason: str
) -> None:
    if setup == "good":
        await put_kubeconfig(read)
    elif setup == "serverless":
        await put_kubeconfig(read, config={"clusters": [], "contexts": [], "users": []})
    status = await apply(attached(key=key))
    assert status["phase"] == "Pending"
    joined = kit.conditions(status)["Joined"]
    assert (joined["status"], joined["reason"]) == ("False", reason)
    assert await read.find(resources.KARMADA_CLUSTERS, name="dev-cluster") is None


async def test_a_name_karmada_cannot_take_is_refused(apply: Apply) -> None:
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(attached("c" * 49))
    assert [r.field for r in info.value.reasons] == ["metadata.name"]
    assert "48" in info.value.reasons[0].message


async def test_a_cluster_joined_by_someone_else_is_refused(apply: Apply, read: objects.Objects, kit: Any) -> None:
    await put_kubeconfig(read)
    await kit.add_cluster(read, "dev-cluster")  # joined outside Kurator
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(attached())
    assert "joined by a join made outside Kurator" in info.value.reasons[0].message
    await put_kubeconfig(read, namespace="team-b")
    await read.delete(resources.KARMADA_CLUSTERS, name="dev-cluster")
    await apply(attached())
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(attached(namespace="team-b"))
    assert "AttachedCluster default/dev-cluster" in info.value.reasons[0].message


async def test_bare_cluster_intent(apply: Apply, delete: Callable[..., Any], read: objects.Objects) -> None:
    doc = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "member-9", "labels": {"environment": "staging"}},
        "spec": {"syncMode": "Pull", "region": "east-china", "zones": ["a"]},
    }
    status = await apply(doc)
    assert status["written"] == [{"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "name": "member-9"}]
    stored = await read.get(resources.KARMADA_CLUSTERS, name="member-9")
    assert stored["spec"]["region"] == "east-china"
    await delete(doc)
    assert await read.find(resources.KARMADA_CLUSTERS, name="member-9") is None


async def test_an_edge_site_joins_labelled_as_edge(apply: Apply, read: objects.Objects) -> None:
    """A KubeEdge site (by provider) or an AttachedCluster labelled edge gets ``kurator.dev/edge``
    on its Karmada Cluster; an ordinary cluster does not."""
    site = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "factory-7", "labels": {"region": "east-china"}},
        "spec": {"syncMode": "Pull", "provider": "kubeedge"},
    }
    await apply(site)
    stored = await read.get(resources.KARMADA_CLUSTERS, name="factory-7")
    assert stored["metadata"]["labels"] == {"region": "east-china", "kurator.dev/edge": "true"}

    await put_kubeconfig(read)
    edge_attached = attached("edge-dev")
    edge_attached["metadata"]["labels"] = {"kurator.dev/edge": "true"}
    await apply(edge_attached)
    joined = await read.get(resources.KARMADA_CLUSTERS, name="edge-dev")
    assert joined["metadata"]["labels"]["kurator.dev/edge"] == "true"

    await apply(attached())
    plain = await read.get(resources.KARMADA_CLUSTERS, name="dev-cluster")
    assert "kurator.dev/edge" not in plain["metadata"]["labels"]


async def test_bare_cluster_intent_cannot_take_over_a_join(apply: Apply, read: objects.Objects) -> None:
    await put_kubeconfig(read)
    await apply(attached())
    doc = {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "dev-cluster"},
        "spec": {"syncMode": "Pull"},
    }
    with pytest.raises(errors.InvalidIntent) as info:
        await apply(doc)
    assert info.value.reasons[0].field == "metadata.name"
