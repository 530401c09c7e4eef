"""Base classes for Kubernetes-style wire objects.

Every intent is a Kubernetes-shaped document (``apiVersion``, ``kind``, ``metadata``,
``spec``). Models are frozen and ignore unknown fields (the open-world rule: a newer
publisher may send fields this consumer does not know). JSON names are camelCase; Python
attributes are snake_case.

Validation that relates several fields lives in ``model_validator``s that raise
:class:`shared.contracts.validation.FieldErrors` with paths relative to the model, so the
rejection names the exact field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from shared.contracts import validation


class WireModel(BaseModel):
    """A frozen, camelCase, open-world pydantic model."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class PassThrough(BaseModel):
    """A sub-object validated only in the fields declared, keeping every other field.

    Used for embedded Kubernetes objects (pod templates, Helm values, ...) that are passed on
    to the integrated system as they are.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


NameRule = Literal["subdomain", "label"]


class ObjectMeta(WireModel):
    """The subset of ``metav1.ObjectMeta`` an intent may carry."""

    name: str
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    creation_timestamp: str | None = None


class KubeObject(WireModel):
    """Base of every routed kind. Subclasses add ``spec`` (and sometimes other fields)."""

    NAME_RULE: ClassVar[NameRule] = "subdomain"
    """Which Kubernetes name rule ``metadata.name`` follows for this kind."""
    NAME_MAX_LENGTH: ClassVar[int] = 253

    api_version: str
    kind: str
    metadata: ObjectMeta

    @field_validator("metadata")
    @classmethod
    def _check_metadata(cls, meta: ObjectMeta) -> ObjectMeta:
        # A field validator (not a model validator) so that name errors are reported even
        # when the spec is broken too.
        problems = validation.Problems()
        if cls.NAME_RULE == "label":
            err = validation.dns_label_error(meta.name, max_length=min(63, cls.NAME_MAX_LENGTH))
        else:
            err = validation.dns_subdomain_error(meta.name)
            if err is None and len(meta.name) > cls.NAME_MAX_LENGTH:
                err = f"must be no more than {cls.NAME_MAX_LENGTH} characters"
        if err:
            problems.add("name", f"invalid name {meta.name!r}: {err}")
        if meta.namespace is not None:
            nerr = validation.dns_label_error(meta.namespace)
            if nerr:
                problems.add("namespace", f"invalid namespace {meta.namespace!r}: {nerr}")
        validation.check_labels(problems, "labels", meta.labels)
        for key in meta.annotations:
            kerr = validation.label_key_error(key)
            if kerr:
                problems.add(f"annotations[{key}]", f"invalid annotation key {key!r}: {kerr}")
        problems.raise_if_any()
        return meta

    @classmethod
    def public_document(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """The document as status streams may show it to anyone; kinds holding secrets redact."""
        return doc

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready document, camelCase, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
