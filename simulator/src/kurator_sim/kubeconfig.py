"""Kubeconfig files pointing at the simulator: the host (Karmada) and, through its cluster
proxy, each member, as one context each."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

HOST_CONTEXT = "karmada-sim"


def proxy_path(cluster: str) -> str:
    return f"/apis/cluster.karmada.io/v1alpha1/clusters/{cluster}/proxy"


def document(base_url: str, members: Iterable[str] = ()) -> dict[str, Any]:
    """A kubeconfig whose current context is the simulated Karmada API server."""
    clusters = [{"name": HOST_CONTEXT, "cluster": {"server": base_url}}]
    contexts = [{"name": HOST_CONTEXT, "context": {"cluster": HOST_CONTEXT, "user": "kurator-sim"}}]
    for member in members:
        clusters.append({"name": member, "cluster": {"server": base_url + proxy_path(member)}})
        contexts.append({"name": member, "context": {"cluster": member, "user": "kurator-sim"}})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "contexts": contexts,
        "users": [{"name": "kurator-sim", "user": {}}],
        "current-context": HOST_CONTEXT,
    }


def write(path: Path, base_url: str, members: Iterable[str] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document(base_url, members), sort_keys=False))
    return path
