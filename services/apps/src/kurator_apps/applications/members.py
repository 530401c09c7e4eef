"""A fleet member as an Application sees it: kind, name, labels and its kubeconfig Secret.

Upstream reaches a member only through a kubeconfig Secret on the host (kurator-upstream.md
1.1): for an ``AttachedCluster`` the Secret ``spec.kubeconfig.name``, key
``spec.kubeconfig.key`` (default ``value``); for a ``Cluster`` the Secret
``spec.credential.secretRef``, key ``value``. The host itself is :data:`HOST`: upstream's
``currentCluster``/``host`` pair, deployed to without a kubeconfig.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_SECRET_KEY: Final = "value"
KUBECONFIG_SUFFIX: Final = "-kubeconfig"


@dataclass(frozen=True, slots=True)
class FleetMember:
    name: str
    kind: str
    """``Cluster`` or ``AttachedCluster`` (``currentCluster`` for :data:`HOST`)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    secret_name: str | None = None
    """The kubeconfig Secret in the Application's namespace (``None`` only for :data:`HOST`)."""
    secret_key: str = DEFAULT_SECRET_KEY

    @classmethod
    def from_attached_cluster(cls, obj: Mapping[str, Any]) -> FleetMember:
        """An upstream ``cluster.kurator.dev/v1alpha1`` ``AttachedCluster`` dict."""
        meta = obj.get("metadata") or {}
        kubeconfig = (obj.get("spec") or {}).get("kubeconfig") or {}
        return cls(
            name=str(meta.get("name") or ""),
            kind="AttachedCluster",
            labels=dict(meta.get("labels") or {}),
            secret_name=str(kubeconfig.get("name") or "") or None,
            secret_key=str(kubeconfig.get("key") or DEFAULT_SECRET_KEY),
        )

    @classmethod
    def from_cluster(cls, obj: Mapping[str, Any]) -> FleetMember:
        """An upstream ``cluster.kurator.dev/v1alpha1`` ``Cluster`` dict."""
        meta = obj.get("metadata") or {}
        credential = (obj.get("spec") or {}).get("credential") or {}
        return cls(
            name=str(meta.get("name") or ""),
            kind="Cluster",
            labels=dict(meta.get("labels") or {}),
            secret_name=str(credential.get("secretRef") or "") or None,
        )

    @classmethod
    def from_karmada_cluster(cls, obj: Mapping[str, Any]) -> FleetMember:
        """A Karmada ``cluster.karmada.io`` ``Cluster`` dict (a Fleet's ``Cluster`` member here).

        Karmada keeps no kubeconfig for a member (its join Secret holds a token and a CA), so
        the kubeconfig is expected in the Secret ``<name>-kubeconfig``, key ``value``: Cluster
        API's convention, which upstream's ``Cluster.spec.credential.secretRef`` follows. The
        service checks that the Secret exists and reports it per cluster when it does not.
        """
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        return cls(
            name=name,
            kind="Cluster",
            labels=dict(meta.get("labels") or {}),
            secret_name=f"{name}{KUBECONFIG_SUFFIX}",
        )


HOST: Final = FleetMember(name="host", kind="currentCluster")
"""Where an Application without any destination goes: the host cluster itself (upstream PR #667)."""
