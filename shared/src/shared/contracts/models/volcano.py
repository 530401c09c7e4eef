"""Volcano kinds the apps service owns: batch ``Job`` (routed as ``volcanojob``) and ``Queue``.

Rules are the Volcano admission webhook's (integrations.md 2.1-2.3, section 7): at least one
task, unique DNS-label task names, pod names within 63 characters, gang size within the
replicas, lifecycle policies that name an event or an exit code, and queue quotas that nest
(guarantee <= deserved <= capability). Specs are :class:`PassThrough`: fields we do not check
reach Volcano untouched.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.contracts import quantity, validation
from shared.contracts.meta import KubeObject, PassThrough
from shared.contracts.models import common, pods

# The webhook accepts only these; the CRD enum also lists internal events (PodRunning,
# OutOfSync, CommandIssued) that the webhook rejects.
Event = Literal["*", "PodFailed", "PodEvicted", "PodPending", "Unknown", "TaskCompleted", "TaskFailed", "JobUpdated"]
Action = Literal[
    "AbortJob",
    "RestartJob",
    "RestartTask",
    "RestartPod",
    "RestartPartition",
    "TerminateJob",
    "CompleteJob",
    "ResumeJob",
]
_PLUGINS = frozenset({"ssh", "env", "svc", "tensorflow", "mpi", "pytorch", "hcclrank", "ray"})


class LifecyclePolicy(PassThrough):
    action: Action
    event: Event | None = None
    events: list[Event] | None = None
    exit_code: int | None = None
    timeout: common.GoDuration | None = None

    @property
    def all_events(self) -> list[tuple[str, str]]:
        """``(relative path, event)`` for ``event`` and every ``events`` entry."""
        found: list[tuple[str, str]] = [("event", self.event)] if self.event else []
        return found + [(f"events[{i}]", e) for i, e in enumerate(self.events or ())]


def check_policies(problems: validation.Problems, path: str, policies: list[LifecyclePolicy] | None) -> None:
    """The webhook's ``validatePolicies``, run separately for each policy list."""
    seen_events: set[str] = set()
    seen_codes: set[int] = set()
    wildcard = False
    for i, policy in enumerate(policies or ()):
        at = f"{path}[{i}]"
        events = policy.all_events
        if events and policy.exit_code is not None:
            problems.add(f"{at}.exitCode", "must not specify event and exitCode simultaneously", "FieldValueForbidden")
        elif not events and policy.exit_code is None:
            problems.add(at, "either event and exitCode should be specified", "FieldValueRequired")
        if policy.exit_code is not None:
            if policy.exit_code == 0:
                problems.add(f"{at}.exitCode", "0 is not a valid error code")
            elif policy.exit_code in seen_codes:
                problems.add(f"{at}.exitCode", f"duplicate exitCode {policy.exit_code}", "FieldValueDuplicate")
            seen_codes.add(policy.exit_code)
        for rel, event in events:
            if event in seen_events:
                problems.add(f"{at}.{rel}", f"duplicate event {event!r}", "FieldValueDuplicate")
            elif (event == "*" and seen_events) or (event != "*" and wildcard):
                problems.add(f"{at}.{rel}", "if there's * here, no other policy should be here")
            wildcard = wildcard or event == "*"
            seen_events.add(event)


class PartitionPolicy(PassThrough):
    total_partitions: int = Field(ge=1)
    partition_size: int = Field(ge=1)
    min_partitions: int | None = Field(default=None, ge=0)


class TaskSpec(PassThrough):
    name: str | None = None
    """Defaults to ``default<index>``."""
    replicas: int | None = Field(default=None, ge=0)
    min_available: int | None = Field(default=None, ge=0)
    # Optional in the CRD, but the webhook validates it as a pod template: no pods without one.
    template: pods.PodTemplateSpec
    policies: list[LifecyclePolicy] | None = None
    max_retry: int | None = Field(default=None, ge=0)
    topology_policy: Literal["none", "best-effort", "restricted", "single-numa-node"] | None = None
    partition_policy: PartitionPolicy | None = None

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        problems = validation.Problems()
        replicas = self.replicas or 0
        if self.min_available is not None and self.min_available > replicas:
            problems.add("minAvailable", f"'minAvailable' ({self.min_available}) must be <= 'replicas' ({replicas})")
        partition = self.partition_policy
        if partition is not None and replicas != partition.total_partitions * partition.partition_size:
            problems.add("replicas", "must equal partitionPolicy.totalPartitions * partitionPolicy.partitionSize")
        check_policies(problems, "policies", self.policies)
        problems.raise_if_any()
        return self


class VolumeSpec(PassThrough):
    mount_path: common.RequiredStr = Field(pattern=r"^[^:]+$")
    volume_claim_name: str | None = None


class JobSpec(PassThrough):
    scheduler_name: str | None = Field(default=None, max_length=63)
    min_available: int | None = Field(default=None, ge=0)
    min_success: int | None = Field(default=None, ge=1)
    queue: str = "default"
    max_retry: int | None = Field(default=None, ge=0)
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    priority_class_name: str | None = None
    plugins: dict[str, list[str]] | None = None
    policies: list[LifecyclePolicy] | None = None
    tasks: list[TaskSpec]
    volumes: list[VolumeSpec] | None = None
    running_estimate: common.GoDuration | None = None

    def task_names(self) -> list[str]:
        """Each task's name, defaulted to ``default<index>`` as the mutating webhook does."""
        return [t.name if t.name is not None else f"default{i}" for i, t in enumerate(self.tasks)]

    @model_validator(mode="after")
    def _check(self) -> JobSpec:
        problems = validation.Problems()
        if not self.tasks:
            problems.add("tasks", "No task specified in job spec", "FieldValueRequired")
        names = self.task_names()
        for i, name in enumerate(names):
            common.check_dns_label(problems, f"tasks[{i}].name", name, what="task name")
        common.check_unique(problems, ((f"tasks[{i}].name", n) for i, n in enumerate(names)), what="task name")
        total = sum(t.replicas or 0 for t in self.tasks)
        if self.tasks and self.min_available is not None and self.min_available > total:
            problems.add(
                "minAvailable",
                f"job 'minAvailable' ({self.min_available}) should not be greater than total "
                f"replicas in tasks ({total})",
            )
        common.check_dns_subdomain(problems, "queue", self.queue, what="queue name")
        if self.queue == "root":
            problems.add("queue", "jobs can not be submitted to the root queue", "FieldValueForbidden")
        common.check_dns_subdomain(problems, "priorityClassName", self.priority_class_name, what="priority class")
        for plugin in self.plugins or {}:
            if plugin not in _PLUGINS:
                problems.add(f"plugins[{plugin}]", f"unable to find job plugin: {plugin}", "FieldValueNotSupported")
        check_policies(problems, "policies", self.policies)
        common.check_unique(
            problems,
            ((f"volumes[{i}].mountPath", v.mount_path) for i, v in enumerate(self.volumes or ())),
            what="mountPath",
        )
        problems.raise_if_any()
        return self


class VolcanoJob(KubeObject):
    """``batch.volcano.sh/v1alpha1 Job``."""

    # Job names end up in pod names and in the label volcano.sh/job-name.
    NAME_RULE = "label"

    spec: JobSpec

    @model_validator(mode="after")
    def _check_pod_names(self) -> VolcanoJob:
        problems = validation.Problems()
        for i, (task, name) in enumerate(zip(self.spec.tasks, self.spec.task_names(), strict=True)):
            pod = f"{self.metadata.name}-{name}-{max((task.replicas or 0) - 1, 0)}"
            if len(pod) > 63:
                problems.add(
                    f"spec.tasks[{i}].name",
                    f"pod name {pod!r} ('<job>-<task>-<index>') would be {len(pod)} characters, more than 63",
                )
        problems.raise_if_any()
        return self


# --- Queue ---------------------------------------------------------------------------------


class Guarantee(PassThrough):
    resource: common.ResourceList | None = None


class QueueSpec(PassThrough):
    weight: int | None = Field(default=None, ge=1, le=65535)
    capability: common.ResourceList | None = None
    deserved: common.ResourceList | None = None
    guarantee: Guarantee | None = None
    reclaimable: bool | None = None
    parent: str | None = None
    priority: int | None = Field(default=None, ge=0)
    dequeue_strategy: Literal["fifo", "traverse"] | None = None

    @model_validator(mode="after")
    def _check(self) -> QueueSpec:
        problems = validation.Problems()
        _check_not_above(problems, "deserved", self.deserved, "capability", self.capability)
        guarantee = self.guarantee.resource if self.guarantee else None
        _check_not_above(problems, "guarantee.resource", guarantee, "deserved", self.deserved)
        common.check_dns_subdomain(problems, "parent", self.parent, what="parent queue")
        problems.raise_if_any()
        return self


def _check_not_above(
    problems: validation.Problems,
    path: str,
    lower: dict[str, str | int | float] | None,
    upper_path: str,
    upper: dict[str, str | int | float] | None,
) -> None:
    # Only resources named in both lists are comparable; Volcano treats a missing one as unbounded.
    for name, value in (lower or {}).items():
        if upper and name in upper and quantity.parse_quantity(value) > quantity.parse_quantity(upper[name]):
            problems.add(f"{path}[{name}]", f"{path.split('.')[0]} {value} must not exceed {upper_path} {upper[name]}")


class QueueStatus(PassThrough):
    """Only ``state`` may be given, as the queue's initial state."""

    state: Literal["Open", "Closed"] | None = None


class VolcanoQueue(KubeObject):
    """``scheduling.volcano.sh/v1beta1 Queue`` (cluster-scoped)."""

    spec: QueueSpec = Field(default_factory=QueueSpec)
    status: QueueStatus | None = None

    @model_validator(mode="after")
    def _check_parent(self) -> VolcanoQueue:
        if self.spec.parent == self.metadata.name:
            raise validation.FieldErrors([("spec.parent", "FieldValueInvalid", "a queue cannot be its own parent")])
        return self
