"""``kurator-backup`` / ``python -m kurator_backup``: run one replica of the backup service."""

from __future__ import annotations

from kurator_backup.settings import BackupSettings
from shared.runtime import entry


def main() -> None:
    entry.run("backup", settings=BackupSettings())


if __name__ == "__main__":
    main()
