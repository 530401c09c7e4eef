"""Resource detector and scheduler: templates matched by policies become scheduled bindings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers import karmada_webhook, kube_conditions
from kurator_sim.controllers.clusters import ClusterStatusController
from kurator_sim.controllers.karmada_cluster_health import ClusterHealthController
from kurator_sim.controllers.karmada_detector import ResourceDetector, highest_priority_policy
from kurator_sim.controllers.karmada_scheduler import KarmadaScheduler, placement_fingerprint
from kurator_sim.controllers.kube_nodes import NodeHeartbeatController
from kurator_sim.controllers.manager import Controller
from kurator_sim.fleet import Fleet
from shared import placement
from shared.placement import webster
from shared.testing.eventually import eventually

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED_CLUSTERS = {"cluster-beijing", "cluster-shanghai", "cluster-guangzhou"}


def make_fleet() -> Fleet:
    fleet = Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))
    karmada_webhook.install(fleet.host)
    return fleet


@asynccontextmanager
async def running(fleet: Fleet) -> AsyncIterator[None]:
    controllers: list[Controller] = [
        ClusterStatusController(fleet=fleet),
        ClusterHealthController(fleet=fleet),
        NodeHeartbeatController(fleet=fleet),
        ResourceDetector(fleet=fleet),
        KarmadaScheduler(fleet=fleet),
    ]
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]


class Host:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.store = fleet.host

    def rt(self, group: str, plural: str) -> resources.ResourceType:
        return self.fleet.host_registry.by_key((group, plural))

    def create(self, obj: dict[str, Any], namespace: str | None = "default") -> dict[str, Any]:
        group, _, version = obj["apiVersion"].rpartition("/")
        rt = self.fleet.host_registry.by_kind(group, version, obj["kind"])
        assert rt is not None
        return self.store.create(rt, namespace if rt.namespaced else None, obj)

    def binding(self, name: str, namespace: str | None = "default") -> dict[str, Any]:
        plural = "resourcebindings" if namespace else "clusterresourcebindings"
        obj = self.store.find(self.rt("work.karmada.io", plural), namespace, name)
        assert obj is not None, f"no binding {name}"
        return obj

    async def scheduled(self, name: str, namespace: str | None = "default", *, status: str = "True") -> dict[str, Any]:
        async def probe() -> dict[str, Any]:
            binding = self.binding(name, namespace)
            condition = next(
                (c for c in (binding.get("status") or {}).get("conditions") or () if c["type"] == "Scheduled"), None
            )
            assert condition is not None
            assert condition["status"] == status, condition
            return binding

        return await eventually(probe, timeout_seconds=10)


def example(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return obj


def deployment(name: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": name, "image": "nginx", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
                    ]
                },
            },
        },
    }


def policy(
    name: str, placement: dict[str, Any], *selectors: dict[str, Any], priority: int | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"resourceSelectors": list(selectors), "placement": placement}
    if priority is not None:
        spec["priority"] = priority
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def by_name(name: str, kind: str = "Deployment", api_version: str = "apps/v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name}


async def test_seed_nginx_policy_yields_a_binding_to_three_clusters() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        pp = example("01-propagationpolicy-nginx.yaml")
        created_pp = host.create(pp)
        template = host.create(deployment("nginx", 3))
        binding = await host.scheduled("nginx-deployment")

        pp_id = created_pp["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
        assert created_pp["spec"]["resourceSelectors"][0]["namespace"] == "default"  # webhook default
        meta = binding["metadata"]
        assert meta["labels"]["propagationpolicy.karmada.io/permanent-id"] == pp_id
        assert meta["labels"]["resourcebinding.karmada.io/permanent-id"]
        assert meta["annotations"]["propagationpolicy.karmada.io/name"] == "nginx-propagation"
        assert meta["annotations"]["propagationpolicy.karmada.io/namespace"] == "default"
        assert meta["annotations"]["policy.karmada.io/applied-placement"]
        assert meta["finalizers"] == ["karmada.io/binding-controller"]
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "nginx",
                "uid": template["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        spec = binding["spec"]
        claimed = host.store.get(host.rt("apps", "deployments"), "default", "nginx")
        assert spec["resource"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "namespace": "default",
            "name": "nginx",
            "uid": template["metadata"]["uid"],
            "resourceVersion": claimed["metadata"]["resourceVersion"],
        }
        assert spec["replicas"] == 3
        assert spec["replicaRequirements"] == {"resourceRequest": {"cpu": "100m", "memory": "64Mi"}}
        assert spec["placement"] == pp["spec"]["placement"]
        assert spec["schedulerName"] == "default-scheduler"
        assert {c["name"] for c in spec["clusters"]} == SEED_CLUSTERS
        assert all(c["replicas"] == 3 for c in spec["clusters"])
        status = binding["status"]
        assert status["schedulerObservedGeneration"] == meta["generation"]
        assert status["lastScheduledTime"]
        scheduled = next(c for c in status["conditions"] if c["type"] == "Scheduled")
        assert (scheduled["reason"], scheduled["message"]) == ("Success", "Binding has been scheduled successfully.")
        # The template is claimed by its policy.
        assert claimed["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"] == pp_id
        assert claimed["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "nginx-propagation"


async def test_static_weights_two_to_one_follow_the_template_replicas() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    weights = [
        {"targetCluster": {"clusterNames": ["cluster-beijing"]}, "weight": 2},
        {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 1},
    ]
    placement = {
        "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
        "replicaScheduling": {"replicaSchedulingType": "Divided", "weightPreference": {"staticWeightList": weights}},
    }
    async with running(fleet):
        created = host.create(policy("web-split", placement, by_name("web")))
        # The webhook defaults the division preference of a Divided strategy.
        assert created["spec"]["placement"]["replicaScheduling"]["replicaDivisionPreference"] == "Weighted"
        host.create(deployment("web", 3))
        binding = await host.scheduled("web-deployment")
        assert binding["spec"]["clusters"] == [
            {"name": "cluster-beijing", "replicas": 2},
            {"name": "cluster-shanghai", "replicas": 1},
        ]
        template = host.store.get(host.rt("apps", "deployments"), "default", "web")
        template["spec"]["replicas"] = 6
        host.store.update(host.rt("apps", "deployments"), "default", "web", template)

        async def rescheduled() -> list[dict[str, Any]]:
            clusters: list[dict[str, Any]] = host.binding("web-deployment")["spec"]["clusters"]
            assert clusters == [{"name": "cluster-beijing", "replicas": 4}, {"name": "cluster-shanghai", "replicas": 2}]
            return clusters

        await eventually(rescheduled)


async def test_the_seed_shorthand_is_not_understood_by_karmada() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        host.create(example("02-clusterpropagationpolicy-frontend.yaml"), None)
        host.create(deployment("frontend", 4))
        binding = await host.scheduled("frontend-deployment", status="False")
        condition = next(c for c in binding["status"]["conditions"] if c["type"] == "Scheduled")
        assert (condition["reason"], condition["message"]) == (
            "SchedulerError",
            "failed to assign replicas: unsupported replica scheduling strategy, replicaSchedulingType: Weighted, "
            "replicaDivisionPreference: Aggregated, please try another scheduling strategy",
        )
        assert "clusters" not in binding["spec"]
        assert binding["metadata"]["annotations"]["clusterpropagationpolicy.karmada.io/name"] == "frontend-app"
        assert binding["metadata"]["labels"]["clusterpropagationpolicy.karmada.io/permanent-id"]


async def test_no_cluster_fit() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        host.create(policy("nowhere", {"clusterAffinity": {"clusterNames": ["cluster-mars"]}}, by_name("lost")))
        host.create(deployment("lost", 1))
        binding = await host.scheduled("lost-deployment", status="False")
        condition = next(c for c in binding["status"]["conditions"] if c["type"] == "Scheduled")
        assert condition["reason"] == "NoClusterFit"
        assert condition["message"] == (
            "0/6 clusters are available: 6 cluster(s) did not match the placement cluster affinity constraint."
        )
        assert "clusters" not in binding["spec"]


async def test_non_workloads_and_cluster_scoped_templates() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        host.create(
            policy(
                "config", {"clusterAffinity": {"clusterNames": ["cluster-hangzhou"]}}, by_name("cfg", "ConfigMap", "v1")
            )
        )
        host.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}})
        binding = await host.scheduled("cfg-configmap")
        assert binding["spec"]["clusters"] == [{"name": "cluster-hangzhou"}]
        assert "replicas" not in binding["spec"]

        queue_selector = {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "name": "training"}
        host.create(
            {
                "apiVersion": "policy.karmada.io/v1alpha1",
                "kind": "ClusterPropagationPolicy",
                "metadata": {"name": "queues"},
                "spec": {
                    "resourceSelectors": [queue_selector],
                    "placement": {"clusterAffinity": {"clusterNames": ["cluster-guangzhou"]}},
                },
            },
            None,
        )
        host.create(
            {
                "apiVersion": "scheduling.volcano.sh/v1beta1",
                "kind": "Queue",
                "metadata": {"name": "training"},
                "spec": {"weight": 1},
            },
            None,
        )
        crb = await host.scheduled("training-queue", None)
        assert crb["kind"] == "ClusterResourceBinding"
        assert crb["spec"]["clusters"] == [{"name": "cluster-guangzhou"}]
        assert crb["metadata"]["finalizers"] == ["karmada.io/cluster-resource-binding-controller"]
        assert crb["metadata"]["labels"]["clusterresourcebinding.karmada.io/permanent-id"]


async def test_the_highest_priority_policy_wins() -> None:
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        anywhere = {"apiVersion": "apps/v1", "kind": "Deployment"}
        labelled = {"apiVersion": "apps/v1", "kind": "Deployment", "labelSelector": {"matchLabels": {"tier": "api"}}}
        to = {"clusterAffinity": {"clusterNames": ["cluster-hangzhou"]}}
        host.create(policy("a-catch-all", to, anywhere))
        host.create(policy("b-by-label", to, labelled))
        host.create(deployment("api", 1, labels={"app": "api", "tier": "api"}))
        binding = await host.scheduled("api-deployment")
        assert binding["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "b-by-label"

        host.create(policy("z-important", to, anywhere, priority=10))
        host.create(deployment("api2", 1, labels={"app": "api2", "tier": "api"}))
        binding = await host.scheduled("api2-deployment")
        assert binding["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "z-important"
        # A claimed template keeps its policy (no preemption asked for).
        assert (
            host.binding("api-deployment")["metadata"]["annotations"]["propagationpolicy.karmada.io/name"]
            == "b-by-label"
        )


@pytest.mark.parametrize(
    ("policies", "winner"),
    [
        ([("p1", 0, {"name": "web"}), ("p2", 5, {})], "p2"),
        ([("p1", 0, {"name": "web"}), ("p2", 0, {"labelSelector": {"matchLabels": {"app": "web"}}})], "p1"),
        ([("p1", 0, {}), ("p2", 0, {"labelSelector": {"matchLabels": {"app": "web"}}})], "p2"),
        ([("zeta", 0, {}), ("alpha", 0, {})], "alpha"),
        ([("p1", 0, {"name": "other"}), ("p2", 0, {"labelSelector": {"matchLabels": {"app": "other"}}})], None),
    ],
)
def test_policy_priority_rules(policies: list[tuple[str, int, dict[str, Any]]], winner: str | None) -> None:
    template = deployment("web", 1, labels={"app": "web"})
    candidates = [
        policy(name, {}, {"apiVersion": "apps/v1", "kind": "Deployment", **selector}, priority=priority)
        for name, priority, selector in policies
    ]
    chosen = highest_priority_policy(template, candidates)
    assert (chosen["metadata"]["name"] if chosen else None) == winner


async def test_the_scheduler_does_not_reconcile_the_event_of_its_own_spec_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reconciled: list[Any] = []
    original = KarmadaScheduler.reconcile

    def counting(self: KarmadaScheduler, key: Any) -> None:
        reconciled.append(key)
        original(self, key)

    monkeypatch.setattr(KarmadaScheduler, "reconcile", counting)
    fleet = make_fleet()
    host = Host(fleet)
    async with running(fleet):
        host.create(example("01-propagationpolicy-nginx.yaml"))
        host.create(deployment("nginx", 3))
        binding = await host.scheduled("nginx-deployment")
        await asyncio.sleep(0.05)  # time for the events of the scheduler's writes
        assert binding["metadata"]["generation"] == 2  # created, then scheduled
        assert binding["status"]["schedulerObservedGeneration"] == 2
        # The binding's creation, and nothing for the spec write the scheduler made itself.
        assert [key[2] for key in reconciled] == ["nginx-deployment"]


def _tie_placement(*clusters: str) -> dict[str, Any]:
    """One replica over equal weights: which cluster gets it is the uid's tie-break."""
    return {
        "clusterAffinity": {"clusterNames": list(clusters)},
        "replicaScheduling": {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {
                "staticWeightList": [{"targetCluster": {"clusterNames": [c]}, "weight": 1} for c in clusters]
            },
        },
    }


def _request(fleet: Fleet, placement_spec: dict[str, Any], uid: str, **fields: Any) -> placement.ScheduleRequest:
    clusters = list(fleet.host.iter_raw(fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))))
    return placement.ScheduleRequest(
        placement=placement_spec,
        replicas=fields.pop("replicas", 1),
        clusters=clusters,
        uid=uid,
        resource=("apps/v1", "Deployment"),
        **fields,
    )


async def _registered_fleet() -> Fleet:
    fleet = make_fleet()
    clusters_rt = fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))

    async def ready() -> bool:
        clusters = list(fleet.host.iter_raw(clusters_rt))
        return len(clusters) == 6 and all(kube_conditions.is_true(c, "Ready") for c in clusters)

    async with running(fleet):
        await eventually(ready, timeout_seconds=10)
    return fleet


def _counting_scheduler(fleet: Fleet) -> tuple[KarmadaScheduler, list[placement.ScheduleRequest]]:
    """A scheduler whose engine runs are recorded."""
    calls: list[placement.ScheduleRequest] = []

    def counting(request: placement.ScheduleRequest) -> placement.ScheduleResult:
        calls.append(request)
        return placement.schedule(request)

    return KarmadaScheduler(fleet=fleet, place=counting), calls


async def test_alike_bindings_are_placed_once_and_get_what_the_engine_gives_each() -> None:
    fleet = await _registered_fleet()
    scheduler, calls = _counting_scheduler(fleet)
    tie = _tie_placement("cluster-beijing", "cluster-shanghai")
    fingerprint = placement_fingerprint(tie)
    uids = [f"uid-{i}" for i in range(40)]
    chosen: set[str] = set()
    for uid in uids:
        request = _request(fleet, tie, uid)
        got = scheduler._place(request, fingerprint)
        # The same as the engine gives this very uid (the tie-break goes by its hash's parity).
        assert got.clusters == placement.schedule(request).clusters
        chosen.add(got.clusters[0]["name"])
    assert chosen == {"cluster-beijing", "cluster-shanghai"}  # both tie-breaks were met
    assert len(calls) == 2  # one engine run per parity of the uid hash

    # Anything else the engine reads is a new decision: replicas, previous clusters, evictions.
    scheduler._place(_request(fleet, tie, uids[0], replicas=3), fingerprint)
    scheduler._place(_request(fleet, tie, uids[0], previous=[{"name": "cluster-beijing", "replicas": 1}]), fingerprint)
    scheduler._place(_request(fleet, tie, uids[0], evicted={"cluster-beijing"}), fingerprint)
    assert len(calls) == 5


async def test_a_changed_cluster_is_placed_afresh() -> None:
    fleet = await _registered_fleet()
    scheduler, calls = _counting_scheduler(fleet)
    spec = {"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "gold"}}}}
    fingerprint = placement_fingerprint(spec)
    with pytest.raises(placement.NoFit):
        scheduler._place(_request(fleet, spec, "a"), fingerprint)
    clusters_rt = fleet.host_registry.by_key(("cluster.karmada.io", "clusters"))
    cluster = fleet.host.get(clusters_rt, None, "cluster-guangzhou")
    cluster["metadata"].setdefault("labels", {})["tier"] = "gold"
    fleet.host.update(clusters_rt, None, "cluster-guangzhou", cluster)
    result = scheduler._place(_request(fleet, spec, "a"), fingerprint)
    assert [c["name"] for c in result.clusters] == ["cluster-guangzhou"]
    alike = next(f"b{i}" for i in range(100) if webster.names_descend(f"b{i}") == webster.names_descend("a"))
    assert scheduler._place(_request(fleet, spec, alike), fingerprint) is result
    assert len(calls) == 2
