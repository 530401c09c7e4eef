"""Settings of the apps service: the common ``KURATOR_*`` set plus the apps service's own."""

from __future__ import annotations

from pydantic import Field

from shared.runtime.settings import ServiceSettings


class AppsSettings(ServiceSettings):
    volcano_eviction_seconds: float = Field(default=300.0, ge=0.0)
    """How long a member may be tainted as failing (Karmada's ``NoExecute`` ``not-ready`` or
    ``unreachable``) before the Volcano jobs on it move to another member (Karmada's default
    toleration of those taints)."""
