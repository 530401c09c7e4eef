"""Settings of the backup service: the common ``KURATOR_*`` set (service-specific fields join here)."""

from __future__ import annotations

from shared.runtime.settings import ServiceSettings


class BackupSettings(ServiceSettings):
    pass
