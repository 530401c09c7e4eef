"""What the API server does with a CRD schema when a custom resource is written: the public
entry points of schema handling (``check_write``/``validate_write``, ``validate``, ``prune``,
``apply_defaults``, the ``FieldValidation`` modes).

The write pipeline follows the apiextensions-apiserver request path:

1. decode: ``kind`` must be present (else 400 ``Object 'Kind' is missing in '...'``);
2. prune unknown fields and reduce ``metadata`` to ObjectMeta (``unstructuredSchemaCoercer``);
   under fieldValidation=Strict any unknown field fails the request here (400
   ``strict decoding error: unknown field "spec.foo"``), under Warn each becomes a warning
   ``unknown field "spec.foo"``, under Ignore they vanish silently;
3. drop non-nullable nulls without defaults, then apply defaults;
4. check ``apiVersion``/``kind`` against the endpoint when given (422, and nothing else is
   reported, like ``ValidateTypeMeta``);
5. OpenAPI validation (kube-openapi), then embedded-resource and list-type invariants (422).

CEL rules (``x-kubernetes-validations``) are not evaluated; the rules that would have run on
present values are returned as ``skipped_rules``. ObjectMeta *value* validation (name format,
label syntax, ...) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kurator_sim.machinery import fielderrors as fe
from kurator_sim.machinery.cel import SkippedRule, skipped, validation_rules
from kurator_sim.machinery.defaulting import apply_defaults, default_in_place
from kurator_sim.machinery.fielderrors import Cause
from kurator_sim.machinery.invariants import check_invariants
from kurator_sim.machinery.jsonvalues import copy_json
from kurator_sim.machinery.pruning import prune, prune_in_place
from kurator_sim.machinery.structural import Rule, compiled
from kurator_sim.machinery.validation import validate_value

__all__ = [
    "Cause",
    "FieldValidation",
    "InvalidFieldValidationError",
    "SkippedRule",
    "WriteResult",
    "apply_defaults",
    "check_write",
    "parse_field_validation",
    "prune",
    "validate",
    "validate_write",
    "validation_rules",
]


class FieldValidation(StrEnum):
    """The ``fieldValidation`` query parameter of POST/PUT/PATCH."""

    IGNORE = "Ignore"
    WARN = "Warn"
    STRICT = "Strict"


class InvalidFieldValidationError(ValueError):
    """An unsupported ``fieldValidation`` value; ``cause`` is the apiserver's 422 cause."""

    def __init__(self, cause: Cause) -> None:
        super().__init__(cause.error())
        self.cause = cause


def parse_field_validation(value: str | None) -> FieldValidation:
    """Interpret the query parameter; absent or empty means Warn (the server default).

    Raises InvalidFieldValidationError with the cause the server reports
    (``fieldValidation: Unsupported value: "x": supported values: "", "Ignore", ...``).
    """
    if not value:
        return FieldValidation.WARN
    try:
        return FieldValidation(value)
    except ValueError:
        raise InvalidFieldValidationError(
            fe.not_supported("fieldValidation", value, ["", "Ignore", "Strict", "Warn"])
        ) from None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of a write: the object to store and why it must be rejected, if it must.

    ``causes`` holding any decode error (``fielderrors.is_decode_error``) means a 400
    BadRequest (message: ``fielderrors.bad_request_message``); other causes mean 422 Invalid
    (message: ``fielderrors.invalid_message``).
    """

    obj: dict[str, Any]
    causes: tuple[Cause, ...]
    warnings: tuple[str, ...]
    unknown_fields: tuple[str, ...]
    skipped_rules: tuple[SkippedRule, ...]

    @property
    def ok(self) -> bool:
        return not self.causes

    @property
    def bad_request(self) -> bool:
        return any(fe.is_decode_error(c) for c in self.causes)


def check_write(
    obj: dict[str, Any],
    schema: dict[str, Any] | None,
    *,
    field_validation: FieldValidation = FieldValidation.WARN,
    api_version: str | None = None,
    kind: str | None = None,
) -> WriteResult:
    """Run the full write pipeline on a copy of ``obj`` (which is never modified).

    ``schema`` is the served version's ``openAPIV3Schema`` (None: no schema, nothing pruned or
    validated). ``api_version``/``kind``, when given, are what the endpoint serves.
    """
    work: dict[str, Any] = copy_json(obj)
    found_kind = work.get("kind")
    if not isinstance(found_kind, str) or not found_kind:
        cause = Cause("kind", fe.MALFORMED, f"Object 'Kind' is missing in '{fe.go_json(obj)}'")
        return WriteResult(work, (cause,), (), (), ())

    node = compiled(schema) if schema is not None else None
    report = prune_in_place(work, node, drop_malformed_meta=False)
    if report.meta_errors:
        path, text = report.meta_errors[0]
        return WriteResult(work, (Cause(path, fe.MALFORMED, text),), (), tuple(report.unknown_fields), ())
    unknown = tuple(report.unknown_fields)
    warnings: tuple[str, ...] = ()
    if unknown:
        if field_validation is FieldValidation.STRICT:
            return WriteResult(work, tuple(fe.unknown_field(p) for p in unknown), (), unknown, ())
        if field_validation is FieldValidation.WARN:
            warnings = tuple(f'unknown field "{p}"' for p in unknown)

    if node is not None:
        # prune_in_place already dropped non-nullable nulls that have no default
        default_in_place(work, node)

    type_meta = _type_meta_errors(work, api_version, kind)
    if type_meta:
        return WriteResult(work, tuple(type_meta), warnings, unknown, ())

    causes: list[Cause] = []
    rules: list[tuple[str, Rule]] = []
    if "apiVersion" not in work and api_version is None:
        causes.append(fe.required("apiVersion"))
    if node is not None:
        causes.extend(validate_value(node, work, "", rules))
        causes.extend(check_invariants(node, work))
    return WriteResult(work, tuple(causes), warnings, unknown, tuple(skipped(rules)))


def validate_write(
    obj: dict[str, Any],
    schema: dict[str, Any] | None,
    *,
    strict: bool = False,
    field_validation: FieldValidation | None = None,
    api_version: str | None = None,
    kind: str | None = None,
) -> tuple[dict[str, Any], list[Cause], list[str]]:
    """``(defaulted and pruned object, causes, warnings)``.

    ``strict=True`` is fieldValidation=Strict: unknown fields come back as causes with reason
    ``FieldValueUnknown`` and message ``unknown field "spec.foo"`` (the server answers 400, see
    ``fielderrors.bad_request_message``). Otherwise Warn, unless ``field_validation`` says
    which mode to use.
    """
    mode = field_validation or (FieldValidation.STRICT if strict else FieldValidation.WARN)
    result = check_write(obj, schema, field_validation=mode, api_version=api_version, kind=kind)
    return result.obj, list(result.causes), list(result.warnings)


def validate(obj: Any, schema: dict[str, Any]) -> list[Cause]:
    """OpenAPI validation plus list-type/embedded invariants of an already pruned and
    defaulted object (no pruning, no defaulting, no type meta checks)."""
    node = compiled(schema)
    causes = validate_value(node, obj)
    if isinstance(obj, dict):
        causes.extend(check_invariants(node, obj))
    return causes


def _type_meta_errors(obj: dict[str, Any], api_version: str | None, kind: str | None) -> list[Cause]:
    errors: list[Cause] = []
    if kind is not None and obj.get("kind") != kind:
        errors.append(fe.invalid("kind", obj.get("kind"), f"must be {kind}"))
    if api_version is not None and obj.get("apiVersion", "") != api_version:
        errors.append(fe.invalid("apiVersion", obj.get("apiVersion", ""), f"must be {api_version}"))
    return errors
