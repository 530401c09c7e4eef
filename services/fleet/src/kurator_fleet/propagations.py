"""The propagation contract's fleet side: a ``Propagation`` becomes templates and a policy in Karmada.

The contract itself (what a requesting service sends, what it gets back) is documented on
:mod:`shared.contracts.models.propagation`. Here, per apply:

1. resolve each template's scope (namespaced ones go to the Propagation's namespace);
2. refuse templates another Propagation holds, and policies of our names that are not ours
   if it is to write them (one it does not write is left alone);
3. apply the templates (a ``Deployment`` completed like a Deployment intent), then the
   ``PropagationPolicy`` ``<name>`` selecting exactly the namespaced templates by name and,
   if there are cluster-scoped templates, the ``ClusterPropagationPolicy`` ``<ns>.<name>``;
4. delete what the previous apply wrote and this one no longer lists (read back from the
   policies' ``resourceSelectors``, so nothing else needs remembering).

Every object written carries the owner and propagation labels (:mod:`kurator_fleet.ownership`).
Delete removes the templates, then the policies, only those carrying this Propagation's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from kurator_fleet import failures, ownership, policies, ports, statuses
from shared import errors
from shared.bus import store
from shared.contracts import validation
from shared.contracts.meta import KubeObject, ObjectMeta
from shared.contracts.models import propagation, workloads
from shared.contracts.models.karmada_placement import Placement
from shared.k8s import errors as k8s_errors

POLICY_API: Final = "policy.karmada.io/v1alpha1"
_SERVER_METADATA: Final = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
        "ownerReferences",  # UIDs of objects Karmada does not have
    }
)

_OBJECT_META_BY_NAME: Final = frozenset(
    name for name, field in ObjectMeta.model_fields.items() if field.alias not in (None, name)
)
"""``ObjectMeta``'s fields spelled differently in Python (``resource_version``): a template's
metadata may carry them (it keeps unknown keys), and that model would read them."""


@dataclass(frozen=True, slots=True)
class Planned:
    index: int
    ref: ports.ObjectRef
    body: dict[str, Any]


def policy_refs(namespace: str, name: str) -> tuple[ports.ObjectRef, ports.ObjectRef]:
    """The ``PropagationPolicy`` and the (only if needed) ``ClusterPropagationPolicy`` of a Propagation."""
    return (
        ports.ObjectRef(POLICY_API, "PropagationPolicy", name, namespace),
        ports.ObjectRef(POLICY_API, "ClusterPropagationPolicy", f"{namespace}.{name}"),
    )


def template_body(template: propagation.Template, *, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """The template as written to Karmada: server metadata dropped, placed, labelled, completed.

    A ``Deployment`` is written in the wire form of its model, completed (as a Deployment
    intent is); one validated with the Propagation (the usual case) is not validated again.
    """
    deployment = template.api_version == "apps/v1" and template.kind == "Deployment"
    if deployment:
        routed = template.routed_model()
        if isinstance(routed, workloads.Deployment) and _plain_metadata(template):
            return workloads.complete_wire(_deployment_wire(routed, template, namespace=namespace, labels=labels))
    doc = template.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc.pop("status", None)
    meta = {k: v for k, v in doc["metadata"].items() if k not in _SERVER_METADATA}
    if namespace is None:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    doc["metadata"] = meta
    if deployment:
        doc = workloads.Deployment.model_validate(doc).completed().to_wire()
    return doc


def _plain_metadata(template: propagation.Template) -> bool:
    """Whether the template's metadata says nothing a Deployment's metadata model would read
    beyond name, namespace, labels and annotations (its other fields are server metadata,
    dropped here, and unknown keys it ignores; only their snake_case spellings would count)."""
    extra = template.metadata.model_extra
    return not extra or _OBJECT_META_BY_NAME.isdisjoint(extra)


def _deployment_wire(
    routed: workloads.Deployment, template: propagation.Template, *, namespace: str | None, labels: dict[str, str]
) -> dict[str, Any]:
    """What ``Deployment.model_validate(<the template placed and labelled>).to_wire()`` gives, from
    the model the template was validated as: the spec is the same (it depends on nothing else),
    and the metadata is the four fields ``ObjectMeta`` keeps of it (annotations always: their
    default is ``{}``)."""
    meta: dict[str, Any] = {"name": template.metadata.name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**(template.metadata.labels or {}), **labels}
    meta["annotations"] = dict(template.metadata.annotations or {})
    return {
        "apiVersion": routed.api_version,
        "kind": routed.kind,
        "metadata": meta,
        "spec": routed.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def policy_body(
    ref: ports.ObjectRef,
    *,
    spec: propagation.PropagationSpec,
    selects: list[ports.ObjectRef],
    labels: dict[str, str],
    placement: Placement | None = None,
) -> dict[str, Any]:
    """The policy ``ref`` selecting ``selects``; ``placement`` is ``spec.placement.native()`` if known."""
    meta: dict[str, Any] = {"name": ref.name, "labels": labels}
    if ref.namespace is not None:
        meta["namespace"] = ref.namespace
    native = placement if placement is not None else spec.placement.native()
    body: dict[str, Any] = {
        "resourceSelectors": [s.to_wire() for s in selects],
        "placement": native.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    if spec.propagate_deps is not None:
        body["propagateDeps"] = spec.propagate_deps
    if spec.conflict_resolution is not None:
        body["conflictResolution"] = spec.conflict_resolution
    return {"apiVersion": POLICY_API, "kind": ref.kind, "metadata": meta, "spec": body}


def _owner_wire(owner: propagation.PropagationOwner) -> dict[str, Any]:
    """``owner.model_dump(exclude_none=True)``, its four plain fields read as they are."""
    out: dict[str, Any] = {"service": owner.service, "kind": owner.kind}
    if owner.namespace is not None:
        out["namespace"] = owner.namespace
    out["name"] = owner.name
    return out


def _ours(obj: dict[str, Any] | None, mine: dict[str, str]) -> bool:
    labels = ownership.labels_of(obj)
    return all(labels.get(k) == v for k, v in mine.items())


def _at(index: int, message: str) -> errors.InvalidIntent:
    return errors.InvalidIntent([validation.Reason(field=f"spec.templates[{index}]", message=message)])


class PropagationHandler:
    def __init__(self, *, karmada: ports.Karmada) -> None:
        self._karmada = karmada

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        return await self._apply(obj, record, first=False)

    async def on_first_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        """The Propagation had no record before: no policy of an earlier apply can exist, so the
        ``ClusterPropagationPolicy`` is looked up only if this apply writes one (whose name
        someone else may hold)."""
        return await self._apply(obj, record, first=True)

    async def _apply(self, obj: KubeObject, record: store.Record, *, first: bool) -> dict[str, Any]:
        assert isinstance(obj, propagation.Propagation)
        namespace, name, spec = obj.metadata.namespace or "default", obj.metadata.name, obj.spec
        mine = ownership.propagation_labels(namespace=namespace, name=name)
        owner = spec.owner
        by = ownership.owner_labels(service=owner.service, kind=owner.kind, namespace=owner.namespace, name=owner.name)
        labels = {**by, **mine}
        placement = spec.placement.native()
        planned = [await self._plan(i, t, namespace=namespace, labels=labels) for i, t in enumerate(spec.templates)]
        policy_ref, cluster_policy_ref = policy_refs(namespace, name)
        selects = {
            policy_ref: [item.ref for item in planned if item.ref.namespace is not None],
            cluster_policy_ref: [item.ref for item in planned if item.ref.namespace is None],
        }
        # A policy this apply writes is looked up (someone else may hold its name), and so is one
        # an earlier apply may have written, to withdraw it: on a first apply, there is none.
        look_up = [ref for ref in (policy_ref, cluster_policy_ref) if selects[ref] or not first]
        with failures.writing(f"Propagation {namespace}/{name}"):
            for item in planned:
                holder = ownership.held_by_other(await self._karmada.find(item.ref), mine)
                if holder is not None:
                    message = f"{item.ref.display()} is already propagated by another Propagation ({holder})"
                    raise _at(item.index, message)
            writing = [ref for ref in look_up if selects[ref]]
            previous, existing = await self._previously_selected(look_up, mine, writing=writing)
        for item in planned:
            with failures.writing(item.ref.display(), field=f"spec.templates[{item.index}]"):
                await self._karmada.apply(item.body)
        written = [item.ref for item in planned]
        listed = set(written)
        for ref, selected in selects.items():
            # Karmada's causes are about the policy's spec, whose placement is the intent's spec.placement.
            with failures.writing(ref.display()):
                if selected:
                    body = policy_body(ref, spec=spec, selects=selected, labels=labels, placement=placement)
                    await self._karmada.apply(body)
                    written.append(ref)
                elif ref in existing:  # (looked up above, or cannot exist: absent is the usual case)
                    await self._delete_if_ours(ref, mine)
        with failures.writing(f"the templates Propagation {namespace}/{name} no longer lists"):
            removed = [ref for ref in sorted(previous - listed) if await self._delete_if_ours(ref, mine)]
        notes = (
            []
            if placement is spec.placement  # (not Kurator's shorthand: nothing was rewritten)
            else [
                statuses.condition(record, type=type_, ok=True, reason=reason, message=message)
                for type_, reason, message in policies.shorthand_notes(spec.placement.normalized_replica_scheduling())
            ]
        )
        return statuses.applied(
            record,
            written=written,
            field_manager=ownership.MANAGER,
            conditions=notes,
            removed=[ref.to_wire() for ref in removed],
            owner=_owner_wire(owner),
        )

    async def on_delete(self, record: store.Record) -> None:
        obj = propagation.Propagation.model_validate(record.document)
        namespace, name = obj.metadata.namespace or "default", obj.metadata.name
        mine = ownership.propagation_labels(namespace=namespace, name=name)
        policy_ref, cluster_policy_ref = policy_refs(namespace, name)
        with failures.writing(f"the objects of Propagation {namespace}/{name}"):
            refs = (policy_ref, cluster_policy_ref)
            targets, _ = await self._previously_selected(refs, mine, writing=refs)
            for template in obj.spec.templates:
                # Also what the record lists, in case an apply failed before writing its policy.
                try:
                    scoped = await self._karmada.is_namespaced(api_version=template.api_version, kind=template.kind)
                except k8s_errors.NotFound:
                    continue
                ns = namespace if scoped else None
                targets.add(ports.ObjectRef(template.api_version, template.kind, template.metadata.name, ns))
            for ref in sorted(targets):
                await self._delete_if_ours(ref, mine)
            for ref in (policy_ref, cluster_policy_ref):
                await self._delete_if_ours(ref, mine)

    async def _plan(
        self, index: int, template: propagation.Template, *, namespace: str, labels: dict[str, str]
    ) -> Planned:
        with failures.writing(f"{template.kind} {template.metadata.name}", field=f"spec.templates[{index}]"):
            namespaced = await self._karmada.is_namespaced(api_version=template.api_version, kind=template.kind)
        placed = namespace if namespaced else None
        ref = ports.ObjectRef(template.api_version, template.kind, template.metadata.name, placed)
        return Planned(index, ref, template_body(template, namespace=placed, labels=labels))

    async def _previously_selected(
        self, policy_refs: Sequence[ports.ObjectRef], mine: dict[str, str], *, writing: Sequence[ports.ObjectRef]
    ) -> tuple[set[ports.ObjectRef], set[ports.ObjectRef]]:
        """What this Propagation's policies (of ``policy_refs``) select now (the templates its last
        apply wrote), and which of them exist.

        Refuses (on the policy's name) a policy of our name that someone else wrote if it is one
        of those we are ``writing``; any other is not ours and left alone (read as absent).
        """
        found: set[ports.ObjectRef] = set()
        existing: set[ports.ObjectRef] = set()
        for ref in policy_refs:
            policy = await self._karmada.find(ref)
            if policy is None:
                continue
            if not _ours(policy, mine):
                if ref not in writing:
                    continue
                raise errors.InvalidIntent(
                    [
                        validation.Reason(
                            field="metadata.name",
                            message=f"Karmada already has a {ref.display()} that this Propagation did not write",
                        )
                    ]
                )
            existing.add(ref)
            for selector in (policy.get("spec") or {}).get("resourceSelectors") or ():
                if selector.get("name"):
                    found.add(
                        ports.ObjectRef(
                            str(selector["apiVersion"]),
                            str(selector["kind"]),
                            str(selector["name"]),
                            selector.get("namespace") if ref.namespace else None,
                        )
                    )
        return found, existing

    async def _delete_if_ours(self, ref: ports.ObjectRef, mine: dict[str, str]) -> bool:
        found = await self._karmada.find(ref)
        if found is None or not _ours(found, mine):
            return False
        return await self._karmada.delete(ref)
