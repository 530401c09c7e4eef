"""``kurator-apps`` / ``python -m kurator_apps``: run one replica of the apps service."""

from __future__ import annotations

from kurator_apps import extensions
from kurator_apps.settings import AppsSettings
from shared.runtime import entry


def main() -> None:
    entry.run("apps", settings=AppsSettings(), extensions=extensions.build)


if __name__ == "__main__":
    main()
