"""``python -m bench``: run every scenario on a fresh nats-server, print a table, write JSON."""

from __future__ import annotations

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
