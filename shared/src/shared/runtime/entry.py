"""``main()`` of every service: settings from the environment, logging, signals, run.

SIGTERM and SIGINT set the stop event; the app drains within its deadline and the process
exits 0. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

from shared.runtime import app
from shared.runtime import logging as kurator_logging
from shared.runtime.extensions import ExtensionFactory
from shared.runtime.settings import ServiceSettings


def run(
    service: str,
    *,
    settings: ServiceSettings | None = None,
    extensions: ExtensionFactory | None = None,
) -> None:
    settings = settings or ServiceSettings()
    kurator_logging.configure(level=settings.log_level, fmt=settings.log_format)
    # Fewer young-generation collections: a handled intent allocates many short-lived objects.
    gc.set_threshold(20_000, 20, 20)
    try:
        asyncio.run(_main(service, settings, extensions))
    except KeyboardInterrupt:
        sys.exit(130)


async def _main(service: str, settings: ServiceSettings, extensions: ExtensionFactory | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            sys.exit(1)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    application = app.ServiceApp(service=service, settings=settings, extensions=extensions)
    await application.run(stop)
