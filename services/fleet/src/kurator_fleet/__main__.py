"""``kurator-fleet`` / ``python -m kurator_fleet``: run one replica of the fleet service."""

from __future__ import annotations

from kurator_fleet import extensions
from kurator_fleet.settings import FleetSettings
from shared.runtime import entry


def main() -> None:
    entry.run("fleet", settings=FleetSettings(), extensions=extensions.build)


if __name__ == "__main__":
    main()
