"""Minimal OpenAPI schemas for the built-in kinds the simulator serves (Namespace, Node,
Secret, ConfigMap, Service, Event, Pod, Deployment, Ingress, Lease).

They exist so ``kubectl explain deployment.spec.replicas`` prints something useful and so the
OpenAPI v3 documents describe every served kind. They are deliberately incomplete: every
object level that does not list all of its upstream fields carries
``x-kubernetes-preserve-unknown-fields: true`` so that validating or pruning with them never
rejects or strips a valid object. Descriptions paraphrase the upstream API reference.
``metadata`` is left out: the OpenAPI builder adds the standard ObjectMeta reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

Schema = dict[str, Any]


def _s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _i(description: str, fmt: str = "int32", **extra: Any) -> Schema:
    return {"type": "integer", "format": fmt, "description": description, **extra}


def _b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _time(description: str) -> Schema:
    return {"type": "string", "format": "date-time", "description": description}


def _int_or_string(description: str) -> Schema:
    return {"x-kubernetes-int-or-string": True, "description": description}


def _arr(description: str, items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "description": description, "items": items, **extra}


def _map(description: str, values: Schema | None = None) -> Schema:
    return {"type": "object", "description": description, "additionalProperties": values or {"type": "string"}}


def _obj(
    description: str, properties: dict[str, Schema], *, required: tuple[str, ...] = (), complete: bool = False
) -> Schema:
    out: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        out["required"] = list(required)
    if not complete:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _free(description: str) -> Schema:
    """An object whose fields we do not describe at all."""
    return {"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": True}


def _quantity(description: str) -> Schema:
    return _int_or_string(description)


_LABEL_SELECTOR: Final = _obj(
    "A label query over a set of resources. matchLabels and matchExpressions are ANDed; an empty "
    "selector matches all objects, a null selector matches none.",
    {
        "matchLabels": _map(
            "Map of {key,value} pairs; each one is equivalent to an In expression with a single value."
        ),
        "matchExpressions": _arr(
            "A list of label selector requirements. The requirements are ANDed.",
            _obj(
                "A selector requirement: a key, an operator and values.",
                {
                    "key": _s("The label key that the selector applies to."),
                    "operator": _s("How the key relates to the values: In, NotIn, Exists or DoesNotExist."),
                    "values": _arr("Values for In/NotIn; must be empty for Exists/DoesNotExist.", {"type": "string"}),
                },
                required=("key", "operator"),
                complete=True,
            ),
        ),
    },
    complete=True,
)

_CONDITION: Final = _obj(
    "A condition describing one aspect of the object's current state.",
    {
        "type": _s("Type of the condition, e.g. Ready or Available."),
        "status": _s("Status of the condition: True, False or Unknown."),
        "reason": _s("Machine-readable, CamelCase reason for the last transition."),
        "message": _s("Human-readable details about the last transition."),
        "lastTransitionTime": _time("Last time the condition moved from one status to another."),
        "lastUpdateTime": _time("Last time the condition was updated."),
        "lastProbeTime": _time("Last time the condition was probed."),
        "lastHeartbeatTime": _time("Last time the condition was reported by its source."),
    },
    required=("type", "status"),
)

_CONTAINER: Final = _obj(
    "A single application container that runs within a pod.",
    {
        "name": _s("Name of the container, a DNS label unique within the pod. Cannot be updated."),
        "image": _s("Container image name."),
        "imagePullPolicy": _s(
            "When to pull the image: Always, Never or IfNotPresent.", enum=["Always", "IfNotPresent", "Never"]
        ),
        "command": _arr("Entrypoint array; the image's ENTRYPOINT is used if not given.", {"type": "string"}),
        "args": _arr("Arguments to the entrypoint; the image's CMD is used if not given.", {"type": "string"}),
        "workingDir": _s("The container's working directory."),
        "env": _arr(
            "Environment variables to set in the container.",
            _obj(
                "An environment variable.",
                {
                    "name": _s("Name of the environment variable."),
                    "value": _s("Value of the variable; $(VAR) references are expanded."),
                    "valueFrom": _free("Source for the value: a field, resource, ConfigMap key or Secret key."),
                },
                required=("name",),
            ),
            **{"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        ),
        "ports": _arr(
            "Network ports exposed by the container (informational).",
            _obj(
                "A network port in a single container.",
                {
                    "name": _s("An IANA_SVC_NAME naming the port, unique within the pod."),
                    "containerPort": _i("Port number on the pod's IP address."),
                    "protocol": _s("Protocol for the port: TCP, UDP or SCTP. Defaults to TCP."),
                    "hostPort": _i("Port number on the host."),
                },
                required=("containerPort",),
            ),
            **{"x-kubernetes-patch-merge-key": "containerPort", "x-kubernetes-patch-strategy": "merge"},
        ),
        "resources": _obj(
            "Compute resources required by this container.",
            {
                "requests": _map("Minimum amount of compute resources required.", _quantity("A resource quantity.")),
                "limits": _map("Maximum amount of compute resources allowed.", _quantity("A resource quantity.")),
            },
        ),
        "volumeMounts": _arr(
            "Volumes to mount into the container's filesystem.",
            _obj(
                "A mounting of a volume within a container.",
                {
                    "name": _s("Name of the volume to mount."),
                    "mountPath": _s("Path within the container at which the volume is mounted."),
                    "readOnly": _b("Mount read-only if true."),
                    "subPath": _s("Path within the volume to mount instead of its root."),
                },
                required=("name", "mountPath"),
            ),
            **{"x-kubernetes-patch-merge-key": "mountPath", "x-kubernetes-patch-strategy": "merge"},
        ),
        "livenessProbe": _free("Periodic probe of container liveness."),
        "readinessProbe": _free("Periodic probe of container service readiness."),
        "securityContext": _free("Security options the container runs with."),
    },
    required=("name",),
)

_POD_SPEC: Final = _obj(
    "Specification of the desired behavior of the pod.",
    {
        "containers": _arr(
            "Containers belonging to the pod. There must be at least one.",
            _CONTAINER,
            **{"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        ),
        "initContainers": _arr(
            "Containers run to completion, in order, before the app containers start.",
            _CONTAINER,
            **{"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        ),
        "restartPolicy": _s(
            "Restart policy for all containers: Always, OnFailure or Never.", enum=["Always", "Never", "OnFailure"]
        ),
        "nodeName": _s("Request to schedule the pod onto this node; set by the scheduler when empty."),
        "nodeSelector": _map("Labels a node must have for the pod to fit on it."),
        "serviceAccountName": _s("Name of the ServiceAccount used to run this pod."),
        "schedulerName": _s("Scheduler that dispatches the pod; the default scheduler if empty."),
        "priorityClassName": _s("Name of the pod's PriorityClass."),
        "hostNetwork": _b("Use the host's network namespace."),
        "affinity": _free("Scheduling constraints (node, pod and pod anti-affinity)."),
        "tolerations": _arr(
            "Tolerations of node taints.",
            _obj(
                "Tolerates any taint matching key, value and effect using the operator.",
                {
                    "key": _s("Taint key the toleration applies to; empty matches all keys."),
                    "operator": _s("Exists or Equal; defaults to Equal."),
                    "value": _s("Taint value the toleration matches."),
                    "effect": _s("Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute."),
                    "tolerationSeconds": _i("How long a NoExecute taint is tolerated.", "int64"),
                },
            ),
        ),
        "volumes": _arr(
            "Volumes that containers of the pod can mount.",
            _obj(
                "A named volume in a pod.",
                {"name": _s("Name of the volume, a DNS label unique within the pod.")},
                required=("name",),
            ),
            **{"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"},
        ),
        "terminationGracePeriodSeconds": _i("Seconds the pod may take to terminate gracefully.", "int64"),
    },
    required=("containers",),
)

_POD_TEMPLATE: Final = _obj(
    "Describes the pods that will be created.",
    {
        "metadata": _obj(
            "Metadata of the pods created from this template.",
            {"labels": _map("Labels of the created pods."), "annotations": _map("Annotations of the created pods.")},
        ),
        "spec": _POD_SPEC,
    },
)

_LOAD_BALANCER_STATUS: Final = _obj(
    "Status of a load-balancer.",
    {
        "ingress": _arr(
            "Ingress points of the load-balancer.",
            _obj(
                "An ingress point.",
                {"ip": _s("IP address of the ingress point."), "hostname": _s("Hostname of the ingress point.")},
            ),
        )
    },
)


def _namespace() -> Schema:
    return _obj(
        "Namespace provides a scope for names. Use of multiple namespaces is optional.",
        {
            "spec": _obj(
                "Spec defines the behavior of the Namespace.",
                {
                    "finalizers": _arr(
                        "Finalizers that must be empty before the namespace is removed from storage.",
                        {"type": "string"},
                    )
                },
            ),
            "status": _obj(
                "Status describes the current status of the Namespace.",
                {
                    "phase": _s(
                        "Current lifecycle phase of the namespace: Active or Terminating.",
                        enum=["Active", "Terminating"],
                    ),
                    "conditions": _arr("Latest observations of the namespace's state.", _CONDITION),
                },
            ),
        },
    )


def _node() -> Schema:
    return _obj(
        "Node is a worker node. Each node has a unique identifier in the cache (i.e. in etcd).",
        {
            "spec": _obj(
                "Spec defines the behavior of the node.",
                {
                    "podCIDR": _s("Pod IP range assigned to the node."),
                    "providerID": _s("ID of the node assigned by the cloud provider."),
                    "unschedulable": _b("Controls node schedulability of new pods."),
                    "taints": _arr(
                        "Taints of the node.",
                        _obj(
                            "A taint repels pods that do not tolerate it.",
                            {
                                "key": _s("The taint key."),
                                "value": _s("The taint value."),
                                "effect": _s("NoSchedule, PreferNoSchedule or NoExecute."),
                                "timeAdded": _time("When the taint was added (NoExecute only)."),
                            },
                            required=("key", "effect"),
                        ),
                    ),
                },
            ),
            "status": _obj(
                "Most recently observed status of the node.",
                {
                    "capacity": _map("Total resources of the node.", _quantity("A resource quantity.")),
                    "allocatable": _map(
                        "Resources of the node available for scheduling.", _quantity("A resource quantity.")
                    ),
                    "conditions": _arr("Current service state of the node, e.g. Ready.", _CONDITION),
                    "addresses": _arr(
                        "Addresses reachable to the node.",
                        _obj(
                            "An address of the node.",
                            {"type": _s("Hostname, InternalIP, ExternalIP, ..."), "address": _s("The address.")},
                        ),
                    ),
                    "nodeInfo": _free("General information about the node (kubelet version, OS, architecture)."),
                    "phase": _s("Deprecated lifecycle phase of the node."),
                },
            ),
        },
    )


def _secret() -> Schema:
    return _obj(
        "Secret holds secret data of a certain type. The total bytes of the values in data must be less than 1 MiB.",
        {
            "data": _map("Secret data; values are base64-encoded bytes.", {"type": "string", "format": "byte"}),
            "stringData": _map("Write-only convenience field: non-binary values merged into data on write."),
            "type": _s("Used to facilitate programmatic handling of secret data, e.g. Opaque or kubernetes.io/tls."),
            "immutable": _b("If true, only metadata can be modified once the Secret is created."),
        },
        complete=True,
    )


def _configmap() -> Schema:
    return _obj(
        "ConfigMap holds configuration data for pods to consume.",
        {
            "data": _map("Configuration data as UTF-8 strings."),
            "binaryData": _map("Binary configuration data, base64-encoded.", {"type": "string", "format": "byte"}),
            "immutable": _b("If true, only metadata can be modified once the ConfigMap is created."),
        },
        complete=True,
    )


def _service() -> Schema:
    return _obj(
        "Service is a named abstraction of software service (for example, mysql) consisting of a local port "
        "that the proxy listens on, and the selector that determines which pods will answer requests.",
        {
            "spec": _obj(
                "Spec defines the behavior of a service.",
                {
                    "type": _s(
                        "How the Service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.",
                        enum=["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
                    ),
                    "selector": _map("Route service traffic to pods with labels matching this selector."),
                    "ports": _arr(
                        "The ports exposed by this service.",
                        _obj(
                            "A port of the service.",
                            {
                                "name": _s("Name of this port within the service."),
                                "protocol": _s("TCP, UDP or SCTP. Defaults to TCP."),
                                "port": _i("The port exposed by this service."),
                                "targetPort": _int_or_string("Number or name of the port to access on the pods."),
                                "nodePort": _i("Port on each node for NodePort or LoadBalancer services."),
                                "appProtocol": _s("The application protocol of this port."),
                            },
                            required=("port",),
                        ),
                        **{"x-kubernetes-patch-merge-key": "port", "x-kubernetes-patch-strategy": "merge"},
                    ),
                    "clusterIP": _s("IP address of the service, usually assigned randomly."),
                    "clusterIPs": _arr("IP addresses assigned to the service.", {"type": "string"}),
                    "externalName": _s("External reference returned as a CNAME record (ExternalName services)."),
                    "sessionAffinity": _s("ClientIP or None. Defaults to None."),
                },
            ),
            "status": _obj(
                "Most recently observed status of the service.",
                {
                    "loadBalancer": _LOAD_BALANCER_STATUS,
                    "conditions": _arr("Current state of the service.", _CONDITION),
                },
            ),
        },
    )


def _event() -> Schema:
    return _obj(
        "Event is a report of an event somewhere in the cluster.",
        {
            "involvedObject": _obj(
                "The object this event is about.",
                {
                    "apiVersion": _s("API version of the referent."),
                    "kind": _s("Kind of the referent."),
                    "name": _s("Name of the referent."),
                    "namespace": _s("Namespace of the referent."),
                    "uid": _s("UID of the referent."),
                    "fieldPath": _s("A piece of the object instead of the whole, e.g. spec.containers{name}."),
                    "resourceVersion": _s("Specific resourceVersion of the referent."),
                },
            ),
            "reason": _s("Short, machine-understandable reason for the transition into the object's current status."),
            "message": _s("A human-readable description of the status of this operation."),
            "type": _s("Type of this event: Normal or Warning."),
            "count": _i("The number of times this event has occurred."),
            "firstTimestamp": _time("The time at which the event was first recorded."),
            "lastTimestamp": _time("The time at which the most recent occurrence of this event was recorded."),
            "eventTime": {
                "type": "string",
                "format": "date-time",
                "description": "Time when this event was first observed (MicroTime).",
            },
            "source": _obj(
                "The component reporting this event.",
                {
                    "component": _s("Component from which the event is generated."),
                    "host": _s("Node name on which the event is generated."),
                },
            ),
            "reportingComponent": _s("Name of the controller that emitted this event, e.g. kubernetes.io/kubelet."),
            "reportingInstance": _s("ID of the controller instance, e.g. kubelet-xyzf."),
            "action": _s("What action was taken or failed regarding the involved object."),
            "related": _free("Optional secondary object for more complex actions."),
            "series": _free("Data about the event series this event represents."),
        },
    )


def _pod() -> Schema:
    return _obj(
        (
            "Pod is a collection of containers that can run on a host. This "
            "resource is created by clients and scheduled onto hosts."
        ),
        {
            "spec": _POD_SPEC,
            "status": _obj(
                "Most recently observed status of the pod.",
                {
                    "phase": _s(
                        "Where the pod is in its lifecycle: Pending, Running, Succeeded, Failed or Unknown.",
                        enum=["Failed", "Pending", "Running", "Succeeded", "Unknown"],
                    ),
                    "conditions": _arr("Current service state of the pod.", _CONDITION),
                    "hostIP": _s("IP address of the host the pod is assigned to."),
                    "podIP": _s("IP address allocated to the pod."),
                    "startTime": _time("When the pod was acknowledged by the kubelet."),
                    "containerStatuses": _arr(
                        "One entry per container in the manifest.",
                        _obj(
                            "Details of a container's current condition.",
                            {
                                "name": _s("Name of the container."),
                                "ready": _b("Whether the container passes its readiness probe."),
                                "restartCount": _i("Number of times the container has been restarted."),
                                "image": _s("Container image the container is running."),
                                "state": _free("Details about the container's current condition."),
                            },
                        ),
                    ),
                    "message": _s("Human-readable message about why the pod is in this condition."),
                    "reason": _s("Brief CamelCase reason for the pod's state, e.g. Evicted."),
                },
            ),
        },
    )


def _deployment() -> Schema:
    return _obj(
        "Deployment enables declarative updates for Pods and ReplicaSets.",
        {
            "spec": _obj(
                "Specification of the desired behavior of the Deployment.",
                {
                    "replicas": _i(
                        "Number of desired pods. This is a pointer to distinguish between explicit zero and not "
                        "specified. Defaults to 1."
                    ),
                    "selector": _LABEL_SELECTOR
                    | {"description": "Label selector for pods. Must match the pod template's labels."},
                    "template": _POD_TEMPLATE,
                    "strategy": _obj(
                        "The deployment strategy used to replace existing pods with new ones.",
                        {
                            "type": _s(
                                "Recreate or RollingUpdate. Default is RollingUpdate.",
                                enum=["Recreate", "RollingUpdate"],
                            ),
                            "rollingUpdate": _obj(
                                "Rolling update config params; present only if type is RollingUpdate.",
                                {
                                    "maxSurge": _int_or_string(
                                        "Pods that can be scheduled above the desired count (number or percentage)."
                                    ),
                                    "maxUnavailable": _int_or_string(
                                        "Pods that can be unavailable during the update (number or percentage)."
                                    ),
                                },
                                complete=True,
                            ),
                        },
                        complete=True,
                    ),
                    "minReadySeconds": _i(
                        "Seconds a new pod must be ready without crashing to be considered available. Defaults to 0."
                    ),
                    "revisionHistoryLimit": _i("Number of old ReplicaSets to retain for rollback. Defaults to 10."),
                    "paused": _b("Indicates that the deployment is paused."),
                    "progressDeadlineSeconds": _i(
                        "Seconds the deployment may take to make progress before it "
                        "is considered failed. Defaults to 600s."
                    ),
                },
                required=("selector", "template"),
            ),
            "status": _obj(
                "Most recently observed status of the Deployment.",
                {
                    "observedGeneration": _i("The generation observed by the deployment controller.", "int64"),
                    "replicas": _i("Total number of non-terminated pods targeted by this deployment."),
                    "updatedReplicas": _i("Non-terminated pods that have the desired template spec."),
                    "readyReplicas": _i("Pods targeted by this deployment with a Ready condition."),
                    "availableReplicas": _i(
                        "Pods targeted by this deployment that have been available for minReadySeconds."
                    ),
                    "unavailableReplicas": _i(
                        "Pods still required for the deployment to have 100% available capacity."
                    ),
                    "conditions": _arr("Latest observations of the deployment's state.", _CONDITION),
                },
            ),
        },
    )


def _ingress() -> Schema:
    backend = _obj(
        "Where matching traffic is sent.",
        {
            "service": _obj(
                "A Service backend.",
                {
                    "name": _s("Name of the referenced service."),
                    "port": _obj(
                        "Port of the referenced service.",
                        {
                            "name": _s("Name of the port on the Service."),
                            "number": _i("Numerical port number on the Service."),
                        },
                        complete=True,
                    ),
                },
                required=("name",),
                complete=True,
            ),
            "resource": _free("An ObjectRef to another Kubernetes resource in the namespace of the Ingress."),
        },
        complete=True,
    )
    return _obj(
        "Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend.",
        {
            "spec": _obj(
                "Spec is the desired state of the Ingress.",
                {
                    "ingressClassName": _s("Name of the IngressClass cluster resource handling this Ingress."),
                    "defaultBackend": backend,
                    "rules": _arr(
                        "Host rules; traffic not matching any rule goes to the default backend.",
                        _obj(
                            "Maps requests for a host to backends.",
                            {
                                "host": _s(
                                    "Fully qualified domain name of a network host (may start with a wildcard label)."
                                ),
                                "http": _obj(
                                    "HTTP rule: a list of paths mapped to backends.",
                                    {
                                        "paths": _arr(
                                            "Paths that map requests to backends.",
                                            _obj(
                                                "A path and the backend it maps to.",
                                                {
                                                    "path": _s("Matched against the path of an incoming request."),
                                                    "pathType": _s(
                                                        "Exact, Prefix or ImplementationSpecific.",
                                                        enum=["Exact", "ImplementationSpecific", "Prefix"],
                                                    ),
                                                    "backend": backend,
                                                },
                                                required=("pathType", "backend"),
                                                complete=True,
                                            ),
                                        )
                                    },
                                    required=("paths",),
                                    complete=True,
                                ),
                            },
                            complete=True,
                        ),
                    ),
                    "tls": _arr(
                        "TLS configuration.",
                        _obj(
                            "TLS configuration for hosts.",
                            {
                                "hosts": _arr("Hosts included in the TLS certificate.", {"type": "string"}),
                                "secretName": _s("Secret holding the TLS key pair."),
                            },
                            complete=True,
                        ),
                    ),
                },
                complete=True,
            ),
            "status": _obj("Current state of the Ingress.", {"loadBalancer": _LOAD_BALANCER_STATUS}),
        },
    )


def _lease() -> Schema:
    return _obj(
        "Lease defines a lease concept.",
        {
            "spec": _obj(
                "Specification of the Lease.",
                {
                    "holderIdentity": _s("Identity of the holder of a current lease."),
                    "leaseDurationSeconds": _i(
                        "Duration candidates wait to force-acquire the lease, measured from the last renewTime."
                    ),
                    "acquireTime": _time("When the current lease was acquired (MicroTime)."),
                    "renewTime": _time("When the current holder last updated the lease (MicroTime)."),
                    "leaseTransitions": _i("Number of transitions of the lease between holders."),
                    "strategy": _s("Strategy for picking the leader for coordinated leader election."),
                    "preferredHolder": _s("Signals to a lease holder that the lease has a more optimal holder."),
                },
                complete=True,
            )
        },
    )


@dataclass(frozen=True, slots=True)
class BuiltinKind:
    """A built-in kind the simulator serves, with its minimal schema."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    has_status: bool
    schema: Schema = field(compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


BUILTIN_KINDS: Final[tuple[BuiltinKind, ...]] = (
    BuiltinKind("", "v1", "Namespace", "namespaces", False, True, _namespace()),
    BuiltinKind("", "v1", "Node", "nodes", False, True, _node()),
    BuiltinKind("", "v1", "Secret", "secrets", True, False, _secret()),
    BuiltinKind("", "v1", "ConfigMap", "configmaps", True, False, _configmap()),
    BuiltinKind("", "v1", "Service", "services", True, True, _service()),
    BuiltinKind("", "v1", "Event", "events", True, False, _event()),
    BuiltinKind("", "v1", "Pod", "pods", True, True, _pod()),
    BuiltinKind("apps", "v1", "Deployment", "deployments", True, True, _deployment()),
    BuiltinKind("networking.k8s.io", "v1", "Ingress", "ingresses", True, True, _ingress()),
    BuiltinKind("coordination.k8s.io", "v1", "Lease", "leases", True, False, _lease()),
)


def builtin_kind(group: str, version: str, kind: str) -> BuiltinKind | None:
    for entry in BUILTIN_KINDS:
        if (entry.group, entry.version, entry.kind) == (group, version, kind):
            return entry
    return None
