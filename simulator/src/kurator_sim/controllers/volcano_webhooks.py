"""Volcano's admission webhooks, installed as admission hooks on a member's store.

Schema-level validation (the CRD's ``openAPIV3Schema``, 422) is the API layer's; this module
plays what Volcano's webhook server adds on top (``pkg/webhooks/admission``):

* ``mutatejob.volcano.sh`` (CREATE): ``queue: default``, ``schedulerName: volcano``,
  ``maxRetry: 3``, task names ``default<i>``, task ``minAvailable`` = replicas, job
  ``minAvailable`` = sum of the tasks', ``svc`` (and ``ssh``) plugins added for
  tensorflow/mpi (``jobs/mutate/mutate_job.go``);
* ``validatejob.volcano.sh`` (CREATE/UPDATE): the checks and messages of
  ``jobs/validate/admit_job.go`` (tasks, replicas, minAvailable, task names, plugins, the
  queue existing and ``Open``; on update only ``minAvailable``/replicas may change);
* ``mutatepodgroup``/``validatepodgroup.volcano.sh``: default queue, queue must be ``Open``;
* ``mutatequeue``/``validatequeue.volcano.sh``: weight 1 and ``reclaimable``, state must be
  ``Open`` or ``Closed``, ``deserved`` within ``capability``; ``default``/``root`` cannot be
  deleted.

A refusal is what the API server makes of a webhook's denial: HTTP 400 with the message
``admission webhook "<name>" denied the request: <message>`` and no ``reason``.
"""

from __future__ import annotations

import re
from typing import Any

from kurator_sim import errors
from kurator_sim.controllers import volcano_resources as res
from kurator_sim.store.objects import Obj, ObjectStore, Operation, clone

JOBS = ("batch.volcano.sh", "jobs")
QUEUES = ("scheduling.volcano.sh", "queues")
PODGROUPS = ("scheduling.volcano.sh", "podgroups")
DEFAULT_QUEUE = "default"
KNOWN_PLUGINS = frozenset({"ssh", "env", "svc", "tensorflow", "mpi", "pytorch", "hcclrank", "ray"})
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_QUALIFIED_NAME_ERR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _int(value: Any) -> int:
    """An integer field as the webhook reads it (0 when absent; schema validation catches junk)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def denied(webhook: str, message: str) -> errors.ApiError:
    """The API server's error for a webhook denial (``webhookerrors.ToStatusErr``)."""
    return errors.ApiError(400, "", f'admission webhook "{webhook}" denied the request: {message}')


def install(store: ObjectStore) -> None:
    """Register Volcano's webhooks on ``store`` (a member cluster)."""
    store.add_admission(JOBS, _JobWebhooks(store))
    store.add_admission(PODGROUPS, _PodGroupWebhooks(store))
    store.add_admission(QUEUES, _queue_webhooks)


def _queue_state(store: ObjectStore, name: str) -> tuple[Obj | None, str]:
    queue = store.find(store.registry.by_key(QUEUES), None, name)
    if queue is None:
        return None, f'queues.scheduling.volcano.sh "{name}" not found'
    return queue, str((queue.get("status") or {}).get("state") or "")


# --- jobs ------------------------------------------------------------------------------------


class _JobWebhooks:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def __call__(self, operation: Operation, new: Obj, old: Obj | None) -> None:
        if operation == "CREATE":
            mutate_job(new)
            message = self.validate_create(new)
            if message:
                raise denied("validatejob.volcano.sh", message)
        elif operation == "UPDATE" and old is not None:
            message = validate_job_update(old, new)
            if message:
                raise denied("validatejob.volcano.sh", message)

    def validate_create(self, job: Obj) -> str:
        """``validateJobCreate``: the message Volcano builds (empty: admitted)."""
        spec = job.get("spec") or {}
        name = str((job.get("metadata") or {}).get("name") or "")
        if _int(spec.get("minAvailable") or 0) < 0:
            return "job 'minAvailable' must be >= 0."
        if _int(spec.get("maxRetry") or 0) < 0:
            return "'maxRetry' cannot be less than zero."
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is not None and _int(ttl) < 0:
            return "'ttlSecondsAfterFinished' cannot be less than zero."
        tasks = spec.get("tasks") or []
        if not tasks:
            return "No task specified in job spec"
        msg = ""
        seen: set[str] = set()
        total_replicas = 0
        for index, task in enumerate(tasks):
            task_name = str(task.get("name") or "")
            replicas = _int(task.get("replicas") or 0)
            if replicas < 0:
                msg += f" 'replicas' < 0 in task: {task_name};"
            task_min = task.get("minAvailable")
            if task_min is not None and _int(task_min) > replicas:
                msg += f" 'minAvailable' is greater than 'replicas' in task: {task_name}, job: {name}"
            total_replicas += replicas
            label_errors = _dns1123_label_errors(task_name)
            if label_errors:
                msg += f" [{' '.join(label_errors)}];"
            if task_name in seen:
                msg += f" duplicated task name {task_name};"
                break
            seen.add(task_name)
            pod_name = f"{name}-{task_name}-{index}"
            name_errors = _qualified_name_errors(pod_name)
            if name_errors:
                msg += f"create pod with name {pod_name} validate failed [{' '.join(name_errors)}];"
            containers = (((task.get("template") or {}).get("spec") or {}).get("containers")) or []
            if not containers:
                msg += f"spec.task[{index}].template.spec.containers: Required value. "
        if total_replicas < _int(spec.get("minAvailable") or 0):
            msg += "job 'minAvailable' should not be greater than total replicas in tasks;"
        for plugin in sorted(spec.get("plugins") or {}):
            if plugin not in KNOWN_PLUGINS:
                msg += f" unable to find job plugin: {plugin}"
        queue_name = str(spec.get("queue") or DEFAULT_QUEUE)
        queue, state = _queue_state(self.store, queue_name)
        if queue is None:
            msg += f" unable to find job queue: {state}"
        elif state != "Open":
            msg += f"can only submit job to queue with state `Open`, queue `{queue_name}` status is `{state}`"
        return msg.strip()


def mutate_job(job: Obj) -> None:
    """``mutatejob.volcano.sh`` on CREATE."""
    spec = job.setdefault("spec", {})
    if not spec.get("queue"):
        spec["queue"] = DEFAULT_QUEUE
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "volcano"
    if not spec.get("maxRetry"):
        spec["maxRetry"] = 3
    for index, task in enumerate(spec.get("tasks") or []):
        if not task.get("name"):
            task["name"] = f"default{index}"
        template_spec = (task.get("template") or {}).get("spec") or {}
        if template_spec.get("hostNetwork") and not template_spec.get("dnsPolicy"):
            template_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        if task.get("minAvailable") is None:
            task["minAvailable"] = _int(task.get("replicas") or 0)
        if not task.get("maxRetry"):
            task["maxRetry"] = 3
    if not spec.get("minAvailable"):
        spec["minAvailable"] = sum(_int(t.get("minAvailable") or 0) for t in spec.get("tasks") or [])
    plugins = spec.get("plugins")
    if isinstance(plugins, dict):
        if ("tensorflow" in plugins or "mpi" in plugins) and "svc" not in plugins:
            plugins["svc"] = []
        if "mpi" in plugins and "ssh" not in plugins:
            plugins["ssh"] = []


def validate_job_update(old: Obj, new: Obj) -> str:
    """``validateJobUpdate``: only ``minAvailable``, task replicas/minAvailable and
    ``priorityClassName`` may change."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    total_replicas = 0
    for task in new_spec.get("tasks") or []:
        replicas = _int(task.get("replicas") or 0)
        if replicas < 0:
            return f"'replicas' must be >= 0 in task: {task.get('name')}"
        if task.get("minAvailable") is not None and _int(task["minAvailable"]) > replicas:
            return f"'minAvailable' must be <= 'replicas' in task: {task.get('name')};"
        total_replicas += replicas
    if _int(new_spec.get("minAvailable") or 0) > total_replicas:
        return "job 'minAvailable' must not be greater than total replicas"
    if _int(new_spec.get("minAvailable") or 0) < 0:
        return "job 'minAvailable' must be >= 0"
    old_tasks, new_tasks = old_spec.get("tasks") or [], new_spec.get("tasks") or []
    if len(old_tasks) != len(new_tasks):
        return "job updates may not add or remove tasks"
    comparable = clone(new_spec)
    for key in ("minAvailable", "priorityClassName"):
        if key in old_spec:
            comparable[key] = old_spec[key]
        else:
            comparable.pop(key, None)
    for index, task in enumerate(comparable.get("tasks") or []):
        for key in ("replicas", "minAvailable"):
            if key in old_tasks[index]:
                task[key] = old_tasks[index][key]
            else:
                task.pop(key, None)
    if comparable != old_spec:
        return "job updates may not change fields other than `minAvailable`, `tasks[*].replicas under spec`"
    return ""


def _dns1123_label_errors(value: str) -> list[str]:
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        out.append(_DNS1123_LABEL_ERR)
    return out


def _qualified_name_errors(value: str) -> list[str]:
    out = []
    if len(value) > 63:
        out.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.match(value):
        out.append(_QUALIFIED_NAME_ERR)
    return out


# --- podgroups and queues ----------------------------------------------------------------------


class _PodGroupWebhooks:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def __call__(self, operation: Operation, new: Obj, old: Obj | None) -> None:
        if operation != "CREATE":
            return
        spec = new.setdefault("spec", {})
        if not spec.get("queue"):
            spec["queue"] = DEFAULT_QUEUE
        queue, state = _queue_state(self.store, spec["queue"])
        meta = new.get("metadata") or {}
        if queue is None:
            message = f"failed to get queue for podgroup {meta.get('namespace')}/{meta.get('name')}: {state}"
            raise denied("validatepodgroup.volcano.sh", message)
        if state != "Open":
            message = (
                f"can only submit PodGroup to queue with state `Open`, queue `{spec['queue']}` status is `{state}`"
            )
            raise denied("validatepodgroup.volcano.sh", message)


def _queue_webhooks(operation: Operation, new: Obj, old: Obj | None) -> None:
    name = str((new.get("metadata") or {}).get("name") or "")
    if operation == "DELETE":
        if name in (DEFAULT_QUEUE, "root"):
            raise denied("validatequeue.volcano.sh", f"`{name}` queue can not be deleted")
        return
    spec = new.setdefault("spec", {})
    if operation == "CREATE":
        if not spec.get("weight"):
            spec["weight"] = 1
        if spec.get("reclaimable") is None:
            spec["reclaimable"] = True
    problems = []
    state = (new.get("status") or {}).get("state")
    if state and state not in ("Open", "Closed"):
        problems.append(f'requestBody.spec.state: Invalid value: "{state}": queue state must be in [Open Closed]')
    weight = spec.get("weight")
    if isinstance(weight, int) and weight <= 0:
        problems.append(f"requestBody.spec.weight: Invalid value: {weight}: queue weight must be a positive integer")
    capability, deserved = res.parse_list(spec.get("capability")), res.parse_list(spec.get("deserved"))
    if capability and deserved and any(v > capability[k] for k, v in deserved.items() if k in capability):
        problems.append(
            f"requestBody.spec.deserved: Invalid value: {_go_map(spec.get('deserved') or {})}: "
            "deserved should less equal than capability"
        )
    if problems:
        message = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise denied("validatequeue.volcano.sh", message)


def _go_map(values: dict[str, Any]) -> str:
    return "map[" + " ".join(f"{k}:{{{v}}}" for k, v in sorted(values.items())) + "]"
