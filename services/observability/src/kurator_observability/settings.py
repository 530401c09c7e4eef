"""Settings of the observability service: the common ``KURATOR_*`` set (service-specific fields join here)."""

from __future__ import annotations

from shared.runtime.settings import ServiceSettings


class ObservabilitySettings(ServiceSettings):
    pass
