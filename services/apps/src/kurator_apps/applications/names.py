"""Names of the Flux objects an Application renders.

Upstream names each delivery unit ``lower(<policyName>-<ClusterKind>-<clusterName>)`` truncated to
63 characters (kurator-upstream.md 3.3). Truncation can leave a trailing ``-`` or ``.``, which
Kubernetes rejects in a name, so those are trimmed too; two deliveries whose names then collide
are rejected by the renderer instead of overwriting each other.
"""

from __future__ import annotations

from typing import Final

MAX_LENGTH: Final = 63


def delivery_name(policy: str, cluster_kind: str, cluster: str) -> str:
    """``lower(<policy>-<kind>-<cluster>)``, at most 63 characters, ending alphanumeric."""
    return f"{policy}-{cluster_kind}-{cluster}".lower()[:MAX_LENGTH].rstrip("-.")
