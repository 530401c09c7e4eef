"""Patch/apply metadata for the built-in kinds the simulator serves.

Owns ``patch_meta_for(group, version, kind)``: the strategic-merge tags (``patchStrategy``,
``patchMergeKey``) and SSA list markers (``+listType``, ``+listMapKey``, ``+mapType``,
``+structType``) of k8s.io/api, transcribed for the fields where they matter. Fields left out
are open-struct / atomic-list by default (see ``patchmeta``), which is what the apiserver does
for every untagged field. Custom resources get ``None``: the apiserver refuses strategic merge
patches for them.
"""

from __future__ import annotations

from typing import Final

from kurator_sim.machinery.patchmeta import (
    PatchMeta,
    atomic_list,
    keyed_list,
    mapping,
    required,
    set_list,
    struct,
)

__all__ = ["BUILTIN_KINDS", "patch_meta_for"]

# metav1.LabelSelector is +structType=atomic.
LABEL_SELECTOR: Final = struct({"matchLabels": mapping(), "matchExpressions": atomic_list()}, atomic=True)
# metav1.Condition and the per-kind condition structs: merge by type.
CONDITIONS: Final = keyed_list("type")

OBJECT_META: Final = required(
    struct(
        {
            "labels": mapping(),
            "annotations": mapping(),
            "finalizers": set_list(),
            "ownerReferences": keyed_list("uid"),
            "managedFields": atomic_list(),
        }
    )
)

_PROTOCOL_DEFAULT: Final = {"protocol": "TCP"}

CONTAINER: Final = struct(
    {
        "ports": keyed_list(
            "containerPort",
            map_keys=("containerPort", "protocol"),
            key_defaults=_PROTOCOL_DEFAULT,
        ),
        "env": keyed_list("name"),
        "volumeMounts": keyed_list("mountPath"),
        "volumeDevices": keyed_list("devicePath"),
        "resources": required(
            struct(
                {
                    "limits": mapping(),
                    "requests": mapping(),
                    "claims": keyed_list(None, map_keys=("name",)),
                }
            )
        ),
        "command": atomic_list(),
        "args": atomic_list(),
        "envFrom": atomic_list(),
        "resizePolicy": atomic_list(),
    }
)

POD_SPEC: Final = required(
    struct(
        {
            "volumes": keyed_list("name", retain_keys=True),
            "initContainers": keyed_list("name", CONTAINER),
            # `json:"containers"` has no omitempty: never "added" as a whole.
            "containers": required(keyed_list("name", CONTAINER)),
            "ephemeralContainers": keyed_list("name", CONTAINER),
            "imagePullSecrets": keyed_list("name"),
            "hostAliases": keyed_list("ip", struct({"hostnames": atomic_list()})),
            # PodSpec.Tolerations has no patchStrategy: strategic merge replaces the list.
            "tolerations": atomic_list(),
            "nodeSelector": mapping(atomic=True),
            "topologySpreadConstraints": keyed_list(
                "topologyKey",
                struct({"labelSelector": LABEL_SELECTOR}),
                map_keys=("topologyKey", "whenUnsatisfiable"),
            ),
            "schedulingGates": keyed_list("name"),
            "resourceClaims": keyed_list("name", retain_keys=True),
            "readinessGates": atomic_list(),
            "overhead": mapping(),
        }
    )
)

POD_STATUS: Final = required(
    struct(
        {
            "conditions": CONDITIONS,
            "podIPs": keyed_list("ip"),
            "hostIPs": keyed_list("ip"),
            "containerStatuses": atomic_list(),
            "initContainerStatuses": atomic_list(),
            "ephemeralContainerStatuses": atomic_list(),
            "resourceClaimStatuses": keyed_list("name", retain_keys=True),
        }
    )
)

POD_TEMPLATE_SPEC: Final = required(struct({"metadata": OBJECT_META, "spec": POD_SPEC}))


def _root(spec: PatchMeta | None = None, status: PatchMeta | None = None, **extra: PatchMeta) -> PatchMeta:
    # ObjectMeta, spec and status are non-pointer struct fields of every built-in kind.
    fields: dict[str, PatchMeta] = {"metadata": OBJECT_META, **extra}
    if spec is not None:
        fields["spec"] = required(spec)
    if status is not None:
        fields["status"] = required(status)
    return struct(fields)


_WORKLOAD_STATUS: Final = struct({"conditions": CONDITIONS})

DEPLOYMENT: Final = _root(
    struct(
        {
            "selector": LABEL_SELECTOR,
            "template": POD_TEMPLATE_SPEC,
            # DeploymentSpec.Strategy carries patchStrategy:"retainKeys".
            "strategy": required(struct(retain_keys=True)),
        }
    ),
    _WORKLOAD_STATUS,
)
REPLICA_SET: Final = _root(struct({"selector": LABEL_SELECTOR, "template": POD_TEMPLATE_SPEC}), _WORKLOAD_STATUS)
DAEMON_SET: Final = _root(
    struct(
        {
            "selector": LABEL_SELECTOR,
            "template": POD_TEMPLATE_SPEC,
            "updateStrategy": required(struct(retain_keys=True)),
        }
    ),
    _WORKLOAD_STATUS,
)
STATEFUL_SET: Final = _root(
    struct(
        {
            "selector": LABEL_SELECTOR,
            "template": POD_TEMPLATE_SPEC,
            "volumeClaimTemplates": atomic_list(),
            "updateStrategy": required(struct(retain_keys=True)),
        }
    ),
    _WORKLOAD_STATUS,
)
POD: Final = _root(POD_SPEC, POD_STATUS)
POD_TEMPLATE: Final = _root(template=POD_TEMPLATE_SPEC)

SERVICE: Final = _root(
    struct(
        {
            "ports": keyed_list("port", map_keys=("port", "protocol"), key_defaults=_PROTOCOL_DEFAULT),
            "selector": mapping(atomic=True),
            "externalIPs": atomic_list(),
            "clusterIPs": atomic_list(),
            "ipFamilies": atomic_list(),
            "loadBalancerSourceRanges": atomic_list(),
        }
    ),
    struct({"loadBalancer": required(struct({"ingress": atomic_list()})), "conditions": CONDITIONS}),
)
CONFIG_MAP: Final = _root(data=mapping(), binaryData=mapping())
SECRET: Final = _root(data=mapping(), stringData=mapping())
NAMESPACE: Final = _root(struct({"finalizers": atomic_list()}), struct({"conditions": CONDITIONS}))
NODE: Final = _root(
    struct({"podCIDRs": set_list(), "taints": atomic_list()}),
    struct(
        {
            "conditions": CONDITIONS,
            # NodeStatus.Addresses merges by type but is +listType=atomic for SSA.
            "addresses": keyed_list("type", ssa_atomic=True),
            "capacity": mapping(),
            "allocatable": mapping(),
            "images": atomic_list(),
            "daemonEndpoints": required(struct()),
            "nodeInfo": required(struct()),
            "volumesInUse": atomic_list(),
            "volumesAttached": atomic_list(),
        }
    ),
)
INGRESS: Final = _root(
    struct({"rules": atomic_list(), "tls": atomic_list()}),
    struct({"loadBalancer": required(struct({"ingress": atomic_list()}))}),
)
LEASE: Final = _root(struct())
EVENT: Final = _root()

BUILTIN_KINDS: Final[dict[tuple[str, str, str], PatchMeta]] = {
    ("", "v1", "Pod"): POD,
    ("", "v1", "PodTemplate"): POD_TEMPLATE,
    ("", "v1", "Service"): SERVICE,
    ("", "v1", "ConfigMap"): CONFIG_MAP,
    ("", "v1", "Secret"): SECRET,
    ("", "v1", "Namespace"): NAMESPACE,
    ("", "v1", "Node"): NODE,
    ("", "v1", "Event"): EVENT,
    ("apps", "v1", "Deployment"): DEPLOYMENT,
    ("apps", "v1", "ReplicaSet"): REPLICA_SET,
    ("apps", "v1", "DaemonSet"): DAEMON_SET,
    ("apps", "v1", "StatefulSet"): STATEFUL_SET,
    ("networking.k8s.io", "v1", "Ingress"): INGRESS,
    ("coordination.k8s.io", "v1", "Lease"): LEASE,
    ("events.k8s.io", "v1", "Event"): EVENT,
}


def patch_meta_for(group: str, version: str, kind: str) -> PatchMeta | None:
    """Metadata for a built-in kind, or None (custom resources: no strategic merge patch)."""
    return BUILTIN_KINDS.get((group, version, kind))
