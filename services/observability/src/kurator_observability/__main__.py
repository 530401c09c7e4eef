"""``kurator-observability`` / ``python -m kurator_observability``: run one replica of the observability service."""

from __future__ import annotations

from kurator_observability.settings import ObservabilitySettings
from shared.runtime import entry


def main() -> None:
    entry.run("observability", settings=ObservabilitySettings())


if __name__ == "__main__":
    main()
