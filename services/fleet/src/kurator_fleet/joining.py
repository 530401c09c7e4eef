"""Joining an ``AttachedCluster`` to Karmada: what the Karmada ``Cluster`` and its Secret look like.

Pure code: from the AttachedCluster and the kubeconfig its Secret holds to the two objects
``karmadactl join`` would create (Push mode):

* the **Cluster** is named like the AttachedCluster (not upstream Kurator's
  ``<name>-attachedcluster``): it is the name users write in ``clusterAffinity.clusterNames``
  and in a Fleet's member list, so it should be the name they chose. Karmada needs a DNS label
  of at most 48 characters (it prefixes ``karmada-es-`` for the execution namespace), checked
  here; upstream's 63-character truncation would produce names Karmada refuses. Cluster is
  cluster-scoped while AttachedCluster is namespaced, so two namespaces cannot attach the same
  name: the ownership labels tell whose a Cluster is, and a name held by someone else is refused;
* the **join Secret** ``karmada-cluster/<name>`` holds what Karmada reads through
  ``spec.secretRef``: ``token`` and ``caBundle``, taken from the kubeconfig's current context.
  Karmada cannot read a kubeconfig from a Secret, which is why the kubeconfig Secret itself is
  not what ``secretRef`` names.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

import yaml

from kurator_fleet import edge, ownership, ports
from shared.contracts import validation
from shared.contracts.models import fleet

JOIN_SECRET_NAMESPACE: Final = "karmada-cluster"
"""Where ``karmadactl join`` keeps member credentials."""
CLUSTER_NAME_MAX: Final = 48
CLUSTER_API_VERSION: Final = "cluster.karmada.io/v1alpha1"


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used to join (unparsable, or no server for its context)."""


@dataclass(frozen=True, slots=True)
class MemberAccess:
    """How Karmada reaches a member: what ``karmadactl join`` reads from a kubeconfig."""

    api_endpoint: str
    token: str | None
    ca_bundle: str | None
    """``certificate-authority-data`` as written (base64 of the PEM, which is what a Secret stores)."""
    insecure: bool = False
    proxy_url: str | None = None


def cluster_name(attached: fleet.AttachedCluster) -> str:
    """The Karmada ``Cluster`` an AttachedCluster joins as (see the module docstring)."""
    return attached.metadata.name


def cluster_name_error(name: str) -> str | None:
    return validation.dns_label_error(name, max_length=CLUSTER_NAME_MAX)


def _named(entries: Any, name: str | None) -> dict[str, Any]:
    for entry in entries or ():
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return {}


def member_access(kubeconfig: bytes) -> MemberAccess:
    """The server, token and CA of the kubeconfig's current context (else its first context)."""
    try:
        doc = yaml.safe_load(kubeconfig)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"not a kubeconfig: {exc}") from exc
    if not isinstance(doc, dict):
        raise KubeconfigError("not a kubeconfig: expected a mapping")
    contexts = doc.get("contexts") or []
    context = _named(contexts, doc.get("current-context")) or (contexts[0] if contexts else {})
    ctx = context.get("context") or {}
    cluster = _named(doc.get("clusters"), ctx.get("cluster")).get("cluster") or {}
    user = _named(doc.get("users"), ctx.get("user")).get("user") or {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise KubeconfigError("its current context names no cluster with a server")
    token = user.get("token")
    return MemberAccess(
        api_endpoint=server,
        token=token if isinstance(token, str) and token else None,
        ca_bundle=cluster.get("certificate-authority-data") or None,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        proxy_url=cluster.get("proxy-url") or None,
    )


def owner_labels(attached: fleet.AttachedCluster) -> dict[str, str]:
    return ownership.owner_labels(
        service="fleet", kind="AttachedCluster", namespace=attached.metadata.namespace, name=attached.metadata.name
    )


def join_secret(attached: fleet.AttachedCluster, access: MemberAccess) -> dict[str, Any]:
    token = base64.b64encode(access.token.encode()).decode() if access.token else ""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": cluster_name(attached),
            "namespace": JOIN_SECRET_NAMESPACE,
            "labels": owner_labels(attached),
        },
        "type": "Opaque",
        "data": {"token": token, "caBundle": access.ca_bundle or ""},
    }


def cluster(attached: fleet.AttachedCluster, access: MemberAccess) -> dict[str, Any]:
    name = cluster_name(attached)
    spec: dict[str, Any] = {
        "syncMode": "Push",
        "apiEndpoint": access.api_endpoint,
        "secretRef": {"namespace": JOIN_SECRET_NAMESPACE, "name": name},
    }
    if access.insecure:
        spec["insecureSkipTLSVerification"] = True
    if access.proxy_url:
        spec["proxyURL"] = access.proxy_url
    body = {
        "apiVersion": CLUSTER_API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": name, "labels": owner_labels(attached)},
        "spec": spec,
    }
    # An edge site joined as an AttachedCluster says so with the label on the AttachedCluster.
    return edge.labelled(body, edge=edge.is_edge(attached.metadata.labels, None))


def cluster_ref(name: str) -> ports.ObjectRef:
    return ports.ObjectRef(CLUSTER_API_VERSION, "Cluster", name)


def secret_ref(name: str) -> ports.ObjectRef:
    return ports.ObjectRef("v1", "Secret", name, JOIN_SECRET_NAMESPACE)
