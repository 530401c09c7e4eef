"""Poll for an outcome with a deadline instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout_seconds: float = 10.0,
    interval_seconds: float = 0.05,
    message: str = "condition not met",
) -> T:
    """Call ``probe`` until it returns a truthy value without raising ``AssertionError``.

    Returns the truthy value; raises ``AssertionError`` (with the last failure) at the deadline.
    """
    deadline = time.monotonic() + timeout_seconds
    last: BaseException | None = None
    while True:
        try:
            value = await probe()
            if value:
                return value
            last = None
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} within {timeout_seconds}s" + (f": {last}" if last else ""))
        await asyncio.sleep(interval_seconds)
