"""``kurator-edge`` / ``python -m kurator_edge``: run one replica of the edge service."""

from __future__ import annotations

from kurator_edge.settings import EdgeSettings
from shared.runtime import entry


def main() -> None:
    entry.run("edge", settings=EdgeSettings())


if __name__ == "__main__":
    main()
