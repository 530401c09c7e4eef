"""An Application's fleet membership as read from fleet statuses, and its status per cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kurator_apps.applications import membership, progress, render
from kurator_apps.applications.members import FleetMember
from shared.contracts import subjects

Obj = dict[str, Any]
NOW = "2026-11-26T15:00:00Z"


class FakeStatuses:
    def __init__(self, documents: Mapping[subjects.ObjectAddress, Obj]) -> None:
        self.documents = dict(documents)
        self.asked: list[subjects.ObjectAddress] = []

    async def latest(self, address: subjects.ObjectAddress) -> Mapping[str, Any] | None:
        self.asked.append(address)
        return self.documents.get(address)


def _fleet(*refs: Obj) -> Obj:
    return {"metadata": {"name": "quickstart", "namespace": "team"}, "spec": {"clusters": list(refs)}}


FLEET = subjects.ObjectAddress("fleet", "fleet", "team", "quickstart")
BEIJING = subjects.ObjectAddress("fleet", "cluster", None, "cluster-beijing")
EDGE = subjects.ObjectAddress("fleet", "attachedcluster", "team", "edge")
BEIJING_DOC = {"kind": "Cluster", "metadata": {"name": "cluster-beijing", "labels": {"region": "north-china"}}}
EDGE_DOC = {
    "kind": "AttachedCluster",
    "metadata": {"name": "edge", "namespace": "team", "labels": {"tier": "edge"}},
    "spec": {"kubeconfig": {"name": "edge-kubeconfig", "key": "config"}},
}


async def test_members_are_read_per_kind_from_the_fleet_statuses() -> None:
    statuses = FakeStatuses(
        {
            FLEET: _fleet({"name": "cluster-beijing"}, {"name": "edge", "kind": "AttachedCluster"}),
            BEIJING: BEIJING_DOC,
            EDGE: EDGE_DOC,
        }
    )
    found = await membership.read(statuses, namespace="team", fleet="quickstart")
    assert found.complete
    assert found.problem() is None
    assert found.members == (
        FleetMember("cluster-beijing", "Cluster", {"region": "north-china"}, "cluster-beijing-kubeconfig", "value"),
        FleetMember("edge", "AttachedCluster", {"tier": "edge"}, "edge-kubeconfig", "config"),
    )
    assert statuses.asked == [FLEET, BEIJING, EDGE]


async def test_a_missing_fleet_or_member_is_named() -> None:
    absent = await membership.read(FakeStatuses({}), namespace="team", fleet="quickstart")
    assert not absent.found
    assert not absent.complete
    assert absent.problem() == "Fleet team/quickstart does not exist (yet)"

    statuses = FakeStatuses({FLEET: _fleet({"name": "cluster-beijing"}, {"name": "edge", "kind": "AttachedCluster"})})
    partial = await membership.read(statuses, namespace="team", fleet="quickstart")
    assert partial.missing == ("Cluster/cluster-beijing", "AttachedCluster/edge")
    assert not partial.complete
    assert "lists members that do not exist (yet): Cluster/cluster-beijing, AttachedCluster/edge" in str(
        partial.problem()
    )

    empty = await membership.read(FakeStatuses({FLEET: _fleet()}), namespace="team", fleet="quickstart")
    assert empty.complete
    assert empty.problem() == "Fleet team/quickstart has no member clusters yet"
    st = progress.pending(empty, generation=3, now=NOW)
    assert st["phase"] == "Pending"
    assert (st["conditions"][0]["reason"], st["observedGeneration"]) == ("NoMembers", 3)


APP: Obj = {
    "apiVersion": "apps.kurator.dev/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "web", "namespace": "team"},
    "spec": {
        "source": {"gitRepository": {"url": "https://example.com/web.git", "interval": "1m"}},
        "destination": {"fleet": "quickstart"},
        "syncPolicies": [{"name": "web", "kustomization": {"interval": "5m", "prune": True}}],
    },
}
MEMBERS = (
    FleetMember("a", "Cluster", {}, "a-kubeconfig"),
    FleetMember("b", "Cluster", {}, "b-kubeconfig"),
)


def _with_ready(obj: Obj, status: str, reason: str) -> Obj:
    condition = {"type": "Ready", "status": status, "reason": reason, "message": f"flux: {reason}"}
    return {**obj, "status": {"conditions": [{"type": "Reconciling", "status": "True"}, condition]}}


def _status(written: Mapping[tuple[str, str], Obj], problems: Mapping[str, str] | None = None) -> Obj:
    rendering = render.render(render.parse(APP), members=MEMBERS)
    fleet = membership.Membership(fleet="quickstart", namespace="team", found=True, members=MEMBERS)
    observed = progress.Observed(written=written, kubeconfig_problems=problems or {})
    return progress.rendered(rendering, observed, membership=fleet, generation=2, now=NOW)


def _per_cluster(st: Obj) -> dict[str, tuple[str, str]]:
    return {s["cluster"]: (s["ready"], s["reason"]) for s in st["syncStatus"]}


def test_written_objects_without_flux_conditions_are_waiting_for_flux() -> None:
    rendering = render.render(render.parse(APP), members=MEMBERS)
    written = {
        (str(o["kind"]), o["metadata"]["name"]): o
        for o in (rendering.source, *(d.object for d in rendering.deliveries))
    }
    st = _status(written, {"b": "Secret team/b-kubeconfig (the kubeconfig of b) does not exist: Flux cannot reach it"})
    assert st["phase"] == "Progressing"
    assert _per_cluster(st) == {"a": ("Unknown", "WaitingForFlux"), "b": ("Unknown", "KubeconfigSecretMissing")}
    assert st["sourceStatus"]["ready"] == "Unknown"
    assert st["fleet"]["members"] == [{"name": "a", "kind": "Cluster"}, {"name": "b", "kind": "Cluster"}]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    assert conditions == {"Rendered": ("True", "Written"), "Ready": ("Unknown", "WaitingForFlux")}


def test_flux_ready_conditions_decide_the_phase() -> None:
    rendering = render.render(render.parse(APP), members=MEMBERS)
    source = _with_ready(rendering.source, "True", "Succeeded")
    a, b = (d.object for d in rendering.deliveries)
    ready = {
        ("GitRepository", "web"): source,
        ("Kustomization", "web-cluster-a"): _with_ready(a, "True", "ReconciliationSucceeded"),
        ("Kustomization", "web-cluster-b"): _with_ready(b, "True", "ReconciliationSucceeded"),
    }
    st = _status(ready)
    assert st["phase"] == "Ready"
    assert _per_cluster(st) == {"a": ("True", "ReconciliationSucceeded"), "b": ("True", "ReconciliationSucceeded")}

    failing = {**ready, ("Kustomization", "web-cluster-b"): _with_ready(b, "False", "BuildFailed")}
    st = _status(failing)
    assert st["phase"] == "Failed"
    assert st["syncStatus"][1]["message"] == "flux: BuildFailed"

    # Flux's own verdict wins over the kubeconfig check; an object not on the host is not ready.
    st = _status(
        {
            ("GitRepository", "web"): source,
            ("Kustomization", "web-cluster-a"): ready[("Kustomization", "web-cluster-a")],
        },
        {"a": "missing"},
    )
    assert _per_cluster(st) == {"a": ("True", "ReconciliationSucceeded"), "b": ("Unknown", "NotWritten")}
    assert st["phase"] == "Progressing"
