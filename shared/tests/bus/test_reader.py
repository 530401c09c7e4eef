"""Reading the status stream: the last message of every subject first, then every new one."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.bus import reader, streams
from shared.testing.eventually import eventually

SUBJECT = "kurator.status.fleet.cluster._.{}"


async def test_follow_hands_over_the_current_state_then_changes_and_survives_a_bad_message(
    nc: Client, js: JetStreamContext
) -> None:
    await streams.declare_streams(js)
    for name, ready in (("a", False), ("a", True), ("b", True)):
        await js.publish(SUBJECT.format(name), orjson.dumps({"status": {"ready": ready}}))
    seen: list[tuple[str, bool]] = []

    def on(msg: Msg) -> None:
        seen.append((msg.subject.rsplit(".", 1)[1], orjson.loads(msg.data)["status"]["ready"]))

    task = asyncio.create_task(reader.follow(js, "kurator.status.fleet.cluster.>", on))
    try:

        async def current() -> bool:
            assert sorted(seen) == [("a", True), ("b", True)]  # the last per subject, not a's history
            return True

        await eventually(current, timeout_seconds=10, message="the current state")
        await js.publish(SUBJECT.format("c"), b"not json")  # ``on`` raises: logged, skipped
        await js.publish(SUBJECT.format("b"), orjson.dumps({"status": {"ready": False}}))

        async def changed() -> bool:
            assert seen[-1] == ("b", False)
            return True

        await eventually(changed, timeout_seconds=10, message="a change after a bad message")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
