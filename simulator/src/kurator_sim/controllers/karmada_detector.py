"""Karmada's resource detector: resource templates matched by policies become bindings.

Watched templates are the built-in kinds propagated most (``apps/v1`` Deployment, ``v1``
Service, ConfigMap, Secret, ``networking.k8s.io/v1`` Ingress) plus every kind a policy's
``resourceSelectors`` name. Templates in ``karmada-system``, ``karmada-cluster``,
``karmada-es-*`` and ``kube-*`` are never propagated, nor Karmada's own kinds.

Matching (``pkg/detector/policy.go``, ``pkg/util/selector.go``): a selector matches on
``apiVersion`` + ``kind`` + ``namespace`` (if set) and then by ``name`` (ignoring its label
selector), else by ``labelSelector``, else everything. Among the matching policies the highest
``spec.priority`` wins, then the more specific match (name > label selector > all), then the
policy name in alphabetical order. PropagationPolicies (only in the template's namespace) come
before ClusterPropagationPolicies. A claimed template keeps its policy, except that a matching
policy with ``preemption: Always`` takes it over from a lower-priority one (and a PP from a CPP).

Applying a policy claims the template (label ``propagationpolicy.karmada.io/permanent-id``,
annotations ``propagationpolicy.karmada.io/name``/``namespace``; the ``clusterpropagationpolicy``
equivalents for a CPP) and creates or updates its binding: a ``ResourceBinding`` named
``<name>-<kind>`` in the template's namespace (``ClusterResourceBinding`` for cluster-scoped
templates), owned by the template, with the claim metadata, a permanent id, the binding
finalizer, and ``spec.resource``/``replicas``/``replicaRequirements``/``placement`` and the other
policy fields. ``spec.clusters`` (the scheduler's) is never touched. Like Karmada, only
specification changes of a template count (status and ``resourceVersion``-only writes are
ignored). When the claimed policy is deleted the claim metadata is removed and the binding keeps
its last placement.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from kurator_sim.controllers import kube_workqueue
from kurator_sim.controllers.karmada_interpreter import get_replicas
from kurator_sim.controllers.karmada_names import (
    BINDING_FINALIZER,
    CLUSTER_BINDING_FINALIZER,
    CLUSTER_PROPAGATION_POLICIES,
    CLUSTER_RESOURCE_BINDINGS,
    CPP_NAME,
    CPP_PERMANENT_ID,
    CRB_PERMANENT_ID,
    DEFAULT_SCHEDULER,
    EXECUTION_SPACE_PREFIX,
    KARMADA_CLUSTER,
    KARMADA_GROUPS,
    KARMADA_SYSTEM,
    PP_NAME,
    PP_NAMESPACE,
    PP_PERMANENT_ID,
    PROPAGATION_POLICIES,
    RB_PERMANENT_ID,
    RESOURCE_BINDINGS,
    binding_name,
    labels_of,
    split_api_version,
)
from kurator_sim.controllers.placement import label_selector_matches
from kurator_sim.fleet import Fleet
from kurator_sim.resources import ResourceType
from kurator_sim.store import objects
from kurator_sim.store.objects import clone
from kurator_sim.store.watch import WatchEvent

Obj = dict[str, Any]
log = structlog.get_logger(__name__)

DEFAULT_TEMPLATE_KINDS = (
    ("apps", "deployments"),
    ("", "services"),
    ("", "configmaps"),
    ("", "secrets"),
    ("networking.k8s.io", "ingresses"),
)
_SKIPPED_NAMESPACES = re.compile(rf"^(kube-.*|{KARMADA_SYSTEM}|{KARMADA_CLUSTER}|{EXECUTION_SPACE_PREFIX}.*)$")
_NOT_TEMPLATES = frozenset(
    {("", "namespaces"), ("", "nodes"), ("", "events"), ("", "pods"), ("coordination.k8s.io", "leases")}
)

PRIORITY_MISMATCH, PRIORITY_ALL, PRIORITY_LABELS, PRIORITY_NAME = 0, 1, 2, 3

TemplateKey = tuple[tuple[str, str], str, str]
"""``((group, plural), namespace, name)``."""

# Fields copied from a policy's spec into its bindings' spec.
_POLICY_FIELDS = ("propagateDeps", "failover", "conflictResolution", "preserveResourcesOnDeletion", "suspension")


def selector_priority(template: Mapping[str, Any], selector: Mapping[str, Any]) -> int:
    """``util.ResourceSelectorPriority``."""
    meta = template.get("metadata") or {}
    if template.get("apiVersion") != selector.get("apiVersion") or template.get("kind") != selector.get("kind"):
        return PRIORITY_MISMATCH
    if selector.get("namespace") and meta.get("namespace") != selector.get("namespace"):
        return PRIORITY_MISMATCH
    if selector.get("name"):
        return PRIORITY_NAME if selector["name"] == meta.get("name") else PRIORITY_MISMATCH
    if selector.get("labelSelector") is None:
        return PRIORITY_ALL
    if label_selector_matches(selector["labelSelector"], meta.get("labels") or {}):
        return PRIORITY_LABELS
    return PRIORITY_MISMATCH


def policy_match_priority(template: Mapping[str, Any], policy: Mapping[str, Any]) -> int:
    selectors = (policy.get("spec") or {}).get("resourceSelectors") or ()
    return max((selector_priority(template, s) for s in selectors), default=PRIORITY_MISMATCH)


def _explicit_priority(policy: Mapping[str, Any]) -> int:
    try:
        return int((policy.get("spec") or {}).get("priority") or 0)
    except (TypeError, ValueError):
        return 0


def highest_priority_policy(
    template: Mapping[str, Any], policies: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """``getHighestPriorityPropagationPolicy``: explicit priority, then match kind, then name."""
    best: Mapping[str, Any] | None = None
    best_key: tuple[int, int, str] | None = None
    for policy in policies:
        implicit = policy_match_priority(template, policy)
        if implicit == PRIORITY_MISMATCH:
            continue
        key = (-_explicit_priority(policy), -implicit, str(policy["metadata"]["name"]))
        if best_key is None or key < best_key:
            best, best_key = policy, key
    return best


def policy_id(policy: Mapping[str, Any]) -> str:
    label = CPP_PERMANENT_ID if policy.get("kind") == "ClusterPropagationPolicy" else PP_PERMANENT_ID
    return labels_of(policy).get(label) or str(policy["metadata"].get("uid") or "")


def _spec_fingerprint(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What a template write must change to count: its metadata but the resource version.

    Everything else but the status is covered by ``metadata.generation``, which the store
    bumps on every change outside ``metadata`` and ``status``. The values are the stored
    object's own (read only), compared with ``==``.
    """
    return {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}


def _rv(obj: Mapping[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


class ResourceDetector:
    def __init__(self, *, fleet: Fleet) -> None:
        self.fleet = fleet
        self.clock = fleet.clock
        self.host = fleet.host
        self.registry = fleet.host_registry
        self.pp_rt = self.registry.by_key(PROPAGATION_POLICIES)
        self.cpp_rt = self.registry.by_key(CLUSTER_PROPAGATION_POLICIES)
        self._queue: kube_workqueue.WorkQueue[TemplateKey] = kube_workqueue.WorkQueue(self.clock)
        self._watched: set[tuple[str, str]] = set()
        self._seen: dict[TemplateKey, dict[str, Any]] = {}
        self._observed: dict[TemplateKey, int] = {}
        """Per template: the resource version its last reconcile read or wrote (older events are old news)."""
        self._index: dict[tuple[str, str, str], dict[tuple[str, str, str], Obj]] = {}
        """Policies by the ``(apiVersion, kind, name or "")`` of their selectors (watch objects, read-only)."""
        self._indexed: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
        """Where each policy is in ``_index`` (so an update need not look through every entry)."""
        self._tg: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        self._queue = kube_workqueue.WorkQueue(self.clock)
        self._watched = set()
        self._seen, self._observed = {}, {}
        self._index, self._indexed = {}, {}
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for key in DEFAULT_TEMPLATE_KINDS:
                    self._watch_kind(self.registry.by_key(key))
                tg.create_task(kube_workqueue.watch(self.host, self.pp_rt, self._on_policy))
                tg.create_task(kube_workqueue.watch(self.host, self.cpp_rt, self._on_policy))
                tg.create_task(kube_workqueue.drain(self._queue, self.reconcile, controller="resource-detector"))
        finally:
            self._tg = None
            self._queue.close()

    # --- events -----------------------------------------------------------------------------

    def _watch_kind(self, rt: ResourceType) -> None:
        if rt.key in self._watched or rt.group in KARMADA_GROUPS or rt.key in _NOT_TEMPLATES or self._tg is None:
            return
        self._watched.add(rt.key)

        def on_template(event: WatchEvent) -> None:
            meta = event.object["metadata"]
            key: TemplateKey = (rt.key, str(meta.get("namespace") or ""), str(meta["name"]))
            if event.type == "DELETED":
                self._seen.pop(key, None)
                self._observed.pop(key, None)
                return
            if _rv(event.object) <= self._observed.get(key, 0):
                return  # a reconcile already read this version or a later one (its own claim, say)
            fingerprint = _spec_fingerprint(event.object)
            if self._seen.get(key) == fingerprint:
                return
            self._seen[key] = fingerprint
            self._queue.add(key)

        self._tg.create_task(kube_workqueue.watch(self.host, rt, on_template))

    def _on_policy(self, event: WatchEvent) -> None:
        policy = event.object
        self._reindex(event)
        namespace = policy["metadata"].get("namespace") if policy.get("kind") == "PropagationPolicy" else None
        for selector in (policy.get("spec") or {}).get("resourceSelectors") or ():
            group, version = split_api_version(str(selector.get("apiVersion") or ""))
            rt = self.registry.by_kind(group, version, str(selector.get("kind") or ""))
            if rt is None:
                continue
            self._watch_kind(rt)
            scope = (namespace or selector.get("namespace")) if rt.namespaced else None
            if selector.get("name") and (scope or not rt.namespaced):
                # A named selector: one template to look at, not all of its kind.
                self._queue.add((rt.key, str(scope or ""), str(selector["name"])))
                continue
            for template in self.host.iter_raw(rt, scope):
                if selector_priority(template, selector) != PRIORITY_MISMATCH:
                    self._queue.add(
                        (rt.key, str(template["metadata"].get("namespace") or ""), template["metadata"]["name"])
                    )
        if event.type == "ADDED":
            return  # a new policy has a new permanent id: nothing can be claimed by it yet
        # Templates this policy claims (it may have been deleted or stopped matching them).
        pid = policy_id(policy)
        label = CPP_PERMANENT_ID if namespace is None else PP_PERMANENT_ID
        for key in self._watched:
            rt = self.registry.by_key(key)
            for template in self.host.iter_raw(rt, namespace if rt.namespaced else None):
                if labels_of(template).get(label) == pid:
                    self._queue.add(
                        (key, str(template["metadata"].get("namespace") or ""), template["metadata"]["name"])
                    )

    def _reindex(self, event: WatchEvent) -> None:
        meta = event.object["metadata"]
        key = (str(event.object.get("kind")), str(meta.get("namespace") or ""), str(meta["name"]))
        for index_key in self._indexed.pop(key, ()):
            self._index.get(index_key, {}).pop(key, None)
        if event.type == "DELETED":
            return
        indexed = self._indexed[key] = []
        for selector in (event.object.get("spec") or {}).get("resourceSelectors") or ():
            index_key = (
                str(selector.get("apiVersion") or ""),
                str(selector.get("kind") or ""),
                str(selector.get("name") or ""),
            )
            self._index.setdefault(index_key, {})[key] = event.object
            indexed.append(index_key)

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: TemplateKey) -> None:
        rt_key, namespace, name = key
        rt = self.registry.by_key(rt_key)
        # Read only: the writes below build new objects.
        template = self.host.peek(rt, namespace or None, name)
        if template is None or template["metadata"].get("deletionTimestamp"):
            return
        if namespace and _SKIPPED_NAMESPACES.match(namespace):
            return
        policy = self.choose_policy(template, rt)
        if policy is None:
            self._release(rt, template)
            return
        template = self._claim(rt, template, policy)
        self._observe(key, template)
        self._apply(rt, template, policy)

    def _observe(self, key: TemplateKey, template: Obj) -> None:
        """Note the version of ``key`` this reconcile worked from, so its own write's event is not a new one."""
        self._observed[key] = max(self._observed.get(key, 0), _rv(template))
        self._seen[key] = _spec_fingerprint(template)

    def choose_policy(self, template: Obj, rt: ResourceType) -> Obj | None:
        labels = labels_of(template)
        namespace = template["metadata"].get("namespace")
        gvk = (str(template.get("apiVersion")), str(template.get("kind")))
        candidates = {
            **self._index.get((*gvk, ""), {}),
            **self._index.get((*gvk, str(template["metadata"]["name"])), {}),
        }
        pps = [p for (kind, ns, _), p in candidates.items() if kind == "PropagationPolicy" and ns == namespace]
        cpps = [p for (kind, _, _), p in candidates.items() if kind == "ClusterPropagationPolicy"]
        best_pp = highest_priority_policy(template, pps)
        best_cpp = highest_priority_policy(template, cpps)
        current: Mapping[str, Any] | None = None
        if labels.get(PP_PERMANENT_ID):
            current = next((p for p in pps if policy_id(p) == labels[PP_PERMANENT_ID]), None)
        elif labels.get(CPP_PERMANENT_ID):
            current = next((p for p in cpps if policy_id(p) == labels[CPP_PERMANENT_ID]), None)
        if current is not None and policy_match_priority(template, current) == PRIORITY_MISMATCH:
            current = None
        chosen = current
        if current is None:
            chosen = best_pp or best_cpp
        elif current.get("kind") == "ClusterPropagationPolicy":
            if best_pp is not None and _preempts(best_pp, None):
                chosen = best_pp
            elif best_cpp is not None and best_cpp is not current and _preempts(best_cpp, current):
                chosen = best_cpp
        elif best_pp is not None and best_pp is not current and _preempts(best_pp, current):
            chosen = best_pp
        return None if chosen is None else dict(chosen)

    def _claim(self, rt: ResourceType, template: Obj, policy: Obj) -> Obj:
        """``template`` claimed for ``policy`` (the stored object, read only)."""
        meta = dict(template["metadata"])
        updated = {**template, "metadata": meta}
        labels = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        for key in (PP_PERMANENT_ID, CPP_PERMANENT_ID):
            labels.pop(key, None)
        for key in (PP_NAME, PP_NAMESPACE, CPP_NAME):
            annotations.pop(key, None)
        if policy["kind"] == "PropagationPolicy":
            labels[PP_PERMANENT_ID] = policy_id(policy)
            annotations[PP_NAME] = policy["metadata"]["name"]
            annotations[PP_NAMESPACE] = policy["metadata"]["namespace"]
        else:
            labels[CPP_PERMANENT_ID] = policy_id(policy)
            annotations[CPP_NAME] = policy["metadata"]["name"]
        if labels == (meta.get("labels") or {}) and annotations == (meta.get("annotations") or {}):
            return template
        meta["labels"], meta["annotations"] = labels, annotations
        log.info("policy.claimed", template=f"{template['kind']}/{meta['name']}", policy=policy["metadata"]["name"])
        # ``updated`` shares the stored template's values and holds new metadata, labels and
        # annotations: handed over, nothing in it changes later.
        return self.host.update(rt, meta.get("namespace"), meta["name"], updated, copy_result=False, copy_input=False)

    def _release(self, rt: ResourceType, template: Obj) -> None:
        """Drop claim metadata whose policy no longer exists (or no longer matches)."""
        labels = labels_of(template)
        if not (labels.get(PP_PERMANENT_ID) or labels.get(CPP_PERMANENT_ID)):
            return
        updated = clone(template)
        meta = updated["metadata"]
        for key in (PP_PERMANENT_ID, CPP_PERMANENT_ID):
            (meta.get("labels") or {}).pop(key, None)
        for key in (PP_NAME, PP_NAMESPACE, CPP_NAME):
            (meta.get("annotations") or {}).pop(key, None)
        self.host.update(rt, meta.get("namespace"), meta["name"], updated)
        binding_rt = self.registry.by_key(RESOURCE_BINDINGS if rt.namespaced else CLUSTER_RESOURCE_BINDINGS)
        binding = self.host.find(binding_rt, meta.get("namespace"), binding_name(template["kind"], meta["name"]))
        if binding is None:
            return
        released = clone(binding)
        bmeta = released["metadata"]
        for key in (PP_PERMANENT_ID, CPP_PERMANENT_ID):
            (bmeta.get("labels") or {}).pop(key, None)
        for key in (PP_NAME, PP_NAMESPACE, CPP_NAME):
            (bmeta.get("annotations") or {}).pop(key, None)
        self.host.update(binding_rt, bmeta.get("namespace"), bmeta["name"], released)

    def _apply(self, rt: ResourceType, template: Obj, policy: Obj) -> None:
        meta = template["metadata"]
        namespaced = rt.namespaced
        binding_rt = self.registry.by_key(RESOURCE_BINDINGS if namespaced else CLUSTER_RESOURCE_BINDINGS)
        name = binding_name(template["kind"], meta["name"])
        namespace = meta.get("namespace") if namespaced else None
        policy_spec = policy.get("spec") or {}
        replicas, requirements = get_replicas(template)
        resource: Obj = {"apiVersion": template["apiVersion"], "kind": template["kind"]}
        if namespace:
            resource["namespace"] = namespace
        resource.update({"name": meta["name"], "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]})
        desired: Obj = {"resource": resource}
        if replicas:
            desired["replicas"] = replicas
        if requirements is not None:
            desired["replicaRequirements"] = requirements
        desired["placement"] = clone(dict(policy_spec.get("placement") or {}))
        desired["schedulerName"] = policy_spec.get("schedulerName") or DEFAULT_SCHEDULER
        desired["conflictResolution"] = policy_spec.get("conflictResolution") or "Abort"
        for field in _POLICY_FIELDS:
            if field != "conflictResolution" and policy_spec.get(field) is not None:
                desired[field] = clone({"v": policy_spec[field]})["v"]
        labels, annotations = _claim_metadata(policy)
        owner = {
            "apiVersion": template["apiVersion"],
            "kind": template["kind"],
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        finalizer = BINDING_FINALIZER if namespaced else CLUSTER_BINDING_FINALIZER
        # Read only: an update goes to a copy.
        existing = self.host.peek(binding_rt, namespace, name)
        if existing is None:
            id_label = RB_PERMANENT_ID if namespaced else CRB_PERMANENT_ID
            body = {
                "apiVersion": binding_rt.api_version,
                "kind": binding_rt.kind,
                "metadata": {
                    "name": name,
                    **({"namespace": namespace} if namespace else {}),
                    "labels": {**labels, id_label: objects.new_uid()},
                    "annotations": annotations,
                    "ownerReferences": [owner],
                    "finalizers": [finalizer],
                },
                "spec": desired,
            }
            # Everything in ``body`` was built or copied here: the store may keep it as it is.
            self.host.create(binding_rt, namespace, body, copy_result=False, copy_input=False)
            log.info(
                "binding.created",
                binding=f"{namespace}/{name}" if namespace else name,
                policy=policy["metadata"]["name"],
            )
            return
        controller = next((r for r in existing["metadata"].get("ownerReferences") or () if r.get("controller")), None)
        if existing["metadata"].get("deletionTimestamp") or (controller and controller.get("uid") != meta["uid"]):
            raise kube_workqueue.Requeue()  # the old binding is being garbage collected
        updated = clone(existing)
        bmeta = updated["metadata"]
        merged_labels = {
            k: v for k, v in (bmeta.get("labels") or {}).items() if k not in (PP_PERMANENT_ID, CPP_PERMANENT_ID)
        }
        merged_annotations = {
            k: v for k, v in (bmeta.get("annotations") or {}).items() if k not in (PP_NAME, PP_NAMESPACE, CPP_NAME)
        }
        bmeta["labels"] = {**merged_labels, **labels}
        bmeta["annotations"] = {**merged_annotations, **annotations}
        bmeta["ownerReferences"] = [owner]
        if finalizer not in (bmeta.get("finalizers") or ()):
            bmeta["finalizers"] = [*(bmeta.get("finalizers") or ()), finalizer]
        spec = updated.setdefault("spec", {})
        for field in ("replicas", "replicaRequirements", *_POLICY_FIELDS):
            spec.pop(field, None)
        spec.update(desired)
        if updated != existing:
            self.host.update(binding_rt, namespace, name, updated, copy_result=False, copy_input=False)


def _claim_metadata(policy: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    meta = policy["metadata"]
    if policy.get("kind") == "PropagationPolicy":
        return {PP_PERMANENT_ID: policy_id(policy)}, {PP_NAME: meta["name"], PP_NAMESPACE: meta["namespace"]}
    return {CPP_PERMANENT_ID: policy_id(policy)}, {CPP_NAME: meta["name"]}


def _preempts(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` (with ``preemption: Always``) takes a template from ``current``."""
    if (candidate.get("spec") or {}).get("preemption") != "Always":
        return False
    return current is None or _explicit_priority(candidate) > _explicit_priority(current)
