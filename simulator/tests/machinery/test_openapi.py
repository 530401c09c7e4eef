"""OpenAPI v3 documents: naming, paths and parameters, checked by re-enacting what kubectl does
with them (explain's GVK lookup and field walk, QueryParamVerifierV3, client-side apply's
strategic-merge-patch check)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from kurator_sim.machinery.builtin_schemas import BUILTIN_KINDS, builtin_kind
from kurator_sim.machinery.crds import CRDInfo, load_crds
from kurator_sim.machinery.openapi import (
    GVK_EXTENSION,
    KindEntry,
    builtin_kinds_by_group_version,
    definition_name,
    discovery_index,
    document_etag,
    group_version_document,
    group_version_path,
    serialize_document,
)
from kurator_sim.machinery.schema import FieldValidation, check_write

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "crds"
needs_crds = pytest.mark.skipif(not CRD_DIR.is_dir(), reason="shared CRDs not available")

Doc = dict[str, Any]


# --- what kubectl does with a document --------------------------------------------------------


def explain_gvk(doc: Doc, group: str, version: str, resource: str) -> dict[str, str]:
    """plaintext.tmpl: the GVK of the first operation on the resource's paths."""
    prefix = "/api" if not group else f"/apis/{group}"
    candidates = [
        f"{prefix}/{version}/{resource}",
        f"{prefix}/{version}/{resource}/{{name}}",
        f"{prefix}/{version}/namespaces/{{namespace}}/{resource}",
        f"{prefix}/{version}/namespaces/{{namespace}}/{resource}/{{name}}",
    ]
    for path in candidates:
        item = doc["paths"].get(path)
        if not item:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            gvk = (item.get(method) or {}).get(GVK_EXTENSION)
            if gvk:
                return dict(gvk)
    raise LookupError(f"GVR not found: {group}/{version}/{resource}")


def resolve(doc: Doc, schema: Doc) -> Doc:
    ref = schema.get("$ref")
    if ref:
        name = ref.removeprefix("#/components/schemas/")
        resolved: Doc = doc["components"]["schemas"][name]
        return resolved
    return schema


def explain(doc: Doc, group: str, version: str, resource: str, *fields: str) -> Doc:
    """Find the kind's schema by GVK, then follow fields through $ref/allOf/items."""
    gvk = explain_gvk(doc, group, version, resource)
    roots = [s for s in doc["components"]["schemas"].values() if gvk in s.get(GVK_EXTENSION, [])]
    assert len(roots) == 1, f"GVK {gvk} must identify one schema"
    return _follow(doc, roots[0], list(fields))


def _follow(doc: Doc, schema: Doc, fields: list[str]) -> Doc:
    resolved = resolve(doc, schema)
    if not fields:
        return resolved
    props = resolved.get("properties") or {}
    if fields[0] in props:
        return _follow(doc, props[fields[0]], fields[1:])
    if "items" in resolved:
        return _follow(doc, resolved["items"], fields)
    if isinstance(resolved.get("additionalProperties"), dict):
        return _follow(doc, resolved["additionalProperties"], fields)
    for sub in resolved.get("allOf") or []:
        try:
            return _follow(doc, sub, fields)
        except KeyError:
            continue
    raise KeyError(fields[0])


def supports_query_param(doc: Doc, gvk: dict[str, str], param: str) -> bool:
    """resource.supportsQueryParamV3: the first PATCH operation for the GVK decides."""
    for item in doc["paths"].values():
        patch = item.get("patch")
        if not patch or patch.get(GVK_EXTENSION) != gvk:
            continue
        return any(p.get("name") == param and p.get("in") == "query" for p in patch.get("parameters", []))
    raise LookupError(f"Path not found for GVK ({gvk}) in OpenAPI V3 doc")


def supports_strategic_merge(doc: Doc, gvk: dict[str, str]) -> bool:
    """apply's gvkSupportsPatchOpenAPIV3."""
    for item in doc["paths"].values():
        patch = item.get("patch")
        if patch and patch.get(GVK_EXTENSION) == gvk:
            return "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    return False


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin_docs() -> dict[tuple[str, str], Doc]:
    return {gv: group_version_document(*gv, kinds) for gv, kinds in builtin_kinds_by_group_version().items()}


@pytest.fixture(scope="module")
def crds() -> dict[str, CRDInfo]:
    if not CRD_DIR.is_dir():
        pytest.skip("shared CRDs not available")
    return {c.name: c for c in load_crds(CRD_DIR)}


def crd_document(crd: CRDInfo, version: str) -> Doc:
    v = crd.version(version)
    assert v is not None
    return group_version_document(crd.group, version, [(crd.kind, crd.plural, crd.namespaced, v.schema, v.has_status)])


# --- naming ----------------------------------------------------------------------------------


def test_definition_names() -> None:
    assert definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert definition_name("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name("networking.k8s.io", "v1", "Ingress") == "io.k8s.api.networking.v1.Ingress"
    assert definition_name("coordination.k8s.io", "v1", "Lease") == "io.k8s.api.coordination.v1.Lease"
    assert definition_name("batch.volcano.sh", "v1alpha1", "Job") == "sh.volcano.batch.v1alpha1.Job"
    assert definition_name("policy.karmada.io", "v1alpha1", "PropagationPolicy") == (
        "io.karmada.policy.v1alpha1.PropagationPolicy"
    )
    assert definition_name("apiextensions.k8s.io", "v1", "CustomResourceDefinition") == (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    )
    assert group_version_path("", "v1") == "api/v1"
    assert group_version_path("apps", "v1") == "apis/apps/v1"


# --- built-ins -------------------------------------------------------------------------------


def test_builtin_documents_cover_every_kind(builtin_docs: dict[tuple[str, str], Doc]) -> None:
    assert set(builtin_docs) == {("", "v1"), ("apps", "v1"), ("networking.k8s.io", "v1"), ("coordination.k8s.io", "v1")}
    for kind in BUILTIN_KINDS:
        doc = builtin_docs[(kind.group, kind.version)]
        gvk = {"group": kind.group, "kind": kind.kind, "version": kind.version}
        schema = doc["components"]["schemas"][definition_name(kind.group, kind.version, kind.kind)]
        assert schema[GVK_EXTENSION] == [gvk]
        assert supports_query_param(doc, gvk, "fieldValidation"), kind.kind
        assert supports_strategic_merge(doc, gvk), kind.kind
        assert explain_gvk(doc, kind.group, kind.version, kind.plural) == gvk


def test_explain_deployment_spec_replicas(builtin_docs: dict[tuple[str, str], Doc]) -> None:
    doc = builtin_docs[("apps", "v1")]
    replicas = explain(doc, "apps", "v1", "deployments", "spec", "replicas")
    assert replicas["type"] == "integer"
    assert "Number of desired pods" in replicas["description"]
    container_image = explain(doc, "apps", "v1", "deployments", "spec", "template", "spec", "containers", "image")
    assert container_image["type"] == "string"
    # metadata is a reference to the shared ObjectMeta definition
    labels = explain(doc, "apps", "v1", "deployments", "metadata", "labels")
    assert labels["additionalProperties"] == {"type": "string", "default": ""}
    core = builtin_docs[("", "v1")]
    assert explain_gvk(core, "", "v1", "namespaces") == {"group": "", "kind": "Namespace", "version": "v1"}
    assert "phase" in explain(core, "", "v1", "pods", "status")["properties"]


def test_builtin_patch_operation_shape(builtin_docs: dict[tuple[str, str], Doc]) -> None:
    doc = builtin_docs[("apps", "v1")]
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert patch["x-kubernetes-action"] == "patch"
    assert [p["name"] for p in patch["parameters"]] == ["dryRun", "fieldManager", "fieldValidation", "force"]
    assert all(p["in"] == "query" for p in patch["parameters"])
    assert sorted(patch["requestBody"]["content"]) == [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ]
    for method in ("put",):
        assert [p["name"] for p in item[method]["parameters"]] == ["dryRun", "fieldManager", "fieldValidation"]
    collection = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert [p["name"] for p in collection["post"]["parameters"]] == ["dryRun", "fieldManager", "fieldValidation"]
    assert collection["post"]["requestBody"]["content"]["*/*"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.apps.v1.Deployment"
    }
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status" in doc["paths"]
    assert "/apis/apps/v1/deployments" in doc["paths"]  # list across namespaces
    core = builtin_docs[("", "v1")]
    assert "/api/v1/namespaces/{name}/status" in core["paths"]
    assert "/api/v1/nodes/{name}" in core["paths"]
    assert "/api/v1/namespaces/{namespace}/secrets/{name}/status" not in core["paths"]


def test_builtin_schemas_never_reject_valid_objects() -> None:
    deployment = builtin_kind("apps", "v1", "Deployment")
    assert deployment is not None
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "nginx", "image": "nginx:1.27", "startupProbe": {"httpGet": {"port": 80}}}],
                    "dnsPolicy": "ClusterFirst",
                },
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        },
        "status": {"replicas": 2, "collisionCount": 0},
    }
    result = check_write(obj, deployment.schema)
    assert result.causes == ()
    assert result.warnings == ()
    assert result.obj == obj
    secret = builtin_kind("", "v1", "Secret")
    assert secret is not None
    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "not base64!"}}
    assert [c.field for c in check_write(bad, secret.schema).causes] == ["data.k"]


# --- CRDs ------------------------------------------------------------------------------------


@needs_crds
def test_crd_document_shape(crds: dict[str, CRDInfo]) -> None:
    crd = crds["jobs.batch.volcano.sh"]
    doc = crd_document(crd, "v1alpha1")
    schemas = doc["components"]["schemas"]
    job = schemas["sh.volcano.batch.v1alpha1.Job"]
    assert job[GVK_EXTENSION] == [{"group": "batch.volcano.sh", "kind": "Job", "version": "v1alpha1"}]
    assert schemas["sh.volcano.batch.v1alpha1.JobList"][GVK_EXTENSION] == [
        {"group": "batch.volcano.sh", "kind": "JobList", "version": "v1alpha1"}
    ]
    assert job["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    gvk = {"group": "batch.volcano.sh", "kind": "Job", "version": "v1alpha1"}
    assert supports_query_param(doc, gvk, "fieldValidation")
    assert supports_query_param(doc, gvk, "dryRun")
    # custom resources do not accept strategic merge patch
    assert not supports_strategic_merge(doc, gvk)
    paths = doc["paths"]
    base = "/apis/batch.volcano.sh/v1alpha1"
    assert {
        f"{base}/jobs",
        f"{base}/namespaces/{{namespace}}/jobs",
        f"{base}/namespaces/{{namespace}}/jobs/{{name}}",
        f"{base}/namespaces/{{namespace}}/jobs/{{name}}/status",
    } == set(paths)
    status_patch = paths[f"{base}/namespaces/{{namespace}}/jobs/{{name}}/status"]["patch"]
    assert status_patch["operationId"] == "patchBatchVolcanoShV1alpha1NamespacedJobStatus"
    assert sorted(status_patch["requestBody"]["content"]) == [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ]
    # Volcano ships its CRDs without descriptions; explain shows the type all the same
    min_available = explain(doc, "batch.volcano.sh", "v1alpha1", "jobs", "spec", "minAvailable")
    assert min_available["type"] == "integer"
    task_replicas = explain(doc, "batch.volcano.sh", "v1alpha1", "jobs", "spec", "tasks", "replicas")
    assert task_replicas["type"] == "integer"
    policy = crds["propagationpolicies.policy.karmada.io"]
    pp_doc = crd_document(policy, "v1alpha1")
    rst = explain(
        pp_doc, "policy.karmada.io", "v1alpha1", "propagationpolicies", "spec", "placement", "replicaScheduling"
    )
    assert "ReplicaScheduling" in rst["description"]


@needs_crds
def test_every_crd_version_builds_a_document(crds: dict[str, CRDInfo]) -> None:
    bodies: dict[str, bytes] = {}
    by_gv: dict[tuple[str, str], list[KindEntry]] = {}
    for crd in crds.values():
        for v in crd.served_versions:
            by_gv.setdefault((crd.group, v.name), []).append(
                KindEntry(crd.kind, crd.plural, crd.namespaced, v.schema, v.has_status)
            )
    for (group, version), kinds in by_gv.items():
        doc = group_version_document(group, version, kinds)
        for entry in kinds:
            gvk = {"group": group, "kind": entry.kind, "version": version}
            assert supports_query_param(doc, gvk, "fieldValidation")
            assert explain_gvk(doc, group, version, entry.plural) == gvk
        bodies[group_version_path(group, version)] = serialize_document(doc)
    assert "apis/networking.istio.io/v1alpha3" in bodies
    index = discovery_index(bodies)
    entry = index["paths"]["apis/batch.volcano.sh/v1alpha1"]
    body = bodies["apis/batch.volcano.sh/v1alpha1"]
    expected_hash = hashlib.sha512(body).hexdigest().upper()
    assert entry == {"serverRelativeURL": f"/openapi/v3/apis/batch.volcano.sh/v1alpha1?hash={expected_hash}"}
    assert document_etag(body) == expected_hash
    assert json.loads(body)["openapi"] == "3.0.0"


def test_cluster_scoped_kind_without_schema() -> None:
    doc = group_version_document("example.com", "v1", [("Thing", "things", False, None, False)])
    assert set(doc["paths"]) == {"/apis/example.com/v1/things", "/apis/example.com/v1/things/{name}"}
    thing = doc["components"]["schemas"]["com.example.v1.Thing"]
    assert thing == {"type": "object", GVK_EXTENSION: [{"group": "example.com", "kind": "Thing", "version": "v1"}]}
    create = doc["paths"]["/apis/example.com/v1/things"]["post"]
    assert create["operationId"] == "createExampleComV1Thing"
    assert create[GVK_EXTENSION] == {"group": "example.com", "kind": "Thing", "version": "v1"}


def test_embedded_resources_get_type_meta_published() -> None:
    schema: Doc = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {}}
                },
            }
        },
    }
    doc = group_version_document("example.com", "v1", [("Wrapper", "wrappers", True, schema, False)])
    template = doc["components"]["schemas"]["com.example.v1.Wrapper"]["properties"]["spec"]["properties"]["template"]
    assert set(template["properties"]) == {"apiVersion", "kind", "metadata"}
    assert template["required"] == ["kind", "apiVersion"]
    # the input schema is not modified
    assert schema["properties"]["spec"]["properties"]["template"]["properties"] == {}


BUILTIN_SAMPLES: list[dict[str, Any]] = [
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ml"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "edge-1", "labels": {"node-role.kubernetes.io/edge": ""}},
        "spec": {"podCIDR": "10.244.1.0/24", "taints": [{"key": "edge", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": 110},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
            "nodeInfo": {"kubeletVersion": "v1.31.0", "architecture": "arm64"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "type": "Opaque",
        "data": {"k": "dmFsdWU="},
        "stringData": {"plain": "text"},
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a.yaml": "x: 1"},
        "immutable": False,
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                {"port": 443, "targetPort": 8443},
            ],
            "ipFamilies": ["IPv4"],
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    },
    {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "apiVersion": "v1"},
        "reason": "Scheduled",
        "message": "Successfully assigned default/web to edge-1",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "source": {"component": "default-scheduler"},
        "reportingComponent": "default-scheduler",
    },
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "nginx",
                    "image": "nginx",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": {"cpu": "100m"}},
                    "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                }
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "tolerations": [{"operator": "Exists"}],
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.7",
            "containerStatuses": [{"name": "nginx", "ready": True, "restartCount": 0, "state": {"running": {}}}],
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "web.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
            "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
    },
    {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "edge-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "edge-1", "leaseDurationSeconds": 40, "renewTime": "2026-01-01T00:00:00.123456Z"},
    },
]


@pytest.mark.parametrize("obj", BUILTIN_SAMPLES, ids=lambda o: str(o["kind"]))
def test_builtin_samples_pass_unchanged(obj: dict[str, Any]) -> None:
    group, _, version = obj["apiVersion"].rpartition("/")
    kind = builtin_kind(group, version, obj["kind"])
    assert kind is not None
    result = check_write(obj, kind.schema, field_validation=FieldValidation.STRICT)
    assert result.causes == ()
    assert result.obj == obj
