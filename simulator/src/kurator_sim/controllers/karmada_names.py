"""Karmada's well-known names: labels, annotations, finalizers, taints, and generated object names.

Values are those of Karmada v1.16+ (``pkg/apis/policy/v1alpha1/well_known_constants.go``,
``pkg/apis/work/v1alpha2/well_known_constants.go``, ``pkg/apis/cluster/v1alpha1``,
``pkg/util/constants.go``, ``pkg/util/names/names.go``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

# --- resource coordinates in the host registry -----------------------------------------------
CLUSTERS = ("cluster.karmada.io", "clusters")
PROPAGATION_POLICIES = ("policy.karmada.io", "propagationpolicies")
CLUSTER_PROPAGATION_POLICIES = ("policy.karmada.io", "clusterpropagationpolicies")
RESOURCE_BINDINGS = ("work.karmada.io", "resourcebindings")
CLUSTER_RESOURCE_BINDINGS = ("work.karmada.io", "clusterresourcebindings")
WORKS = ("work.karmada.io", "works")
NAMESPACES = ("", "namespaces")
SECRETS = ("", "secrets")
LEASES = ("coordination.k8s.io", "leases")
NODES = ("", "nodes")
DEPLOYMENTS = ("apps", "deployments")

KARMADA_GROUPS = frozenset(
    {
        "cluster.karmada.io",
        "policy.karmada.io",
        "work.karmada.io",
        "config.karmada.io",
        "networking.karmada.io",
        "autoscaling.karmada.io",
        "search.karmada.io",
        "apps.karmada.io",
    }
)

# --- namespaces -------------------------------------------------------------------------------
EXECUTION_SPACE_PREFIX = "karmada-es-"
KARMADA_SYSTEM = "karmada-system"
KARMADA_CLUSTER = "karmada-cluster"
"""Where member secrets and Pull-mode cluster leases live."""

# --- policy claim metadata (detector) ---------------------------------------------------------
PP_PERMANENT_ID = "propagationpolicy.karmada.io/permanent-id"
CPP_PERMANENT_ID = "clusterpropagationpolicy.karmada.io/permanent-id"
PP_NAME = "propagationpolicy.karmada.io/name"
PP_NAMESPACE = "propagationpolicy.karmada.io/namespace"
CPP_NAME = "clusterpropagationpolicy.karmada.io/name"

# --- bindings and works -----------------------------------------------------------------------
RB_PERMANENT_ID = "resourcebinding.karmada.io/permanent-id"
CRB_PERMANENT_ID = "clusterresourcebinding.karmada.io/permanent-id"
WORK_PERMANENT_ID = "work.karmada.io/permanent-id"
RB_NAME = "resourcebinding.karmada.io/name"
RB_NAMESPACE = "resourcebinding.karmada.io/namespace"
CRB_NAME = "clusterresourcebinding.karmada.io/name"
WORK_NAME = "work.karmada.io/name"
WORK_NAMESPACE = "work.karmada.io/namespace"
MANAGED_BY_KARMADA = "karmada.io/managed"
TEMPLATE_UID = "resourcetemplate.karmada.io/uid"
TEMPLATE_GENERATION = "resourcetemplate.karmada.io/generation"
MANAGED_LABELS = "resourcetemplate.karmada.io/managed-labels"
MANAGED_ANNOTATIONS = "resourcetemplate.karmada.io/managed-annotations"
APPLIED_PLACEMENT = "policy.karmada.io/applied-placement"
CONFLICT_RESOLUTION = "work.karmada.io/conflict-resolution"

BINDING_FINALIZER = "karmada.io/binding-controller"
CLUSTER_BINDING_FINALIZER = "karmada.io/cluster-resource-binding-controller"
CLUSTER_FINALIZER = "karmada.io/cluster-controller"

DEFAULT_SCHEDULER = "default-scheduler"

# --- cluster taints and conditions ------------------------------------------------------------
TAINT_NOT_READY = "cluster.karmada.io/not-ready"
TAINT_UNREACHABLE = "cluster.karmada.io/unreachable"
TAINT_TERMINATING = "cluster.karmada.io/terminating"
CONDITION_READY = "Ready"
CONDITION_COMPLETE_API_ENABLEMENTS = "CompleteAPIEnablements"

_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def execution_space(cluster: str) -> str:
    return f"{EXECUTION_SPACE_PREFIX}{cluster}"


def cluster_of(execution_namespace: str) -> str | None:
    if execution_namespace.startswith(EXECUTION_SPACE_PREFIX):
        return execution_namespace[len(EXECUTION_SPACE_PREFIX) :]
    return None


def binding_name(kind: str, name: str) -> str:
    """``names.GenerateBindingName``: ``<name>-<kind>`` lower-cased, ``:`` replaced by ``.``."""
    return f"{name.replace(':', '.')}-{kind}".lower()


def fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


_SAFE_ASCII = {code: _SAFE_ALPHANUMS[code % len(_SAFE_ALPHANUMS)] for code in range(128)}
"""``safe_encode`` of every ASCII character, for ``str.translate`` (hashes are encoded as digits)."""


def safe_encode(text: str) -> str:
    """``k8s.io/apimachinery/pkg/util/rand.SafeEncodeString``."""
    if text.isascii():
        return text.translate(_SAFE_ASCII)
    return "".join(_SAFE_ALPHANUMS[ord(ch) % len(_SAFE_ALPHANUMS)] for ch in text)


@functools.lru_cache(maxsize=65536)
def work_name(kind: str, name: str, namespace: str | None) -> str:
    """``names.GenerateWorkName``: ``<name>-<safe-encoded FNV-32a of ns-name-kind>``.

    Karmada hashes the spew rendering ``(string)<ns>-<name>-<kind>``; the same text is hashed here.
    Cached: every controller that follows a binding to its works asks again on every reconcile.
    """
    base = f"{namespace}-{name}-{kind}" if namespace else f"{name}-{kind}"
    digest = fnv1a32(f"(string){base.lower()}".encode())
    return f"{name}-{safe_encode(str(digest))}"


def canonical_json(obj: Any) -> str:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"))``, by orjson where that gives the same text.

    orjson writes non-ASCII characters as UTF-8 where ``json`` escapes them, and exponents as
    ``1e20``/``1e-7`` where ``json`` writes ``1e+20``/``1e-07``; documents that may hold either
    (rare in pod templates and placements) go to ``json``.
    """
    try:
        out = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        out = b"\x80"  # not JSON orjson can write: let ``json`` say what it makes of it
    if out.isascii() and not _FLOATS.search(out):
        return out.decode()
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


_FLOATS = re.compile(rb"[0-9][eE][-+]?[0-9]")
"""Where a number in exponent notation would be (text in strings may match too: then ``json`` decides)."""


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version
