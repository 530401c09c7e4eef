"""OpenAPI v3 documents in the shape kube-apiserver publishes them, for ``kubectl explain``,
kubectl's server-side field validation check and client-side apply.

Owns: schema naming (``io.k8s.api.apps.v1.Deployment`` for built-ins, reversed group for
CRDs: ``sh.volcano.batch.v1alpha1.Job``), ``x-kubernetes-group-version-kind`` on schemas (a
list) and on operations (one object), the REST paths with their operations and query
parameters (``dryRun``, ``fieldManager``, ``fieldValidation`` on POST/PUT/PATCH), PATCH media
types, and the ``/openapi/v3`` index with its ``?hash=`` URLs. See OPENAPI_NOTES.md for what
kubectl reads and why each piece is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kurator_sim.machinery.builtin_schemas import BUILTIN_KINDS, BuiltinKind
from kurator_sim.machinery.jsonvalues import copy_json

Schema = dict[str, Any]
# (kind, plural, namespaced, schema or None, has_status_subresource)
KindTuple = tuple[str, str, bool, Schema | None, bool]

KUBERNETES_VERSION: Final = "v1.31.0"
GVK_EXTENSION: Final = "x-kubernetes-group-version-kind"
META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1"
REF_PREFIX: Final = "#/components/schemas/"

PATCH_JSON: Final = "application/json-patch+json"
PATCH_MERGE: Final = "application/merge-patch+json"
PATCH_STRATEGIC: Final = "application/strategic-merge-patch+json"
PATCH_APPLY: Final = "application/apply-patch+yaml"

# Go package of each built-in group, as used in definition names (io.k8s.api.<pkg>.<v>.<Kind>).
_BUILTIN_PACKAGES: Final[dict[str, str]] = {
    "": "core",
    "admissionregistration.k8s.io": "admissionregistration",
    "apps": "apps",
    "authentication.k8s.io": "authentication",
    "authorization.k8s.io": "authorization",
    "autoscaling": "autoscaling",
    "batch": "batch",
    "certificates.k8s.io": "certificates",
    "coordination.k8s.io": "coordination",
    "discovery.k8s.io": "discovery",
    "events.k8s.io": "events",
    "flowcontrol.apiserver.k8s.io": "flowcontrol",
    "networking.k8s.io": "networking",
    "node.k8s.io": "node",
    "policy": "policy",
    "rbac.authorization.k8s.io": "rbac",
    "resource.k8s.io": "resource",
    "scheduling.k8s.io": "scheduling",
    "storage.k8s.io": "storage",
}
_SPECIAL_PREFIXES: Final[dict[str, str]] = {
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}


@dataclass(frozen=True, slots=True)
class KindEntry:
    """One kind served in a group-version."""

    kind: str
    plural: str
    namespaced: bool
    schema: Schema | None
    has_status: bool


def is_builtin_group(group: str) -> bool:
    return group in _BUILTIN_PACKAGES or group in _SPECIAL_PREFIXES


def definition_name(group: str, version: str, kind: str) -> str:
    """The ``components.schemas`` key the API server uses for a kind."""
    if group in _SPECIAL_PREFIXES:
        return f"{_SPECIAL_PREFIXES[group]}.{version}.{kind}"
    if group in _BUILTIN_PACKAGES:
        return f"io.k8s.api.{_BUILTIN_PACKAGES[group]}.{version}.{kind}"
    # CRDs: util.ToRESTFriendlyName("<group>/<version>.<kind>") reverses the group's labels
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def group_version_path(group: str, version: str) -> str:
    """Key of a group-version in the ``/openapi/v3`` index (``api/v1``, ``apis/apps/v1``)."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _ref(name: str) -> Schema:
    return {"$ref": REF_PREFIX + name}


def _wrapped_ref(name: str, description: str) -> Schema:
    # how kube-openapi v3 publishes a described reference: allOf around the $ref
    return {"allOf": [_ref(name)], "description": description}


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


_API_VERSION_DOC: Final = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND_DOC: Final = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA_DOC: Final = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA_DOC: Final = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)


def _type_meta() -> dict[str, Schema]:
    return {
        "apiVersion": {"type": "string", "description": _API_VERSION_DOC},
        "kind": {"type": "string", "description": _KIND_DOC},
    }


# --- shared meta/v1 definitions ------------------------------------------------------------


def _s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _meta_definitions() -> dict[str, Schema]:
    time = {
        "type": "string",
        "format": "date-time",
        "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.",
    }
    owner_reference = {
        "type": "object",
        "description": "OwnerReference contains enough information to let you identify an owning object.",
        "required": ["apiVersion", "kind", "name", "uid"],
        "properties": {
            "apiVersion": _s("API version of the referent."),
            "kind": _s("Kind of the referent."),
            "name": _s("Name of the referent."),
            "uid": _s("UID of the referent."),
            "controller": {
                "type": "boolean",
                "description": "If true, this reference points to the managing controller.",
            },
            "blockOwnerDeletion": {
                "type": "boolean",
                "description": (
                    "If true, and the owner has the foregroundDeletion finalizer, the owner "
                    "cannot be deleted before this reference is removed."
                ),
            },
        },
        "x-kubernetes-map-type": "atomic",
    }
    managed = {
        "type": "object",
        "description": (
            "ManagedFieldsEntry is a workflow-id, a FieldSet and the group "
            "version of the resource that the fieldset applies to."
        ),
        "properties": {
            "manager": _s("Identifier of the workflow managing these fields."),
            "operation": _s("Type of operation which lead to this entry: Apply or Update."),
            "apiVersion": _s("Version of the resource this field set applies to."),
            "time": _wrapped_ref(f"{META}.Time", "Timestamp of when the entry was last changed."),
            "fieldsType": _s("Format of the fields field; only FieldsV1 exists."),
            "fieldsV1": _wrapped_ref(f"{META}.FieldsV1", "The field set in FieldsV1 format."),
            "subresource": _s("Name of the subresource used to update the object; empty for the main resource."),
        },
    }
    string_map = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    object_meta = {
        "type": "object",
        "description": (
            "ObjectMeta is metadata that all persisted resources must have, "
            "which includes all objects users must create."
        ),
        "properties": {
            "name": _s(
                "Name must be unique within a namespace. Required when creating resources, "
                "although some resources allow generateName. Cannot be updated."
            ),
            "generateName": _s("Optional prefix the server uses to generate a unique name when name is not provided."),
            "namespace": _s(
                "Namespace defines the space within which each name must be "
                "unique. Must be a DNS_LABEL. Cannot be updated."
            ),
            "uid": _s(
                "UID is the unique in time and space value for this object, "
                "generated by the server on create. Read-only."
            ),
            "resourceVersion": _s(
                "An opaque value that represents the internal version of this object; "
                "used for optimistic concurrency and watches. Read-only."
            ),
            "generation": {
                "type": "integer",
                "format": "int64",
                "description": "A sequence number representing a specific generation of the desired state. Read-only.",
            },
            "creationTimestamp": _wrapped_ref(f"{META}.Time", "Server time when this object was created. Read-only."),
            "deletionTimestamp": _wrapped_ref(
                f"{META}.Time",
                (
                    "RFC 3339 date and time at which this resource will be deleted. "
                    "Set by the server on graceful deletion. Read-only."
                ),
            ),
            "deletionGracePeriodSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "Seconds allowed for graceful termination before removal from the system. Read-only.",
            },
            "labels": string_map
            | {
                "description": (
                    "Map of string keys and values used to organize and categorize (scope and select) objects."
                )
            },
            "annotations": string_map
            | {
                "description": (
                    "Unstructured key value map stored with a resource for arbitrary metadata; not queryable."
                )
            },
            "ownerReferences": {
                "type": "array",
                "description": "Objects depended on by this object; garbage collected when all owners are gone.",
                "items": {"allOf": [_ref(f"{META}.OwnerReference")], "default": {}},
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            },
            "finalizers": {
                "type": "array",
                "description": "Must be empty before the object is deleted from the registry.",
                "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge",
            },
            "managedFields": {
                "type": "array",
                "description": (
                    "Maps workflow-id and version to the set of fields managed by that workflow (server-side apply)."
                ),
                "items": {"allOf": [_ref(f"{META}.ManagedFieldsEntry")], "default": {}},
                "x-kubernetes-list-type": "atomic",
            },
            "selfLink": _s(
                "Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."
            ),
        },
    }
    list_meta = {
        "type": "object",
        "description": (
            "ListMeta describes metadata that synthetic resources must "
            "have, including lists and various status objects."
        ),
        "properties": {
            "resourceVersion": _s(
                "Identifies the server's internal version of this object; may be used to watch from this point."
            ),
            "continue": _s(
                "Set if the user set a limit on the number of items returned, and indicates more items are available."
            ),
            "remainingItemCount": {
                "type": "integer",
                "format": "int64",
                "description": "Number of subsequent items in the list not included in this response.",
            },
            "selfLink": _s("Deprecated: no longer populated by the system."),
        },
    }
    status_cause = {
        "type": "object",
        "description": (
            "StatusCause provides more information about an api.Status failure, "
            "including cases when multiple errors are encountered."
        ),
        "properties": {
            "field": _s("The field of the resource that has caused this error, as named by its JSON serialization."),
            "message": _s("A human-readable description of the cause of the error."),
            "reason": _s("A machine-readable description of the cause of the error."),
        },
    }
    status_details = {
        "type": "object",
        "description": (
            "StatusDetails is a set of additional properties that MAY be set by the "
            "server to provide additional information about a response."
        ),
        "properties": {
            "causes": {
                "type": "array",
                "items": {"allOf": [_ref(f"{META}.StatusCause")], "default": {}},
                "x-kubernetes-list-type": "atomic",
                "description": "Extended data associated with the reason.",
            },
            "group": _s("The group attribute of the resource associated with the status StatusReason."),
            "kind": _s("The kind attribute of the resource associated with the status StatusReason."),
            "name": _s("The name attribute of the resource associated with the status StatusReason."),
            "retryAfterSeconds": {
                "type": "integer",
                "format": "int32",
                "description": "Seconds the client should wait before retrying.",
            },
            "uid": _s("UID of the resource."),
        },
    }
    status = {
        "type": "object",
        "description": "Status is a return value for calls that don't return other objects.",
        "properties": {
            **_type_meta(),
            "code": {
                "type": "integer",
                "format": "int32",
                "description": "Suggested HTTP return code for this status, 0 if not set.",
            },
            "details": _wrapped_ref(f"{META}.StatusDetails", "Extended data associated with the reason."),
            "message": _s("A human-readable description of the status of this operation."),
            "metadata": _wrapped_ref(f"{META}.ListMeta", _LIST_METADATA_DOC),
            "reason": _s("A machine-readable description of why this operation is in the Failure status."),
            "status": _s("Status of the operation. One of: Success or Failure."),
        },
        GVK_EXTENSION: [_gvk("", "v1", "Status")],
    }
    delete_options = {
        "type": "object",
        "description": "DeleteOptions may be provided when deleting an API object.",
        "properties": {
            **_type_meta(),
            "dryRun": {
                "type": "array",
                "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "atomic",
                "description": "When present, indicates that modifications should not be persisted.",
            },
            "gracePeriodSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "Duration in seconds before the object should be deleted.",
            },
            "orphanDependents": {"type": "boolean", "description": "Deprecated: use propagationPolicy."},
            "preconditions": _wrapped_ref(
                f"{META}.Preconditions", "Must be fulfilled before a deletion is carried out."
            ),
            "propagationPolicy": _s(
                "Whether and how garbage collection will be performed: Orphan, Background or Foreground."
            ),
        },
        GVK_EXTENSION: [_gvk("", "v1", "DeleteOptions")],
    }
    preconditions = {
        "type": "object",
        "description": "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
        "properties": {
            "resourceVersion": _s("Specifies the target ResourceVersion"),
            "uid": _s("Specifies the target UID."),
        },
    }
    return {
        f"{META}.DeleteOptions": delete_options,
        f"{META}.FieldsV1": {
            "type": "object",
            "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.",
        },
        f"{META}.ListMeta": list_meta,
        f"{META}.ManagedFieldsEntry": managed,
        f"{META}.ObjectMeta": object_meta,
        f"{META}.OwnerReference": owner_reference,
        f"{META}.Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        },
        f"{META}.Preconditions": preconditions,
        f"{META}.Status": status,
        f"{META}.StatusCause": status_cause,
        f"{META}.StatusDetails": status_details,
        f"{META}.Time": time,
    }


# --- kind schemas --------------------------------------------------------------------------


def _add_embedded_properties(schema: Schema) -> None:
    """addEmbeddedProperties: embedded resources get apiVersion/kind/metadata published."""
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            _add_embedded_properties(sub)
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            _add_embedded_properties(sub)
    if schema.get("x-kubernetes-embedded-resource") is True:
        props = schema.setdefault("properties", {})
        props.update(_type_meta())
        props["metadata"] = _wrapped_ref(f"{META}.ObjectMeta", _METADATA_DOC)
        required = schema.setdefault("required", [])
        for key in ("kind", "apiVersion"):
            if key not in required:
                required.append(key)


def kind_schema(group: str, version: str, kind: str, schema: Schema | None) -> Schema:
    """The published schema of a kind: its own schema plus type meta, the ObjectMeta
    reference and the GVK extension (``buildKubeNative``)."""
    if schema is None:
        out: Schema = {"type": "object"}
    else:
        out = copy_json(schema)
        props: dict[str, Any] = {**_type_meta(), "metadata": _wrapped_ref(f"{META}.ObjectMeta", _METADATA_DOC)}
        props.update({k: v for k, v in (out.get("properties") or {}).items() if k not in props})
        out["properties"] = props
        out.setdefault("type", "object")
        _add_embedded_properties_below_root(out)
    out[GVK_EXTENSION] = [_gvk(group, version, kind)]
    return out


def _add_embedded_properties_below_root(schema: Schema) -> None:
    for name, sub in (schema.get("properties") or {}).items():
        if name != "metadata" and isinstance(sub, dict):
            _add_embedded_properties(sub)


def list_schema(group: str, version: str, kind: str, plural: str) -> Schema:
    return {
        "type": "object",
        "description": f"{kind}List is a list of {kind}",
        "required": ["items"],
        "properties": {
            **_type_meta(),
            "items": {
                "type": "array",
                "description": (
                    f"List of {plural}. More info: "
                    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
                ),
                "items": _ref(definition_name(group, version, kind)),
            },
            "metadata": _wrapped_ref(f"{META}.ListMeta", _LIST_METADATA_DOC),
        },
        GVK_EXTENSION: [_gvk(group, version, f"{kind}List")],
    }


# --- parameters ----------------------------------------------------------------------------


def _query(name: str, description: str, type_: str = "string") -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": {"type": type_, "uniqueItems": True}}


_DRY_RUN: Final = _query(
    "dryRun",
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun "
    "directive will result in an error response and no further processing of the request. Valid values are: "
    "- All: all dry run stages will be processed",
)
_FIELD_MANAGER: Final = _query(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must "
    "be less than or 128 characters long, and only contain printable characters, as defined by "
    "https://golang.org/pkg/unicode/#IsPrint.",
)
_FIELD_VALIDATION: Final = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
    "unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are "
    "silently dropped from the object, and will ignore all but the last duplicate field that the decoder "
    "encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the "
    "standard warning response header for each unknown field that is dropped from the object, and for each "
    "duplicate field that is encountered. The request will still succeed if there are no other errors, and "
    "will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will "
    "fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if "
    "any duplicate fields are present. The error returned from the server will contain all unknown and "
    "duplicate fields encountered.",
)
_FORCE: Final = _query(
    "force",
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other '
    "people. Force flag must be unset for non-apply patch requests.",
    "boolean",
)
_PRETTY: Final = _query("pretty", "If 'true', then the output is pretty printed.")
_LIST_PARAMS: Final = (
    _query("allowWatchBookmarks", 'allowWatchBookmarks requests watch events with type "BOOKMARK".', "boolean"),
    _query("continue", "The continue option should be set when retrieving more results from the server."),
    _query(
        "fieldSelector", "A selector to restrict the list of returned objects by their fields. Defaults to everything."
    ),
    _query(
        "labelSelector", "A selector to restrict the list of returned objects by their labels. Defaults to everything."
    ),
    _query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    _query(
        "resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."
    ),
    _query("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
    _query("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query(
        "watch",
        (
            "Watch for changes to the described resources and return them as a "
            "stream of add, update, and remove notifications."
        ),
        "boolean",
    ),
)
_DELETE_PARAMS: Final = (
    _DRY_RUN,
    _query("gracePeriodSeconds", "The duration in seconds before the object should be deleted.", "integer"),
    _query("orphanDependents", "Deprecated: please use the PropagationPolicy.", "boolean"),
    _query(
        "propagationPolicy", "Whether and how garbage collection will be performed: Orphan, Background or Foreground."
    ),
)


def _path_param(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }


# --- operations ----------------------------------------------------------------------------


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", ".").split(".") if part)


def _gv_token(group: str, version: str) -> str:
    if not group:
        return "CoreV1" if version == "v1" else "Core" + _camel(version)
    base = group[: -len(".k8s.io")] if group.endswith(".k8s.io") else group
    return _camel(base) + _camel(version)


def _tag(group: str, version: str) -> str:
    token = _gv_token(group, version)
    head = token[: -len(_camel(version))]
    return f"{head[:1].lower()}{head[1:]}_{version}"


@dataclass(frozen=True, slots=True)
class _Ctx:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    builtin: bool

    @property
    def gvk(self) -> dict[str, str]:
        return _gvk(self.group, self.version, self.kind)

    @property
    def kind_ref(self) -> Schema:
        return _ref(definition_name(self.group, self.version, self.kind))

    @property
    def list_ref(self) -> Schema:
        return _ref(definition_name(self.group, self.version, f"{self.kind}List"))


def _content(ctx: _Ctx, schema: Schema, *, watch: bool = False) -> Schema:
    types = ["application/json", "application/yaml"]
    if ctx.builtin:
        types.append("application/vnd.kubernetes.protobuf")
    if watch:
        types += ["application/json;stream=watch"]
    return {t: {"schema": schema} for t in sorted(types)}


def _responses(ctx: _Ctx, schema: Schema, codes: Sequence[tuple[str, str]]) -> Schema:
    out: Schema = {code: {"description": text, "content": _content(ctx, schema)} for code, text in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _operation(
    ctx: _Ctx, verb: str, action: str, description: str, suffix: str = "", *, all_namespaces: bool = False
) -> Schema:
    scope = "Namespaced" if ctx.namespaced and not all_namespaces else ""
    tail = "ForAllNamespaces" if all_namespaces else ""
    return {
        "tags": [_tag(ctx.group, ctx.version)],
        "description": description,
        "operationId": f"{verb}{_gv_token(ctx.group, ctx.version)}{scope}{ctx.kind}{suffix}{tail}",
        "x-kubernetes-action": action,
        GVK_EXTENSION: ctx.gvk,
    }


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeiou" else "a"


def _patch_content_types(builtin: bool) -> list[str]:
    types = [PATCH_JSON, PATCH_MERGE, PATCH_APPLY]
    if builtin:
        types.append(PATCH_STRATEGIC)
    return sorted(types)


def _write_ops(ctx: _Ctx, sub: str) -> dict[str, Schema]:
    """GET/PUT/PATCH of an item (``sub`` is "" or "status")."""
    suffix = sub.capitalize()
    of = f" {sub} of" if sub else ""
    get = _operation(ctx, "read", "get", f"read{of} the specified {ctx.kind}", suffix)
    get["responses"] = _responses(ctx, ctx.kind_ref, [("200", "OK")])
    put = _operation(ctx, "replace", "put", f"replace{of} the specified {ctx.kind}", suffix)
    put["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    put["requestBody"] = {"content": {"*/*": {"schema": ctx.kind_ref}}, "required": True}
    put["responses"] = _responses(ctx, ctx.kind_ref, [("200", "OK"), ("201", "Created")])
    patch = _operation(ctx, "patch", "patch", f"partially update{of} the specified {ctx.kind}", suffix)
    patch["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE]
    patch_ref = _ref(f"{META}.Patch")
    patch["requestBody"] = {
        "content": {t: {"schema": patch_ref} for t in _patch_content_types(ctx.builtin)},
        "required": True,
    }
    patch["responses"] = _responses(ctx, ctx.kind_ref, [("200", "OK"), ("201", "Created")])
    return {"get": get, "put": put, "patch": patch}


def _resource_paths(ctx: _Ctx, has_status: bool) -> dict[str, Schema]:
    base = f"/api/{ctx.version}" if not ctx.group else f"/apis/{ctx.group}/{ctx.version}"
    paths: dict[str, Schema] = {}
    ns_param = _path_param("namespace", "object name and auth scope, such as for teams and projects")
    name_param = _path_param("name", f"name of the {ctx.kind}")
    status_ref = _ref(f"{META}.Status")
    if ctx.namespaced:
        listing = _operation(ctx, "list", "list", f"list or watch objects of kind {ctx.kind}", all_namespaces=True)
        listing["responses"] = _responses(ctx, ctx.list_ref, [("200", "OK")])
        paths[f"{base}/{ctx.plural}"] = {"get": listing, "parameters": [*_LIST_PARAMS, _PRETTY]}
        collection = f"{base}/namespaces/{{namespace}}/{ctx.plural}"
        scope_params = [ns_param, _PRETTY]
    else:
        collection = f"{base}/{ctx.plural}"
        scope_params = [_PRETTY]

    listing = _operation(ctx, "list", "list", f"list or watch objects of kind {ctx.kind}")
    listing["parameters"] = list(_LIST_PARAMS)
    listing["responses"] = _responses(ctx, ctx.list_ref, [("200", "OK")])
    create = _operation(ctx, "create", "post", f"create {_article(ctx.kind)} {ctx.kind}")
    create["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    create["requestBody"] = {"content": {"*/*": {"schema": ctx.kind_ref}}, "required": True}
    create["responses"] = _responses(ctx, ctx.kind_ref, [("200", "OK"), ("201", "Created"), ("202", "Accepted")])
    delete_all = _operation(ctx, "deleteCollection", "deletecollection", f"delete collection of {ctx.kind}")
    delete_all["parameters"] = [*_LIST_PARAMS, *_DELETE_PARAMS]
    delete_all["requestBody"] = {"content": {"*/*": {"schema": _ref(f"{META}.DeleteOptions")}}}
    delete_all["responses"] = _responses(ctx, status_ref, [("200", "OK")])
    paths[collection] = {"get": listing, "post": create, "delete": delete_all, "parameters": scope_params}

    item_ops = _write_ops(ctx, "")
    delete = _operation(ctx, "delete", "delete", f"delete {_article(ctx.kind)} {ctx.kind}")
    delete["parameters"] = list(_DELETE_PARAMS)
    delete["requestBody"] = {"content": {"*/*": {"schema": _ref(f"{META}.DeleteOptions")}}}
    delete["responses"] = _responses(ctx, status_ref, [("200", "OK"), ("202", "Accepted")])
    paths[f"{collection}/{{name}}"] = {**item_ops, "delete": delete, "parameters": [name_param, *scope_params]}
    if has_status:
        paths[f"{collection}/{{name}}/status"] = {
            **_write_ops(ctx, "status"),
            "parameters": [name_param, *scope_params],
        }
    return paths


def _entries(kinds: Iterable[KindTuple | KindEntry]) -> list[KindEntry]:
    return [k if isinstance(k, KindEntry) else KindEntry(*k) for k in kinds]


def group_version_document(
    group: str,
    version: str,
    kinds: Iterable[KindTuple | KindEntry],
    *,
    builtin: bool | None = None,
    kubernetes_version: str = KUBERNETES_VERSION,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document served at ``/openapi/v3/<api/v1|apis/g/v>``.

    ``kinds`` are ``(kind, plural, namespaced, schema or None, has_status)``. ``builtin``
    defaults to whether the group is a Kubernetes built-in group; built-ins accept
    strategic-merge-patch and are also served as protobuf.
    """
    is_builtin = is_builtin_group(group) if builtin is None else builtin
    schemas: dict[str, Schema] = _meta_definitions()
    paths: dict[str, Schema] = {}
    for entry in _entries(kinds):
        schemas[definition_name(group, version, entry.kind)] = kind_schema(group, version, entry.kind, entry.schema)
        schemas[definition_name(group, version, f"{entry.kind}List")] = list_schema(
            group, version, entry.kind, entry.plural
        )
        ctx = _Ctx(group, version, entry.kind, entry.plural, entry.namespaced, is_builtin)
        paths.update(_resource_paths(ctx, entry.has_status))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": kubernetes_version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


def builtin_kinds_by_group_version(
    kinds: Iterable[BuiltinKind] = BUILTIN_KINDS,
) -> dict[tuple[str, str], list[KindEntry]]:
    """Built-in kinds grouped by (group, version), ready for ``group_version_document``."""
    out: dict[tuple[str, str], list[KindEntry]] = {}
    for k in kinds:
        out.setdefault((k.group, k.version), []).append(
            KindEntry(k.kind, k.plural, k.namespaced, k.schema, k.has_status)
        )
    return out


# --- the /openapi/v3 index -----------------------------------------------------------------


def serialize_document(doc: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a document (the bytes served and hashed)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def document_etag(body: bytes) -> str:
    """kube-openapi's ETag and ``hash`` query value: uppercase hex SHA-512 of the JSON bytes."""
    return hashlib.sha512(body).hexdigest().upper()


def server_relative_url(gv_path: str, etag: str) -> str:
    return f"/openapi/v3/{gv_path}?hash={etag}"


def discovery_index(bodies: Mapping[str, bytes]) -> dict[str, Any]:
    """The ``GET /openapi/v3`` document for served group-version bodies keyed by
    ``group_version_path`` (``{"paths": {"apis/apps/v1": {"serverRelativeURL": ...}}}``)."""
    return {
        "paths": {
            gv: {"serverRelativeURL": server_relative_url(gv, document_etag(body))}
            for gv, body in sorted(bodies.items())
        }
    }


# Served at /openapi/v2 so kubectl 1.27/1.28 (which fetch it eagerly for --validate) and the
# client-side-apply fallback get a well-formed but empty document: zero bytes decode as an
# empty gnostic openapi_v2.Document protobuf.
OPENAPI_V2_PROTOBUF_TYPE: Final = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
EMPTY_OPENAPI_V2_PROTOBUF: Final = b""


def empty_openapi_v2_json(kubernetes_version: str = KUBERNETES_VERSION) -> dict[str, Any]:
    """A minimal valid Swagger 2.0 document for ``Accept: application/json`` requests."""
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": kubernetes_version},
        "paths": {},
        "definitions": {},
    }
