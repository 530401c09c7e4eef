"""Simulated Volcano: gang admission of ``batch.volcano.sh`` Jobs against node capacity.

Per member cluster, as Volcano's job controller and scheduler would (KWOK-style: no Pod
objects are created, placements are kept by the controller):

* a Queue ``default`` (weight 1, ``Open``) and Volcano's admission webhooks are installed when
  the controller is constructed (``volcano_webhooks``); new queues are opened;
* each Job gets its PodGroup ``<job>-<job uid>`` (owner reference to the Job, ``minMember`` =
  ``minAvailable``, ``minTaskMember``, ``minResources`` in quota terms, ``queue``) and an
  initial status (``state.phase: Pending``);
* jobs are considered in creation order. A gang is *enqueued* when its queue is ``Open``, its
  ``capability`` (if any) leaves room and the cluster's idle resources cover ``minResources``
  (else the PodGroup stays ``Pending`` with condition ``Unschedulable``/``NotEnoughResources``
  ``N/0 tasks in gang unschedulable: pod group is not ready, N minAvailable``); it is then
  *allocated* when every one of its ``minAvailable`` pods fits a node (selectors, affinity,
  taints, requests; :mod:`shared.gang`, worded by ``volcano_placement``) - else the PodGroup is ``Inqueue`` with the
  scheduler's ``N/M tasks in gang unschedulable: ... Origin reason is <pod>: 0/K nodes are
  unavailable: ...`` message. Both messages end with the shortfall (which resource, how much
  more, on which nodes). Unplaceable gangs are re-tried whenever nodes, workloads or jobs change.
* an allocated gang: PodGroup ``Inqueue`` -> ``Running`` (condition ``Scheduled``) after
  ``start_seconds``; Job ``Pending`` -> ``Running`` (``running``, ``minAvailable``,
  ``taskStatusCount``); after the annotation ``kurator.dev/sim-duration`` (a Go duration or
  seconds) or ``run_seconds`` the Job is ``Completed``, the PodGroup ``Completed``, and the
  resources are released.

Node usage counts the controller's own running gangs, Pods bound to nodes and the replicas of
Deployments (placed first-fit). Deleting a Job deletes its PodGroup (owner reference).
A member that is down schedules nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from kurator_sim import errors
from kurator_sim.controllers import volcano_placement as plc
from kurator_sim.controllers import volcano_resources as res
from kurator_sim.controllers import volcano_webhooks as webhooks
from kurator_sim.controllers.velero_time import format_go_duration, parse_go_duration
from kurator_sim.fleet import Fleet, Member
from kurator_sim.store.objects import Obj, clone
from kurator_sim.store.watch import Subscription
from shared.gang import fit, packing
from shared.gang.nodes import Node
from shared.gang.packing import NodeState
from shared.gang.pods import PodShape, gang_of

DURATION_ANNOTATION = "kurator.dev/sim-duration"
JOB_API_VERSION = "batch.volcano.sh/v1alpha1"
SCHEDULED_REASON = "tasks in gang are ready to be scheduled"
NOT_ENOUGH_RESOURCES = "NotEnoughResources"
FINISHED = ("Completed", "Failed", "Terminated", "Aborted")
_MAX_IDLE = 60.0
_log = logging.getLogger(__name__)


@dataclass
class _Gang:
    """A job the controller has allocated: where its pods run and when it moves on."""

    uid: str
    namespace: str
    name: str
    queue: str
    placements: list[tuple[PodShape, str]]
    admitted_at: float
    running_at: float | None = None
    finish_at: float | None = None
    tasks: dict[str, int] = field(default_factory=dict)

    def requests(self) -> res.Resources:
        return res.total(p.requests for p, _ in self.placements)


class VolcanoController:
    """Volcano in every member of ``fleet`` (see the module docstring)."""

    def __init__(
        self,
        *,
        fleet: Fleet,
        run_seconds: float = 30.0,
        start_seconds: float = 2.0,
        install_webhooks: bool = True,
    ) -> None:
        self.fleet = fleet
        self.run_seconds = run_seconds
        self.start_seconds = start_seconds
        self._schedulers: dict[str, _VolcanoScheduler] = {}
        for name, member in fleet.members.items():
            if install_webhooks:
                webhooks.install(member.store)
            _ensure_default_queue(member)
            self._schedulers[name] = _VolcanoScheduler(self, member)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for scheduler in self._schedulers.values():
                group.create_task(scheduler.run())

    def placements(self, cluster: str) -> dict[str, dict[str, str]]:
        """Where the pods of each allocated job of ``cluster`` run: ``{"ns/job": {pod: node}}``."""
        return {
            f"{gang.namespace}/{gang.name}": {pod.name: node for pod, node in gang.placements}
            for gang in self._schedulers[cluster].gangs.values()
        }


def _ensure_default_queue(member: Member) -> None:
    store = member.store
    rt = store.registry.by_key(webhooks.QUEUES)
    if store.find(rt, None, webhooks.DEFAULT_QUEUE) is None:
        with contextlib.suppress(errors.ApiError):
            store.create(
                rt,
                None,
                {
                    "apiVersion": rt.api_version,
                    "kind": "Queue",
                    "metadata": {"name": webhooks.DEFAULT_QUEUE},
                    "spec": {"weight": 1, "reclaimable": True},
                },
            )
    queue = store.find(rt, None, webhooks.DEFAULT_QUEUE)
    if queue is not None and not (queue.get("status") or {}).get("state"):
        queue["status"] = {**(queue.get("status") or {}), "state": "Open"}
        store.update(rt, None, webhooks.DEFAULT_QUEUE, queue, subresource="status")


def _meta(obj: Obj) -> dict[str, Any]:
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    return meta


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class _VolcanoScheduler:
    """Volcano's job controller and scheduler for one member."""

    def __init__(self, owner: VolcanoController, member: Member) -> None:
        self.owner = owner
        self.member = member
        self.store = member.store
        self.clock = owner.fleet.clock
        registry = self.store.registry
        self.jobs = registry.by_key(webhooks.JOBS)
        self.queues = registry.by_key(webhooks.QUEUES)
        self.podgroups = registry.by_key(webhooks.PODGROUPS)
        self.nodes = registry.by_key(("", "nodes"))
        self.pods = registry.by_key(("", "pods"))
        self.deployments = registry.by_key(("apps", "deployments"))
        self.gangs: dict[str, _Gang] = {}
        self.wake = asyncio.Event()

    async def run(self) -> None:
        rv = str(self.store.resource_version)
        watched = (self.jobs, self.queues, self.podgroups, self.nodes, self.pods, self.deployments)
        # Nodes, pods and Deployments matter only for where jobs' pods go: without jobs their
        # events (every Deployment status write, say) need no pass.
        room = {self.nodes.key, self.pods.key, self.deployments.key}
        subs = [(self.store.watch(rt, None, resource_version=rv), rt.key in room) for rt in watched]
        try:
            async with asyncio.TaskGroup() as group:
                for sub, for_jobs in subs:
                    group.create_task(self._pump(sub, for_jobs=for_jobs))
                while True:
                    delay = 1.0 if self.member.faults.down else self._reconcile_safely()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.clock.real_seconds(delay)):
                            await self.wake.wait()
                    self.wake.clear()
        finally:
            for sub, _ in subs:
                sub.close()

    async def _pump(self, sub: Subscription, *, for_jobs: bool) -> None:
        async for _ in sub.events():
            if not for_jobs or next(self.store.iter_raw(self.jobs), None) is not None:
                self.wake.set()

    def _reconcile_safely(self) -> float:
        try:
            return self.reconcile()
        except errors.ApiError:
            return 0.5  # a write raced with another; look again shortly
        except Exception:
            _log.exception("volcano controller of %s failed a pass", self.member.name)
            return 5.0

    # -- one pass ---------------------------------------------------------------------------------

    def reconcile(self) -> float:
        elapsed = self.clock.elapsed()
        jobs = sorted((clone(j) for j in self.store.iter_raw(self.jobs)), key=_job_order)
        live = {_meta(j)["uid"] for j in jobs}
        for uid in [u for u in self.gangs if u not in live]:
            del self.gangs[uid]  # the job is gone: its pods go with it
        queues = {_meta(q)["name"]: q for q in (clone(q) for q in self.store.iter_raw(self.queues))}
        self._open_new_queues(queues)
        nodes: list[NodeState] | None = None  # computed when a job needs placing
        due: list[float] = [_MAX_IDLE]
        for job in jobs:
            uid = _meta(job)["uid"]
            podgroup = self._ensure_podgroup(job)
            job = self._ensure_job_status(job)
            phase = ((job.get("status") or {}).get("state") or {}).get("phase", "")
            if phase in FINISHED:
                self.gangs.pop(uid, None)
                continue
            gang = self.gangs.get(uid)
            if gang is None:
                if podgroup is not None:
                    if nodes is None:
                        nodes = self._node_states()
                    self._try_schedule(job, podgroup, queues, nodes, elapsed)
                continue
            next_due = self._advance(job, gang, elapsed)
            if next_due is not None:
                due.append(next_due - elapsed)
        self._update_queue_status(queues)
        return max(0.05, min(due))

    def _open_new_queues(self, queues: dict[str, Obj]) -> None:
        for name, queue in queues.items():
            if not (queue.get("status") or {}).get("state"):
                queue["status"] = {**(queue.get("status") or {}), "state": "Open"}
                queues[name] = self.store.update(self.queues, None, name, queue, subresource="status")

    # -- capacity ---------------------------------------------------------------------------------

    def _node_states(self) -> list[NodeState]:
        nodes = packing.states([Node.from_dict(n) for n in self.store.iter_raw(self.nodes)])
        by_name = {n.name: n for n in nodes}
        for gang in self.gangs.values():
            for shape, placed_on in gang.placements:
                if placed_on in by_name:
                    by_name[placed_on].reserve(shape.requests)
        for bound, requests in fit.allocated_by_node(self.store.iter_raw(self.pods)).items():
            if bound in by_name:
                by_name[bound].reserve(requests)
        for deployment in sorted(self.store.iter_raw(self.deployments), key=_ns_name):
            meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            template = (spec.get("template") or {}).get("spec") or {}
            shape = PodShape.from_template(str(meta.get("name")), "", template)
            replicas = _int(spec.get("replicas"), 1)
            packing.place(nodes, [shape] * replicas, stop_at_first_failure=False)
        return nodes

    # -- objects ---------------------------------------------------------------------------------

    def _ensure_podgroup(self, job: Obj) -> Obj | None:
        meta, spec = _meta(job), job.get("spec") or {}
        name = f"{meta['name']}-{meta['uid']}"
        existing = self.store.find(self.podgroups, meta["namespace"], name)
        if existing is not None:
            return existing
        min_resources = res.total(
            res.quota_usage(p.requests, res.pod_limits(_task_template(job, p.task))) for p in gang_of(job).pods
        )
        podgroup: Obj = {
            "apiVersion": self.podgroups.api_version,
            "kind": "PodGroup",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": JOB_API_VERSION,
                        "kind": "Job",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "minMember": _int(spec.get("minAvailable")),
                "minTaskMember": {
                    str(t.get("name")): _int(t.get("minAvailable"), _int(t.get("replicas")))
                    for t in spec.get("tasks") or []
                },
                "minResources": res.format_quota(min_resources),
                "queue": spec.get("queue") or webhooks.DEFAULT_QUEUE,
            },
        }
        if spec.get("priorityClassName"):
            podgroup["spec"]["priorityClassName"] = spec["priorityClassName"]
        try:
            created = self.store.create(self.podgroups, meta["namespace"], podgroup)
        except errors.ApiError:
            return None
        created["status"] = {"phase": "Pending"}
        return self.store.update(self.podgroups, meta["namespace"], name, created, subresource="status")

    def _ensure_job_status(self, job: Obj) -> Obj:
        status = job.get("status") or {}
        if (status.get("state") or {}).get("phase"):
            return job
        now = self.clock.timestamp()
        job["status"] = {
            "state": {"phase": "Pending", "lastTransitionTime": now},
            "minAvailable": _int((job.get("spec") or {}).get("minAvailable")),
            "conditions": [{"status": "Pending", "lastTransitionTime": now}],
        }
        return self._write_job_status(job)

    def _write_job_status(self, job: Obj) -> Obj:
        meta = _meta(job)
        return self.store.update(self.jobs, meta["namespace"], meta["name"], job, subresource="status")

    def _set_job(self, job: Obj, phase: str, counts: dict[str, int], task_counts: dict[str, dict[str, int]]) -> None:
        current = self.store.find(self.jobs, _meta(job)["namespace"], _meta(job)["name"])
        if current is None:
            return
        status = dict(current.get("status") or {})
        now = self.clock.timestamp()
        if (status.get("state") or {}).get("phase") != phase:
            status["state"] = {"phase": phase, "lastTransitionTime": now}
            status["conditions"] = [*(status.get("conditions") or []), {"status": phase, "lastTransitionTime": now}]
        for key in ("pending", "running", "succeeded", "failed"):
            if counts.get(key):
                status[key] = counts[key]
            else:
                status.pop(key, None)
        status["taskStatusCount"] = {
            task: {"phase": {p: n for p, n in phases.items() if n}} for task, phases in sorted(task_counts.items())
        }
        current["status"] = status
        self._write_job_status(current)

    def _set_podgroup(self, job: Obj, **fields: Any) -> None:
        meta = _meta(job)
        name = f"{meta['name']}-{meta['uid']}"
        current = self.store.find(self.podgroups, meta["namespace"], name)
        if current is None:
            return
        status = dict(current.get("status") or {})
        condition = fields.pop("condition", None)
        for key, value in fields.items():
            if value is None or value == 0:
                status.pop(key, None)
            else:
                status[key] = value
        if condition is not None:
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != condition["type"]]
            status["conditions"] = [*conditions, condition]
        if status != current.get("status"):
            current["status"] = status
            self.store.update(self.podgroups, meta["namespace"], name, current, subresource="status")

    def _condition(self, kind: str, reason: str, message: str | None = None) -> dict[str, Any]:
        condition = {
            "type": kind,
            "status": "True",
            "transitionID": str(uuid.uuid4()),
            "lastTransitionTime": self.clock.timestamp(),
            "reason": reason,
        }
        if message is not None:
            condition["message"] = message
        return condition

    def _mark_unschedulable(self, job: Obj, podgroup: Obj, phase: str, message: str) -> None:
        status = podgroup.get("status") or {}
        current = next((c for c in status.get("conditions") or [] if c.get("type") == "Unschedulable"), None)
        if status.get("phase") == phase and current is not None and current.get("message") == message:
            return
        self._set_podgroup(job, phase=phase, condition=self._condition("Unschedulable", NOT_ENOUGH_RESOURCES, message))

    # -- scheduling -------------------------------------------------------------------------------

    def _try_schedule(
        self, job: Obj, podgroup: Obj, queues: dict[str, Obj], nodes: list[NodeState], elapsed: float
    ) -> None:
        spec = job.get("spec") or {}
        queue_name = str(spec.get("queue") or webhooks.DEFAULT_QUEUE)
        queue = queues.get(queue_name)
        if queue is None or (queue.get("status") or {}).get("state") != "Open":
            return
        found = gang_of(job)
        gang, extra = list(found.pods), list(found.rest)
        min_member = found.min_member
        total_pods = len(gang) + len(extra)
        need = found.requests
        capability = res.parse_list((queue.get("spec") or {}).get("capability"))
        if capability:
            used = res.total(g.requests() for g in self.gangs.values() if g.queue == queue_name)
            room = res.subtract(capability, used)
            wanted = {k: v for k, v in need.items() if k in capability}
            if res.shortages(wanted, room):
                detail = plc.cluster_shortfall(wanted, room, f"within the capability of queue {queue_name}")
                self._mark_unschedulable(job, podgroup, "Pending", f"{plc.not_enqueued_message(min_member)}. {detail}")
                return
        idle = res.total(n.free() for n in nodes if n.node.usable)
        if res.shortages(need, idle):
            detail = plc.cluster_shortfall(need, idle, "in the cluster")
            self._mark_unschedulable(job, podgroup, "Pending", f"{plc.not_enqueued_message(min_member)}. {detail}")
            return
        trial = packing.copy_states(nodes)
        outcome = packing.place(trial, gang)
        failed = outcome.first_failed
        if failed is not None:
            message = plc.unschedulable_message(min_member, total_pods, outcome, len(nodes))
            detail = plc.shortfall(nodes, gang, failed)
            self._mark_unschedulable(job, podgroup, "Inqueue", f"{message} Shortfall: {detail}.")
            self._set_job(job, "Pending", {"pending": total_pods}, _task_counts(gang + extra, "Pending"))
            return
        extra_outcome = packing.place(trial, extra, stop_at_first_failure=False)
        for node, placed in zip(nodes, trial, strict=True):
            node.used = placed.used
        placements = [*outcome.placed, *extra_outcome.placed]
        meta = _meta(job)
        self.gangs[meta["uid"]] = _Gang(
            uid=meta["uid"],
            namespace=meta["namespace"],
            name=meta["name"],
            queue=queue_name,
            placements=placements,
            admitted_at=elapsed,
            tasks=_count_tasks(gang + extra),
        )
        self._set_podgroup(job, phase="Inqueue")
        self._set_job(job, "Pending", {"pending": total_pods}, _task_counts(gang + extra, "Pending"))

    def _advance(self, job: Obj, gang: _Gang, elapsed: float) -> float | None:
        """Move an allocated gang along its timeline; returns when it is next due."""
        if gang.running_at is None:
            start_at = gang.admitted_at + self.owner.start_seconds
            if elapsed < start_at:
                return start_at
            gang.running_at = elapsed
            gang.finish_at = elapsed + self._duration(job)
            running = _count_tasks(p for p, _ in gang.placements)
            pending = {t: n - running.get(t, 0) for t, n in gang.tasks.items()}
            self._set_podgroup(
                job,
                phase="Running",
                running=len(gang.placements),
                condition=self._condition("Scheduled", SCHEDULED_REASON),
            )
            task_counts = {t: {"Running": running.get(t, 0), "Pending": pending.get(t, 0)} for t in gang.tasks}
            self._set_job(
                job,
                "Running",
                {"running": len(gang.placements), "pending": sum(pending.values())},
                task_counts,
            )
            return gang.finish_at
        assert gang.finish_at is not None
        if elapsed < gang.finish_at:
            return gang.finish_at
        total = sum(gang.tasks.values())
        self._set_podgroup(job, phase="Completed", running=None, succeeded=total)
        self._set_job(job, "Completed", {"succeeded": total}, {t: {"Succeeded": n} for t, n in gang.tasks.items()})
        current = self.store.find(self.jobs, gang.namespace, gang.name)
        if current is not None:
            current.setdefault("status", {})["runningDuration"] = format_go_duration(elapsed - gang.running_at)
            self._write_job_status(current)
        del self.gangs[gang.uid]
        return None

    def _duration(self, job: Obj) -> float:
        raw = (_meta(job).get("annotations") or {}).get(DURATION_ANNOTATION)
        if raw:
            try:
                return float(raw)
            except ValueError:
                with contextlib.suppress(ValueError):
                    return max(0.0, parse_go_duration(str(raw)))
        return self.owner.run_seconds

    def _update_queue_status(self, queues: dict[str, Obj]) -> None:
        counts: dict[str, dict[str, int]] = {name: {} for name in queues}
        for podgroup in self.store.iter_raw(self.podgroups):
            queue = (podgroup.get("spec") or {}).get("queue") or webhooks.DEFAULT_QUEUE
            phase = str((podgroup.get("status") or {}).get("phase") or "Pending").lower()
            if queue in counts:
                counts[queue][phase] = counts[queue].get(phase, 0) + 1
        for name, queue in queues.items():
            status = dict(queue.get("status") or {})
            wanted = dict(status)
            for phase in ("pending", "running", "inqueue", "completed", "unknown"):
                if counts[name].get(phase):
                    wanted[phase] = counts[name][phase]
                else:
                    wanted.pop(phase, None)
            allocated = res.total(
                g.requests() for g in self.gangs.values() if g.queue == name and g.running_at is not None
            )
            allocated.pop(res.PODS, None)
            if allocated:
                wanted["allocated"] = res.format_list(allocated)
            else:
                wanted.pop("allocated", None)
            if wanted != status:
                queue["status"] = wanted
                self.store.update(self.queues, None, name, queue, subresource="status")


# --- job shape ------------------------------------------------------------------------------------


def _job_order(job: Obj) -> tuple[str, str, str]:
    meta = job.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _ns_name(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _task_template(job: Obj, task_name: str) -> dict[str, Any]:
    for task in (job.get("spec") or {}).get("tasks") or []:
        if task.get("name") == task_name:
            spec: dict[str, Any] = (task.get("template") or {}).get("spec") or {}
            return spec
    return {}


def _count_tasks(pods: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in pods:
        out[pod.task] = out.get(pod.task, 0) + 1
    return out


def _task_counts(pods: list[PodShape], phase: str) -> dict[str, dict[str, int]]:
    return {task: {phase: n} for task, n in _count_tasks(pods).items()}
