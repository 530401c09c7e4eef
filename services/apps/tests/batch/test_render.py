"""What is written to a member: the Job and Queue validate against Volcano's CRDs (``../shared/crds``),
and an update keeps what Volcano defaulted, changing only what Volcano lets change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kurator_apps.batch import render

Obj = dict[str, Any]
SEED = "04-volcano-job-tensorflow.yaml"


def accepted(doc: Obj) -> Obj:
    """The document as the intent processor stores it (server-owned metadata filled in)."""
    out = copy.deepcopy(doc)
    out["metadata"].update(namespace="default", uid="u-1", generation=2, creationTimestamp="2026-01-01T00:00:00Z")
    return out


def test_written_job_and_queues_validate_against_the_volcano_crds(
    example: Callable[..., Obj], crd_causes: Callable[[Obj], list[str]]
) -> None:
    job = render.member_job(accepted(example(SEED)), generation=2, manager="kurator-apps")
    assert crd_causes(job) == []
    assert "uid" not in job["metadata"]
    assert job["metadata"]["labels"][render.MANAGED_BY] == "kurator-apps"
    assert job["metadata"]["annotations"][render.GENERATION] == "2"
    assert crd_causes(render.member_queue("research", None, manager="kurator-apps")) == []
    declared = {
        "metadata": {"name": "research"},
        "spec": {"weight": 3, "capability": {"cpu": "64"}, "reclaimable": False},
    }
    queue = render.member_queue("research", declared, manager="kurator-apps")
    assert crd_causes(queue) == []
    assert queue["spec"]["weight"] == 3


def test_an_update_keeps_volcano_defaults_and_names_immutable_changes(
    example: Callable[..., Obj], crd_causes: Callable[[Obj], list[str]]
) -> None:
    seed = accepted(example(SEED))
    on_member = render.member_job(seed, generation=1, manager="kurator-apps")
    on_member["spec"].update(queue="default", maxRetry=3, schedulerName="volcano")  # the mutating webhook's
    for task in on_member["spec"]["tasks"]:
        task["minAvailable"] = task["replicas"]

    scaled = copy.deepcopy(seed)
    scaled["spec"]["tasks"][1]["replicas"] = 4
    scaled["spec"]["minAvailable"] = 4
    scaled["metadata"]["labels"] = {"team": "ml"}
    body, changed = render.member_update(scaled, on_member, generation=2, manager="kurator-apps")
    assert changed == []
    assert body["spec"]["tasks"][1]["replicas"] == 4
    assert body["spec"]["minAvailable"] == 4
    assert body["spec"]["maxRetry"] == 3
    assert body["metadata"]["labels"]["team"] == "ml"
    assert crd_causes(body) == []

    retagged = copy.deepcopy(seed)
    retagged["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["image"] = "tensorflow/tensorflow:2.9.0"
    _, changed = render.member_update(retagged, on_member, generation=3, manager="kurator-apps")
    assert changed == ["spec.tasks[0].template.spec.containers[0].image"]
