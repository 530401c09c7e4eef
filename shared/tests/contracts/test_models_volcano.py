"""Volcano Job and Queue models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import volcano

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

JOB_FILE = "04-volcano-job-tensorflow.yaml"

# integrations.md 2.5: a gang with job- and task-level lifecycle policies.
DDP_JOB: dict[str, Any] = {
    "apiVersion": "batch.volcano.sh/v1alpha1",
    "kind": "Job",
    "metadata": {"name": "ddp-train", "namespace": "ml"},
    "spec": {
        "schedulerName": "volcano",
        "queue": "training",
        "minAvailable": 3,
        "maxRetry": 3,
        "plugins": {"pytorch": ["--master=master", "--worker=worker", "--port=23456"], "svc": []},
        "policies": [
            {"event": "PodEvicted", "action": "RestartJob"},
            {"event": "TaskCompleted", "action": "CompleteJob"},
            {"exitCode": 137, "action": "RestartTask"},
        ],
        "tasks": [
            {
                "name": "master",
                "replicas": 1,
                "policies": [{"event": "TaskCompleted", "action": "CompleteJob"}],
                "template": {
                    "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "m", "image": "repo/train:1"}]}
                },
            },
            {
                "name": "worker",
                "replicas": 2,
                "minAvailable": 2,
                "template": {
                    "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "w", "image": "repo/train:1"}]}
                },
            },
        ],
    },
}

QUEUE: dict[str, Any] = {
    "apiVersion": "scheduling.volcano.sh/v1beta1",
    "kind": "Queue",
    "metadata": {"name": "training"},
    "spec": {
        "weight": 4,
        "reclaimable": True,
        "capability": {"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "8"},
        "deserved": {"cpu": "32", "memory": "128Gi"},
        "guarantee": {"resource": {"cpu": "8000m", "memory": "32Gi"}},
    },
}


def test_seed_job(example: Callable[..., dict[str, Any]]) -> None:
    doc = example(JOB_FILE)
    job = volcano.VolcanoJob.model_validate(doc)
    assert job.spec.queue == "default"
    assert job.spec.task_names() == ["ps", "worker"]
    wire = job.to_wire()
    # The pod templates reach Volcano exactly as written.
    assert wire["spec"]["tasks"][1]["template"] == doc["spec"]["tasks"][1]["template"]


def test_ddp_job_and_defaults(edit: Callable[..., dict[str, Any]]) -> None:
    volcano.VolcanoJob.model_validate(DDP_JOB)
    unnamed = volcano.VolcanoJob.model_validate(edit(DDP_JOB, ("spec.tasks[1].name", ...)))
    assert unnamed.spec.task_names() == ["master", "default1"]
    volcano.VolcanoJob.model_validate(edit(DDP_JOB, ("spec.policies", [{"event": "*", "action": "AbortJob"}])))
    volcano.VolcanoJob.model_validate(
        edit(
            DDP_JOB,
            ("spec.policies", [{"events": ["PodFailed", "PodEvicted"], "action": "RestartJob", "timeout": "10m"}]),
        )
    )


_T = "spec.tasks"
_P = "spec.policies"

JOB_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no tasks", [(_T, [])], [(_T, "FieldValueRequired")]),
    ("tasks missing", [(_T, ...)], [(_T, "FieldValueRequired")]),
    ("task name not a label", [(f"{_T}[0].name", "Master")], [(f"{_T}[0].name", "FieldValueInvalid")]),
    ("duplicate task names", [(f"{_T}[1].name", "master")], [(f"{_T}[1].name", "FieldValueDuplicate")]),
    (
        "pod name too long",
        [("metadata.name", "j" * 50), (f"{_T}[1].name", "w" * 12)],
        [(f"{_T}[1].name", "FieldValueInvalid")],
    ),
    ("minAvailable above replicas", [("spec.minAvailable", 4)], [("spec.minAvailable", "FieldValueInvalid")]),
    (
        "task minAvailable above replicas",
        [(f"{_T}[1].minAvailable", 3)],
        [(f"{_T}[1].minAvailable", "FieldValueInvalid")],
    ),
    ("task without template", [(f"{_T}[0].template", ...)], [(f"{_T}[0].template", "FieldValueRequired")]),
    ("negative replicas", [(f"{_T}[0].replicas", -1)], [(f"{_T}[0].replicas", "FieldValueInvalid")]),
    ("negative minAvailable", [("spec.minAvailable", -1)], [("spec.minAvailable", "FieldValueInvalid")]),
    ("event and exitCode", [(f"{_P}[0].exitCode", 1)], [(f"{_P}[0].exitCode", "FieldValueForbidden")]),
    ("neither event nor exitCode", [(f"{_P}[0].event", ...)], [(f"{_P}[0]", "FieldValueRequired")]),
    ("exit code zero", [(f"{_P}[2].exitCode", 0)], [(f"{_P}[2].exitCode", "FieldValueInvalid")]),
    (
        "duplicate exit code",
        [(_P, [{"exitCode": 1, "action": "RestartJob"}, {"exitCode": 1, "action": "AbortJob"}])],
        [(f"{_P}[1].exitCode", "FieldValueDuplicate")],
    ),
    ("duplicate event", [(f"{_P}[1].event", "PodEvicted")], [(f"{_P}[1].event", "FieldValueDuplicate")]),
    (
        "duplicate event in events",
        [(f"{_P}[1]", {"events": ["PodFailed", "PodEvicted"], "action": "AbortJob"})],
        [(f"{_P}[1].events[1]", "FieldValueDuplicate")],
    ),
    ("star with others", [(f"{_P}[1].event", "*")], [(f"{_P}[1].event", "FieldValueInvalid")]),
    ("internal event", [(f"{_P}[0].event", "PodRunning")], [(f"{_P}[0].event", "FieldValueNotSupported")]),
    ("unknown action", [(f"{_P}[0].action", "RestartCluster")], [(f"{_P}[0].action", "FieldValueNotSupported")]),
    ("no action", [(f"{_P}[0].action", ...)], [(f"{_P}[0].action", "FieldValueRequired")]),
    ("timeout in days", [(f"{_P}[0].timeout", "1d")], [(f"{_P}[0].timeout", "FieldValueInvalid")]),
    (
        "task policy duplicate",
        [
            (
                f"{_T}[0].policies",
                [{"event": "TaskCompleted", "action": "CompleteJob"}, {"event": "TaskCompleted", "action": "AbortJob"}],
            )
        ],
        [(f"{_T}[0].policies[1].event", "FieldValueDuplicate")],
    ),
    ("unknown plugin", [("spec.plugins.horovod", [])], [("spec.plugins[horovod]", "FieldValueNotSupported")]),
    ("root queue", [("spec.queue", "root")], [("spec.queue", "FieldValueForbidden")]),
    ("queue name", [("spec.queue", "GPU_Queue")], [("spec.queue", "FieldValueInvalid")]),
    ("scheduler name too long", [("spec.schedulerName", "s" * 64)], [("spec.schedulerName", "FieldValueTooLong")]),
    (
        "container without image",
        [(f"{_T}[0].template.spec.containers[0].image", ...)],
        [(f"{_T}[0].template.spec.containers[0].image", "FieldValueRequired")],
    ),
    (
        "bad resource quantity",
        [(f"{_T}[1].template.spec.containers[0].resources", {"limits": {"cpu": "two"}})],
        [(f"{_T}[1].template.spec.containers[0].resources.limits[cpu]", "FieldValueInvalid")],
    ),
    ("topology policy", [(f"{_T}[0].topologyPolicy", "numa")], [(f"{_T}[0].topologyPolicy", "FieldValueNotSupported")]),
    (
        "partition size mismatch",
        [(f"{_T}[1].partitionPolicy", {"totalPartitions": 2, "partitionSize": 2})],
        [(f"{_T}[1].replicas", "FieldValueInvalid")],
    ),
    (
        "duplicate mount path",
        [("spec.volumes", [{"mountPath": "/data"}, {"mountPath": "/data"}])],
        [("spec.volumes[1].mountPath", "FieldValueDuplicate")],
    ),
    ("job name not a label", [("metadata.name", "ddp.train")], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in JOB_BROKEN], ids=[c[0] for c in JOB_BROKEN])
def test_job_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(volcano.VolcanoJob, DDP_JOB, *edits) == expected


def test_seed_job_broken(reject: Reject, example: Callable[..., dict[str, Any]]) -> None:
    assert reject(volcano.VolcanoJob, example(JOB_FILE), ("spec.minAvailable", 4)) == [
        ("spec.minAvailable", "FieldValueInvalid")
    ]
    assert reject(volcano.VolcanoJob, example(JOB_FILE), ("spec.tasks[1].name", "ps")) == [
        ("spec.tasks[1].name", "FieldValueDuplicate")
    ]


def test_queue_valid(edit: Callable[..., dict[str, Any]]) -> None:
    volcano.VolcanoQueue.model_validate(QUEUE)
    volcano.VolcanoQueue.model_validate(
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": "default"}}
    )
    # Resources named on one side only are not comparable, hence allowed.
    volcano.VolcanoQueue.model_validate(edit(QUEUE, ("spec.deserved[nvidia.com/gpu]", "16"), ("spec.capability", {})))
    volcano.VolcanoQueue.model_validate(edit(QUEUE, ("status", {"state": "Closed"})))


QUEUE_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("weight zero", [("spec.weight", 0)], [("spec.weight", "FieldValueInvalid")]),
    ("weight too large", [("spec.weight", 65536)], [("spec.weight", "FieldValueInvalid")]),
    ("deserved above capability", [("spec.deserved.cpu", "65")], [("spec.deserved[cpu]", "FieldValueInvalid")]),
    (
        "guarantee above deserved",
        [("spec.guarantee.resource.memory", "129Gi")],
        [("spec.guarantee.resource[memory]", "FieldValueInvalid")],
    ),
    ("bad quantity", [("spec.capability.memory", "lots")], [("spec.capability[memory]", "FieldValueInvalid")]),
    ("state enum", [("status", {"state": "Closing"})], [("status.state", "FieldValueNotSupported")]),
    ("dequeue strategy", [("spec.dequeueStrategy", "lifo")], [("spec.dequeueStrategy", "FieldValueNotSupported")]),
    ("own parent", [("spec.parent", "training")], [("spec.parent", "FieldValueInvalid")]),
    ("negative priority", [("spec.priority", -1)], [("spec.priority", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in QUEUE_BROKEN], ids=[c[0] for c in QUEUE_BROKEN])
def test_queue_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(volcano.VolcanoQueue, QUEUE, *edits) == expected
