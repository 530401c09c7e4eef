"""Karmada's default resource interpreter, for the kinds the simulator propagates.

* :func:`get_replicas` (``InterpretReplica``): a Deployment's ``spec.replicas`` (default 1) and
  its per-replica requirements (``resourceRequest`` of the pod template, ``nodeClaim`` from
  node selector and tolerations); other kinds are not workloads (0, ``None``).
* :func:`revise_replicas` (``ReviseReplica``): the member copy's ``spec.replicas``.
* :func:`reflect_status` (``ReflectStatus``): what a member object's status contributes to
  ``aggregatedStatus`` (a Deployment's replica counters plus ``generation`` and
  ``resourceTemplateGeneration``; a LoadBalancer Service's ingress; the whole status otherwise).
* :func:`interpret_health` (``InterpretHealth``): ``Healthy``/``Unhealthy``; kinds without a
  health interpreter count as healthy, as in Karmada.
* :func:`aggregate_status` (``AggregateStatus``): the resource template's status from the
  per-cluster items (Deployments: counters summed; ``observedGeneration`` advances only once
  every member has observed the latest template generation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from kurator_sim.controllers import kube_quantity as q
from kurator_sim.controllers.karmada_names import TEMPLATE_GENERATION, annotations_of
from kurator_sim.store.objects import clone

Obj = dict[str, Any]

DEPLOYMENT = ("apps/v1", "Deployment")
_DEPLOYMENT_COUNTERS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")


def _gvk(obj: Mapping[str, Any]) -> tuple[str, str]:
    return str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def get_replicas(template: Mapping[str, Any]) -> tuple[int, Obj | None]:
    """``(replicas, replicaRequirements)`` of a resource template (``(0, None)``: not a workload)."""
    if _gvk(template) != DEPLOYMENT:
        return 0, None
    spec = template.get("spec") or {}
    replicas = 1 if spec.get("replicas") is None else _int(spec.get("replicas"))
    pod_spec = ((spec.get("template") or {}).get("spec")) or {}
    requirements: Obj = {}
    node_claim: Obj = {}
    if pod_spec.get("nodeSelector"):
        node_claim["nodeSelector"] = dict(pod_spec["nodeSelector"])
    if pod_spec.get("tolerations"):
        node_claim["tolerations"] = clone({"t": pod_spec["tolerations"]})["t"]
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if affinity:
        node_claim["hardNodeAffinity"] = clone(affinity)
    if node_claim:
        requirements["nodeClaim"] = node_claim
    request = _resource_request(pod_spec)
    if request:
        requirements["resourceRequest"] = request
    return replicas, (requirements or None)


_REQUESTS: dict[bytes, dict[str, str]] = {}
"""``resourceRequest`` per distinct pod spec (its canonical JSON): templates often share one."""
_REQUESTS_MAX = 4096


def _resource_request(pod_spec: Mapping[str, Any]) -> dict[str, str]:
    """The printed effective requests of one pod of ``pod_spec`` (a new dict)."""
    try:
        key = orjson.dumps(pod_spec, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return q.format_list(q.pod_requests(pod_spec))
    found = _REQUESTS.get(key)
    if found is None:
        if len(_REQUESTS) >= _REQUESTS_MAX:
            _REQUESTS.clear()
        found = _REQUESTS[key] = q.format_list(q.pod_requests(pod_spec))
    return dict(found)


def revise_replicas(manifest: Obj, replicas: int) -> Obj:
    if _gvk(manifest) == DEPLOYMENT:
        manifest.setdefault("spec", {})["replicas"] = replicas
    return manifest


def reflect_status(obj: Mapping[str, Any]) -> Obj | None:
    status = obj.get("status")
    api_version, kind = _gvk(obj)
    if (api_version, kind) == DEPLOYMENT:
        status = status or {}
        out: Obj = {}
        for key in _DEPLOYMENT_COUNTERS:
            value = status.get(key)
            if value and (value := _int(value)):
                out[key] = value
        observed = _int(status.get("observedGeneration"))
        if observed:
            out["observedGeneration"] = observed
        generation = _int((obj.get("metadata") or {}).get("generation"))
        if generation:
            out["generation"] = generation
        template_generation = _int(annotations_of(obj).get(TEMPLATE_GENERATION))
        if template_generation:
            out["resourceTemplateGeneration"] = template_generation
        return out
    if (api_version, kind) == ("v1", "Service"):
        if ((obj.get("spec") or {}).get("type")) != "LoadBalancer":
            return None
        return {"loadBalancer": clone(dict((status or {}).get("loadBalancer") or {}))}
    if status is None:
        return None
    return clone(dict(status))


def interpret_health(obj: Mapping[str, Any]) -> str:
    api_version, kind = _gvk(obj)
    status = obj.get("status") or {}
    if (api_version, kind) == DEPLOYMENT:
        spec = obj.get("spec") or {}
        generation = _int((obj.get("metadata") or {}).get("generation"))
        if _int(status.get("observedGeneration")) != generation:
            return "Unhealthy"
        if spec.get("replicas") is not None and _int(status.get("updatedReplicas")) < _int(spec.get("replicas")):
            return "Unhealthy"
        if _int(status.get("availableReplicas")) < _int(status.get("updatedReplicas")):
            return "Unhealthy"
        return "Healthy"
    if (api_version, kind) == ("v1", "Service"):
        if ((obj.get("spec") or {}).get("type")) != "LoadBalancer":
            return "Healthy"
        return "Healthy" if ((status.get("loadBalancer") or {}).get("ingress")) else "Unhealthy"
    if (api_version, kind) == ("networking.k8s.io/v1", "Ingress"):
        return "Healthy" if ((status.get("loadBalancer") or {}).get("ingress")) else "Unhealthy"
    return "Healthy"


def aggregate_status(template: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Obj | None:
    """The template's new ``status``, or ``None`` when Karmada has no aggregator for its kind."""
    if _gvk(template) != DEPLOYMENT:
        return None
    old = dict(template.get("status") or {})
    generation = _int((template.get("metadata") or {}).get("generation"))
    totals = dict.fromkeys(_DEPLOYMENT_COUNTERS, 0)
    observed_latest = 0
    for item in items:
        status = item.get("status")
        if status is None:
            continue
        for key in _DEPLOYMENT_COUNTERS:
            totals[key] += _int(status.get(key))
        if _int(status.get("resourceTemplateGeneration")) == generation and _int(status.get("generation")) == _int(
            status.get("observedGeneration")
        ):
            observed_latest += 1
    new = {k: v for k, v in old.items() if k not in (*_DEPLOYMENT_COUNTERS, "observedGeneration")}
    # Karmada compares with all items, so an item without collected status holds the generation back.
    observed = generation if observed_latest == len(items) else _int(old.get("observedGeneration"))
    if observed:
        new["observedGeneration"] = observed
    new.update({k: v for k, v in totals.items() if v})
    return new
