"""Schema validation of custom resources on write: the HTTP layer's adapter over
``machinery.schema`` (pruning, defaulting, OpenAPI validation, ``fieldValidation``).

Answers as the apiextensions-apiserver does: unknown fields under ``Strict`` and malformed
metadata are a 400 BadRequest (``Job in version "v1alpha1" cannot be handled as a Job: strict
decoding error: unknown field "spec.foo"``); schema violations a 422 Invalid whose causes name
each field; under ``Warn`` each dropped field becomes a warning.
"""

from __future__ import annotations

from typing import Any

from kurator_sim import errors
from kurator_sim.api.options import FieldValidation
from kurator_sim.machinery import fielderrors, schema
from kurator_sim.resources import ResourceType

_MODES = {
    "Ignore": schema.FieldValidation.IGNORE,
    "Warn": schema.FieldValidation.WARN,
    "Strict": schema.FieldValidation.STRICT,
}


def validate(
    rt: ResourceType, obj: dict[str, Any], *, old: dict[str, Any] | None, mode: FieldValidation, subresource: str | None
) -> list[str]:
    """Prune, default and validate ``obj`` in place; returns warnings.

    Raises:
        ApiError: 400 for unknown fields under Strict or malformed metadata, 422 otherwise.
    """
    result = schema.check_write(obj, rt.schema, field_validation=_MODES[mode], api_version=rt.api_version, kind=rt.kind)
    if result.causes:
        if result.bad_request:
            raise errors.bad_request(fielderrors.bad_request_message(rt.kind, rt.version, result.causes))
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise errors.ApiError(
            422,
            "Invalid",
            fielderrors.invalid_message(rt.group, rt.kind, name, result.causes),
            rt.group,
            rt.kind,
            name,
            [errors.StatusCause(c.reason, c.message, c.field) for c in result.causes],
        )
    obj.clear()
    obj.update(result.obj)
    return list(result.warnings)
