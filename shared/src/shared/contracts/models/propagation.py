"""The propagation contract: how a service asks the fleet service to put objects on member clusters.

Only the fleet service writes Karmada objects (DESIGN 1). A service that needs objects on
member clusters (apps for a ``FederatedDeployment``'s Deployment and Service, observability
for Prometheus objects, backup for Velero schedules, ...) publishes a ``Propagation``
(``fleet.kurator.dev/v1alpha1``, namespaced) on
``kurator.intent.fleet.propagation.<ns>.<name>``:

* ``spec.templates``: the Kubernetes objects, complete as they should exist on the members.
  Each is in the Propagation's namespace (``metadata.namespace`` left out means that one) or
  is cluster-scoped; kinds the routing table knows are validated with their model.
* ``spec.placement``: Karmada's ``placement`` (cluster affinity, tolerations, spread,
  replica scheduling), validated like a ``PropagationPolicy``'s; Kurator's weighted
  shorthand is accepted and written in native form.
* ``spec.owner``: who asked (``service``, ``kind``, ``namespace``, ``name`` of the object
  the requesting service is acting for). It is not an authority, just provenance.
* ``spec.propagateDeps``, ``spec.conflictResolution``: passed to the policy.

What the fleet service does with it: applies every template to Karmada (server-side apply,
field manager ``kurator-fleet``) and one ``PropagationPolicy`` named like the Propagation in
its namespace selecting exactly the namespaced templates by name (plus, only when there are
cluster-scoped templates, one ``ClusterPropagationPolicy`` ``<namespace>.<name>`` selecting
those). Everything written carries the labels ``kurator.dev/propagation`` (and
``kurator.dev/propagation-namespace``) and ``kurator.dev/owner-{service,kind,namespace,name}``.
A template already written for another Propagation is refused (``spec.templates[i]``).
Applying again with fewer templates deletes the ones left out; deleting the Propagation
deletes the templates and the policies. Its status (``phase: Applied``) lists in
``status.written`` every object written (``apiVersion``, ``kind``, ``namespace``, ``name``);
placement results follow on the same status subject from the fleet service's binding watch.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import pydantic
from pydantic import Field, PrivateAttr, model_validator

from shared.contracts import kinds, subjects, validation
from shared.contracts.meta import KubeObject, PassThrough, WireModel
from shared.contracts.models import common
from shared.contracts.models.karmada_placement import Placement

_NOT_TEMPLATES: Final = (".kurator.dev", ".karmada.io")
"""Groups whose kinds Karmada does not serve as resource templates (ours, and its own)."""


class TemplateMetadata(PassThrough):
    """A template's ``metadata``; fields the API server owns (uid, resourceVersion, ...) are dropped on write."""

    name: common.RequiredStr
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class _Routed:
    """The template as its routed model validated it, kept for whoever writes the template next.

    Equal to any other: a memo is not part of a template's value (pydantic compares private
    attributes). ``owner`` is the ``id`` of the template it was made for, so a copy (which
    shares the memo, and may have other fields) does not take it for its own.
    """

    __slots__ = ("model", "owner")

    def __init__(self) -> None:
        self.model: KubeObject | None = None
        self.owner = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Routed)

    __hash__ = None  # type: ignore[assignment]


class Template(PassThrough):
    """One Kubernetes object to put on member clusters; everything beyond ``metadata`` is kept."""

    api_version: common.RequiredStr
    kind: common.RequiredStr
    metadata: TemplateMetadata
    _routed: _Routed = PrivateAttr(default_factory=_Routed)

    @model_validator(mode="after")
    def _check(self) -> Template:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "metadata.name", self.metadata.name)
        common.check_dns_label(problems, "metadata.namespace", self.metadata.namespace, what="namespace")
        validation.check_labels(problems, "metadata.labels", self.metadata.labels)
        group = kinds.split_api_version(self.api_version)[0]
        if group.endswith(_NOT_TEMPLATES):
            problems.add(
                "apiVersion",
                f"{self.api_version} {self.kind} cannot be propagated: Karmada's own objects and Kurator "
                "kinds are not resource templates",
                "FieldValueForbidden",
            )
        problems.raise_if_any()
        return self

    @property
    def group(self) -> str:
        return kinds.split_api_version(self.api_version)[0]

    def routed_model_reasons(self) -> list[validation.Reason]:
        """What this template's model says is wrong, when the routing table knows its kind."""
        try:
            info = kinds.for_object(self.api_version, self.kind)
        except kinds.UnknownKind:
            return []
        try:
            routed = info.model.model_validate(self.model_dump(mode="json", by_alias=True, exclude_none=True))
        except pydantic.ValidationError as exc:
            return validation.reasons_from(exc)
        self._routed.model, self._routed.owner = routed, id(self)
        return []

    def routed_model(self) -> KubeObject | None:
        """This template as its routed model validated it when its Propagation was validated
        (``None`` if it was not, or its kind is not routed): the fleet writes a ``Deployment``
        from it without validating it again."""
        memo = self._routed
        return memo.model if memo.owner == id(self) else None


class PropagationOwner(WireModel):
    """The object a service is acting for when it asks for propagation."""

    service: subjects.Service
    kind: common.RequiredStr
    namespace: str | None = None
    name: common.RequiredStr

    @model_validator(mode="after")
    def _check(self) -> PropagationOwner:
        problems = validation.Problems()
        if not self.kind.isidentifier():
            problems.add("kind", f"invalid kind {self.kind!r}: must be a Kubernetes kind such as 'Application'")
        common.check_dns_subdomain(problems, "name", self.name)
        common.check_dns_label(problems, "namespace", self.namespace, what="namespace")
        problems.raise_if_any()
        return self


class PropagationSpec(WireModel):
    templates: list[Template] = Field(min_length=1)
    placement: Placement
    owner: PropagationOwner
    propagate_deps: bool | None = None
    conflict_resolution: Literal["Abort", "Overwrite"] | None = None

    @model_validator(mode="after")
    def _check(self) -> PropagationSpec:
        problems = validation.Problems()
        for i, template in enumerate(self.templates):
            for reason in template.routed_model_reasons():
                problems.add(f"templates[{i}].{reason.field}", reason.message, reason.reason)
        problems.raise_if_any()
        return self


class Propagation(KubeObject):
    """A request to propagate ``spec.templates`` with ``spec.placement`` (see the module docstring)."""

    # The name is written as the value of the kurator.dev/propagation label on every object.
    NAME_MAX_LENGTH = 63

    spec: PropagationSpec

    @model_validator(mode="after")
    def _check_namespaces(self) -> Propagation:
        # As for a PropagationPolicy: without a namespace the publisher has not placed it yet.
        problems = validation.Problems()
        own = self.metadata.namespace
        for i, template in enumerate(self.spec.templates):
            theirs = template.metadata.namespace
            if own is not None and theirs is not None and theirs != own:
                problems.add(
                    f"spec.templates[{i}].metadata.namespace",
                    f"must be the Propagation's own namespace {own!r} (or left out), not {theirs!r}",
                )
        # Left out means the Propagation's namespace (for namespaced kinds), so compare it filled in.
        common.check_unique(
            problems,
            (
                (f"spec.templates[{i}].metadata.name", (t.group, t.kind, t.metadata.namespace or own, t.metadata.name))
                for i, t in enumerate(self.spec.templates)
            ),
            what="template (group, kind, namespace, name)",
        )
        problems.raise_if_any()
        return self

    @classmethod
    def public_document(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """Secret templates lose their values: status streams are readable by anyone."""
        spec = doc.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("templates"), list):
            return doc
        templates = [_redacted(t) for t in spec["templates"]]
        return {**doc, "spec": {**spec, "templates": templates}}


def _redacted(template: Any) -> Any:
    if not isinstance(template, dict) or template.get("kind") != "Secret":
        return template
    out = dict(template)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = dict.fromkeys(out[key], "<redacted>")
    return out
