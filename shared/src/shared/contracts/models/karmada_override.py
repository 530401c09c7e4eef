"""Karmada ``OverridePolicy`` / ``ClusterOverridePolicy`` spec: override rules and overriders.

Rules from Karmada's webhook and API docs (integrations.md 6.2): ``overrideRules`` may not
co-exist with the deprecated ``targetCluster``/``overriders``; paths are JSON pointers;
``value`` is required for ``add``/``replace`` and forbidden for ``remove``.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import PassThrough
from shared.contracts.models import common
from shared.contracts.models.karmada_placement import ClusterAffinity, ResourceSelector

Operator = Literal["add", "remove", "replace"]

_JSON_POINTER: Final = re.compile(r"^(/([^/~]|~[01])*)*$")


def json_pointer_error(path: str) -> str | None:
    """Why ``path`` is not an RFC 6901 JSON pointer (``/spec/replicas``), or ``None``."""
    if not path:
        return "must not be empty"
    if not _JSON_POINTER.match(path):
        return "must be a JSON pointer such as '/spec/replicas' ('~' only as '~0' or '~1')"
    return None


def _check_pointer(problems: validation.Problems, path: str, value: str) -> None:
    err = json_pointer_error(value)
    if err:
        problems.add(path, f"invalid path {value!r}: {err}")


def _check_value(problems: validation.Problems, operator: str, value: object) -> None:
    if operator in ("add", "replace") and value is None:
        problems.add("value", f"must be specified for operator {operator!r}", "FieldValueRequired")
    if operator == "remove" and value is not None:
        problems.add("value", "must not be specified for operator 'remove'", "FieldValueForbidden")


class PlaintextOverrider(PassThrough):
    path: common.RequiredStr
    operator: Operator
    value: Any = None

    @model_validator(mode="after")
    def _check(self) -> PlaintextOverrider:
        problems = validation.Problems()
        _check_pointer(problems, "path", self.path)
        _check_value(problems, self.operator, self.value)
        problems.raise_if_any()
        return self


class ImagePredicate(PassThrough):
    path: common.RequiredStr

    @model_validator(mode="after")
    def _check(self) -> ImagePredicate:
        problems = validation.Problems()
        _check_pointer(problems, "path", self.path)
        problems.raise_if_any()
        return self


class ImageOverrider(PassThrough):
    component: Literal["Registry", "Repository", "Tag"]
    operator: Operator
    value: str | None = None
    predicate: ImagePredicate | None = None

    @model_validator(mode="after")
    def _check(self) -> ImageOverrider:
        problems = validation.Problems()
        if self.operator != "remove" and not self.value:
            problems.add("value", f"must not be empty for operator {self.operator!r}", "FieldValueRequired")
        problems.raise_if_any()
        return self


class CommandArgsOverrider(PassThrough):
    container_name: common.RequiredStr
    operator: Literal["add", "remove"]
    value: list[str] | None = None


class MetadataOverrider(PassThrough):
    """``labelsOverrider`` / ``annotationsOverrider`` item."""

    operator: Operator
    value: dict[str, str] | None = None


class FieldPatch(PassThrough):
    sub_path: common.RequiredStr
    operator: Operator
    value: Any = None

    @model_validator(mode="after")
    def _check(self) -> FieldPatch:
        problems = validation.Problems()
        _check_pointer(problems, "subPath", self.sub_path)
        _check_value(problems, self.operator, self.value)
        problems.raise_if_any()
        return self


class FieldOverrider(PassThrough):
    field_path: common.RequiredStr
    # ``json`` would shadow ``BaseModel.json``; the wire name is kept by the alias.
    json_: list[FieldPatch] | None = Field(default=None, alias="json")
    yaml: list[FieldPatch] | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldOverrider:
        problems = validation.Problems()
        _check_pointer(problems, "fieldPath", self.field_path)
        common.exactly_one(problems, "", {"json": self.json_ is not None, "yaml": self.yaml is not None})
        problems.raise_if_any()
        return self


class Overriders(PassThrough):
    plaintext: list[PlaintextOverrider] | None = None
    image_overrider: list[ImageOverrider] | None = None
    command_overrider: list[CommandArgsOverrider] | None = None
    args_overrider: list[CommandArgsOverrider] | None = None
    labels_overrider: list[MetadataOverrider] | None = None
    annotations_overrider: list[MetadataOverrider] | None = None
    field_overrider: list[FieldOverrider] | None = None

    @model_validator(mode="after")
    def _check(self) -> Overriders:
        problems = validation.Problems()
        for i, item in enumerate(self.labels_overrider or ()):
            validation.check_labels(problems, f"labelsOverrider[{i}].value", item.value)
        for i, item in enumerate(self.annotations_overrider or ()):
            for key in item.value or {}:
                err = validation.label_key_error(key)
                if err:
                    problems.add(f"annotationsOverrider[{i}].value[{key}]", f"invalid annotation key {key!r}: {err}")
        problems.raise_if_any()
        return self


class RuleWithCluster(PassThrough):
    target_cluster: ClusterAffinity | None = None
    """``None`` means every cluster."""
    overriders: Overriders


class OverrideSpec(PassThrough):
    resource_selectors: list[ResourceSelector] | None = None
    """``None`` selects every resource."""
    override_rules: list[RuleWithCluster] | None = None
    target_cluster: ClusterAffinity | None = None
    """Deprecated since Karmada v1.0; use ``overrideRules``."""
    overriders: Overriders | None = None
    """Deprecated since Karmada v1.0; use ``overrideRules``."""

    @model_validator(mode="after")
    def _check(self) -> OverrideSpec:
        problems = validation.Problems()
        if self.override_rules is not None:
            if self.target_cluster is not None:
                problems.add("targetCluster", "overrideRules and targetCluster can't co-exist", "FieldValueForbidden")
            if self.overriders is not None:
                problems.add("overriders", "overrideRules and overriders can't co-exist", "FieldValueForbidden")
        problems.raise_if_any()
        return self
