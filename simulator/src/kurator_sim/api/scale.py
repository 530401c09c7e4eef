"""The ``scale`` subresource (``autoscaling/v1`` ``Scale``) of deployments.

``kubectl scale`` and autoscalers read and write replicas through it; the Scale is derived
from the deployment on every read and written back as a change of ``spec.replicas``.
"""

from __future__ import annotations

from typing import Any

from kurator_sim import errors
from kurator_sim.api import ssa
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.options import WriteOptions
from kurator_sim.api.paths import ResourcePath

Obj = dict[str, Any]


def _selector(obj: Obj) -> str:
    sel = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def from_object(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 1))},
        "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)), "selector": _selector(obj)},
    }


def get(api: ClusterApi, target: ResourcePath) -> Obj:
    assert target.name is not None
    return from_object(api.store.get(target.rt, target.namespace, target.name))


def replace(api: ClusterApi, target: ResourcePath, new_scale: Any, opts: WriteOptions) -> Obj:
    """Write ``new_scale``'s replicas into the object; returns the resulting Scale."""
    assert target.name is not None
    if not isinstance(new_scale, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (new_scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            target.name,
            [
                errors.StatusCause(
                    "FieldValueInvalid",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas",
                )
            ],
        )
    current = api.store.get(target.rt, target.namespace, target.name)
    sent_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
    if sent_rv and str(sent_rv) != current["metadata"]["resourceVersion"]:
        raise errors.conflict(target.rt.plural, target.rt.group, target.name)
    new = dict(current)
    new["spec"] = {**(current.get("spec") or {}), "replicas": replicas}
    new = ssa.track_update(api, target.rt, current, new, manager=opts.field_manager, subresource="scale")
    stored = api.store.update(target.rt, target.namespace, target.name, new, dry_run=opts.dry_run)
    return from_object(stored)
