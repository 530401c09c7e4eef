"""Decoding Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) of the
built-in kinds into the JSON form the rest of the server works with.

kubectl >= 1.33 sends its typed writes (``kubectl create namespace|configmap|secret|
deployment|service|serviceaccount|ingress``) as protobuf, as every apiserver accepts for
built-in types; custom resources refuse it with 415, as they do on a real server. Answers stay
JSON, which those clients also accept.

The wire format is the apiserver's: the ``k8s\\x00`` magic, then a ``runtime.Unknown``
(``typeMeta``, ``raw``) whose ``raw`` is the object message. Field numbers below follow
k8s.io/api's ``generated.proto`` for the fields clients set; unknown fields are skipped. Go
marshals non-pointer fields even when empty, so empty values are dropped the way JSON's
``omitempty`` would, except for fields marked ``keep`` (pointers in Go: present means set).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from kurator_sim import errors
from kurator_sim.resources import ResourceType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


@dataclass(frozen=True, slots=True)
class F:
    name: str
    kind: str
    """``string``, ``int``, ``bool``, ``bytes``, ``map`` (values in ``value``) or a message name."""
    repeated: bool = False
    keep: bool = False
    value: str = "string"
    inline: bool = False
    """An embedded Go struct (``json:",inline"``): its fields belong to the parent in JSON."""


def _meta_schemas() -> dict[str, dict[int, F]]:
    return {
        "ObjectMeta": {
            1: F("name", "string"),
            2: F("generateName", "string"),
            3: F("namespace", "string"),
            5: F("uid", "string"),
            6: F("resourceVersion", "string"),
            7: F("generation", "int"),
            8: F("creationTimestamp", "Time"),
            9: F("deletionTimestamp", "Time"),
            10: F("deletionGracePeriodSeconds", "int", keep=True),
            11: F("labels", "map"),
            12: F("annotations", "map"),
            13: F("ownerReferences", "OwnerReference", repeated=True),
            14: F("finalizers", "string", repeated=True),
            17: F("managedFields", "ManagedFieldsEntry", repeated=True),
        },
        "OwnerReference": {
            1: F("kind", "string"),
            3: F("name", "string"),
            4: F("uid", "string"),
            5: F("apiVersion", "string"),
            6: F("controller", "bool", keep=True),
            7: F("blockOwnerDeletion", "bool", keep=True),
        },
        "ManagedFieldsEntry": {
            1: F("manager", "string"),
            2: F("operation", "string"),
            3: F("apiVersion", "string"),
            4: F("time", "Time"),
            6: F("fieldsType", "string"),
            7: F("fieldsV1", "FieldsV1"),
            8: F("subresource", "string"),
        },
        "LabelSelector": {
            1: F("matchLabels", "map"),
            2: F("matchExpressions", "LabelSelectorRequirement", repeated=True),
        },
        "LabelSelectorRequirement": {
            1: F("key", "string"),
            2: F("operator", "string"),
            3: F("values", "string", repeated=True),
        },
    }


def _core_schemas() -> dict[str, dict[int, F]]:
    return {
        "Namespace": {1: F("metadata", "ObjectMeta"), 2: F("spec", "NamespaceSpec"), 3: F("status", "NamespaceStatus")},
        "NamespaceSpec": {1: F("finalizers", "string", repeated=True)},
        "NamespaceStatus": {1: F("phase", "string")},
        "ConfigMap": {
            1: F("metadata", "ObjectMeta"),
            2: F("data", "map"),
            3: F("binaryData", "map", value="bytes"),
            4: F("immutable", "bool", keep=True),
        },
        "Secret": {
            1: F("metadata", "ObjectMeta"),
            2: F("data", "map", value="bytes"),
            3: F("type", "string"),
            4: F("stringData", "map"),
            5: F("immutable", "bool", keep=True),
        },
        "ServiceAccount": {
            1: F("metadata", "ObjectMeta"),
            2: F("secrets", "ObjectReference", repeated=True),
            3: F("imagePullSecrets", "LocalObjectReference", repeated=True),
            4: F("automountServiceAccountToken", "bool", keep=True),
        },
        "ObjectReference": {
            1: F("kind", "string"),
            2: F("namespace", "string"),
            3: F("name", "string"),
            4: F("uid", "string"),
            5: F("apiVersion", "string"),
            6: F("resourceVersion", "string"),
            7: F("fieldPath", "string"),
        },
        "LocalObjectReference": {1: F("name", "string")},
        "Service": {1: F("metadata", "ObjectMeta"), 2: F("spec", "ServiceSpec")},
        "ServiceSpec": {
            1: F("ports", "ServicePort", repeated=True),
            2: F("selector", "map"),
            3: F("clusterIP", "string"),
            4: F("type", "string"),
            5: F("externalIPs", "string", repeated=True),
            7: F("sessionAffinity", "string"),
            8: F("loadBalancerIP", "string"),
            9: F("loadBalancerSourceRanges", "string", repeated=True),
            10: F("externalName", "string"),
            11: F("externalTrafficPolicy", "string"),
            12: F("healthCheckNodePort", "int"),
            13: F("publishNotReadyAddresses", "bool"),
            18: F("clusterIPs", "string", repeated=True),
            19: F("ipFamilies", "string", repeated=True),
            20: F("ipFamilyPolicy", "string", keep=True),
            21: F("allocateLoadBalancerNodePorts", "bool", keep=True),
            22: F("loadBalancerClass", "string", keep=True),
            23: F("internalTrafficPolicy", "string", keep=True),
        },
        "ServicePort": {
            1: F("name", "string"),
            2: F("protocol", "string"),
            3: F("port", "int"),
            4: F("targetPort", "IntOrString"),
            5: F("nodePort", "int"),
            6: F("appProtocol", "string", keep=True),
        },
        "Pod": {1: F("metadata", "ObjectMeta"), 2: F("spec", "PodSpec")},
        "PodTemplateSpec": {1: F("metadata", "ObjectMeta"), 2: F("spec", "PodSpec")},
        "PodSpec": {
            1: F("volumes", "Volume", repeated=True),
            2: F("containers", "Container", repeated=True),
            3: F("restartPolicy", "string"),
            4: F("terminationGracePeriodSeconds", "int", keep=True),
            5: F("activeDeadlineSeconds", "int", keep=True),
            6: F("dnsPolicy", "string"),
            7: F("nodeSelector", "map"),
            8: F("serviceAccountName", "string"),
            9: F("serviceAccount", "string"),
            10: F("nodeName", "string"),
            11: F("hostNetwork", "bool"),
            12: F("hostPID", "bool"),
            13: F("hostIPC", "bool"),
            15: F("imagePullSecrets", "LocalObjectReference", repeated=True),
            16: F("hostname", "string"),
            17: F("subdomain", "string"),
            19: F("schedulerName", "string"),
            20: F("initContainers", "Container", repeated=True),
            21: F("automountServiceAccountToken", "bool", keep=True),
            22: F("tolerations", "Toleration", repeated=True),
            24: F("priorityClassName", "string"),
            25: F("priority", "int", keep=True),
            30: F("enableServiceLinks", "bool", keep=True),
            31: F("preemptionPolicy", "string", keep=True),
        },
        "Volume": {1: F("name", "string"), 2: F("volumeSource", "VolumeSource", inline=True)},
        "VolumeSource": {
            1: F("hostPath", "HostPathVolumeSource"),
            2: F("emptyDir", "EmptyDirVolumeSource", keep=True),
            6: F("secret", "SecretVolumeSource"),
            10: F("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"),
            19: F("configMap", "ConfigMapVolumeSource"),
        },
        "HostPathVolumeSource": {1: F("path", "string"), 2: F("type", "string", keep=True)},
        "EmptyDirVolumeSource": {1: F("medium", "string"), 2: F("sizeLimit", "Quantity")},
        "SecretVolumeSource": {1: F("secretName", "string"), 3: F("defaultMode", "int", keep=True)},
        "PersistentVolumeClaimVolumeSource": {1: F("claimName", "string"), 2: F("readOnly", "bool")},
        "ConfigMapVolumeSource": {
            1: F("localObjectReference", "LocalObjectReference", inline=True),
            3: F("defaultMode", "int", keep=True),
            4: F("optional", "bool", keep=True),
        },
        "Container": {
            1: F("name", "string"),
            2: F("image", "string"),
            3: F("command", "string", repeated=True),
            4: F("args", "string", repeated=True),
            5: F("workingDir", "string"),
            6: F("ports", "ContainerPort", repeated=True),
            7: F("env", "EnvVar", repeated=True),
            8: F("resources", "ResourceRequirements"),
            9: F("volumeMounts", "VolumeMount", repeated=True),
            13: F("terminationMessagePath", "string"),
            14: F("imagePullPolicy", "string"),
            16: F("stdin", "bool"),
            17: F("stdinOnce", "bool"),
            18: F("tty", "bool"),
            20: F("terminationMessagePolicy", "string"),
        },
        "ContainerPort": {
            1: F("name", "string"),
            2: F("hostPort", "int"),
            3: F("containerPort", "int"),
            4: F("protocol", "string"),
            5: F("hostIP", "string"),
        },
        "EnvVar": {1: F("name", "string"), 2: F("value", "string")},
        "VolumeMount": {
            1: F("name", "string"),
            2: F("readOnly", "bool"),
            3: F("mountPath", "string"),
            4: F("subPath", "string"),
        },
        "ResourceRequirements": {1: F("limits", "map", value="Quantity"), 2: F("requests", "map", value="Quantity")},
        "Toleration": {
            1: F("key", "string"),
            2: F("operator", "string"),
            3: F("value", "string"),
            4: F("effect", "string"),
            5: F("tolerationSeconds", "int", keep=True),
        },
    }


def _other_schemas() -> dict[str, dict[int, F]]:
    return {
        "Deployment": {1: F("metadata", "ObjectMeta"), 2: F("spec", "DeploymentSpec")},
        "DeploymentSpec": {
            1: F("replicas", "int", keep=True),
            2: F("selector", "LabelSelector"),
            3: F("template", "PodTemplateSpec"),
            4: F("strategy", "DeploymentStrategy"),
            5: F("minReadySeconds", "int"),
            6: F("revisionHistoryLimit", "int", keep=True),
            7: F("paused", "bool"),
            9: F("progressDeadlineSeconds", "int", keep=True),
        },
        "DeploymentStrategy": {1: F("type", "string"), 2: F("rollingUpdate", "RollingUpdateDeployment")},
        "RollingUpdateDeployment": {1: F("maxUnavailable", "IntOrString"), 2: F("maxSurge", "IntOrString")},
        "Ingress": {1: F("metadata", "ObjectMeta"), 2: F("spec", "IngressSpec")},
        "IngressSpec": {
            1: F("defaultBackend", "IngressBackend"),
            2: F("tls", "IngressTLS", repeated=True),
            3: F("rules", "IngressRule", repeated=True),
            4: F("ingressClassName", "string", keep=True),
        },
        "IngressTLS": {1: F("hosts", "string", repeated=True), 2: F("secretName", "string")},
        "IngressRule": {1: F("host", "string"), 2: F("ingressRuleValue", "IngressRuleValue", inline=True)},
        "IngressRuleValue": {1: F("http", "HTTPIngressRuleValue")},
        "HTTPIngressRuleValue": {1: F("paths", "HTTPIngressPath", repeated=True)},
        "HTTPIngressPath": {
            1: F("path", "string"),
            2: F("backend", "IngressBackend"),
            3: F("pathType", "string", keep=True),
        },
        "IngressBackend": {1: F("resource", "TypedLocalObjectReference"), 4: F("service", "IngressServiceBackend")},
        "TypedLocalObjectReference": {
            1: F("apiGroup", "string", keep=True),
            2: F("kind", "string"),
            3: F("name", "string"),
        },
        "IngressServiceBackend": {1: F("name", "string"), 2: F("port", "ServiceBackendPort")},
        "ServiceBackendPort": {1: F("name", "string"), 2: F("number", "int")},
        "Lease": {1: F("metadata", "ObjectMeta"), 2: F("spec", "LeaseSpec")},
        "LeaseSpec": {
            1: F("holderIdentity", "string", keep=True),
            2: F("leaseDurationSeconds", "int", keep=True),
            3: F("acquireTime", "MicroTime"),
            4: F("renewTime", "MicroTime"),
            5: F("leaseTransitions", "int", keep=True),
        },
    }


SCHEMAS: dict[str, dict[int, F]] = {**_meta_schemas(), **_core_schemas(), **_other_schemas()}
KINDS = frozenset(
    {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "Pod", "Deployment", "Ingress", "Lease"}
)


class _MalformedError(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise _MalformedError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _MalformedError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of every field of a message."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            if len(value) != length:
                raise _MalformedError("truncated field")
            pos += length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise _MalformedError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes, micro: bool) -> str | None:
    seconds = nanos = 0
    for number, _, value in _fields(data):
        if number == 1 and isinstance(value, int):
            seconds = _signed(value)
        elif number == 2 and isinstance(value, int):
            nanos = _signed(value)
    if seconds == 0 and nanos == 0:
        return None
    when = datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000 if micro else 0)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _special(kind: str, data: bytes) -> Any:
    fields = {number: value for number, _, value in _fields(data)}
    if kind in ("Time", "MicroTime"):
        return _time(data, kind == "MicroTime")
    if kind == "Quantity":
        raw = fields.get(1, b"")
        return raw.decode() if isinstance(raw, bytes) else None
    if kind == "IntOrString":
        if fields.get(1, 0) == 1:
            text = fields.get(3, b"")
            return text.decode() if isinstance(text, bytes) else ""
        number = fields.get(2, 0)
        return _signed(number) if isinstance(number, int) else 0
    if kind == "FieldsV1":
        raw = fields.get(1, b"")
        return orjson.loads(raw) if isinstance(raw, bytes) and raw else None
    raise _MalformedError(f"no schema for {kind}")


_SPECIAL = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1"})


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "string":
        return value.decode() if isinstance(value, bytes) else None
    if kind == "bytes":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else None
    if kind == "int":
        return _signed(value) if isinstance(value, int) else None
    if kind == "bool":
        return bool(value) if isinstance(value, int) else None
    if not isinstance(value, bytes):
        return None
    if kind in _SPECIAL:
        return _special(kind, value)
    return _message(kind, value)


def _packed(kind: str, value: bytes) -> list[Any]:
    out: list[Any] = []
    pos = 0
    while pos < len(value):
        number, pos = _varint(value, pos)
        out.append(_scalar(kind, number))
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == {} or value == []


def _message(name: str, data: bytes) -> dict[str, Any]:
    schema = SCHEMAS.get(name, {})
    out: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        field = schema.get(number)
        if field is None:
            continue  # a field we do not model: dropped, like an unknown JSON field
        if field.kind == "map":
            if not isinstance(value, bytes):
                raise _MalformedError(f"{field.name}: map entry is not a message")
            entry = {n: v for n, _, v in _fields(value)}
            key = entry.get(1, b"")
            out.setdefault(field.name, {})[key.decode() if isinstance(key, bytes) else str(key)] = _scalar(
                field.value, entry.get(2, b"")
            )
            continue
        if field.repeated and wire == 2 and field.kind in ("int", "bool"):
            out.setdefault(field.name, []).extend(_packed(field.kind, value))  # type: ignore[arg-type]
            continue
        decoded = _scalar(field.kind, value)
        if field.inline and isinstance(decoded, dict):
            out.update(decoded)
        elif field.repeated:
            out.setdefault(field.name, []).append(decoded)
        elif field.keep or not _empty(decoded):
            out[field.name] = decoded
    return {k: v for k, v in out.items() if not _empty(v) or _keeps(schema, k)}


def _keeps(schema: dict[int, F], name: str) -> bool:
    return any(f.name == name and f.keep for f in schema.values())


def decode(data: bytes, rt: ResourceType) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded ``rt`` object.

    Raises:
        ApiError: 415 for kinds without protobuf support (custom resources), 400 if malformed.
    """
    if not rt.builtin or rt.kind not in KINDS:
        raise errors.unsupported_media_type(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"application/json, application/yaml (requested {MEDIA_TYPE})"
        )
    if not data.startswith(MAGIC):
        raise errors.bad_request(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    try:
        envelope = {number: value for number, _, value in _fields(data[len(MAGIC) :])}
        type_meta = envelope.get(1, b"")
        raw = envelope.get(2, b"")
        if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
            raise _MalformedError("bad envelope")
        meta = {number: value for number, _, value in _fields(type_meta)}
        obj = _message(rt.kind, raw)
    except (_MalformedError, UnicodeDecodeError, ValueError, orjson.JSONDecodeError) as exc:
        raise errors.bad_request(f"unable to decode protobuf body: {exc}") from exc
    api_version, kind = meta.get(1, b""), meta.get(2, b"")
    head: dict[str, Any] = {}
    if isinstance(api_version, bytes) and api_version:
        head["apiVersion"] = api_version.decode()
    if isinstance(kind, bytes) and kind:
        head["kind"] = kind.decode()
    return {**head, **obj}
