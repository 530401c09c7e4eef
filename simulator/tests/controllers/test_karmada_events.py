"""Which events the Karmada controllers act on: their own writes and status-only writes are not news."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kurator_sim import resources, topology
from kurator_sim.clock import SimClock
from kurator_sim.controllers import karmada_interpreter, karmada_names, karmada_status, karmada_webhook, kube_conditions
from kurator_sim.controllers.karmada_binding import BindingController
from kurator_sim.controllers.karmada_detector import ResourceDetector, TemplateKey
from kurator_sim.controllers.karmada_names import RESOURCE_BINDINGS
from kurator_sim.controllers.karmada_status import BindingStatusController
from kurator_sim.fleet import Fleet
from kurator_sim.store.watch import WatchEvent
from shared.testing.eventually import eventually

DEPLOYMENT_KEY = ("apps", "deployments")


def make_fleet() -> Fleet:
    fleet = Fleet(topology.load(), registry=resources.default_registry(), clock=SimClock(scale=100))
    karmada_webhook.install(fleet.host)
    return fleet


def rt(fleet: Fleet, key: tuple[str, str]) -> resources.ResourceType:
    return fleet.host_registry.by_key(key)


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name}]}},
        },
    }


def policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": {"clusterAffinity": {"clusterNames": ["cluster-beijing"]}},
        },
    }


class CountingDetector(ResourceDetector):
    """Records, per reconcile, whether the template already carried its policy's claim."""

    def __init__(self, *, fleet: Fleet) -> None:
        super().__init__(fleet=fleet)
        self.claimed_reconciles = 0

    def reconcile(self, key: TemplateKey) -> None:
        template = self.host.peek(self.registry.by_key(key[0]), key[1] or None, key[2])
        if template is not None and karmada_names.PP_PERMANENT_ID in (template["metadata"].get("labels") or {}):
            self.claimed_reconciles += 1
        super().reconcile(key)


@asynccontextmanager
async def running(controller: Any) -> AsyncIterator[None]:
    task = asyncio.create_task(controller.run())
    try:
        yield
    finally:
        task.cancel()
        results = await asyncio.gather(task, return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]


async def test_the_detector_does_not_reconcile_its_own_claim_nor_status_writes_but_label_changes() -> None:
    fleet = make_fleet()
    detector = CountingDetector(fleet=fleet)
    deployments = rt(fleet, DEPLOYMENT_KEY)
    async with running(detector):
        fleet.host.create(rt(fleet, karmada_names.PROPAGATION_POLICIES), "default", policy("web"))
        fleet.host.create(deployments, "default", deployment("web"))

        async def bound() -> dict[str, Any]:
            binding = fleet.host.find(rt(fleet, RESOURCE_BINDINGS), "default", "web-deployment")
            assert binding is not None
            return binding

        await eventually(bound, timeout_seconds=5)
        await asyncio.sleep(0.05)
        assert detector.claimed_reconciles == 0

        template = fleet.host.get(deployments, "default", "web")
        fleet.host.update(deployments, "default", "web", {**template, "status": {"replicas": 1}}, subresource="status")
        await asyncio.sleep(0.05)
        assert detector.claimed_reconciles == 0

        template = fleet.host.get(deployments, "default", "web")
        template["metadata"]["labels"]["tier"] = "frontend"
        fleet.host.update(deployments, "default", "web", template)

        async def reconciled() -> bool:
            assert detector.claimed_reconciles == 1
            return True

        await eventually(reconciled, timeout_seconds=5)


def event(type_: str, obj: dict[str, Any]) -> WatchEvent:
    return WatchEvent(type_, obj, int(obj["metadata"]["resourceVersion"]))  # type: ignore[arg-type]


async def test_the_status_controller_skips_binding_status_writes_and_its_own_work_status_writes() -> None:
    controller = BindingStatusController(fleet=make_fleet())
    key = (RESOURCE_BINDINGS, "default", "web-deployment")
    binding: dict[str, Any] = {
        "metadata": {"name": "web-deployment", "namespace": "default", "uid": "u", "generation": 1},
        "spec": {},
    }
    on_binding = controller._on_binding(RESOURCE_BINDINGS)
    on_binding(event("ADDED", {**binding, "metadata": {**binding["metadata"], "resourceVersion": "5"}}))
    assert (await controller._queue.get()) == key
    on_binding(event("MODIFIED", {**binding, "metadata": {**binding["metadata"], "resourceVersion": "6"}}))
    assert len(controller._queue) == 0
    on_binding(
        event("MODIFIED", {**binding, "metadata": {**binding["metadata"], "resourceVersion": "7", "generation": 2}})
    )
    assert (await controller._queue.get()) == key

    work = {
        "metadata": {
            "name": "web-x",
            "namespace": "karmada-es-cluster-beijing",
            "resourceVersion": "8",
            "annotations": {karmada_names.RB_NAME: "web-deployment", karmada_names.RB_NAMESPACE: "default"},
        }
    }
    controller._own_writes[("karmada-es-cluster-beijing", "web-x")] = "8"
    controller._on_work(event("MODIFIED", work))
    assert len(controller._queue) == 0
    controller._on_work(event("MODIFIED", {**work, "metadata": {**work["metadata"], "resourceVersion": "9"}}))
    assert (await controller._queue.get()) == key


def test_work_names_are_cached_and_safe_encoding_keeps_the_apimachinery_alphabet() -> None:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    for text in ("0123456789", "héllo wörld", "(string)default-web-Deployment"):
        assert karmada_names.safe_encode(text) == "".join(alphabet[ord(ch) % len(alphabet)] for ch in text)
    karmada_names.work_name.cache_clear()
    first = karmada_names.work_name("Deployment", "web", "default")
    assert karmada_names.work_name("Deployment", "web", "default") == first
    assert karmada_names.work_name.cache_info().hits == 1
    assert first.startswith("web-")


async def test_the_binding_controller_takes_events_of_what_it_already_reconciled_as_old_news() -> None:
    fleet = make_fleet()
    controller = BindingController(fleet=fleet)
    bindings = rt(fleet, RESOURCE_BINDINGS)
    body = {
        "apiVersion": "work.karmada.io/v1alpha2",
        "kind": "ResourceBinding",
        "metadata": {"name": "web-deployment", "namespace": "default"},
        "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"}},
    }
    created = fleet.host.create(bindings, "default", body)
    scheduled = fleet.host.get(bindings, "default", "web-deployment")
    scheduled["spec"]["clusters"] = [{"name": "cluster-beijing"}]
    scheduled = fleet.host.update(bindings, "default", "web-deployment", scheduled)
    key = (RESOURCE_BINDINGS, "default", "web-deployment")
    on_binding = controller._on_binding(RESOURCE_BINDINGS)
    on_binding(event("ADDED", created))
    assert (await controller._queue.get()) == key
    controller.reconcile(key)  # reads the scheduled version before its event comes
    on_binding(event("MODIFIED", scheduled))
    assert len(controller._queue) == 0
    scheduled["spec"]["clusters"] = [{"name": "cluster-shanghai"}]
    on_binding(event("MODIFIED", fleet.host.update(bindings, "default", "web-deployment", scheduled)))
    assert (await controller._queue.get()) == key


def test_resource_requests_are_parsed_once_per_pod_spec_and_handed_out_as_new_dicts() -> None:
    pod_spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}
    template = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": pod_spec}}}
    _, first = karmada_interpreter.get_replicas(template)
    _, second = karmada_interpreter.get_replicas(template)
    assert first is not None
    assert second is not None
    assert first == second == {"resourceRequest": {"cpu": "250m", "memory": "64Mi"}}
    assert first["resourceRequest"] is not second["resourceRequest"]


def test_set_condition_asks_a_clock_for_the_time_only_for_a_transition() -> None:
    asked: list[str] = []

    def now() -> str:
        asked.append("now")
        return "2026-01-01T00:00:01Z"

    ready = {"type": "Ready", "status": "True", "reason": "R", "message": "m"}
    first = kube_conditions.set_condition(None, ready, now)
    assert first == [{**ready, "lastTransitionTime": "2026-01-01T00:00:01Z"}]
    again = kube_conditions.set_condition(first, {**ready, "message": "still"}, now)
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:01Z"
    assert again[0]["message"] == "still"
    assert asked == ["now"]
    flipped = kube_conditions.set_condition(again, {**ready, "status": "False"}, "2026-01-01T00:00:02Z")
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:00:02Z"


async def test_member_object_changes_close_together_make_one_status_reconcile() -> None:
    controller = BindingStatusController(fleet=make_fleet())
    key = (RESOURCE_BINDINGS, "default", "web-deployment")
    annotations = {karmada_names.RB_NAME: "web-deployment", karmada_names.RB_NAMESPACE: "default"}
    copies = [
        {"metadata": {"name": "web", "namespace": "default", "resourceVersion": rv, "annotations": annotations}}
        for rv in ("3", "4")
    ]
    for copy in copies:
        controller._on_member_object(event("MODIFIED", copy))
    assert len(controller._queue) == 0
    assert (await asyncio.wait_for(controller._queue.get(), 1)) == key
    await asyncio.sleep(karmada_status.MEMBER_COALESCE_SECONDS / 100 * 3)
    assert len(controller._queue) == 0

    # A reconcile in the meantime reads the member objects itself: the pending one is dropped.
    controller._on_member_object(event("MODIFIED", copies[0]))
    controller.reconcile(key)
    await asyncio.sleep(karmada_status.MEMBER_COALESCE_SECONDS / 100 * 3)
    assert len(controller._queue) == 0


async def test_a_new_bindings_steps_and_its_works_close_together_make_one_status_reconcile() -> None:
    controller = BindingStatusController(fleet=make_fleet())
    key = (RESOURCE_BINDINGS, "default", "web-deployment")
    annotations = {karmada_names.RB_NAME: "web-deployment", karmada_names.RB_NAMESPACE: "default"}
    on_binding = controller._on_binding(RESOURCE_BINDINGS)
    for generation in (1, 2):  # created, then scheduled
        meta = {"name": "web-deployment", "namespace": "default", "uid": "u", "generation": generation}
        binding = {"metadata": {**meta, "resourceVersion": str(generation)}}
        on_binding(event("MODIFIED", binding))
    work = {"metadata": {"name": "w", "namespace": "karmada-es-a", "resourceVersion": "7", "annotations": annotations}}
    controller._on_work(event("ADDED", work))
    assert len(controller._queue) == 0  # nothing before the steps that follow have had their moment
    assert (await asyncio.wait_for(controller._queue.get(), 1)) == key
    await asyncio.sleep(karmada_status.MEMBER_COALESCE_SECONDS / 100 * 3)
    assert len(controller._queue) == 0


def test_canonical_json_is_what_json_dumps_writes() -> None:
    docs: list[Any] = [
        deployment("web")["spec"]["template"],
        {"clusterAffinity": {"clusterNames": ["b", "a"]}, "weight": 0.5},
        {"big": 1e20, "small": [1e-7, 1.0, -3]},
        {"ünïcode": "é", "none": None, "yes": True},
        {"huge": 2**70},
        {},
    ]
    for doc in docs:
        assert karmada_names.canonical_json(doc) == json.dumps(doc, sort_keys=True, separators=(",", ":"))
