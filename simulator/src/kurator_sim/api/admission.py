"""Checks on every write before it reaches the store: the body's kind and apiVersion against
the URL, object-name syntax, and (custom resources with a schema) schema validation, pruning,
defaulting and the ``fieldValidation`` directive.

Failures are the apiserver's: 400 for a kind mismatch or a strict-decoding error, 422 Invalid
with one cause per bad field. ``fieldValidation=Warn`` (the server default) turns unknown
fields into ``Warning`` headers, ``Ignore`` drops them silently, ``Strict`` refuses them.
"""

from __future__ import annotations

import re
from typing import Any

from kurator_sim import errors
from kurator_sim.api import defaults, schemas
from kurator_sim.api.context import ClusterApi
from kurator_sim.api.options import WriteOptions
from kurator_sim.resources import ResourceType

Obj = dict[str, Any]

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_KINDS = frozenset({("", "namespaces"), ("", "services")})


def check_kind(rt: ResourceType, obj: Obj) -> None:
    """Fill a missing apiVersion/kind from the URL; refuse a body of another kind (400)."""
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if api_version and api_version != rt.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise errors.bad_request(
            f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind


def _check_name(rt: ResourceType, obj: Obj) -> None:
    meta = obj.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: metadata must be an object'
        )
    name = meta.get("name")
    if not name:
        return
    label = rt.key in _LABEL_KINDS
    pattern, message, limit = (_DNS1123_LABEL, _LABEL_MSG, 63) if label else (_DNS1123_SUBDOMAIN, _SUBDOMAIN_MSG, 253)
    causes = []
    if not isinstance(name, str) or not pattern.match(name):
        causes.append(errors.StatusCause("FieldValueInvalid", f'Invalid value: "{name}": {message}', "metadata.name"))
    elif len(name) > limit:
        causes.append(
            errors.StatusCause(
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be no more than {limit} characters',
                "metadata.name",
            )
        )
    if causes:
        raise errors.invalid(rt.kind, rt.group, str(name), causes)


def validate(
    api: ClusterApi, rt: ResourceType, obj: Obj, *, old: Obj | None, opts: WriteOptions, subresource: str | None
) -> list[str]:
    """Validate (and prune/default) ``obj`` in place; returns the warnings to send."""
    if old is None:
        _check_name(rt, obj)
    if rt.builtin:
        if subresource is None:
            defaults.apply(rt.key, obj, api.allocate_ip)
        return []
    if rt.schema is None or not api.validate:
        return []
    return schemas.validate(rt, obj, old=old, mode=opts.field_validation, subresource=subresource)
