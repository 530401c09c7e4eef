"""Protobuf request bodies, as kubectl 1.33 sends its typed writes (bodies below were captured
from ``kubectl.1.33 create namespace foo``, ``create deployment d1 --image=nginx:1.25
--replicas=2 --port=80`` and ``create secret generic s1 --from-literal=k=v``)."""

from __future__ import annotations

import aiohttp
import pytest

from kurator_sim import errors, resources
from kurator_sim.api import protobuf
from kurator_sim.testing import call

NAMESPACE = b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1b\n\x13\n\x03foo\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'  # noqa: E501
DEPLOYMENT = (
    b'k8s\x00\n\x15\n\x07apps/v1\x12\nDeployment\x12\xb9\x01\n\x1d\n\x02d1\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00Z'
    b'\t\n\x03app\x12\x02d1\x12\x89\x01\x08\x02\x12\x0b\n\t\n\x03app\x12\x02d1\x1ap\n\x1b\n\x00\x12\x00\x1a\x00"\x00*'
    b'\x002\x008\x00B\x00Z\t\n\x03app\x12\x02d1\x12Q\x123\n\x05nginx\x12\nnginx:1.25*\x002\n\n\x00\x10\x00\x18P"\x00'
    b"*\x00B\x00j\x00r\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x002\x00B\x00J\x00R\x00X\x00`\x00h\x00"
    b'\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00"\x02\n\x00(\x008\x00\x1a\x0c\x08\x00\x10\x00\x18\x00 \x00(\x00'
    b'8\x00\x1a\x00"\x00'
)
SECRET = b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x1e\n\x12\n\x02s1\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00\x12\x06\n\x01k\x12\x01v\x1a\x00\x1a\x00"\x00'  # noqa: E501
PB = "application/vnd.kubernetes.protobuf"
REGISTRY = resources.default_registry()


def test_decodes_like_the_json_kubectl_would_send() -> None:
    deploy = REGISTRY.lookup("apps", "v1", "deployments")
    assert deploy is not None
    assert protobuf.decode(DEPLOYMENT, deploy) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d1", "labels": {"app": "d1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d1"}},
            "template": {
                "metadata": {"labels": {"app": "d1"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]},
            },
        },
    }
    secret = REGISTRY.lookup("", "v1", "secrets")
    assert secret is not None
    assert protobuf.decode(SECRET, secret)["data"] == {"k": "dg=="}  # bytes become base64, as in JSON


def test_custom_resources_and_garbage_are_refused() -> None:
    jobs = REGISTRY.lookup("batch.volcano.sh", "v1alpha1", "jobs")
    namespaces = REGISTRY.lookup("", "v1", "namespaces")
    assert jobs is not None
    assert namespaces is not None
    with pytest.raises(errors.ApiError) as unsupported:
        protobuf.decode(NAMESPACE, jobs)
    assert unsupported.value.code == 415
    with pytest.raises(errors.ApiError) as garbage:
        protobuf.decode(b"k8s\x00\xff\xff", namespaces)
    assert garbage.value.code == 400
    with pytest.raises(errors.ApiError):
        protobuf.decode(b'{"json": true}', namespaces)


async def test_protobuf_create_over_http(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", "/api/v1/namespaces", NAMESPACE, content_type=PB)
    assert reply.status == 201
    assert reply.body["metadata"]["name"] == "foo"
    created = await call(http, "POST", "/apis/apps/v1/namespaces/foo/deployments", DEPLOYMENT, content_type=PB)
    assert created.status == 201
    assert created.body["spec"]["replicas"] == 2
    refused = await call(
        http, "POST", "/apis/policy.karmada.io/v1alpha1/namespaces/foo/propagationpolicies", NAMESPACE, content_type=PB
    )
    assert refused.status == 415
